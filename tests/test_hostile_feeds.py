"""The hostile feed corpus through the real ``kb ingest``: each case named, the rest ingested.

One module-scoped setup serves every case of tests/hostile.py, runs ``kb ingest
--json`` twice (the second run proves gone and backed-off feeds are left alone,
redirects remembered, republished stories not duplicated) and the tests read
the two reports, ``kb feeds list --json`` and the store.
"""

from __future__ import annotations

import json
import time

import pytest
from feedserver import FeedServer, rss, static
from hostile import CLEAN, FAILURES, FETCHED_ONCE, SCRIPT_MARKERS, WARNINGS, corpus
from kbrun import init_home, kb_json, query_store, run_kb, run_kb_measured

RUN_LIMIT_S = 60.0  # the slow loris alone is cut after 3 s (fetch_timeout_s=1)
MEMORY_LIMIT_MB = 500  # measured: about 200 MB with the hash encoder


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """Serve the corpus, ingest it twice, and keep what a user would look at."""
    home = tmp_path_factory.mktemp("hostile-home")
    with FeedServer(corpus()) as server:
        paths = [p for p in corpus() if p not in ("/loop-b", "/moved-here")]
        init_home(home, [server.url(p) for p in paths], fetch_timeout_s=1.0)
        started = time.monotonic()
        done, peak_mb = run_kb_measured(home, "ingest", "--json")
        elapsed = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        first = json.loads(done.stdout)
        hits_after_first = dict(server.hits)
        second = kb_json(home, "ingest", timeout=RUN_LIMIT_S * 2)
        feeds = kb_json(home, "feeds", "list")["feeds"]
        yield {
            "home": home,
            "server": server,
            "first": first,
            "second": second,
            "elapsed_s": elapsed,
            "peak_mb": peak_mb,
            "hits_after_first": hits_after_first,
            "feeds": {f["url"].split(str(server.port), 1)[1]: f for f in feeds},
            "url": server.url,
        }


def _error_for(report: dict, url: str) -> str:
    matches = [e["error"] for e in report["errors"] if e["feed"] == url]
    assert len(matches) == 1, f"expected one error for {url}, got {report['errors']}"
    return matches[0]


@pytest.mark.parametrize("path", sorted(FAILURES))
def test_hostile_feed_fails_with_a_one_line_reason(world, path: str) -> None:
    """Each failing case is reported in the ingest output and the feeds table, in one line."""
    reason, status = FAILURES[path]
    error = _error_for(world["first"], world["url"](path))
    assert reason in error and "\n" not in error
    row = world["feeds"][path]
    assert row["last_status"] == status
    assert reason in row["last_error"]


@pytest.mark.parametrize("path", sorted(WARNINGS))
def test_broken_but_usable_feed_is_read_with_a_warning(world, path: str) -> None:
    """Recoverable problems are warned about, and the feed is still read."""
    url = world["url"](path)
    warnings = [w["warning"] for w in world["first"]["warnings"] if w["feed"] == url]
    assert any(WARNINGS[path] in w for w in warnings), warnings
    assert world["feeds"][path]["last_status"] in ("ok", "not_modified")
    assert world["feeds"][path]["last_error"] is None


@pytest.mark.parametrize("path", CLEAN)
def test_clean_feeds_still_ingest(world, path: str) -> None:
    """The good control feed and the odd-but-valid ones are stored despite their neighbours."""
    row = world["feeds"].get(path) or world["feeds"][path + "-here"]
    assert row["last_error"] is None and row["articles"] >= 1


def test_run_reads_some_feeds_and_exits_zero(world) -> None:
    """With some feeds failing and others read, the run counts both and learns facts."""
    first = world["first"]
    assert first["feeds"]["ok"] == len(CLEAN) + len(WARNINGS)
    assert first["feeds"]["failed"] == len(FAILURES)
    assert first["facts"]["new"] > 0


def test_run_time_and_memory_are_bounded(world) -> None:
    """Slow loris, 50 MB body and gzip bomb together cost seconds and bounded memory."""
    assert world["elapsed_s"] < RUN_LIMIT_S, f"{world['elapsed_s']:.1f} s"
    assert world["peak_mb"] < MEMORY_LIMIT_MB, f"{world['peak_mb']:.0f} MB"


@pytest.mark.parametrize("path", FETCHED_ONCE)
def test_gone_and_backed_off_feeds_are_not_fetched_again(world, path: str) -> None:
    """404/410 mark a feed gone and 429/503 back it off: the next run does not request it."""
    assert world["hits_after_first"][path] == 1
    assert world["server"].hits[path] == 1
    url = world["url"](path)
    assert not any(e["feed"] == url for e in world["second"]["errors"])


def test_retry_after_is_stored(world) -> None:
    """The feeds table holds when a rate-limited feed may be fetched again."""
    stamps = query_store(
        world["home"],
        "SELECT date_diff('second', last_fetched, retry_after) FROM feeds WHERE url = ?",
        [world["url"]("/rate-limited")],
    )
    assert 3590 <= stamps[0][0] <= 3610


def test_permanent_redirect_is_remembered(world) -> None:
    """After a 301 the feed's URL is the new one and the old one is not requested again."""
    assert "/moved" not in world["feeds"] and "/moved-here" in world["feeds"]
    assert world["server"].hits["/moved"] == world["hits_after_first"]["/moved"] == 1
    assert world["feeds"]["/moved-here"]["last_status"] == "not_modified"


def test_duplicate_and_changing_guids_store_each_story_once(world) -> None:
    """A GUID repeated in a feed, then the same stories under new GUIDs, give two articles."""
    rows = query_store(
        world["home"],
        "SELECT count(*) FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE f.url = ?",
        [world["url"]("/guids")],
    )
    assert rows[0][0] == 2
    assert world["second"]["articles"]["new"] == 0


def test_wrong_and_missing_charsets_give_readable_titles(world) -> None:
    """Titles from the mislabelled and unlabelled feeds come out with the right letters."""
    titles = {t for (t,) in query_store(world["home"], "SELECT title FROM articles")}
    assert "Café crème prices rise at the bakery" in titles
    assert "Gärtner öffnen den Stadtgarten" in titles


def test_missing_and_future_dates_are_stored_as_unknown(world) -> None:
    """An item without a date and one dated 2031 are stored with no published date."""
    rows = query_store(
        world["home"],
        "SELECT a.published FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE f.url = ?",
        [world["url"]("/dates")],
    )
    assert len(rows) == 2 and all(published is None for (published,) in rows)


def test_enormous_title_is_stored_cut(world) -> None:
    """A 160,000-character title is stored cut to 500 characters."""
    lengths = query_store(world["home"], "SELECT max(length(title)) FROM articles")
    assert lengths[0][0] <= 500


def test_script_and_style_never_reach_the_store(world) -> None:
    """Only clean text is stored: no script or style code in articles or facts."""
    texts = query_store(world["home"], "SELECT text FROM articles UNION ALL SELECT text FROM facts")
    assert any("museum" in t for (t,) in texts)
    for (text,) in texts:
        assert not any(marker in text for marker in SCRIPT_MARKERS), text


def test_nothing_is_stored_from_refused_documents(world) -> None:
    """Billion laughs and XXE leave no article behind (and no /etc/passwd content)."""
    texts = query_store(world["home"], "SELECT title || ' ' || text FROM articles")
    assert not any("lollol" in t or "root:" in t for (t,) in texts)


def test_article_pages_on_forbidden_hosts_are_not_fetched(tmp_path) -> None:
    """With page fetching on, article links to metadata or private hosts are refused, others read."""
    page = (
        b"<html><body><nav>Menu</nav><article><p>The lighthouse keeper counted 412 ships in the "
        b"storm season, a record for the northern coast.</p></article></body></html>"
    )
    items = [
        {"guid": "a", "link": "http://169.254.169.254/latest/meta-data/iam", "description": "Short."},
        {"guid": "b", "link": "http://10.0.0.1/admin", "description": "Also short."},
    ]
    with FeedServer({"/page": static(page, "text/html")}) as server:
        items.append({"guid": "c", "link": server.url("/page"), "description": "Teaser."})
        feed_url = server.add("/feed", static(rss(items)))
        init_home(tmp_path, [feed_url], fetch_pages=True, fetch_timeout_s=1.0)
        done = run_kb(tmp_path, "-v", "ingest", "--json")
        assert done.returncode == 0, done.stderr
        assert server.hits["/page"] == 1
    assert "refused host 169.254.169.254" in done.stderr and "refused host 10.0.0.1" in done.stderr
    texts = [t for (t,) in query_store(tmp_path, "SELECT text FROM articles ORDER BY guid")]
    assert len(texts) == 3 and "412 ships" in texts[2]
