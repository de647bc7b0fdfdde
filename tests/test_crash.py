"""Fault injection: ``kb ingest`` killed by SIGKILL at random moments loses and duplicates nothing.

Each trial starts from the same freshly initialised home, starts an ingest of
the fixture feeds, kills it after a random delay, then runs a normal ingest.
The store must then equal the store of one uninterrupted run (same facts, same
sources, same articles, equal counts) and the FAISS index must hold exactly one
vector per fact; every fifth crash is also queried before any repair run.
The seed is fixed so a failure can be replayed;
``KB_CRASH_SEED`` picks another.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from feedserver import FeedServer, static
from kbrun import (
    fixture_feeds,
    init_home,
    kb_json,
    query_store,
    run_kb,
    start_kb,
    store_snapshot,
)

from kb.base import INDEX_FILE
from kb.index import VectorIndex

KILLS = 30
SEED = int(os.environ.get("KB_CRASH_SEED", "20261206"))


def _index_ids(home: Path) -> list[int]:
    index, _ = VectorIndex.load(home / INDEX_FILE)
    return sorted(int(i) for i in index.ids())


def _kill_after(home: Path, delay_s: float) -> bool:
    """Start an ingest and SIGKILL it after ``delay_s``; False if it finished first."""
    process = start_kb(home, "ingest")
    try:
        process.wait(timeout=delay_s)
        process.communicate()
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.communicate()
        return True


@pytest.mark.slow
def test_killed_ingests_converge_to_the_uninterrupted_store(tmp_path: Path) -> None:
    """30 runs killed at random moments, each followed by a normal run, equal one clean run."""
    rng = random.Random(SEED)
    routes = {path: static(body) for path, body in fixture_feeds().items()}
    with FeedServer(routes) as server:
        pristine = tmp_path / "pristine"
        init_home(pristine, [server.url(p) for p in sorted(routes)])
        reference = tmp_path / "reference"
        shutil.copytree(pristine, reference)
        started = time.monotonic()
        assert run_kb(reference, "ingest").returncode == 0
        clean_run_s = time.monotonic() - started
        expected = store_snapshot(reference)
        assert (
            expected["counts"]["facts"] > 50
            and expected["counts"]["fact_sources"] > expected["counts"]["facts"]
        )

        kills = partial = trials = 0
        while kills < KILLS:
            trials += 1
            assert trials <= 3 * KILLS, f"only {kills} runs were still alive when killed"
            home = tmp_path / f"trial-{trials}"
            shutil.copytree(pristine, home)
            delay = rng.uniform(0.2, clean_run_s)
            if not _kill_after(home, delay):
                shutil.rmtree(home)
                continue
            kills += 1
            stored = query_store(home, "SELECT count(*) FROM articles")[0][0]
            partial += 0 < stored < expected["counts"]["articles"]
            if kills % 5 == 0:  # a user querying right after the crash, before any repair run
                assert run_kb(home, "query", "Lisbon port project", "--json").returncode == 0
            after = run_kb(home, "ingest")
            context = f"trial {trials}, killed after {delay:.2f} s (seed {SEED})"
            assert after.returncode == 0, f"{context}: {after.stderr}"
            assert store_snapshot(home) == expected, context
            facts = [i for (i,) in query_store(home, "SELECT id FROM facts ORDER BY id")]
            assert _index_ids(home) == facts, context
            if kills < KILLS:
                shutil.rmtree(home)
        doctor = kb_json(home, "doctor")
        assert doctor["ok"] and doctor["vectors"] == doctor["facts"] == expected["counts"]["facts"]
    print(f"{kills} kills in {trials} trials, {partial} mid-ingestion; clean run {clean_run_s:.2f} s")
    # The kills must have hit the interesting window, not only start-up and shut-down.
    assert partial >= 5, f"only {partial} of {kills} kills left a partly ingested store"
