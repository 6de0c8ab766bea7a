"""The retry rule both database paths share, and the outage it ends in (no server needed).

``Attempts``: a connection lost before the commit runs the unit once more; lost during the
commit, lost twice, or a "try again" past the deadline is a ``StorageUnavailable``. Then the
rule at work on a real SQLite file whose write lock another connection keeps: both paths (the
ORM's ``Store.write`` and ``fastsql``) give up with the outage, and work again once it is free.
"""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, bindparam, insert, text

from ocpp_soap.central.storage.outage import Attempts, StorageUnavailable
from ocpp_soap.central.storage.store import Store

T = Table("t", MetaData(), Column("x", Integer))
INSERT = insert(T).values(x=bindparam("x"))


def test_lost_before_commit_runs_once_more():
    tries = Attempts(8, time.monotonic() + 60)
    it = iter(tries)
    next(it)
    tries.lost(OSError("gone"), OSError("gone"), committing=False)  # returns: run again
    next(it)
    with pytest.raises(StorageUnavailable, match="storage outage"):
        tries.lost(OSError("gone again"), OSError("gone again"), committing=False)


@pytest.mark.parametrize("kw", [{"committing": True}, {"committing": False, "fresh": True}])
def test_lost_during_commit_or_on_a_new_connection_is_an_outage(kw):
    tries = Attempts(8, time.monotonic() + 60)
    next(iter(tries))
    with pytest.raises(StorageUnavailable):
        tries.lost(OSError("x"), OSError("x"), **kw)


def test_busy_past_the_deadline_or_the_attempts_is_an_outage():
    tries = Attempts(8, time.monotonic() - 1)
    next(iter(tries))
    with pytest.raises(StorageUnavailable, match="still locked after 1 attempts"):
        tries.busy(OSError("locked"), OSError("locked"))
    tries = Attempts(2, time.monotonic() + 60)
    it = iter(tries)
    next(it)
    tries.busy(OSError("locked"), OSError("locked"))  # pauses, returns
    next(it)
    with pytest.raises(StorageUnavailable):
        tries.busy(OSError("locked"), OSError("locked"))
    assert list(it) == []


def test_sqlite_lock_kept_elsewhere(tmp_path):
    url = f"sqlite:///{tmp_path / 'cs.db'}"
    store = Store.open(url, busy_timeout_ms=300, max_wait=1.0)
    store.write(lambda s: s.execute(text("CREATE TABLE t (x INTEGER)")))
    holder = sqlite3.connect(tmp_path / "cs.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageUnavailable):
            store.write(lambda s: s.execute(text("INSERT INTO t VALUES (1)")))
        fast = store.fast
        with pytest.raises(StorageUnavailable):
            fast.write(lambda cur: cur.execute(fast.statement(INSERT), {"x": 2}))
        assert store.read(lambda s: s.execute(text("SELECT count(*) FROM t")).scalar()) == 0
    finally:
        holder.execute("COMMIT")
        holder.close()
    store.write(lambda s: s.execute(text("INSERT INTO t VALUES (3)")))
    store.fast.write(lambda cur: cur.execute(store.fast.statement(INSERT), {"x": 4}))
    assert store.read(lambda s: s.execute(text("SELECT x FROM t ORDER BY x")).scalars().all()) \
        == [3, 4]
    store.dispose()
