"""Short transactions with retry: the only way the rest of the code touches the database.

Callers pass a function of a ``Session``; ``Store.write`` runs it in one write transaction and
re-runs it when the database says "try again" (SQLite busy/locked, PostgreSQL serialization
failure or deadlock). Because the whole unit is re-run, callers must do all their reads inside it
and keep side effects outside.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from .engine import make_engine, wait_until, writer
from .fastsql import FastSQL
from .migrations import migrate
from .outage import Attempts, busy, orm_lost
from .writegate import WriteGate

T = TypeVar("T")
log = logging.getLogger(__name__)

class Store:
    """Owns the engine and hands out short transactions."""

    def __init__(self, engine: Engine, *, attempts: int = 8, busy_timeout_ms: int = 10000,
                 max_wait: float = 15.0) -> None:
        self.engine = engine
        self.attempts = attempts
        #: Longest a unit of work waits for locks and retries before ``StorageUnavailable``
        #: (kept below the worker timeout: a charger gets a fault, not a dropped connection).
        self.max_wait = max_wait
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        #: SQLite files: writers queue on an OS lock instead of SQLite's sleeping busy handler.
        self.gate = WriteGate(database) if database else None
        #: The hot statements' path: compiled Core statements on this thread's DB-API connection
        #: (see ``fastsql``), under the same write gate as ``write``. No connection is opened
        #: until a statement runs.
        raw = make_engine(engine.url.render_as_string(hide_password=False),
                          busy_timeout_ms=busy_timeout_ms, pooled=False,
                          lock_timeout_ms=int(max_wait * 1000))
        self.fast = FastSQL(engine, raw, self.gate, attempts, max_wait=max_wait,
                            busy_timeout_ms=busy_timeout_ms)
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(writer(engine), expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, busy_timeout_ms: int = 10000, run_migrations: bool = True,
             max_wait: float = 15.0) -> Store:
        """Engine for ``url`` with the schema brought up to date (safe from several processes)."""
        engine = make_engine(url, busy_timeout_ms=busy_timeout_ms,
                             lock_timeout_ms=int(max_wait * 1000))
        if run_migrations:
            migrate(engine)
        return cls(engine, busy_timeout_ms=busy_timeout_ms, max_wait=max_wait)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in one write transaction, retrying the whole unit when the DB asks to."""
        deadline = time.monotonic() + self.max_wait
        with wait_until(deadline):
            if self.gate is None:
                return self._run(self._write, fn, deadline)
            with self.gate.hold(self.max_wait):
                return self._run(self._write, fn, deadline)

    def read(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in a read transaction (WAL readers never block the writer)."""
        deadline = time.monotonic() + self.max_wait
        with wait_until(deadline):
            return self._run(self._read, fn, deadline)

    def _run(self, factory: sessionmaker[Session], fn: Callable[[Session], T],
             deadline: float) -> T:
        """Run the unit, re-running it on "try again" and once on a connection lost before the
        commit; an outage (no server, lost during the commit, locked past every attempt) raises
        ``StorageUnavailable``. The pool pre-pings, so a connection kept from before a restart
        is replaced at checkout."""
        tries = Attempts(self.attempts, deadline)
        for attempt in tries:
            committing = False
            try:
                with factory() as session, session.begin():
                    result = fn(session)
                    committing = True
                return result
            except DBAPIError as exc:
                if orm_lost(exc):
                    tries.lost(exc, exc.orig, committing=committing)
                    continue
                if not busy(exc):
                    raise
                log.debug("retrying transaction after %s (attempt %d)", exc.orig, attempt)
                tries.busy(exc, exc.orig)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.fast.dispose()
        self.engine.dispose()


def upsert(
    session: Session,
    model: Any,
    values: Mapping[str, Any],
    keys: Iterable[str],
    only_if: Any = None,
) -> None:
    """INSERT … ON CONFLICT DO UPDATE on SQLite and PostgreSQL (no read-then-insert race).

    ``only_if`` is an optional SQL condition (on the existing row) for the update to happen.
    """
    keys = list(keys)
    name = session.get_bind().dialect.name
    module = {"sqlite": sqlite, "postgresql": postgresql}.get(name)
    if module is None:
        raise NotImplementedError(f"upsert not supported on {name}")
    stmt = module.insert(model).values(**values)
    update = {k: stmt.excluded[k] for k in values if k not in keys}
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_=update, where=only_if)
    session.execute(stmt)
