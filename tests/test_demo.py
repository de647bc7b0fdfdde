"""`kb demo`: the README's first command, offline, on the bundled feeds."""

from __future__ import annotations


def test_demo_ingests_bundled_feeds_and_answers(kb_json, monkeypatch):
    """The demo reads all bundled feeds and its answer cites both publishers of the shared story."""
    monkeypatch.delenv("KB_ALLOW_HOSTS")  # the demo must allow its own local server by itself
    result = kb_json("demo", "--encoder", "hash")
    assert result["ingest"]["feeds"]["ok"] == 3 and result["ingest"]["errors"] == []
    assert result["ingest"]["facts"]["known"] >= 1
    shared = [hit for hit in result["results"] if len(hit["sources"]) == 2]
    assert shared, "the story both publishers reported should be one fact with two sources"


def test_demo_twice_adds_nothing_new(kb_json, monkeypatch):
    """Running the demo again stores no new article or fact."""
    monkeypatch.delenv("KB_ALLOW_HOSTS")
    kb_json("demo", "--encoder", "hash")
    again = kb_json("demo", "--encoder", "hash")
    assert again["ingest"]["articles"]["new"] == 0 and again["ingest"]["facts"]["new"] == 0
