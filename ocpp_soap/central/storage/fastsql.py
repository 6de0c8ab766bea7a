"""The hot statements, run on the DB-API connection itself.

A Heartbeat, a MeterValues or a StatusNotification is one to four tiny indexed statements. Through
SQLAlchemy each costs ~100-200 µs of Python (connection checkout, events, result objects, the ORM
session) against ~10-20 µs in the driver, so for the messages every box sends all day that
overhead *is* the Central System's cost. This module keeps the statements SQLAlchemy Core objects
(one definition, every dialect) but compiles each once per dialect, and runs it on a DB-API
connection this thread keeps, binding through the same type processors SQLAlchemy uses — so a
value written here is stored exactly as the ORM would store it, and the ORM reads it back.

Rules for callers:
- statements must not need post-compile expansion (``IN`` lists of varying length): bind each
  value (or a range) instead;
- a write unit runs under the store's write gate and retries as a whole (as ``Store.write``), so
  it must do its reads inside and keep side effects outside;
- rows come back as tuples with the columns' result processors applied (aware datetimes).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

from .engine import busy_ms, wait_until
from .outage import Attempts, StorageUnavailable, brief, busy, driver_lost

T = TypeVar("T")

class Statement:
    """A Core statement compiled once for one dialect: its SQL, parameter order and processors."""

    def __init__(self, stmt: ClauseElement, engine: Engine):
        dialect = engine.dialect
        compiled = stmt.compile(dialect=dialect)
        sql = compiled.string
        if "POSTCOMPILE" in sql:
            raise ValueError("fastsql statements cannot expand parameters (IN lists)")
        self.sql = sql
        #: Values the statement binds itself (literals such as ``== "Accepted"``).
        self.defaults: dict[str, Any] = dict(compiled.params)
        self.order: tuple[str, ...] | None = (tuple(compiled.positiontup or ())
                                              if compiled.positional else None)
        #: Each bound value's type processor, found through public API only (the compiled
        #: statement's bind names and each type's dialect implementation).
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for bindparam, name in compiled.bind_names.items():
            process = bindparam.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.processors[name] = process
        self.result_processors: list[Callable[[Any], Any] | None] = []
        if getattr(stmt, "selected_columns", None) is not None and stmt.is_select:
            for column in stmt.selected_columns:
                self.result_processors.append(
                    column.type.dialect_impl(dialect).result_processor(dialect, None))

    def bind(self, params: Mapping[str, Any] | None) -> Sequence[Any] | dict[str, Any]:
        values = dict(self.defaults)
        if params:
            values.update(params)
        for name, process in self.processors.items():
            if name in values and values[name] is not None:
                values[name] = process(values[name])
        if self.order is not None:
            return tuple(values[n] for n in self.order)
        return values

    def rows(self, raw_rows: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
        procs = self.result_processors
        if not any(procs):
            return [tuple(r) for r in raw_rows]
        return [tuple(p(v) if p is not None else v for p, v in zip(procs, r, strict=False))
                for r in raw_rows]


class Cursor:
    """What a unit of work gets: execute compiled statements on this thread's connection."""

    def __init__(self, cursor: Any):
        self._cursor = cursor

    def execute(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> int:
        """Run ``stmt``; the number of rows it changed (DB-API ``rowcount``)."""
        self._cursor.execute(stmt.sql, stmt.bind(params))
        return self._cursor.rowcount

    def executemany(self, stmt: Statement, rows: Iterable[Mapping[str, Any]]) -> None:
        bound = [stmt.bind(r) for r in rows]
        if bound:
            self._cursor.executemany(stmt.sql, bound)

    def all(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> list[tuple]:
        self._cursor.execute(stmt.sql, stmt.bind(params))
        return stmt.rows(self._cursor.fetchall())

    def first(self, stmt: Statement, params: Mapping[str, Any] | None = None) -> tuple | None:
        self._cursor.execute(stmt.sql, stmt.bind(params))
        row = self._cursor.fetchone()
        if row is None:
            return None
        # Drain: psycopg and sqlite3 both keep the statement open until the rows are read.
        self._cursor.fetchall()
        return stmt.rows([row])[0]


class FastSQL:
    """Per-thread DB-API connections of a store's database, and units of work on them.

    The connections come from an engine of their own without a pool (one per thread, kept for
    the thread's life), so a server with many threads never waits for the ORM's pool; the same
    connect-time settings apply (SQLite: WAL, busy timeout, foreign keys, no driver-managed
    transactions; PostgreSQL: autocommit, write units send their own BEGIN).

    A connection the dialect's ``is_disconnect`` calls lost (a server restart, a killed backend)
    is dropped and the next unit opens another; a unit that cannot run for that reason, or waits
    longer than ``max_wait`` for SQLite's lock, raises ``StorageUnavailable``.
    """

    def __init__(self, engine: Engine, raw_engine: Engine, gate: Any = None, attempts: int = 8,
                 max_wait: float = 15.0, busy_timeout_ms: int = 10000):
        self.engine = engine
        #: Longest a write unit waits for the lock and retries, then ``StorageUnavailable``.
        self.max_wait = max_wait
        self.busy_timeout_ms = busy_timeout_ms
        self._raw_engine = raw_engine
        self.gate = gate
        self.attempts = attempts
        self.sqlite = engine.dialect.name == "sqlite"
        self._local = threading.local()
        self._statements: dict[ClauseElement, Statement] = {}
        self._lock = threading.Lock()

    def statement(self, stmt: ClauseElement) -> Statement:
        """``stmt`` compiled for this database, once (keep the Core object at module level)."""
        compiled = self._statements.get(stmt)
        if compiled is None:
            with self._lock:
                compiled = self._statements.get(stmt)
                if compiled is None:
                    compiled = self._statements[stmt] = Statement(stmt, self.engine)
        return compiled

    def _connection(self) -> Any:
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid():
            # A connection inherited across fork() belongs to the parent; never share it.
            try:
                conn = self._raw_engine.raw_connection()
            except Exception as exc:  # the pool hands the driver's own error through
                dbapi = self.engine.dialect.loaded_dbapi
                if isinstance(exc, DBAPIError) or (dbapi is not None
                                                   and isinstance(exc, dbapi.Error)):
                    raise StorageUnavailable(f"cannot connect: {brief(exc)}") from exc
                raise
            if not self.sqlite:
                # Reads need no transaction of their own, and a write unit begins one itself:
                # no BEGIN and ROLLBACK round trips around every read.
                conn.dbapi_connection.autocommit = True
            local.conn, local.pid, local.fresh = conn, os.getpid(), True
            local.busy_ms = self.busy_timeout_ms
        else:
            local.fresh = False
        return conn

    def _lost(self, exc: BaseException, conn: Any) -> bool:
        """``exc`` broke this thread's connection: drop it (the next unit opens another)."""
        if not driver_lost(self.engine.dialect, exc, getattr(conn, "dbapi_connection", conn)):
            return False
        self._discard(conn)
        return True

    def _discard(self, conn: Any) -> None:
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        try:
            conn.invalidate()
        except Exception:
            pass

    def read(self, fn: Callable[[Cursor], T]) -> T:
        """Run ``fn`` outside a write transaction (SQLite WAL: sees the last commit; PostgreSQL:
        each statement on its own, in autocommit).

        A connection found broken is dropped; when it was one kept from earlier (the server
        restarted since) the read runs once more on a new one, else the outage is raised."""
        for _ in range(2):
            conn = self._connection()
            fresh = self._local.fresh
            try:
                cursor = conn.cursor()
                try:
                    return fn(Cursor(cursor))
                finally:
                    cursor.close()
            except Exception as exc:
                if not self._lost(exc, conn):
                    raise
                if fresh:
                    raise StorageUnavailable(brief(exc)) from exc
        raise AssertionError("unreachable")

    def write(self, fn: Callable[[Cursor], T]) -> T:
        """Run ``fn`` in one write transaction, re-running it when the database asks to.

        A connection lost before the commit is dropped and the unit re-run once on a new one
        (nothing of it was committed); lost during the commit, the outcome is unknown, so the
        outage is raised and the caller's sender re-sends (the domain knows re-sends). A SQLite
        lock still held after every attempt is an outage too."""
        deadline = time.monotonic() + self.max_wait
        gate = self.gate.hold(self.max_wait) if self.gate is not None else nullcontext()
        with wait_until(deadline), gate:
            tries = Attempts(self.attempts, deadline)
            for _ in tries:
                conn = self._connection()
                fresh = self._local.fresh
                committing = False
                try:
                    cursor = conn.cursor()
                    try:
                        if self.sqlite:
                            self._bound_busy_wait(cursor)
                            cursor.execute("BEGIN IMMEDIATE")
                        else:
                            cursor.execute("BEGIN")
                        result = fn(Cursor(cursor))
                        committing = True
                        conn.commit()
                        return result
                    finally:
                        cursor.close()
                except BaseException as exc:
                    if self._lost(exc, conn):
                        tries.lost(exc, exc, committing=committing, fresh=fresh)
                        continue
                    _rollback(conn)
                    if not busy(exc):
                        raise
                    tries.busy(exc, exc)
        raise AssertionError("unreachable")

    def _bound_busy_wait(self, cursor: Any) -> None:
        """SQLite waits for its lock no longer than the unit has left (see ``wait_until``)."""
        wanted = busy_ms(self.busy_timeout_ms)
        if wanted != self._local.busy_ms:
            cursor.execute(f"PRAGMA busy_timeout = {wanted}")
            self._local.busy_ms = wanted

    def close_thread_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            try:
                conn.close()
            except Exception:  # broken already: nothing left to give back
                pass

    def dispose(self) -> None:
        self.close_thread_connection()
        self._raw_engine.dispose()


def _rollback(conn: Any) -> None:
    try:
        conn.rollback()
    except Exception:  # broken after all: the next use finds it out and drops it
        pass

