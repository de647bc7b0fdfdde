"""The demo feeds bundled for the README's first command read cleanly."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest

from ingest.facts import candidate_facts
from ingest.text import clean_text
from kb.words import numbers_in, word_overlap

DEMO = Path(__file__).resolve().parents[1] / "ingest" / "demo"
FEEDS = sorted(DEMO.glob("*.xml"))


def _facts(path: Path) -> list[list[str]]:
    entries = feedparser.parse(path.read_bytes()).entries
    return [
        candidate_facts(clean_text((e.get("content") or [{}])[0].get("value", "")), e.title) for e in entries
    ]


@pytest.mark.parametrize("path", FEEDS, ids=[p.name for p in FEEDS])
def test_demo_feed_is_small_wellformed_and_has_a_few_items(path: Path) -> None:
    """Each demo feed parses without error, holds 4-6 items and stays under 20 KB."""
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo
    assert 4 <= len(parsed.entries) <= 6
    assert path.stat().st_size < 20_000


@pytest.mark.parametrize("path", FEEDS, ids=[p.name for p in FEEDS])
def test_demo_boilerplate_and_scripts_are_filtered(path: Path) -> None:
    """No demo fact holds script text, a byline, "Read more" or a post footer."""
    facts = [fact for article in _facts(path) for fact in article]
    assert facts
    for junk in ("SCRIPT TEXT", "By ", "Reporting by", "Read more", "appeared first", "cookie"):
        assert not any(junk in fact for fact in facts), junk


def test_two_publishers_state_the_same_bridge_fact() -> None:
    """City Times and Harbour Herald word the council's decision differently, same numbers."""
    city = _facts(DEMO / "city-times.xml")[0]
    harbour = _facts(DEMO / "harbour-herald.xml")[0]
    city_fact = next(f for f in city if "approved a budget" in f)
    harbour_fact = next(f for f in harbour if "approved a 42 million" in f)
    assert city_fact != harbour_fact
    assert numbers_in(city_fact) == numbers_in(harbour_fact) == frozenset({"42000000"})
    assert word_overlap(city_fact, harbour_fact) >= 0.8
