"""One writer at a time: an advisory lock file in the home directory.

``flock`` is released by the kernel when the holder dies, so a run killed by
SIGKILL or a power loss never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = "ingest.lock"


class LockHeld(Exception):
    """Another process holds the lock."""


class LockError(Exception):
    """The lock file cannot be created or opened (a read-only or missing data directory)."""


@contextmanager
def exclusive_lock(home: Path, wait_s: float = 0.0, name: str = LOCK_NAME) -> Iterator[None]:
    """Hold ``home/name`` exclusively, waiting up to ``wait_s`` seconds for it."""
    path = home / name
    try:
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise LockError(
            f"cannot open lock file {path}: {exc.strerror} (is the data directory writable?)"
        ) from exc
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(fd)
                    raise LockHeld(
                        f"another newskb run holds {path}{holder}; waited {wait_s:.0f} s"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
