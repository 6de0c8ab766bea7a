"""One writer at a time on a SQLite file, handed over without SQLite's sleep-and-retry.

SQLite lets one transaction write at a time. A second writer that finds the lock taken sleeps in
SQLite's busy handler (1, 2, 5, 10 … ms) and tries again, so under several gunicorn workers most of a
write's latency is sleeping after the lock was already free. Taking an OS file lock (``flock``) before
``BEGIN IMMEDIATE`` queues the writers in the kernel instead, which wakes the next one the moment the
lock is released. Threads of one process queue on a lock of their own first (``flock`` does not
separate threads sharing a file), and a nested write in the same thread passes through.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class WriteGate:
    """Exclusive writer gate for the SQLite file at ``db_path``."""

    def __init__(self, db_path: str):
        self.path = db_path + ".writelock"
        self._lock = threading.RLock()
        self._local = threading.local()
        self._fd: int | None = None
        self._pid: int | None = None

    def _descriptor(self) -> int:
        # A descriptor inherited across fork() would share its lock with the parent; each process
        # opens its own.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._lock:
            depth = getattr(self._local, "depth", 0)
            if depth == 0:
                fcntl.flock(self._descriptor(), fcntl.LOCK_EX)
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
                if depth == 0:
                    fcntl.flock(self._descriptor(), fcntl.LOCK_UN)
