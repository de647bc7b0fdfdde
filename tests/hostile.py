"""The hostile and broken feed corpus (issue 5), generated in code and served by FeedServer.

Each case is one path on the test server. ``FAILURES`` and ``WARNINGS`` say what
``kb ingest`` must report for it; ingest/HOSTILE.md is the same table in prose.
Nothing here is big on disk: the 50 MB body and the gzip bomb are generated while
being streamed.
"""

from __future__ import annotations

from feedserver import (
    Route,
    gzip_bomb,
    http_date,
    huge,
    redirect,
    rss,
    sequence,
    static,
    status,
    trickle,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><description>x</description></item></channel></rss>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>t</title>
<item><title>&xxe;</title><description>x</description></item></channel></rss>"""

# Crashes feedparser 6.0 itself (KeyError 'media_player'); found by fuzzing the real feeds.
PARSER_CRASH = (
    b'<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>'
    b"<item><title>x</title></media:player></item></channel></rss>"
)

HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Welcome</title></head>"
    b"<body><h1>Our news site</h1><p>Subscribe to our newsletter.</p></body></html>"
)

SCRIPT_MARKERS = ("alert(", "document.cookie", "color: red", "font-size")


def _story(topic: str, n: int) -> dict:
    """An item whose description states two plain facts about ``topic``."""
    return {
        "guid": f"urn:{topic}:{n}",
        "title": f"{topic.title()} report number {n}",
        "link": f"https://news.example.com/{topic}/{n}",
        "description": (
            f"The {topic} council approved plan number {n} on Monday after a long debate. "
            f"Officials said the {topic} plan {n} will cost {n * 3 + 7} million euros in all."
        ),
    }


def _truncated() -> bytes:
    body = rss([_story("harbour", 1), _story("harbour", 2), _story("harbour", 3)])
    return body[: body.index(b"Harbour report number 3")]


def _guids_v1() -> bytes:
    first, second = _story("railway", 1), _story("railway", 2)
    return rss([first, {**first, "title": "Railway report number 1 (repeat)"}, second])


def _guids_v2() -> bytes:
    """The same two stories, republished with new GUIDs (a CMS migration)."""
    return rss([{**_story("railway", n), "guid": f"urn:new-cms:{n}"} for n in (1, 2)])


def _script_feed() -> bytes:
    payload = (
        "&lt;p&gt;The museum council opened a new wing for modern sculpture on Friday.&lt;/p&gt;"
        "&lt;script&gt;alert(document.cookie)&lt;/script&gt;"
        "&lt;style&gt;p { color: red; font-size: 99px }&lt;/style&gt;"
        '&lt;p onclick="alert(1)"&gt;Visitors enter the museum wing for free.&lt;/p&gt;'
    )
    return rss([{**_story("museum", 1), "description": payload}])


def _wrong_charset() -> bytes:
    """Declared UTF-8, actually cp1252."""
    body = rss([{**_story("bakery", 1), "title": "Café crème prices rise at the bakery"}])
    return body.decode().encode("cp1252")


def _no_charset() -> bytes:
    """No XML declaration, no HTTP charset, ISO-8859-1 bytes."""
    body = rss([{**_story("garden", 1), "title": "Gärtner öffnen den Stadtgarten"}])
    return body.split(b"?>", 1)[1].decode().encode("iso-8859-1")


def corpus() -> dict[str, Route]:
    """Every hostile case, by path. ``/good`` is the control that must still ingest."""
    return {
        "/good": static(rss([_story("river", 1), _story("river", 2)])),
        "/truncated": static(_truncated()),
        "/garbage": static(b'<?xml version="1.0"?>\n<rss version="2.0"><channel>\n<title>x</ti<<<'),
        "/wrong-charset": static(_wrong_charset()),
        "/no-charset": static(_no_charset(), "application/xml"),
        "/billion-laughs": static(BILLION_LAUGHS),
        "/xxe": static(XXE),
        "/huge": huge(50 * 1024 * 1024),
        "/gzip-bomb": gzip_bomb(),
        "/slow-loris": trickle(rss([_story("tortoise", 1)]), interval_s=0.2, max_s=10.0),
        "/loop-a": redirect("/loop-b", 302),
        "/loop-b": redirect("/loop-a", 302),
        "/moved": redirect("/moved-here", 301),
        "/moved-here": static(rss([_story("bridge", 1)])),
        "/not-found": status(404),
        "/gone": status(410),
        "/rate-limited": status(429, {"Retry-After": "3600"}),
        "/unavailable": status(503, {"Retry-After": http_date(7200)}),
        "/html": static(HTML_PAGE, "text/html; charset=utf-8"),
        "/parser-crash": static(PARSER_CRASH),
        "/empty": static(rss([])),
        "/guids": sequence(static(_guids_v1()), static(_guids_v2())),
        "/dates": static(
            rss(
                [
                    {**_story("airport", 1), "date": None},
                    {**_story("airport", 2), "date": "Wed, 01 Jan 2031 00:00:00 GMT"},
                ]
            )
        ),
        "/titles": static(rss([{**_story("stadium", 1), "title": "Stadium " * 20_000}])),
        "/script": static(_script_feed()),
        "/metadata-redirect": redirect("http://169.254.169.254/latest/meta-data/"),
    }


# path -> (substring of the one-line error, feeds.last_status after the run)
FAILURES: dict[str, tuple[str, str]] = {
    "/garbage": ("malformed XML: ", "failed"),
    "/billion-laughs": ("DOCTYPE declares entities", "failed"),
    "/xxe": ("DOCTYPE declares entities", "failed"),
    "/huge": ("too large: body over", "failed"),
    "/gzip-bomb": ("too large: compression ratio", "failed"),
    "/slow-loris": ("timed out", "failed"),
    "/loop-a": ("redirect loop", "failed"),
    "/not-found": ("HTTP 404", "gone"),
    "/gone": ("HTTP 410", "gone"),
    "/rate-limited": ("HTTP 429: rate limited, retry after 3600 s", "backoff"),
    "/unavailable": ("HTTP 503: rate limited", "backoff"),
    "/html": ("not a feed: got an HTML page", "failed"),
    "/parser-crash": ("feed parser failed: KeyError", "failed"),
    "/metadata-redirect": ("cloud metadata address", "failed"),
}

# path -> substring of a warning in the ingest output (the feed itself is read: status ok)
WARNINGS: dict[str, str] = {
    "/truncated": "malformed XML, recovered",
    "/wrong-charset": "do not match the XML declaration",
    "/empty": "feed has no entries",
    "/guids": "duplicate guid urn:railway:1",
    "/dates": "in the future",
    "/titles": "cut to 500",
}

FETCHED_ONCE = ("/not-found", "/gone", "/rate-limited", "/unavailable")

# Served but neither failing nor warned about: they must simply work.
CLEAN = ("/good", "/no-charset", "/moved", "/script")
