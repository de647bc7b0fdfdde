"""Feed parsing: real feeds parse, hostile documents are refused, broken ones named."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from feedserver import rss
from hostile import BILLION_LAUGHS, PARSER_CRASH, XXE

from ingest.parse import MAX_TITLE_CHARS, FeedError, parse_feed

REAL_FEEDS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "news" / "feeds"
URL = "https://news.example.com/feed.xml"
NOW = datetime(2024, 12, 3, tzinfo=UTC)


def _parse(body: bytes, content_type: str | None = None):
    return parse_feed(body, URL, content_type, now=NOW)


def _real_feeds() -> list[Path]:
    if not REAL_FEEDS.is_dir():
        return []
    return sorted(p for p in REAL_FEEDS.iterdir() if p.suffix in (".xml", ".rss", ".atom"))


@pytest.mark.skipif(not _real_feeds(), reason="real feed snapshots (../shared/data) absent")
@pytest.mark.parametrize("path", _real_feeds(), ids=lambda p: p.name)
def test_real_feed_parses_with_entries(path: Path) -> None:
    """Every real feed snapshot (RSS 2.0, RDF, Atom, ISO-8859-1, odd prologs) yields entries."""
    feed = parse_feed(path.read_bytes(), f"https://example.com/{path.name}")
    assert feed.title and feed.entries
    assert all(e.guid and e.title for e in feed.entries)
    assert not any("\ufffd" in e.title for e in feed.entries)


def test_iso_8859_1_feed_is_decoded_by_its_declaration() -> None:
    """Latin-1 bytes declared in the XML declaration come out as the right letters."""
    body = rss([{"title": "Café über Straße"}]).replace(b"utf-8", b"ISO-8859-1")
    body = body.decode().encode("latin-1")
    assert _parse(body).entries[0].title == "Café über Straße"


def test_wrong_declared_charset_falls_back_with_a_warning() -> None:
    """Bytes that are not what the declaration says are still read, with a warning."""
    body = rss([{"title": "Café crème"}]).decode().encode("cp1252")  # declared utf-8
    feed = _parse(body)
    assert feed.entries[0].title == "Café crème"
    assert any("do not match the XML declaration" in w for w in feed.warnings)


def test_stray_byte_in_a_utf8_feed_keeps_the_other_letters() -> None:
    """One pasted cp1252 byte in a UTF-8 feed is replaced; the rest stays correct UTF-8."""
    body = rss([{"title": "Zürich café"}, {"title": "Paid \x96 stray"}]).replace(b"\xc2\x96", b"\x96")
    feed = _parse(body)
    assert feed.entries[0].title == "Zürich café"
    assert any("invalid UTF-8 bytes replaced: 1" in w for w in feed.warnings)


def test_missing_charset_uses_the_http_header() -> None:
    """No XML declaration: the HTTP charset decides."""
    body = rss([{"title": "Ærø"}]).split(b"?>", 1)[1].decode().encode("iso-8859-1")
    assert _parse(body, "text/xml; charset=iso-8859-1").entries[0].title == "Ærø"


def test_missing_charset_everywhere_is_guessed() -> None:
    """No declaration and no HTTP charset: UTF-8, else cp1252."""
    body = rss([{"title": "naïve “quotes”"}]).split(b"?>", 1)[1]
    assert _parse(body.decode().encode("cp1252")).entries[0].title == "naïve “quotes”"
    assert _parse(body).entries[0].title == "naïve “quotes”"


def test_utf16_with_bom_is_decoded() -> None:
    """A UTF-16 document with a byte order mark parses."""
    body = rss([{"title": "Grüße"}]).replace(b"utf-8", b"utf-16").decode().encode("utf-16")
    assert _parse(body).entries[0].title == "Grüße"


def test_billion_laughs_is_refused() -> None:
    """Entity declarations in the DOCTYPE (entity expansion) are refused before parsing."""
    with pytest.raises(FeedError, match="DOCTYPE declares entities"):
        _parse(BILLION_LAUGHS)


def test_external_entity_is_refused() -> None:
    """An external entity (XXE) pointing at a local file is refused; nothing is read."""
    with pytest.raises(FeedError, match="DOCTYPE declares entities") as info:
        _parse(XXE)
    assert "root:" not in str(info.value)


def test_external_dtd_is_not_loaded() -> None:
    """A DOCTYPE naming an external DTD parses without that file being read."""
    body = rss([{"title": "ok"}]).replace(b"<rss", b'<!DOCTYPE rss SYSTEM "file:///etc/passwd">\n<rss', 1)
    feed = _parse(body)
    assert feed.entries[0].title == "ok"
    assert "root:" not in repr(feed)


def test_body_is_never_opened_as_a_path() -> None:
    """Bytes that look like a file name are parsed as a document, not read from disk."""
    with pytest.raises(FeedError, match="not a feed"):
        _parse(b"/etc/passwd")


def test_html_page_instead_of_a_feed() -> None:
    """A site's HTML page served at the feed URL is named as such."""
    page = b"<!DOCTYPE html>\n<html><head><title>Home</title></head><body><p>hi</p></body></html>"
    with pytest.raises(FeedError, match="^not a feed: got an HTML page$"):
        _parse(page, "text/html; charset=utf-8")


def test_empty_feed_has_zero_entries_and_a_warning() -> None:
    """A valid channel with no items is not an error."""
    feed = _parse(rss([]))
    assert (feed.title, feed.entries) == ("Test feed", [])
    assert "feed has no entries" in feed.warnings


def test_truncated_feed_keeps_the_complete_entries() -> None:
    """XML cut mid-item keeps the items that were complete, with a warning."""
    body = rss([{"title": "One"}, {"title": "Two"}, {"title": "Three"}])
    cut = body[: body.index(b"Three") + 2]
    feed = _parse(cut)
    assert [e.title for e in feed.entries][:2] == ["One", "Two"]
    assert any(w.startswith("malformed XML, recovered") for w in feed.warnings)


def test_garbage_is_malformed_xml_with_a_line_number() -> None:
    """An unusable document raises one line naming the parser's reason and line."""
    body = b'<?xml version="1.0"?>\n<rss version="2.0"><channel>\n<title>x</ti<<<'
    with pytest.raises(FeedError, match=r"^malformed XML: .* at line \d+$"):
        _parse(body)


def test_non_feed_xml_is_not_a_feed() -> None:
    """Well-formed XML that is not RSS/Atom/RDF is refused."""
    with pytest.raises(FeedError, match="not a feed"):
        _parse(b'<?xml version="1.0"?><config><a>1</a></config>')


def test_enormous_title_is_cut() -> None:
    """A 100,000-character title is cut to the limit with a warning."""
    feed = _parse(rss([{"title": "word " * 20_000}]))
    assert len(feed.entries[0].title) == MAX_TITLE_CHARS
    assert feed.entries[0].title.endswith("…")
    assert any("cut to 500" in w for w in feed.warnings)


def test_future_date_is_ignored_with_a_warning() -> None:
    """A date more than a day ahead is dropped (None), a date within a day kept."""
    feed = _parse(
        rss(
            [
                {"date": "Wed, 01 Jan 2031 00:00:00 GMT"},
                {"date": "Tue, 03 Dec 2024 12:00:00 GMT"},
            ]
        )
    )
    assert feed.entries[0].published is None
    assert feed.entries[1].published == datetime(2024, 12, 3, 12, tzinfo=UTC)
    assert any("in the future" in w for w in feed.warnings)


def test_missing_date_is_none() -> None:
    """An item without a date parses with published None."""
    assert _parse(rss([{"date": None}])).entries[0].published is None


def test_dates_are_utc() -> None:
    """A +0200 date is converted to an aware UTC datetime."""
    feed = _parse(rss([{"date": "Mon, 02 Dec 2024 12:00:00 +0200"}]))
    assert feed.entries[0].published == datetime(2024, 12, 2, 10, tzinfo=UTC)


def test_script_and_style_are_removed_from_content() -> None:
    """Content HTML comes back without script or style elements or their text."""
    html = "&lt;p&gt;Real text.&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;style&gt;p{}&lt;/style&gt;"
    entry = _parse(rss([{"description": html}])).entries[0]
    assert "Real text." in entry.html
    assert "alert" not in entry.html and "p{}" not in entry.html and "<script" not in entry.html


def test_full_content_is_preferred_over_summary() -> None:
    """content:encoded wins over the description."""
    item = (
        "<item><guid>g1</guid><title>t</title><description>short</description>"
        "<content:encoded><![CDATA[<p>The full article.</p>]]></content:encoded></item>"
    )
    body = (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>c</title>'
        f"{item}</channel></rss>"
    ).encode()
    assert _parse(body).entries[0].html == "<p>The full article.</p>"


def test_duplicate_guid_in_one_feed_is_kept_once() -> None:
    """The same GUID twice in a document gives one entry and a warning."""
    feed = _parse(rss([{"guid": "same", "title": "A"}, {"guid": "same", "title": "A again"}]))
    assert [e.title for e in feed.entries] == ["A"]
    assert any("duplicate guid same" in w for w in feed.warnings)


def test_entry_without_guid_or_link_gets_a_stable_key() -> None:
    """No GUID and no link: a content hash keys the entry, the same on every parse."""
    body = rss([{"guid": None, "link": "", "title": "Lonely"}])
    first, second = _parse(body).entries[0], _parse(body).entries[0]
    assert first.guid.startswith("sha256:") and first.guid == second.guid


def test_entry_without_guid_uses_its_link() -> None:
    """No GUID: the link is the key."""
    entry = _parse(rss([{"guid": None, "link": "https://news.example.com/a"}])).entries[0]
    assert entry.guid == "https://news.example.com/a"


def test_javascript_links_are_dropped() -> None:
    """Only http(s) article links are kept."""
    entry = _parse(rss([{"link": "javascript:alert(1)"}])).entries[0]
    assert entry.url is None


def test_relative_links_resolve_against_the_feed_url() -> None:
    """A relative item link becomes absolute, based on the feed's URL."""
    entry = _parse(rss([{"link": "/story/1"}])).entries[0]
    assert entry.url == "https://news.example.com/story/1"


def test_feedparser_crash_is_a_feed_error() -> None:
    """A document that crashes feedparser itself (found by fuzzing) fails alone, as a FeedError."""
    with pytest.raises(FeedError, match="^feed parser failed: KeyError"):
        _parse(PARSER_CRASH)
