"""Overlapping runs, readers during an ingest, and a data directory that cannot be written.

Every test starts from the same staged home: three fixture feeds ingested, three
more added and not yet fetched. ``expected`` is that home after one normal
ingest: whatever happens on the way, a later normal run must end there.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from feedserver import FeedServer, delayed, static
from kbrun import (
    fixture_feeds,
    init_home,
    kb_json,
    query_store,
    run_kb,
    start_kb,
    store_snapshot,
    without_root_override,
)

SLOW_FEED_S = 0.8  # each not-yet-fetched feed answers after this long, so an ingest lasts seconds


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory):
    """(server, pristine staged home, expected snapshot after one normal ingest)."""
    feeds = fixture_feeds()
    paths = sorted(feeds)
    routes = {p: static(feeds[p]) for p in paths[:3]}
    routes |= {p: delayed(static(feeds[p]), SLOW_FEED_S) for p in paths[3:]}
    root = tmp_path_factory.mktemp("concurrency")
    with FeedServer(routes) as server:
        pristine = root / "pristine"
        init_home(pristine, [server.url(p) for p in paths[:3]])
        assert run_kb(pristine, "ingest").returncode == 0
        assert run_kb(pristine, "feeds", "add", *[server.url(p) for p in paths[3:]]).returncode == 0
        reference = root / "reference"
        shutil.copytree(pristine, reference)
        assert run_kb(reference, "ingest").returncode == 0
        yield server, pristine, store_snapshot(reference)


@pytest.fixture
def home(staged, tmp_path: Path) -> Path:
    """A private copy of the staged home."""
    target = tmp_path / "home"
    shutil.copytree(staged[1], target)
    return target


def _wait_for_lock(home: Path, process: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """Block until ``process`` holds the ingest lock (it writes its pid into the lock file)."""
    lock = home / "ingest.lock"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip() == str(process.pid):
            return
        assert process.poll() is None, "the first ingest ended before taking the lock"
        time.sleep(0.05)
    raise AssertionError("the first ingest never took the lock")


def _one_line_error(done: subprocess.CompletedProcess) -> str:
    """The single ``kb: error:`` line of a failed command (never a traceback)."""
    assert done.returncode not in (0, 1), f"expected an error exit, got {done.returncode}"
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("kb: error:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_second_ingest_exits_cleanly_while_the_first_holds_the_lock(staged, home: Path) -> None:
    """Two ingests at once: the second exits 0 saying another run holds the lock; no corruption."""
    first = start_kb(home, "ingest", "--json")
    _wait_for_lock(home, first)
    second = run_kb(home, "ingest", "--json")
    assert second.returncode == 0
    assert "another newskb run holds" in second.stderr
    assert json.loads(second.stdout)["skipped"] == "locked"
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert json.loads(out)["feeds"]["ok"] == 3
    assert store_snapshot(home) == staged[2]


def test_waiting_for_the_lock_is_bounded(staged, home: Path) -> None:
    """``kb ingest --wait 1`` gives up after about a second, still exiting 0."""
    first = start_kb(home, "ingest")
    _wait_for_lock(home, first)
    started = time.monotonic()
    second = run_kb(home, "ingest", "--wait", "1")
    waited = time.monotonic() - started
    first.communicate(timeout=120)
    assert second.returncode == 0 and "another newskb run holds" in second.stderr
    assert 1.0 <= waited < 10.0


def test_query_and_stats_answer_while_an_ingest_runs(staged, home: Path) -> None:
    """Readers keep working during an ingest (DuckDB allows one writer: it holds the file briefly)."""
    ingest = start_kb(home, "ingest")
    _wait_for_lock(home, ingest)
    answered = []
    while ingest.poll() is None:
        for args in (("stats",), ("query", "Lisbon port tunnel project", "-k", "3")):
            started = time.monotonic()
            done = run_kb(home, *args, "--json", timeout=60)
            answered.append((args[0], done.returncode, time.monotonic() - started, done.stdout))
    ingest.communicate(timeout=120)
    assert ingest.returncode == 0
    assert len(answered) >= 2, "the ingest finished before any reader ran"
    for command, code, seconds, stdout in answered:
        assert code == 0, (command, stdout)
        assert seconds < 30
    assert all(json.loads(out)["results"] for cmd, _, _, out in answered if cmd == "query")
    assert store_snapshot(home) == staged[2]


def test_read_only_home_gives_a_clear_error_and_keeps_the_store(staged, home: Path) -> None:
    """An ingest on a read-only data directory fails with one clear line; nothing changes."""
    before = store_snapshot(home)
    for path in [home, *home.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        done = run_kb(home, "ingest", preexec_fn=without_root_override)
        line = _one_line_error(done)
        assert "Permission denied" in line or "read-only" in line
        assert store_snapshot(home) == before
        assert run_kb(home, "stats", preexec_fn=without_root_override).returncode == 0
    finally:
        for path in [home, *home.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    assert run_kb(home, "ingest").returncode == 0
    assert store_snapshot(home) == staged[2]


def _disk_full_at(limit_bytes: int):
    """``preexec_fn``: writes past ``limit_bytes`` fail with EFBIG, as on a full disk."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return limit


def test_disk_full_gives_a_clear_error_and_loses_nothing(staged, home: Path) -> None:
    """A write failing mid-ingest: one clear line, earlier facts intact, the next run completes."""
    before = store_snapshot(home)
    size = os.path.getsize(home / "kb.duckdb")
    done = run_kb(home, "ingest", preexec_fn=_disk_full_at(size + 16 * 1024))
    _one_line_error(done)
    after = store_snapshot(home)
    assert set(before["facts"]) <= set(after["facts"])
    assert set(before["sources"]) <= set(after["sources"])
    doctor = kb_json(home, "doctor")
    assert doctor["ok"] and doctor["vectors"] == doctor["facts"]
    assert run_kb(home, "ingest").returncode == 0
    assert store_snapshot(home) == staged[2]
    facts = query_store(home, "SELECT count(*) FROM facts")[0][0]
    assert facts == staged[2]["counts"]["facts"]
