"""Drive the real ``kb`` command in a subprocess, as cron would, and read its store back.

Used by the hostile-feed, crash and concurrency tests: each runs ``kb`` in its
own process (so it can be killed, or run twice at once) with the hash encoder
and ``KB_ALLOW_HOSTS=127.0.0.1`` so the local test server may be fetched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

KB = [sys.executable, "-m", "kb.cli"]
REPO = Path(__file__).resolve().parents[1]


def kb_env(home: Path) -> dict[str, str]:
    """The environment for a ``kb`` subprocess on ``home``."""
    env = dict(os.environ, KB_HOME=str(home), KB_ALLOW_HOSTS="127.0.0.1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_kb(home: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """``kb ARGS`` on ``home``; stdout/stderr captured as text."""
    return subprocess.run(
        [*KB, *args], capture_output=True, text=True, env=kb_env(home), timeout=timeout, cwd=REPO
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


def store_snapshot(home: Path) -> dict[str, object]:
    """What a user would compare between two stores: facts, their sources, articles, counts.

    Ids and timestamps are left out: they depend on when a run happened, not on what it learned.
    """
    facts = query_store(home, "SELECT text FROM facts ORDER BY text")
    sources = query_store(
        home,
        "SELECT f.text, a.guid, s.sentence FROM fact_sources s "
        "JOIN facts f ON f.id = s.fact_id JOIN articles a ON a.id = s.article_id "
        "ORDER BY 1, 2, 3",
    )
    articles = query_store(home, "SELECT guid, url, title, content_hash FROM articles ORDER BY 1, 4")
    counts = {
        table: query_store(home, f"SELECT count(*) FROM {table}")[0][0]
        for table in ("feeds", "articles", "facts", "fact_sources", "topics")
    }
    return {"facts": facts, "sources": sources, "articles": articles, "counts": counts}
