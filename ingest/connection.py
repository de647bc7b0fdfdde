"""HTTP(S) connections pinned to a checked address, under a hard deadline.

:func:`pinned_connection` connects to one of the addresses that
:class:`~ingest.hostguard.HostPolicy` checked, never to whatever the host name
resolves to a moment later (DNS rebinding); the Host header, TLS SNI and the
certificate check still use the URL's host name.

Socket timeouts bound each read, but a server sending one byte just inside
every timeout could hold a fetch forever. :class:`Deadline` is a timer that
shuts the socket down at the fetch's total deadline, which unblocks any read
in progress.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time

from ingest.hostguard import Target


class Deadline:
    """Shuts the watched socket down when ``deadline`` (``time.monotonic()``) passes."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._sock is not None:
                _shutdown(self._sock)

    def cancel(self) -> None:
        self._timer.cancel()

    def remaining_s(self) -> float:
        return self.deadline - time.monotonic()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(
        self, target: Target, deadline: Deadline, connect_timeout_s: float, read_timeout_s: float
    ) -> None:
        super().__init__(target.host, target.port, timeout=connect_timeout_s)
        self._target, self._deadline = target, deadline
        self._connect_timeout_s, self._read_timeout_s = connect_timeout_s, read_timeout_s

    def connect(self) -> None:
        self.sock = self._pinned_socket()

    def _pinned_socket(self) -> socket.socket:
        last: OSError | None = None
        for address in self._target.addresses:
            timeout = min(self._connect_timeout_s, max(self._deadline.remaining_s(), 0.001))
            try:
                sock = socket.create_connection((address, self._target.port), timeout=timeout)
            except OSError as e:
                last = e
                continue
            sock.settimeout(self._read_timeout_s)
            self._deadline.watch(sock)
            return sock
        raise last or OSError(f"no address for {self._target.host}")


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    def __init__(self, *args, verify_tls: bool = True) -> None:
        super().__init__(*args)
        self._context = ssl.create_default_context()
        if not verify_tls:
            self._context.check_hostname = False
            self._context.verify_mode = ssl.CERT_NONE

    def connect(self) -> None:
        sock = self._pinned_socket()
        self.sock = self._context.wrap_socket(sock, server_hostname=self._target.host)
        self._deadline.watch(self.sock)


def pinned_connection(
    target: Target,
    deadline: Deadline,
    connect_timeout_s: float,
    read_timeout_s: float,
    *,
    verify_tls: bool = True,
) -> http.client.HTTPConnection:
    """An unopened connection to ``target`` that will connect to its checked addresses only."""
    if target.scheme == "https":
        return _PinnedHTTPSConnection(
            target, deadline, connect_timeout_s, read_timeout_s, verify_tls=verify_tls
        )
    return _PinnedHTTPConnection(target, deadline, connect_timeout_s, read_timeout_s)
