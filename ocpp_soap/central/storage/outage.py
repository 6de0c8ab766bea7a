"""Telling a database outage from bad data, and the one exception that names it.

A lost connection (a PostgreSQL restart or failover, ``pg_terminate_backend``, a server that is
still starting), a connection that cannot be opened, or a SQLite lock that outlasts every retry
are not the request's fault and say nothing about its data: the request may succeed a moment
later. The storage layer raises ``StorageUnavailable`` for all of them, so that every face maps one
exception: SOAP answers ``Receiver/InternalError`` naming a storage outage, the JSON API 503.

Detection uses the dialect's own ``is_disconnect`` on the DB-API error (the test SQLAlchemy's
pool uses), plus the PostgreSQL SQLSTATEs of a server that is going away or not there yet.
"""

from __future__ import annotations

import random
import sqlite3
import time
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError

#: admin_shutdown, crash_shutdown, cannot_connect_now, connection_exception class.
_OUTAGE_SQLSTATES = {"57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"}

#: serialization_failure, deadlock_detected, lock_not_available: another writer was in the way.
_BUSY_SQLSTATES = {"40001", "40P01", "55P03"}
_BUSY_TEXTS = ("database is locked", "database is busy", "database table is locked")

#: What a fault or a 503 says, whatever the cause (the cause goes to the server log).
OUTAGE_TEXT = "storage outage: the database is unavailable, try again shortly"


class StorageUnavailable(Exception):
    """The database cannot be reached now (lost connection, down, or locked past the wait)."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(f"{OUTAGE_TEXT} ({detail})" if detail else OUTAGE_TEXT)
        self.detail = detail


def _sqlstate(exc: BaseException) -> str | None:
    return getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)


def driver_lost(dialect: Dialect, exc: BaseException, dbapi_connection: Any) -> bool:
    """True when a DB-API error means this connection is gone (discard it, open another)."""
    dbapi = dialect.loaded_dbapi
    if dbapi is None or not isinstance(exc, dbapi.Error):
        return False
    if _sqlstate(exc) in _OUTAGE_SQLSTATES:
        return True
    try:
        return bool(dialect.is_disconnect(exc, dbapi_connection, None))
    except Exception:  # a dialect check must never hide the original error
        return False


def orm_lost(exc: BaseException) -> bool:
    """True when an error from SQLAlchemy (ORM/Core) means the connection or server is gone."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or _sqlstate(exc.orig) in _OUTAGE_SQLSTATES:
        return True
    # Raised while connecting: no statement ran (connection refused, server starting up).
    return isinstance(exc, OperationalError) and not exc.statement


def busy(exc: BaseException) -> bool:
    """True for errors that mean "another writer was in the way, run the unit again", not
    "your data is wrong": from the driver itself, or wrapped by SQLAlchemy (``exc.orig``)."""
    if isinstance(exc, DBAPIError):
        exc = exc.orig
    if _sqlstate(exc) in _BUSY_SQLSTATES:
        return True
    return isinstance(exc, sqlite3.OperationalError) and any(
        t in str(exc).lower() for t in _BUSY_TEXTS)


def brief(exc: BaseException) -> str:
    """The error's type and first line, for a fault text or a log line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


class Attempts:
    """When a unit of work runs again, and when giving up is an outage: one rule for the ORM
    sessions (``Store``) and the driver's connections (``fastsql``).

    - a connection lost before the commit: run once more at once on a new one (nothing of the
      unit was committed); lost during the commit, or again: an outage (the outcome is unknown,
      the sender sends again and the domain knows re-sends);
    - "try again" from the database (SQLite busy, PostgreSQL serialization failure, deadlock,
      lock timeout): after a growing, jittered pause, while attempts and ``deadline`` last; then
      an outage.
    """

    def __init__(self, attempts: int, deadline: float) -> None:
        self.attempts = attempts
        self.deadline = deadline
        self.attempt = 0
        self._delay = 0.005
        self._reconnected = False

    def __iter__(self):
        while self.attempt < self.attempts:
            self.attempt += 1
            yield self.attempt

    def lost(self, exc: BaseException, detail: BaseException, *, committing: bool,
             fresh: bool = False) -> None:
        """The connection broke: return to run again now, or raise the outage."""
        if committing or fresh or self._reconnected or self.attempt >= self.attempts:
            raise StorageUnavailable(brief(detail)) from exc
        self._reconnected = True

    def busy(self, exc: BaseException, detail: BaseException) -> None:
        """The database asked to try again: pause and return, or raise the outage."""
        pause = self._delay * (1 + random.random())
        if self.attempt >= self.attempts or self.deadline - time.monotonic() <= pause:
            raise StorageUnavailable(f"still locked after {self.attempt} attempts: "
                                     f"{brief(detail)}") from exc
        time.sleep(pause)
        self._delay = min(self._delay * 2, 0.5)
