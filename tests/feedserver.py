"""A local HTTP server for tests, with a route for every hostile behaviour a feed server can have.

``with FeedServer() as server: server.add("/feed", static(body)); url = server.url("/feed")``.
It binds 127.0.0.1 on a free port, serves from a daemon thread, and stops when the
``with`` block ends or, if a test leaks it, after ``lifetime_s``. Every streaming
route is bounded in bytes and seconds and ends when the client hangs up, so no
test can hang on it. Large and compressed bodies are generated while streaming,
never stored.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

Route = Callable[[BaseHTTPRequestHandler], None]


def rss(items: list[dict] | None = None, title: str = "Test feed", extra_channel: str = "") -> bytes:
    """A small RSS 2.0 document; each item dict may set guid, title, link, date, description."""
    parts = []
    for i, item in enumerate(items or []):
        guid = item.get("guid", f"urn:test:{i}")
        link = item.get("link", f"https://news.example.com/{i}")
        date = item.get("date", "Mon, 02 Dec 2024 10:00:00 GMT")
        parts.append(
            "<item>"
            + (f"<guid isPermaLink='false'>{guid}</guid>" if guid else "")
            + f"<title>{item.get('title', f'Story {i}')}</title><link>{link}</link>"
            + (f"<pubDate>{date}</pubDate>" if date else "")
            + f"<description>{item.get('description', f'Body of story {i}.')}</description>"
            + "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://news.example.com/</link>{extra_channel}"
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


def static(
    body: bytes,
    content_type: str = "application/rss+xml",
    *,
    etag: str | None = "auto",
    last_modified: str | None = "Mon, 02 Dec 2024 10:00:00 GMT",
    encoding: str | None = None,
) -> Route:
    """A fixed document with ETag / Last-Modified, answering 304 to a matching conditional GET."""
    if etag == "auto":
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    payload = body
    if encoding == "gzip":
        payload = gzip.compress(body)
    elif encoding == "deflate":
        payload = zlib.compress(body)

    def route(h: BaseHTTPRequestHandler) -> None:
        if (etag and h.headers.get("If-None-Match") == etag) or (
            not etag and last_modified and h.headers.get("If-Modified-Since") == last_modified
        ):
            h.send_response(304)
            h.end_headers()
            return
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(payload)))
        if etag:
            h.send_header("ETag", etag)
        if last_modified:
            h.send_header("Last-Modified", last_modified)
        if encoding:
            h.send_header("Content-Encoding", encoding)
        h.end_headers()
        h.wfile.write(payload)

    return route


def status(code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Route:
    """A bare status (404, 410, 429, 503 ...) with optional headers such as Retry-After."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(code)
        headers_out = {"Content-Length": str(len(body)), **(headers or {})}
        for name, value in headers_out.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)

    return route


def redirect(location: str, code: int = 301) -> Route:
    return status(code, {"Location": location})


def huge(size: int, *, declare_length: bool = False, chunk: int = 256 * 1024) -> Route:
    """``size`` bytes of a never-ending RSS channel, generated while streaming."""
    head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>'
    filler = b"<item><title>x</title><description>" + b"y" * 1000 + b"</description></item>"

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        if declare_length:
            h.send_header("Content-Length", str(size))
        h.end_headers()
        block = (head + filler * (chunk // len(filler) + 1))[:chunk]
        sent = 0
        while sent < size:
            h.wfile.write(block[: min(chunk, size - sent)])
            sent += chunk

    return route


def gzip_bomb(decompressed: int = 200 * 1024 * 1024) -> Route:
    """gzip of zeros (~1000x ratio), compressed while streaming, up to ``decompressed`` bytes."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Encoding", "gzip")
        h.end_headers()
        compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        zeros = bytes(1024 * 1024)
        for _ in range(decompressed // len(zeros)):
            h.wfile.write(compressor.compress(zeros))
        h.wfile.write(compressor.flush())

    return route


def trickle(body: bytes, *, interval_s: float = 0.2, max_s: float = 30.0, headers_too: bool = False) -> Route:
    """Slow loris: one byte every ``interval_s`` (headers too, if asked), for at most ``max_s``."""

    def route(h: BaseHTTPRequestHandler) -> None:
        head = (
            b"HTTP/1.0 200 OK\r\nContent-Type: application/rss+xml\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        stream = head + body if headers_too else body
        if not headers_too:
            h.wfile.write(head)
        stop = time.monotonic() + max_s
        for i in range(len(stream)):
            if time.monotonic() > stop:
                return
            h.wfile.write(stream[i : i + 1])
            h.wfile.flush()
            time.sleep(interval_s)

    return route


def stall(seconds: float = 30.0) -> Route:
    """Accepts the request, then sends nothing for ``seconds``."""

    def route(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)

    return route


def delayed(route: Route, seconds: float) -> Route:
    """``route``, answered after ``seconds`` of silence (a slow but honest server)."""

    def wrapper(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        route(h)

    return wrapper


def sequence(*routes: Route) -> Route:
    """A route that answers with the next of ``routes`` on each request (the last repeats)."""
    calls = itertools.count()

    def route(h: BaseHTTPRequestHandler) -> None:
        routes[min(next(calls), len(routes) - 1)](h)

    return route


def directory(folder: Path, content_type: str = "application/xml") -> dict[str, Route]:
    """Routes ``/<file name>`` for every file in ``folder`` (e.g. the real feed snapshots)."""
    return {f"/{p.name}": static(p.read_bytes(), content_type) for p in sorted(folder.iterdir())}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        self.server.hits[path] += 1
        self.server.requests.append((path, dict(self.headers)))
        route = self.server.routes.get(path)
        try:
            if route is None:
                status(404)(self)
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up: exactly what the limits under test do

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    routes: dict[str, Route]
    hits: Counter
    requests: list


class FeedServer:
    """A threaded HTTP server on 127.0.0.1 with a free port; use as a context manager."""

    def __init__(self, routes: dict[str, Route] | None = None, lifetime_s: float = 300.0) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.routes = dict(routes or {})
        self._server.hits = Counter()
        self._server.requests = []
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._reaper = threading.Timer(lifetime_s, self.stop)
        self._reaper.daemon = True

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def hits(self) -> Counter:
        return self._server.hits

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        return self._server.requests

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, route: Route) -> str:
        """Serve ``route`` at ``path``; returns its URL."""
        self._server.routes[path] = route
        return self.url(path)

    def start(self) -> FeedServer:
        self._thread.start()
        self._reaper.start()
        return self

    def stop(self) -> None:
        self._reaper.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def http_date(seconds_from_now: float) -> str:
    """An HTTP-date (as in Retry-After) ``seconds_from_now`` in the future."""
    return formatdate(time.time() + seconds_from_now, usegmt=True)
