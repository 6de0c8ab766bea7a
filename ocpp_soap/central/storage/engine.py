"""Engine factory: a SQLite file that several worker processes can share, or PostgreSQL.

SQLite needs care to be safe under gunicorn's worker processes:
- WAL lets readers and one writer work at once; ``busy_timeout`` makes a second writer wait
  instead of failing at once.
- pysqlite's own transaction handling opens transactions lazily and late, so a read-then-write
  transaction can find its snapshot stale and fail with "database is locked" without waiting.
  We switch it off and issue ``BEGIN IMMEDIATE`` ourselves for write transactions, which takes the
  write lock up front (waiting under ``busy_timeout``) — the remedy for SteVe #72-style deadlocks.
Everything else is plain SQLAlchemy, so the same code runs on PostgreSQL.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

#: Execution option naming how a SQLite transaction begins ("DEFERRED" or "IMMEDIATE").
BEGIN_OPTION = "ocpp_sqlite_begin"
#: libpq settings for PostgreSQL connections (unless the URL says): wait at most 5 s for the
#: server to accept, and find a dead connection within seconds, not the OS's two hours.
PG_CONNECT_ARGS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5,
                   "keepalives_interval": 2, "keepalives_count": 3, "tcp_user_timeout": 10_000}


_budget = threading.local()


@contextmanager
def wait_until(deadline: float) -> Iterator[None]:
    """Within this block, SQLite waits for its lock no later than ``deadline`` (monotonic).

    A unit of work that waits for the write lock and retries must end below the worker's
    timeout, however long another process holds the lock: each wait is cut to what is left."""
    previous = getattr(_budget, "deadline", None)
    _budget.deadline = deadline if previous is None else min(previous, deadline)
    try:
        yield
    finally:
        _budget.deadline = previous


def time_left() -> float | None:
    """Seconds left of this thread's ``wait_until`` block (None outside one)."""
    deadline = getattr(_budget, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()


def busy_ms(configured: int) -> int:
    """SQLite's busy wait for the next statement: the configured one, cut to what is left."""
    left = time_left()
    if left is None:
        return configured
    return max(1, min(configured, int(left * 1000)))


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, busy_timeout_ms: int = 10000, echo: bool = False,
                pooled: bool = True, lock_timeout_ms: int | None = None) -> Engine:
    """Create the engine for ``url`` with the connection settings this project relies on.

    ``lock_timeout_ms`` (PostgreSQL): a statement waiting longer for a row or table lock fails
    (SQLSTATE 55P03, retried, then a storage outage), so a lock held elsewhere cannot keep a
    charger's request past the worker's timeout.

    ``pooled=False``: every ``raw_connection()`` is a new connection, closed for real when its
    holder closes it (``fastsql`` keeps one per thread, outside the ORM's pool).
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if not pooled:
        kwargs["poolclass"] = NullPool
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("use a SQLite file, not an in-memory database (workers share it)")
        kwargs["connect_args"] = {
            "check_same_thread": False,
            "timeout": busy_timeout_ms / 1000,
        }
    else:
        # A server that does not answer, or a connection whose peer vanished without a word,
        # must not hold a request past the worker's timeout (libpq parameters; the URL wins).
        kwargs["connect_args"] = {k: v for k, v in PG_CONNECT_ARGS.items()
                                  if k not in parsed.query}
        if lock_timeout_ms is not None and "options" not in parsed.query:
            kwargs["connect_args"]["options"] = f"-c lock_timeout={int(lock_timeout_ms)}"
        if pooled:
            # A pooled connection kept from before a restart is replaced at checkout.
            kwargs["pool_pre_ping"] = True
    engine = create_engine(parsed, **kwargs)
    if is_sqlite(engine):
        _configure_sqlite(engine, busy_timeout_ms)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            _enable_wal(cursor, busy_timeout_ms)
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {busy_ms(busy_timeout_ms)}")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _enable_wal(cursor: Any, busy_timeout_ms: int) -> None:
    """Switch the file to WAL (a no-op once done; the mode is stored in the file).

    The switch needs an exclusive lock and SQLite does not always wait for it under
    ``busy_timeout`` (two fresh processes racing here get "database is locked" at once), so we
    wait ourselves, re-checking whether another process has switched it meanwhile.
    """
    deadline = time.monotonic() + max(busy_timeout_ms, 1000) / 1000
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.01 + random.random() * 0.04)


def writer(engine: Engine) -> Engine:
    """The same engine, but its transactions take the write lock when they begin (SQLite)."""
    return engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
