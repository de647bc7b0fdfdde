"""The feed fetcher against a local server that misbehaves in every way a feed server can."""

from __future__ import annotations

import socket
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from feedserver import (
    FeedServer,
    gzip_bomb,
    http_date,
    huge,
    redirect,
    rss,
    sequence,
    stall,
    static,
    status,
    trickle,
)

from ingest.fetch import USER_AGENT, FetchConfig, FetchErrorKind, fetch, parse_retry_after
from ingest.hostguard import HostPolicy

LOCAL = HostPolicy.from_config(["127.0.0.1"], environ={})
FEED = rss([{"title": "Hello"}, {"title": "World"}])


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def _error(url: str, config: FetchConfig | None = None, policy: HostPolicy = LOCAL):
    """The FetchError that fetching ``url`` raises."""
    from ingest.fetch import FetchError

    with pytest.raises(FetchError) as info:
        fetch(url, config=config, policy=policy)
    assert "\n" not in str(info.value)
    return info.value


def test_fetch_returns_body_and_validators(server: FeedServer) -> None:
    """A 200 gives the body, ETag, Last-Modified and content type."""
    url = server.add("/feed", static(FEED, "application/rss+xml; charset=utf-8"))
    result = fetch(url, policy=LOCAL)
    assert (result.status, result.body, result.url) == (200, FEED, url)
    assert result.etag and result.last_modified == "Mon, 02 Dec 2024 10:00:00 GMT"
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.permanent_url is None


def test_conditional_get_with_etag_gets_304(server: FeedServer) -> None:
    """Sending back the ETag costs a 304 with no body."""
    url = server.add("/feed", static(FEED))
    first = fetch(url, policy=LOCAL)
    again = fetch(url, etag=first.etag, policy=LOCAL)
    assert (again.status, again.body, again.etag) == (304, None, first.etag)
    assert server.requests[-1][1]["If-None-Match"] == first.etag


def test_conditional_get_with_last_modified_gets_304(server: FeedServer) -> None:
    """A server without ETags answers If-Modified-Since with a 304."""
    url = server.add("/feed", static(FEED, etag=None))
    first = fetch(url, policy=LOCAL)
    assert first.etag is None
    again = fetch(url, last_modified=first.last_modified, policy=LOCAL)
    assert again.status == 304


def test_sends_its_user_agent(server: FeedServer) -> None:
    """Requests identify newskb and ask for compressed feeds."""
    fetch(server.add("/feed", static(FEED)), policy=LOCAL)
    headers = server.requests[-1][1]
    assert headers["User-Agent"] == USER_AGENT
    assert headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_bodies_are_decoded(server: FeedServer, encoding: str) -> None:
    """gzip and deflate bodies come back as the original bytes."""
    url = server.add("/feed", static(FEED, encoding=encoding))
    assert fetch(url, policy=LOCAL).body == FEED


def test_raw_deflate_body_is_decoded(server: FeedServer) -> None:
    """Servers that send raw deflate (no zlib header) are understood too."""
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = compressor.compress(FEED) + compressor.flush()
    url = server.add("/feed", status(200, {"Content-Encoding": "deflate"}, raw))
    assert fetch(url, policy=LOCAL).body == FEED


def test_gzip_bomb_is_cut(server: FeedServer) -> None:
    """A body inflating ~1000x is refused after a few KB, long before it fills memory."""
    started = time.monotonic()
    error = _error(server.add("/bomb", gzip_bomb()))
    assert error.kind == FetchErrorKind.TOO_LARGE
    assert "compression ratio" in str(error)
    assert time.monotonic() - started < 5


def test_decompressed_size_is_capped(server: FeedServer) -> None:
    """The decompressed body has its own cap, whatever the ratio."""
    config = FetchConfig(max_decompressed_bytes=100_000, max_ratio=10_000)
    error = _error(server.add("/bomb", gzip_bomb(10 * 1024 * 1024)), config)
    assert error.kind == FetchErrorKind.TOO_LARGE
    assert "decompressed body over 100,000 bytes" in str(error)


def test_50_mb_body_is_cut_at_the_cap(server: FeedServer) -> None:
    """A 50 MB stream without Content-Length stops at the 10 MB cap, quickly."""
    started = time.monotonic()
    error = _error(server.add("/big", huge(50 * 1024 * 1024)))
    assert error.kind == FetchErrorKind.TOO_LARGE
    assert "body over 10,485,760 bytes" in str(error)
    assert time.monotonic() - started < 10


def test_declared_oversize_is_refused_before_reading(server: FeedServer) -> None:
    """A Content-Length over the cap is refused without reading the body."""
    error = _error(server.add("/big", huge(50 * 1024 * 1024, declare_length=True)))
    assert "Content-Length 52,428,800 bytes" in str(error)


def test_slow_loris_body_hits_the_total_deadline(server: FeedServer) -> None:
    """A server trickling a byte every 0.1 s is cut at the total deadline, not kept."""
    url = server.add("/slow", trickle(FEED, interval_s=0.1))
    started = time.monotonic()
    error = _error(url, FetchConfig(total_timeout_s=1.0))
    assert error.kind == FetchErrorKind.TIMEOUT
    assert "within 1 s" in str(error)
    assert time.monotonic() - started < 3


def test_slow_loris_headers_hit_the_total_deadline(server: FeedServer) -> None:
    """Trickled response headers are cut by the same deadline."""
    url = server.add("/slow", trickle(FEED, interval_s=0.1, headers_too=True))
    started = time.monotonic()
    assert _error(url, FetchConfig(total_timeout_s=1.0)).kind == FetchErrorKind.TIMEOUT
    assert time.monotonic() - started < 3


def test_silent_server_hits_the_read_timeout(server: FeedServer) -> None:
    """A server that accepts and then says nothing times out after the read timeout."""
    error = _error(server.add("/stall", stall(10)), FetchConfig(read_timeout_s=0.5))
    assert error.kind == FetchErrorKind.TIMEOUT
    assert "no data for 0.5 s" in str(error)


def test_closed_port_is_a_network_error() -> None:
    """Nothing listening gives a network error naming the URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    error = _error(f"http://127.0.0.1:{port}/feed")
    assert error.kind == FetchErrorKind.NETWORK
    assert f"127.0.0.1:{port}/feed" in str(error)


def test_redirect_loop_is_detected(server: FeedServer) -> None:
    """A -> B -> A stops at once with the loop spelled out."""
    server.add("/a", redirect("/b", 302))
    server.add("/b", redirect("/a", 302))
    error = _error(server.url("/a"))
    assert error.kind == FetchErrorKind.REDIRECT_LOOP
    assert "redirect loop" in str(error) and server.hits["/a"] == 1


def test_redirect_chain_is_bounded(server: FeedServer) -> None:
    """More than max_redirects hops is refused."""
    for i in range(10):
        server.add(f"/r{i}", redirect(f"/r{i + 1}", 302))
    error = _error(server.url("/r0"), FetchConfig(max_redirects=5))
    assert error.kind == FetchErrorKind.REDIRECT_LOOP
    assert "too many redirects" in str(error)
    assert sum(server.hits.values()) == 6


def test_permanent_redirects_give_the_new_url(server: FeedServer) -> None:
    """A chain of 301/308 reports the final URL to remember."""
    server.add("/old", redirect("/older", 301))
    server.add("/older", redirect("/new", 308))
    new = server.add("/new", static(FEED))
    result = fetch(server.url("/old"), policy=LOCAL)
    assert (result.url, result.permanent_url, result.body) == (new, new, FEED)


def test_temporary_redirect_is_not_remembered(server: FeedServer) -> None:
    """One 302 in the chain means the old URL stays the feed's address."""
    server.add("/old", redirect("/mid", 301))
    server.add("/mid", redirect("/new", 302))
    server.add("/new", static(FEED))
    result = fetch(server.url("/old"), policy=LOCAL)
    assert result.permanent_url is None and result.url == server.url("/new")


@pytest.mark.parametrize("code", [404, 410])
def test_missing_feed_is_gone(server: FeedServer, code: int) -> None:
    """404 and 410 are reported as gone, with the status."""
    error = _error(server.add("/gone", status(code)))
    assert (error.kind, error.status) == (FetchErrorKind.GONE, code)


def test_429_retry_after_seconds(server: FeedServer) -> None:
    """429 with Retry-After: 120 is rate limited for 120 s."""
    error = _error(server.add("/busy", status(429, {"Retry-After": "120"})))
    assert (error.kind, error.status, error.retry_after_s) == (
        FetchErrorKind.RATE_LIMITED,
        429,
        120,
    )
    assert "retry after 120 s" in str(error)


def test_503_retry_after_http_date(server: FeedServer) -> None:
    """503 with an HTTP-date Retry-After gives the seconds until that date."""
    error = _error(server.add("/busy", status(503, {"Retry-After": http_date(600)})))
    assert error.kind == FetchErrorKind.RATE_LIMITED
    assert 590 <= error.retry_after_s <= 601


def test_server_error_is_an_http_error(server: FeedServer) -> None:
    """A 500 is an HTTP error with its status."""
    error = _error(server.add("/err", status(500)))
    assert (error.kind, error.status, str(error).split(" (")[0]) == (
        FetchErrorKind.HTTP,
        500,
        "HTTP 500",
    )


def test_loopback_is_refused_without_allow_list(server: FeedServer) -> None:
    """The default policy refuses the local server before sending anything."""
    url = server.add("/feed", static(FEED))
    error = _error(url, policy=HostPolicy.from_config(environ={}))
    assert error.kind == FetchErrorKind.REFUSED_HOST
    assert server.hits["/feed"] == 0


def test_redirect_to_metadata_service_is_refused(server: FeedServer) -> None:
    """The host check holds after a redirect: no request reaches 169.254.169.254."""
    error = _error(server.add("/evil", redirect("http://169.254.169.254/latest/meta-data/")))
    assert error.kind == FetchErrorKind.REFUSED_HOST
    assert "cloud metadata" in str(error)


def test_redirect_to_file_scheme_is_refused(server: FeedServer) -> None:
    """A redirect to file:///etc/passwd is refused as a bad scheme."""
    error = _error(server.add("/evil", redirect("file:///etc/passwd")))
    assert error.kind == FetchErrorKind.BAD_SCHEME


def test_connects_to_the_checked_address(server: FeedServer, monkeypatch) -> None:
    """DNS rebinding cannot swap the address: the name is resolved once and that address used."""
    server.add("/feed", static(FEED))
    answers = iter([["127.0.0.1"]] + [["10.255.255.1"]] * 10)
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host != "feeds.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in next(answers)]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    result = fetch(f"http://feeds.test:{server.port}/feed", policy=LOCAL)
    assert result.body == FEED and lookups == ["feeds.test"]
    assert server.requests[-1][1]["Host"] == f"feeds.test:{server.port}"


def test_unsupported_content_encoding_is_refused(server: FeedServer) -> None:
    """A body in an encoding we did not ask for (br) is an HTTP error, not garbage bytes."""
    error = _error(server.add("/br", status(200, {"Content-Encoding": "br"}, b"xx")))
    assert "unsupported Content-Encoding 'br'" in str(error)


def test_truncated_body_is_not_accepted(server: FeedServer) -> None:
    """A connection closed before Content-Length bytes arrived is an error, not a short feed."""
    url = server.add("/short", status(200, {"Content-Length": "5000"}, FEED[:100]))
    error = _error(url)
    assert error.kind == FetchErrorKind.NETWORK and "closed after" in str(error)


def test_recovers_after_rate_limit(server: FeedServer) -> None:
    """Once the server stops answering 429 the same URL fetches normally."""
    url = server.add("/feed", sequence(status(429, {"Retry-After": "1"}), static(FEED)))
    assert _error(url).kind == FetchErrorKind.RATE_LIMITED
    assert fetch(url, policy=LOCAL).body == FEED


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("soon", None),
        ("", None),
    ],
)
def test_parse_retry_after(value: str, seconds: float | None) -> None:
    """Retry-After as seconds or an HTTP-date (past dates mean now); junk is ignored."""
    assert parse_retry_after(value, now=datetime(2024, 1, 1, tzinfo=UTC)) == seconds


def test_retry_after_date_in_the_future() -> None:
    """An HTTP-date an hour ahead is 3600 s."""
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 01 Jan 2024 13:00:00 GMT", now=now) == 3600.0
