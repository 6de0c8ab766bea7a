"""One writer at a time on a SQLite file, handed over without SQLite's sleep-and-retry.

SQLite lets one transaction write at a time. A second writer that finds the lock taken sleeps in
SQLite's busy handler (1, 2, 5, 10 … ms) and tries again, so under several gunicorn workers most of a
write's latency is sleeping after the lock was already free. Taking an OS file lock (``flock``) before
``BEGIN IMMEDIATE`` queues the writers in the kernel instead, which wakes the next one the moment the
lock is released. Threads of one process queue on a lock of their own first (``flock`` does not
separate threads sharing a file), and a nested write in the same thread passes through.

The wait can be bounded (``hold(timeout)``): the thread lock then has a timeout, and the ``flock``
is polled without blocking (pauses of 0.2 to 2 ms; only one thread per process polls, the others
wait on the thread lock) until the deadline. A request so waits no longer than the storage wait,
then gets the storage-outage fault (``StorageUnavailable``).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .outage import StorageUnavailable


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
    def hold(self, timeout: float | None = None) -> Iterator[None]:
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._lock.acquire(timeout=-1 if timeout is None else max(timeout, 0)):
            raise StorageUnavailable(f"the write lock stayed taken for {timeout:.0f} s")
        try:
            depth = getattr(self._local, "depth", 0)
            if depth == 0:
                self._flock(deadline)
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
                if depth == 0:
                    fcntl.flock(self._descriptor(), fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def _flock(self, deadline: float | None) -> None:
        fd = self._descriptor()
        if deadline is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return
        pause = 0.0002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StorageUnavailable("another process kept the write lock past the "
                                             "storage wait") from None
                time.sleep(min(pause, left))
                pause = min(pause * 2, 0.002)
