"""Drive the real ``kb`` command in a subprocess, as cron would, and read its store back.

Used by the hostile-feed, crash and concurrency tests: each runs ``kb`` in its
own process (so it can be killed, or run twice at once) with the hash encoder
and ``KB_ALLOW_HOSTS=127.0.0.1`` so the local test server may be fetched.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
from feedserver import rss

KB = [sys.executable, "-m", "kb.cli"]
REPO = Path(__file__).resolve().parents[1]


_PLACES = "Lisbon Oslo Quito Hanoi Dakar Perth Lima Tunis Riga Sofia Accra Bern".split()
_SUBJECTS = "council port authority university hospital railway utility museum court".split()
_ACTIONS = "approved rejected postponed funded audited opened closed expanded".split()
_OBJECTS = "bridge tunnel library terminal reservoir stadium clinic depot archive".split()


def _story(rng: random.Random, feed: int, item: int) -> dict:
    """An item stating three distinct facts (distinct words and numbers)."""
    place, subject = rng.choice(_PLACES), rng.choice(_SUBJECTS)
    sentences = [
        f"The {place} {subject} {rng.choice(_ACTIONS)} the {rng.choice(_OBJECTS)} project "
        f"worth {rng.randint(10, 990)} million on {('Monday', 'Friday')[item % 2]}."
        for _ in range(3)
    ]
    return {
        "guid": f"urn:crash:{feed}:{item}",
        "title": f"{place} {subject} news {feed}-{item}",
        "link": f"https://crash.example.com/{feed}/{item}",
        "description": " ".join(sentences),
    }


def fixture_feeds() -> dict[str, bytes]:
    """Six feeds of five stories; feed 5 republishes a story of feed 0 (one fact, two sources)."""
    rng = random.Random(7)
    feeds = {f"/feed{f}.xml": [_story(rng, f, i) for i in range(5)] for f in range(5)}
    original = feeds["/feed0.xml"][0]
    shared = {**original, "guid": "urn:copy", "link": "https://other.example/c", "title": "Copy"}
    feeds["/feed5.xml"] = [shared, *(_story(rng, 5, i) for i in range(1, 5))]
    return {path: rss(items, title=path) for path, items in feeds.items()}


def kb_env(home: Path) -> dict[str, str]:
    """The environment for a ``kb`` subprocess on ``home``."""
    env = dict(os.environ, KB_HOME=str(home), KB_ALLOW_HOSTS="127.0.0.1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_kb(home: Path, *args: str, timeout: float = 120.0, preexec_fn=None) -> subprocess.CompletedProcess:
    """``kb ARGS`` on ``home``; stdout/stderr captured as text."""
    return subprocess.run(
        [*KB, *args],
        capture_output=True,
        text=True,
        env=kb_env(home),
        timeout=timeout,
        cwd=REPO,
        preexec_fn=preexec_fn,
    )


def start_kb(home: Path, *args: str) -> subprocess.Popen:
    """``kb ARGS`` started in the background (to be killed or waited for)."""
    return subprocess.Popen(
        [*KB, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kb_env(home),
        cwd=REPO,
    )


# Runs kb and, at exit, writes the process's own peak RSS (VmHWM, KiB). wait4's ru_maxrss would
# not do: Linux carries the parent's high-water mark across fork+exec, so a test process that had
# loaded a model would be blamed on kb.
_MEASURED_KB = """
import atexit, os, runpy, sys
def _peak():
    with open("/proc/self/status") as status, open(os.environ["KB_PEAK_FILE"], "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(_peak)
sys.argv = ["kb", *sys.argv[1:]]
runpy.run_module("kb.cli", run_name="__main__")
"""


def run_kb_measured(home: Path, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """``kb ARGS`` and the peak resident memory (MB) of that one process."""
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak"
        env = {**kb_env(home), "KB_PEAK_FILE": str(peak_file)}
        done = subprocess.run(
            [sys.executable, "-c", _MEASURED_KB, *args],
            capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
        )  # fmt: skip
        return done, int(peak_file.read_text()) / 1024


def kb_json(home: Path, *args: str, timeout: float = 120.0) -> dict:
    """The JSON document ``kb ARGS --json`` prints; fails the test on a crash."""
    done = run_kb(home, *args, "--json", timeout=timeout)
    assert done.returncode in (0, 1), f"kb {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return json.loads(done.stdout)


def init_home(home: Path, feed_urls: list[str], **config: object) -> None:
    """``kb init --encoder hash``, optional config overrides, then ``kb feeds add``."""
    done = run_kb(home, "init", "--encoder", "hash")
    assert done.returncode == 0, done.stderr
    if config:
        path = home / "config.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **config}))
    if feed_urls:
        done = run_kb(home, "feeds", "add", *feed_urls)
        assert done.returncode == 0, done.stderr


def query_store(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of ``sql`` on the home's DuckDB file, opened read-only."""
    con = duckdb.connect(str(home / "kb.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


SNAPSHOT_SQL = {
    "facts": "SELECT text FROM facts ORDER BY text",
    "sources": "SELECT f.text, a.guid, s.sentence FROM fact_sources s "
    "JOIN facts f ON f.id = s.fact_id JOIN articles a ON a.id = s.article_id ORDER BY 1, 2, 3",
    "articles": "SELECT guid, url, title, content_hash FROM articles ORDER BY 1, 4",
    "counts": "SELECT (SELECT count(*) FROM feeds), (SELECT count(*) FROM articles), "
    "(SELECT count(*) FROM facts), (SELECT count(*) FROM fact_sources), "
    "(SELECT count(*) FROM topics)",
}


def store_snapshot(home: Path) -> dict[str, object]:
    """What a user would compare between two stores: facts, their sources, articles, counts.

    Ids and timestamps are left out: they depend on when a run happened, not on what it learned.
    """
    con = duckdb.connect(str(home / "kb.duckdb"), read_only=True)
    try:
        snapshot = {name: con.execute(sql).fetchall() for name, sql in SNAPSHOT_SQL.items()}
    finally:
        con.close()
    names = ("feeds", "articles", "facts", "fact_sources", "topics")
    snapshot["counts"] = dict(zip(names, snapshot["counts"][0], strict=True))
    return snapshot


def without_root_override() -> None:
    """``preexec_fn``: a root child loses CAP_DAC_OVERRIDE/READ_SEARCH, so chmod binds it too.

    Dropped from the bounding set, which survives ``exec``; a non-root child needs nothing.
    """
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for cap in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")
