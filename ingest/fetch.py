"""newskb's own HTTP client for feeds: bounded in time, size and redirects.

feedparser's built-in fetching has no timeout and no size or decompression cap,
so feeds are fetched here and feedparser is only ever handed bytes.

Every hop (the first request and each redirect) goes through
:class:`~ingest.hostguard.HostPolicy` and connects to the address that was
checked, never re-resolving the name. A fetch is bounded by a connect timeout,
a per-read timeout, and a total deadline enforced by a timer that shuts the
socket down, so a server trickling one byte at a time (slow loris), in the
headers or the body, is cut off. Bodies are capped before and after gzip/deflate
decompression, and a compression ratio above ``max_ratio`` is refused (a
"zip bomb"). Proxies from the environment are deliberately not used: they
would connect to a host the guard never saw.
"""

from __future__ import annotations

import http.client
import logging
import math
import ssl
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from urllib.parse import urljoin, urlsplit

from ingest.connection import Deadline, pinned_connection
from ingest.hostguard import HostPolicy, HostRefused

log = logging.getLogger(__name__)

USER_AGENT = "newskb/0.1 (+https://github.com/newskb)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
GONE_STATUSES = frozenset({404, 410})
RATE_LIMIT_STATUSES = frozenset({429, 503})
MAX_RETRY_AFTER_S = 7 * 24 * 3600.0  # a Retry-After beyond a week is a server error, not advice
_CHUNK = 64 * 1024


class FetchErrorKind(StrEnum):
    """Why a fetch failed; the loop records the value in the feeds table."""

    NETWORK = "network"
    TIMEOUT = "timeout"
    TLS = "tls"
    TOO_LARGE = "too_large"
    HTTP = "http"
    GONE = "gone"
    RATE_LIMITED = "rate_limited"
    REDIRECT_LOOP = "redirect_loop"
    REFUSED_HOST = "refused_host"
    BAD_SCHEME = "bad_scheme"
    BAD_URL = "bad_url"


class FetchError(Exception):
    """A feed that could not be fetched; ``str()`` is one line naming URL and reason."""

    def __init__(
        self,
        kind: FetchErrorKind,
        message: str,
        *,
        url: str,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message if url in message else f"{message} ({url})")
        self.kind = kind
        self.url = url
        self.status = status
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class FetchConfig:
    """Limits of one feed fetch. Times in seconds, sizes in bytes."""

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0
    # Whole fetch, redirects included: cuts a server that trickles bytes forever.
    total_timeout_s: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    # gzip/deflate: the decompressed body is capped too, and so is its ratio to
    # the bytes received (real feeds compress ~5-15x; a bomb ~1000x).
    max_decompressed_bytes: int = 10 * 1024 * 1024
    max_ratio: float = 100.0
    max_redirects: int = 5
    user_agent: str = USER_AGENT
    verify_tls: bool = True


@dataclass(frozen=True)
class FetchResult:
    """A fetched feed. ``status`` is 200 (``body`` set) or 304 (``body`` None)."""

    url: str
    status: int
    body: bytes | None
    etag: str | None
    last_modified: str | None
    content_type: str | None
    # The new address to remember when every redirect on the way was permanent (301/308).
    permanent_url: str | None = None


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    config: FetchConfig | None = None,
    policy: HostPolicy | None = None,
) -> FetchResult:
    """GET ``url`` conditionally (ETag / Last-Modified), following redirects safely.

    Raises :class:`FetchError` for anything but a 200 or 304.
    """
    config = config or FetchConfig()
    policy = policy or HostPolicy.from_config()
    deadline = time.monotonic() + config.total_timeout_s
    seen = [url]
    all_permanent = True
    current = url
    while True:
        status, headers, body = _request(current, etag, last_modified, config, policy, deadline)
        if status not in REDIRECT_STATUSES:
            break
        current = _next_hop(current, headers, seen, config)
        all_permanent = all_permanent and status in PERMANENT_REDIRECTS
    permanent_url = current if all_permanent and len(seen) > 1 else None
    if status == 304:
        body = None
    elif status != 200:
        raise _status_error(status, headers, current)
    # A 304 need not repeat the validators: the ones sent are still the current ones.
    unchanged = status == 304
    return FetchResult(
        url=current,
        status=status,
        body=body,
        etag=headers.get("etag") or (etag if unchanged else None),
        last_modified=headers.get("last-modified") or (last_modified if unchanged else None),
        content_type=headers.get("content-type"),
        permanent_url=permanent_url,
    )


def _next_hop(current: str, headers: dict[str, str], seen: list[str], config: FetchConfig) -> str:
    """The redirect target; raises on a loop or on too many hops."""
    location = headers.get("location")
    if not location:
        raise FetchError(FetchErrorKind.HTTP, "redirect without a Location header", url=current)
    target = urljoin(current, location.strip())
    if target in seen:
        chain = " -> ".join([*seen[seen.index(target) :], target])
        raise FetchError(FetchErrorKind.REDIRECT_LOOP, f"redirect loop: {chain}", url=seen[0])
    seen.append(target)
    if len(seen) - 1 > config.max_redirects:
        raise FetchError(
            FetchErrorKind.REDIRECT_LOOP,
            f"too many redirects (more than {config.max_redirects})",
            url=seen[0],
        )
    return target


def _status_error(status: int, headers: dict[str, str], url: str) -> FetchError:
    """The FetchError for a final non-200, non-304 status."""
    if status in GONE_STATUSES:
        return FetchError(FetchErrorKind.GONE, f"HTTP {status}: feed is gone", url=url, status=status)
    if status in RATE_LIMIT_STATUSES:
        retry = parse_retry_after(headers.get("retry-after"))
        advice = f", retry after {retry:.0f} s" if retry is not None else ""
        return FetchError(
            FetchErrorKind.RATE_LIMITED,
            f"HTTP {status}: rate limited{advice}",
            url=url,
            status=status,
            retry_after_s=retry,
        )
    return FetchError(FetchErrorKind.HTTP, f"HTTP {status}", url=url, status=status)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = math.ceil((when - (now or datetime.now(UTC))).total_seconds())
    return min(max(float(delta), 0.0), MAX_RETRY_AFTER_S)


def _request(
    url: str,
    etag: str | None,
    last_modified: str | None,
    config: FetchConfig,
    policy: HostPolicy,
    deadline: float,
) -> tuple[int, dict[str, str], bytes | None]:
    """One hop: (status, lower-cased headers, body for a 200 else None)."""
    try:
        target = policy.check_url(url)
    except HostRefused as e:
        raise FetchError(FetchErrorKind(e.kind), str(e), url=url) from None
    timer = Deadline(deadline)
    conn = pinned_connection(
        target, timer, config.connect_timeout_s, config.read_timeout_s, verify_tls=config.verify_tls
    )
    try:
        conn.request("GET", _path_of(url), headers=_request_headers(etag, last_modified, config))
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        body = _read_body(response, headers, config, url) if response.status == 200 else None
        if timer.expired:
            # The deadline's shutdown reads as a clean end of stream: never keep that body.
            raise _timeout(timer, config, url)
        return response.status, headers, body
    except FetchError:
        if timer.expired:  # the deadline's shutdown surfaced as a short or broken body
            raise _timeout(timer, config, url) from None
        raise
    except TimeoutError:
        raise _timeout(timer, config, url) from None
    except ssl.SSLError as e:
        raise FetchError(FetchErrorKind.TLS, f"TLS error: {e.reason or e}", url=url) from None
    except (OSError, http.client.HTTPException) as e:
        if timer.expired:
            raise _timeout(timer, config, url) from None
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise FetchError(FetchErrorKind.NETWORK, f"network error: {detail}", url=url) from None
    finally:
        timer.cancel()
        conn.close()


def _timeout(timer: Deadline, config: FetchConfig, url: str) -> FetchError:
    """The timeout error: the total deadline if its timer fired, else the per-read timeout."""
    if timer.expired:
        message = f"timed out: no complete response within {config.total_timeout_s:g} s"
    else:
        message = f"timed out: no data for {config.read_timeout_s:g} s"
    return FetchError(FetchErrorKind.TIMEOUT, message, url=url)


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _request_headers(etag: str | None, last_modified: str | None, config: FetchConfig) -> dict:
    headers = {
        "User-Agent": config.user_agent,
        "Accept": ACCEPT,
        "Accept-Encoding": "gzip, deflate",
        "Connection": "close",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _read_body(
    response: http.client.HTTPResponse, headers: dict[str, str], config: FetchConfig, url: str
) -> bytes:
    """The body, decompressed, within the size, ratio and time limits."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > config.max_bytes:
        raise _too_large(f"Content-Length {int(declared):,} bytes", config.max_bytes, url)
    decoder = _Decompressor(headers.get("content-encoding", ""), config, url)
    received = 0
    while True:
        # read1 returns after one socket read, so the size cap applies as bytes arrive.
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        received += len(chunk)
        if received > config.max_bytes:
            raise _too_large("body", config.max_bytes, url)
        decoder.feed(chunk, received)
    if declared.isdigit() and received < int(declared):
        raise FetchError(
            FetchErrorKind.NETWORK,
            f"connection closed after {received:,} of {int(declared):,} bytes",
            url=url,
        )
    return decoder.finish()


def _too_large(what: str, limit: int, url: str) -> FetchError:
    return FetchError(FetchErrorKind.TOO_LARGE, f"too large: {what} over {limit:,} bytes", url=url)


class _Decompressor:
    """gzip/deflate decoding with capped output; identity passes bytes through."""

    def __init__(self, encoding: str, config: FetchConfig, url: str) -> None:
        encoding = encoding.strip().lower()
        if encoding in ("gzip", "x-gzip"):
            self._zlib: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = None  # zlib-wrapped or raw: decided on the first bytes
        elif encoding in ("", "identity"):
            self._zlib = None
        else:
            raise FetchError(FetchErrorKind.HTTP, f"unsupported Content-Encoding {encoding!r}", url=url)
        self._encoding = encoding
        self._config, self._url = config, url
        self._parts: list[bytes] = []
        self._size = 0
        self._received = 0

    def feed(self, chunk: bytes, received: int) -> None:
        self._received = received
        if self._encoding == "deflate" and self._zlib is None:
            # RFC 9110 says zlib format, but many servers send raw deflate.
            raw = (chunk[0] & 0x0F) != 8 if chunk else False
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
        if self._zlib is None:
            self._append(chunk, received)
            return
        try:
            data = self._zlib.decompress(chunk, self._config.max_decompressed_bytes + 1 - self._size)
        except zlib.error as e:
            raise FetchError(
                FetchErrorKind.HTTP, f"corrupt {self._encoding} body: {e}", url=self._url
            ) from None
        self._append(data, received)
        if self._zlib.unconsumed_tail:
            # Output was cut at the cap + 1, so the cap is already exceeded.
            raise _too_large("decompressed body", self._config.max_decompressed_bytes, self._url)

    def _append(self, data: bytes, received: int) -> None:
        self._size += len(data)
        if self._size > self._config.max_decompressed_bytes:
            raise _too_large("decompressed body", self._config.max_decompressed_bytes, self._url)
        # A 1 MiB floor keeps tiny, highly repetitive feeds from tripping the ratio check.
        if self._zlib is not None and self._size > max(received * self._config.max_ratio, 1 << 20):
            raise FetchError(
                FetchErrorKind.TOO_LARGE,
                f"too large: compression ratio over {self._config.max_ratio:g}x (a zip bomb)",
                url=self._url,
            )
        self._parts.append(data)

    def finish(self) -> bytes:
        if self._zlib is not None:
            self._append(self._zlib.flush(), self._received)
        return b"".join(self._parts)
