"""Shared fixtures: a fresh home, the CLI run in-process, loopback allowed for the test server."""

from __future__ import annotations

import json

import pytest

from kb.cli import main


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty data directory; KB_ALLOW_HOSTS lets the ingest reach the local test server."""
    monkeypatch.setenv("KB_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.delenv("KB_HOME", raising=False)
    return tmp_path / "kb"


@pytest.fixture
def kb(home, capsys):
    """Run ``kb --home HOME ARGS`` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def kb_json(kb):
    """Run ``kb ... --json`` in-process and return the parsed document."""

    def run(*args: str, expect: int = 0) -> dict:
        code, out, err = kb(*args, "--json")
        assert code == expect, f"kb {' '.join(args)} exited {code}: {err}"
        return json.loads(out)

    return run
