"""The ingestion loop end to end: fixture feeds served locally, the hash encoder, the real CLI."""

from __future__ import annotations

import numpy as np
import pytest
from feedserver import FeedServer, rss, static

from kb.base import KnowledgeBase
from kb.store import open_store

FLOOD = "Heavy rain flooded the river town of Brackwater on Monday, forcing 300 residents to leave."
BRIDGE = "The city council approved a new bridge over the Ouse estuary at a cost of 40 million pounds."
VOTE = "Voters in the northern district elected their first independent mayor since 1998."


def _feed(*sentences: str, site: str, title: str | None = None) -> bytes:
    title = title or f"{site.upper()} report"
    items = [
        {"guid": f"{site}-{i}", "title": f"{title} {i}", "link": f"https://{site}.example/{i}",
         "description": sentence}
        for i, sentence in enumerate(sentences)
    ]  # fmt: skip
    return rss(items, title=site)


@pytest.fixture
def server():
    with FeedServer() as srv:
        yield srv


def _start(kb, server, **feeds: bytes) -> list[str]:
    urls = [server.add(f"/{name}.xml", static(body)) for name, body in feeds.items()]
    assert kb("init", "--encoder", "hash")[0] == 0
    assert kb("feeds", "add", *urls)[0] == 0
    return urls


def test_second_ingest_gets_304_and_adds_nothing(kb, kb_json, server):
    """An unchanged feed costs a 304 and inserts no fact the second time."""
    _start(kb, server, a=_feed(FLOOD, BRIDGE, site="a"))
    first = kb_json("ingest")
    second = kb_json("ingest")
    assert first["facts"]["new"] >= 2 and first["feeds"]["ok"] == 1
    assert second["feeds"] == {"ok": 0, "not_modified": 1, "failed": 0, "skipped": 0}
    assert second["facts"] == {"new": 0, "known": 0}


def test_same_story_from_two_publishers_is_one_fact_with_two_sources(kb, kb_json, server, home):
    """Two publishers stating the same fact give one fact carrying both articles as sources."""
    reworded = FLOOD.replace("forcing 300 residents to leave", "and 300 residents were forced to leave")
    _start(kb, server, a=_feed(FLOOD, site="a"), b=_feed(reworded, VOTE, site="b"))
    report = kb_json("ingest")
    assert report["facts"]["known"] == 1
    hits = kb_json("query", "flooded river town Brackwater", "-k", "1")["results"]
    assert hits[0]["text"] == FLOOD
    assert sorted(s["url"] for s in hits[0]["sources"]) == ["https://a.example/0", "https://b.example/0"]


def test_malformed_feed_fails_alone_with_its_reason(kb, kb_json, server):
    """A broken feed is reported with a one-line reason while the other feed still ingests."""
    urls = _start(
        kb,
        server,
        good=_feed(BRIDGE, site="good"),
        bad=b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Broken</title></rss>',
    )
    report = kb_json("ingest")
    assert report["feeds"]["ok"] == 1 and report["feeds"]["failed"] == 1
    (error,) = report["errors"]
    assert error["feed"] == urls[1] and "\n" not in error["error"] and error["error"]
    listed = {f["url"]: f for f in kb_json("feeds", "list")["feeds"]}
    assert listed[urls[1]]["last_status"] == "failed" and listed[urls[1]]["last_error"] == error["error"]


def test_all_feeds_failing_exits_1(kb, server):
    """When no feed could be read the ingest exits 1."""
    _start(kb, server, bad=b"not a feed at all")
    code, _, _ = kb("ingest")
    assert code == 1


def test_query_returns_fact_with_sources(kb, kb_json, server):
    """A query finds the fact and names the article it came from, with the JSON contract's keys."""
    _start(kb, server, a=_feed(FLOOD, BRIDGE, VOTE, site="a", title="Local"))
    kb_json("ingest")
    (hit,) = kb_json("query", "council bridge estuary cost", "-k", "1")["results"]
    assert set(hit) >= {"fact_id", "text", "score", "first_seen", "topic", "sources"}
    assert hit["text"] == BRIDGE
    assert hit["sources"][0]["title"] == "Local 1" and set(hit["sources"][0]) >= {"title", "url", "published"}


def test_query_since_filter_excludes_older_facts(kb, kb_json, server):
    """--since in the future leaves nothing to return."""
    _start(kb, server, a=_feed(FLOOD, site="a"))
    kb_json("ingest")
    assert kb_json("query", "flood", "--since", "2999-01-01")["results"] == []


def test_faiss_search_agrees_with_brute_force(kb, kb_json, server, home):
    """The stored index ranks facts exactly as a numpy dot product over the stored vectors."""
    _start(kb, server, a=_feed(FLOOD, BRIDGE, VOTE, site="a"), b=_feed("Markets fell sharply.", site="b"))
    kb_json("ingest")
    base = KnowledgeBase.open(home)
    with open_store(home, read_only=True) as store:
        index, repairs = base.load_index(store)
        ids, vectors = store.fact_vectors()
    assert repairs == []
    scores, found = index.search(vectors, len(ids))
    brute = vectors @ vectors.T
    for row in range(len(ids)):
        np.testing.assert_allclose(scores[row], np.sort(brute[row])[::-1], rtol=1e-5, atol=1e-5)
        assert found[row][0] == ids[row]


def test_explain_shows_decisions(kb, kb_json, server):
    """kb explain shows the fact's sources and the decision with its nearest neighbour."""
    _start(kb, server, a=_feed(FLOOD, site="a"), b=_feed(FLOOD, site="b"))
    kb_json("ingest")
    fact_id = kb_json("query", "Brackwater flood", "-k", "1")["results"][0]["fact_id"]
    explained = kb_json("explain", str(fact_id))
    verdicts = [d["verdict"] for d in explained["decisions"]]
    assert verdicts == ["new", "known"] and len(explained["sources"]) == 2
    assert explained["decisions"][1]["nearest_fact_id"] == fact_id


def test_encoder_mismatch_is_refused(kb, kb_json, server, home):
    """A store embedded by one encoder refuses another with a one-line error."""
    _start(kb, server, a=_feed(FLOOD, site="a"))
    kb_json("ingest")
    config = home / "config.json"
    config.write_text(config.read_text().replace('"hash"', '"hash-32"'))
    code, _, err = kb("query", "flood")
    assert code == 2 and "hash-64" in err and "kb reindex" in err and err.count("\n") == 1


def test_reindex_with_new_encoder_re_embeds(kb, kb_json, server):
    """kb reindex --encoder re-embeds every fact; queries work again."""
    _start(kb, server, a=_feed(FLOOD, BRIDGE, site="a"))
    kb_json("ingest")
    result = kb_json("reindex", "--encoder", "hash-32")
    assert result["re_embedded"] == 2 and result["encoder"] == "hash-32"
    assert kb_json("query", "bridge", "-k", "1")["results"][0]["text"] == BRIDGE


def test_doctor_repairs_a_lost_index(kb, kb_json, server, home):
    """Deleting the FAISS files loses nothing: doctor rebuilds them from the store."""
    _start(kb, server, a=_feed(FLOOD, BRIDGE, site="a"))
    kb_json("ingest")
    for path in (home / "index").iterdir():
        path.unlink()
    report = kb_json("doctor")
    assert report["ok"] and report["vectors"] == report["facts"] == 2 and report["repaired"]


def test_stats_and_topics(kb, kb_json, server):
    """stats counts what was stored; topics lists the running topics."""
    _start(kb, server, a=_feed(FLOOD, BRIDGE, site="a"))
    kb_json("ingest")
    stats = kb_json("stats")
    assert stats["counts"]["facts"] == 2 and stats["counts"]["articles"] == 2
    assert stats["last_run"]["facts_new"] == 2
    assert kb_json("topics")["topics"]


def test_bm25_cache_follows_new_facts(kb, kb_json, server, home):
    """The cached BM25 index is rebuilt when facts are added, so new facts are found lexically."""
    from kb.search import fact_bm25

    _start(kb, server, a=_feed(FLOOD, site="a"))
    kb_json("ingest")
    kb_json("query", "flood")
    kb_json("feeds", "add", server.add("/b.xml", static(_feed(BRIDGE, site="b"))))
    kb_json("ingest")
    base = KnowledgeBase.open(home)
    with open_store(home, read_only=True) as store:
        ids, bm25 = fact_bm25(base, store)
        best = int(np.argmax(bm25.scores("estuary bridge council")))
        texts = dict(store.con.execute("SELECT id, text FROM facts").fetchall())
    assert len(ids) == 2 and texts[int(ids[best])] == BRIDGE


def test_articles_on_one_story_share_a_running_topic(kb, kb_json, server, home):
    """Two publishers' articles on the same story join one topic; an unrelated story starts another."""
    reworded = FLOOD.replace("forcing 300 residents to leave", "and 300 residents were forced to leave")
    _start(kb, server, a=_feed(FLOOD, site="a"), b=_feed(reworded, site="b"), c=_feed(VOTE, site="c"))
    kb_json("ingest")
    with open_store(home, read_only=True) as store:
        topic_of = dict(store.con.execute("SELECT url, topic_id FROM articles").fetchall())
        members = store.scalar(
            "SELECT n_articles FROM topics WHERE id = ?", [topic_of["https://a.example/0"]]
        )
    assert (
        topic_of["https://a.example/0"] == topic_of["https://b.example/0"] != topic_of["https://c.example/0"]
    )
    assert members == 2


def test_feed_warning_is_kept_in_the_feeds_table(kb, kb_json, server):
    """A feed read despite a problem (here: no entries) is ok, with the warning in `feeds list`."""
    (url,) = _start(kb, server, empty=rss([], title="Empty"))
    report = kb_json("ingest")
    assert report["feeds"]["ok"] == 1 and report["warnings"][0]["feed"] == url
    (feed,) = kb_json("feeds", "list")["feeds"]
    assert feed["last_status"] == "ok" and "no entries" in feed["last_warning"]


def test_pages_are_fetched_only_for_new_articles(kb, kb_json, server, home):
    """With fetch_pages on, the page's main text is stored, and a second run fetches no page again."""
    import json

    page = "<html><body><nav>Home | World</nav><article>" + "".join(
        f"<p>The harbour master confirmed that {n} ferries will resume service on Friday morning.</p>"
        for n in range(2, 6)
    ) + "</article></body></html>"  # fmt: skip
    page_url = server.add("/story.html", static(page.encode(), "text/html", etag=None, last_modified=None))
    feed = rss([{"guid": "s1", "title": "Ferries return", "link": page_url, "description": BRIDGE}])
    _start(kb, server, a=feed)
    config = home / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "fetch_pages": True}))
    kb_json("ingest")
    server.add("/a.xml", static(feed + b"<!-- changed -->"))  # a new ETag: the feed is read again
    second = kb_json("ingest")
    assert second["articles"] == {"new": 0, "seen": 1}
    assert server.hits["/story.html"] == 1
    texts = [hit["text"] for hit in kb_json("query", "ferries resume service", "-k", "4")["results"]]
    assert "The harbour master confirmed that 3 ferries will resume service on Friday morning." in texts


def test_feeds_are_fetched_concurrently_and_processed_in_order(kb, kb_json, server):
    """Several feeds are in flight at once, yet facts are numbered in feed order."""
    import threading
    import time

    in_flight, peak, guard = [0], [0], threading.Lock()

    def slow(body: bytes):
        serve = static(body)

        def route(handler) -> None:
            with guard:
                in_flight[0] += 1
                peak[0] = max(peak[0], in_flight[0])
            time.sleep(0.3)
            serve(handler)
            with guard:
                in_flight[0] -= 1

        return route

    sentences = [FLOOD, BRIDGE, VOTE, "Markets fell sharply in early trading on Wednesday in Lowmere."]
    urls = [server.add(f"/{i}.xml", slow(_feed(s, site=f"s{i}"))) for i, s in enumerate(sentences)]
    kb("init", "--encoder", "hash")
    kb("feeds", "add", *urls)
    kb_json("ingest")
    assert peak[0] >= 2
    texts = [kb_json("explain", str(i))["text"] for i in range(1, 5)]
    assert texts == sentences
