"""Store plumbing: SQLite settings for shared files, write locks, retries, portable types."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, text

from ocpp_soap.central.storage import Store, upsert
from ocpp_soap.central.storage.models import ConnectorStatus, EnvelopeLog
from ocpp_soap.central.storage.types import dumps_payload, loads_payload, plain_json


@pytest.fixture
def store(tmp_path):
    s = Store.open(f"sqlite:///{tmp_path / 's.db'}", busy_timeout_ms=2000)
    yield s
    s.dispose()


def test_sqlite_connection_settings(store):
    def pragmas(session):
        return {
            name: session.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }

    assert store.read(pragmas) == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 2000}


def test_writes_begin_immediate_reads_deferred(store):
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    store.write(lambda s: s.execute(text("SELECT 1")))
    store.read(lambda s: s.execute(text("SELECT 2")))
    assert [s for s in seen if s.startswith("BEGIN")] == ["BEGIN IMMEDIATE", "BEGIN DEFERRED"]


def test_in_memory_sqlite_refused():
    with pytest.raises(ValueError):
        Store.open("sqlite://")


def test_write_retries_when_database_is_locked(tmp_path):
    path = tmp_path / "locked.db"
    store = Store.open(f"sqlite:///{path}", busy_timeout_ms=20)
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release():
        time.sleep(0.3)
        blocker.execute("COMMIT")
        released.set()

    threading.Thread(target=release).start()
    now = datetime.now(UTC)
    store.write(lambda s: s.add(EnvelopeLog(at=now, direction="in", envelope="<x/>")))
    assert released.is_set()
    assert store.read(lambda s: s.execute(select(EnvelopeLog)).scalars().one().envelope) == "<x/>"
    blocker.close()


def test_non_retryable_errors_propagate_at_once(store):
    calls = []

    def bad(session):
        calls.append(1)
        session.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(Exception, match="no_such_table"):
        store.write(bad)
    assert calls == [1]


def test_times_come_back_aware_utc(store):
    local = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    store.write(lambda s: s.add(EnvelopeLog(at=local, direction="in", envelope="e")))
    at = store.read(lambda s: s.execute(select(EnvelopeLog.at)).scalar_one())
    assert at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC) and at.tzinfo is UTC


def test_payload_json_keeps_datetimes():
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    payload = {"connectorId": 1, "startDate": when, "list": [{"t": when}], "s": "x"}
    assert loads_payload(dumps_payload(payload)) == payload
    assert plain_json(payload)["startDate"] == "2024-01-02T03:04:05+00:00"


def test_upsert_inserts_then_updates_only_if_newer(store):
    from ocpp_soap.central.storage.models import ChargeBox

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    store.write(lambda s: s.add(ChargeBox(charge_box_id="CB", created_at=t0, updated_at=t0)))
    table = ConnectorStatus.__table__

    def put(status, ts):
        values = dict(
            charge_box_id="CB", connector_id=1, status=status, timestamp=ts, received_at=ts
        )
        store.write(
            lambda s: upsert(
                s,
                ConnectorStatus,
                values,
                ("charge_box_id", "connector_id"),
                only_if=table.c.timestamp <= ts,
            )
        )

    put("Available", t0)
    put("Charging", t0 + timedelta(minutes=5))
    put("Preparing", t0 + timedelta(minutes=1))  # late arrival: ignored
    rows = store.read(lambda s: s.execute(select(ConnectorStatus)).scalars().all())
    assert [(r.status, r.timestamp) for r in rows] == [("Charging", t0 + timedelta(minutes=5))]
