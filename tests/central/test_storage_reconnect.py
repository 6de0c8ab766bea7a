"""Every database path drops a lost connection and reconnects on its next use.

On a PostgreSQL cluster of the test's own: the compiled hot statements (``fastsql``), the ORM
sessions, the envelope-log writer and the presence writer. A backend killed with
``pg_terminate_backend`` costs nothing (the kept connection is found broken and replaced); while the
server is down each path raises ``StorageUnavailable`` at once, and once it is back each works
again without a new ``Store``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, select, text

from ocpp_soap.central.envelopelog import EnvelopeLogWriter
from ocpp_soap.central.presence import PresenceBuffer
from ocpp_soap.central.storage.models import ChargeBox, EnvelopeLog
from ocpp_soap.central.storage.outage import StorageUnavailable
from ocpp_soap.central.storage.store import Store

_ONE = select(func.count()).select_from(ChargeBox.__table__)


def _terminate_all(url: str) -> int:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")).scalar_one()
    finally:
        admin.dispose()


def _count(store: Store, model) -> int:
    return store.read(lambda s: s.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.fixture
def store(private_pg_cluster):
    store = Store.open(private_pg_cluster.url)
    store.write(lambda s: s.add(ChargeBox(charge_box_id="CB1", registration_status="Accepted",
                                          created_at=datetime.now(UTC),
                                          updated_at=datetime.now(UTC))))
    yield store
    store.dispose()


def test_terminated_backends_are_replaced(store, private_pg_cluster):
    fast = store.fast
    assert fast.read(lambda cur: cur.first(fast.statement(_ONE)))[0] == 1
    assert _count(store, ChargeBox) == 1
    assert _terminate_all(private_pg_cluster.url) >= 2  # the kept fastsql and pooled ones
    # Each path finds its kept connection broken, drops it and runs on a new one.
    assert fast.read(lambda cur: cur.first(fast.statement(_ONE)))[0] == 1
    _terminate_all(private_pg_cluster.url)
    fast.write(lambda cur: cur.execute(fast.statement(
        ChargeBox.__table__.update().values(charge_point_vendor="after"))))
    _terminate_all(private_pg_cluster.url)
    assert _count(store, ChargeBox) == 1
    assert store.read(lambda s: s.get(ChargeBox, "CB1").charge_point_vendor) == "after"


def test_outage_raises_at_once_and_recovers(store, private_pg_cluster):
    fast = store.fast
    fast.read(lambda cur: cur.first(fast.statement(_ONE)))
    envelopes = EnvelopeLogWriter(store, linger=0.05)
    presence = PresenceBuffer(store, interval=0.1)
    private_pg_cluster.stop()
    try:
        with pytest.raises(StorageUnavailable, match="storage outage"):
            fast.read(lambda cur: cur.first(fast.statement(_ONE)))
        with pytest.raises(StorageUnavailable):
            fast.write(lambda cur: cur.first(fast.statement(_ONE)))
        with pytest.raises(StorageUnavailable):
            _count(store, ChargeBox)
        now = datetime.now(UTC)
        for n in range(5):  # written behind: kept through the outage, not dropped
            envelopes.add("in", f"<e{n}/>", at=now, charge_box_id="CB1", action="Heartbeat",
                          message_id=f"m{n}")
        presence.touch("CB1", now, heartbeat=True)
    finally:
        private_pg_cluster.start()
    assert fast.read(lambda cur: cur.first(fast.statement(_ONE)))[0] == 1
    assert _count(store, ChargeBox) == 1
    envelopes.flush(timeout=30)
    presence.close()
    assert not envelopes.thread.is_alive()
    assert _count(store, EnvelopeLog) == 5
    assert envelopes.failed == 0
    box = store.read(lambda s: s.get(ChargeBox, "CB1"))
    assert box.last_heartbeat_at is not None and box.last_seen_at is not None
