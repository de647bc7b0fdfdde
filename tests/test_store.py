"""The store and the CLI's handling of bad input: one line, non-zero exit, nothing half-written."""

from __future__ import annotations

import json

from kb.migrations import MIGRATIONS
from kb.novelty import NoveltyConfig, decide, numbers_in, same_fact
from kb.store import open_store


def test_migrations_are_recorded_once(home):
    """Opening a store twice applies each migration exactly once, in order."""
    for _ in range(2):
        with open_store(home) as store:
            versions = store.con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
    assert [v for (v,) in versions] == list(range(1, len(MIGRATIONS) + 1))


def test_query_without_init_names_the_home(kb, home):
    """Querying a home that holds no knowledge base says to run kb init."""
    code, out, err = kb("query", "anything")
    assert code == 2 and out == "" and "kb init" in err and str(home) in err


def test_unknown_config_key_is_an_error(kb, home):
    """A typo in config.json is reported with the key, not silently ignored."""
    kb("init", "--encoder", "hash")
    (home / "config.json").write_text(json.dumps({"novelty_treshold": 0.5}))
    code, _, err = kb("stats")
    assert code == 2 and "novelty_treshold" in err and err.count("\n") == 1


def test_feeds_add_refuses_a_non_http_url_and_adds_nothing(kb, kb_json):
    """One bad URL among several fails the command and none of them is added."""
    kb("init", "--encoder", "hash")
    code, _, err = kb("feeds", "add", "https://ok.example/rss", "file:///etc/passwd")
    assert code == 2 and "file:///etc/passwd" in err
    assert kb_json("feeds", "list")["feeds"] == []


def test_feeds_add_list_remove(kb, kb_json):
    """Feeds can be added (twice is harmless), listed and removed."""
    kb("init", "--encoder", "hash")
    assert kb_json("feeds", "add", "https://a.example/rss")["added"] == ["https://a.example/rss"]
    assert kb_json("feeds", "add", "https://a.example/rss")["added"] == []
    assert [f["url"] for f in kb_json("feeds", "list")["feeds"]] == ["https://a.example/rss"]
    kb_json("feeds", "remove", "https://a.example/rss")
    assert kb_json("feeds", "list")["feeds"] == []


def test_explain_unknown_fact_is_an_error(kb):
    """Explaining a fact id that does not exist fails with a one-line error."""
    kb("init", "--encoder", "hash")
    code, _, err = kb("explain", "999")
    assert code == 2 and "999" in err


def test_empty_query_is_an_error(kb):
    """A blank query text fails with a one-line error instead of listing every fact."""
    kb("init", "--encoder", "hash")
    code, out, err = kb("query", "   ")
    assert code == 2 and out == "" and "empty" in err and err.count("\n") == 1


def test_ingest_without_feeds_says_how_to_add_one(kb):
    """An ingest of a home with no feeds succeeds and tells the user the next step."""
    kb("init", "--encoder", "hash")
    code, out, _ = kb("ingest")
    assert code == 0 and "kb feeds add" in out


def test_numbers_are_normalised():
    """1,000 and 1000 are the same number; 3.5 stays 3.5."""
    assert numbers_in("1,000 people and 3.5%") == numbers_in("1000 people and 3.5 %")


def test_different_numbers_are_different_facts():
    """A high cosine does not merge sentences that state different numbers."""
    config = NoveltyConfig(threshold=0.8)
    assert not same_fact("Ajax won 2-1 on Sunday.", "Ajax won 3-1 on Sunday.", 0.97, config)
    assert same_fact("Ajax won 2-1 on Sunday.", "On Sunday Ajax won 2-1.", 0.97, config)


def test_an_added_date_does_not_make_a_new_fact():
    """One report adding the date the other leaves out still states the same fact."""
    config = NoveltyConfig(threshold=0.8)
    assert same_fact("On 21 December parliament legalised medical cannabis.",
                     "Parliament legalised medical cannabis.", 0.9, config)  # fmt: skip


def test_decision_keeps_nearest_fact_and_reason():
    """A candidate below the threshold is new, and the decision names the nearest fact."""
    decision = decide("Rain fell.", [(7, "Snow fell in the hills.", 0.42)], NoveltyConfig(threshold=0.8))
    assert decision.verdict == "new" and decision.nearest_fact_id == 7
    assert decision.nearest_score == 0.42 and "0.420" in decision.reason
