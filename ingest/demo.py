"""``kb demo``: the whole loop offline, on the small feeds bundled in ingest/demo/.

Serves them from a local HTTP server on 127.0.0.1 (allowed for this process
only, through KB_ALLOW_HOSTS), ingests them into ``home`` and answers a sample
query, so a new user sees facts with their sources a minute after installing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ingest.loop import run_ingest
from ingest.serve import serve_directory
from kb.base import initialise
from kb.search import query
from kb.store import open_store

DEMO_DIR = Path(__file__).parent / "demo"
DEMO_QUERY = "What did the council decide about the harbour bridge?"
DEMO_PORT = 8765  # fixed when free, so a second demo run hits the same feed URLs (and gets 304s)


@contextmanager
def _loopback_allowed() -> Iterator[None]:
    """Allow 127.0.0.1 for this process only, as a user would with KB_ALLOW_HOSTS."""
    before = os.environ.get("KB_ALLOW_HOSTS")
    os.environ["KB_ALLOW_HOSTS"] = ",".join(filter(None, [before, "127.0.0.1"]))
    try:
        yield
    finally:
        if before is None:
            del os.environ["KB_ALLOW_HOSTS"]
        else:
            os.environ["KB_ALLOW_HOSTS"] = before


def run_demo(home: Path, encoder_spec: str | None = None, progress=None) -> dict:
    """Ingest the bundled feeds into ``home`` and query them; returns what the CLI prints."""
    kb = initialise(home, encoder_spec)
    with ExitStack() as stack:
        stack.enter_context(_loopback_allowed())
        try:
            base = stack.enter_context(serve_directory(DEMO_DIR, DEMO_PORT))
        except OSError:  # the fixed port is taken: any free one will do
            base = stack.enter_context(serve_directory(DEMO_DIR))
        with open_store(home) as store, store.transaction():
            for path in sorted(DEMO_DIR.iterdir()):
                if path.suffix in (".xml", ".atom", ".rss"):
                    store.add_feed(base + path.name)
        report = run_ingest(kb, lock_wait_s=30.0, progress=progress)
    with open_store(home, read_only=True) as store:
        results = query(kb, store, DEMO_QUERY, k=3)
    return {"home": str(home), "ingest": report.as_dict(), "query": DEMO_QUERY, "results": results}
