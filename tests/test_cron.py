"""The cron wrapper: a lock so runs never overlap, a log, the exit code kept."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

WRAPPER = Path(__file__).resolve().parents[1] / "cron" / "kb-cron.sh"


def _fake_kb(tmp_path: Path, exit_code: int) -> Path:
    """A stand-in for kb that records its arguments and exits with ``exit_code``."""
    script = tmp_path / "fake-kb"
    script.write_text(f'#!/bin/sh\necho "called $*" >> "{tmp_path}/calls"\necho ingested\nexit {exit_code}\n')
    script.chmod(0o755)
    return script


def _run(tmp_path: Path, exit_code: int = 0) -> subprocess.CompletedProcess:
    env = dict(os.environ, KB_HOME=str(tmp_path / "home"), KB_BIN=str(_fake_kb(tmp_path, exit_code)))
    return subprocess.run(["bash", str(WRAPPER)], env=env, capture_output=True, text=True, timeout=30)


def test_wrapper_runs_ingest_and_logs(tmp_path):
    """The wrapper calls `kb --home HOME ingest` and appends its output to the log."""
    done = _run(tmp_path)
    assert done.returncode == 0
    assert (tmp_path / "calls").read_text().strip() == f"called --home {tmp_path / 'home'} ingest"
    log = (tmp_path / "home" / "logs" / "ingest.log").read_text()
    assert "ingested" in log and "kb ingest exit 0" in log


def test_wrapper_keeps_the_exit_code(tmp_path):
    """A failed ingest's exit code is the wrapper's exit code."""
    assert _run(tmp_path, exit_code=1).returncode == 1


def test_lock_held_means_second_run_exits_0_without_ingesting(tmp_path):
    """While another run holds the lock, a second run exits 0, says so, and does not call kb."""
    (tmp_path / "home").mkdir()
    with open(tmp_path / "home" / "cron.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        done = _run(tmp_path)
    assert done.returncode == 0
    assert "another kb ingest holds" in done.stderr
    assert not (tmp_path / "calls").exists()
