"""The webhook outbox on its own (SQLite and PostgreSQL): head-of-line order per box, one
claimant per delivery across processes' outboxes, giving up, pruning, the box-events relay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from ocpp_soap.central.addressguard import AddressGuard
from ocpp_soap.central.events import ENDPOINT_CHANGED, Event
from ocpp_soap.central.outbox import Outbox, list_deliveries
from ocpp_soap.central.settings import CentralSettings
from ocpp_soap.central.storage.eventtables import OutboxEvent, WebhookDelivery
from ocpp_soap.central.storage.models import BoxEvent
from ocpp_soap.central.storage.store import Store
from tests.central.embedding_support import Receiver
from tests.central.test_e2e_support import rows


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'outbox.db'}"
    return request.getfixturevalue("pg_url")


def _outbox(db_url: str, url: str, **settings) -> Outbox:
    config = CentralSettings(db_url=db_url, webhooks=[{"url": url, "name": "h"}],
                             webhook_retry_min=60, webhook_retry_max=60, **settings)
    guard = AddressGuard.from_settings(config, listen_host="127.0.0.1")
    return Outbox(Store.open(db_url), guard, config)


def _started(box: str, n: int) -> Event:
    return Event("transaction.started", box, datetime.now(UTC), {"transaction_id": n})


def test_order_per_box_and_one_claimant(db_url):
    receiver = Receiver().start()
    try:
        first, second = _outbox(db_url, receiver.url), _outbox(db_url, receiver.url)
        first.publish([_started("A", 1), _started("A", 2), _started("B", 3)])
        heads = first._due_heads(first.webhooks[0])
        assert len(heads) == 2  # A's first and B's first; A's second waits behind A's first
        assert first._claim(heads[0]) is True
        assert second._claim(heads[0]) is False  # the other process's outbox keeps off
        assert second._due_heads(second.webhooks[0]) == heads[1:]
        first._deliver(first.webhooks[0], heads[0])
        assert second.deliver_due() == 2  # B's, and A's second now that A's first is settled
        sent = [(b["charge_box_id"], b["data"]["transaction_id"]) for b in receiver.bodies()]
        assert [n for box, n in sent if box == "A"] == [1, 2] and ("B", 3) in sent
        assert {d["state"] for d in list_deliveries(first.store)} == {"delivered"}
    finally:
        receiver.stop()


def test_a_delivery_is_given_up_and_the_next_follows(db_url):
    receiver = Receiver(status=500).start()
    try:
        outbox = _outbox(db_url, receiver.url, webhook_max_attempts=2)
        outbox.publish([_started("A", 1), _started("A", 2)])
        assert outbox.deliver_due() == 1
        with outbox.store.engine.begin() as conn:  # the pause is over
            conn.execute(update(WebhookDelivery).values(
                next_attempt_at=datetime.now(UTC) - timedelta(seconds=5)))
        assert outbox.deliver_due() == 1
        states = {d["event"]["data"]["transaction_id"]: (d["state"], d["attempts"],
                                                         d["last_status"])
                  for d in list_deliveries(outbox.store)}
        assert states == {1: ("failed", 2, 500), 2: ("pending", 0, None)}
        assert outbox._due_heads(outbox.webhooks[0])  # the box's next one is due now
    finally:
        receiver.stop()


def test_prune_keeps_what_is_pending(db_url):
    outbox = _outbox(db_url, "http://127.0.0.1:9/h", webhook_retention_days=1)
    outbox.publish([_started("A", 1), _started("A", 2)])
    old = datetime.now(UTC) - timedelta(days=3)
    with outbox.store.engine.begin() as conn:
        conn.execute(update(OutboxEvent).values(at=old))
        conn.execute(update(WebhookDelivery).values(created_at=old))
        conn.execute(update(WebhookDelivery).where(WebhookDelivery.id == 1)
                     .values(state="delivered"))
    assert outbox.prune() == 1
    assert [d.state for d in rows(db_url, WebhookDelivery)] == ["pending"]
    assert len(rows(db_url, OutboxEvent)) == 1


def test_endpoint_changes_are_relayed_once(db_url):
    got: list[Event] = []
    first = _outbox(db_url, "http://127.0.0.1:9/h")
    first.callbacks.append(got.append)
    second = _outbox(db_url, "http://127.0.0.1:9/h")
    now = datetime.now(UTC)

    def box_event(kind: str) -> None:
        first.store.write(lambda s: s.add(BoxEvent(at=now, charge_box_id="A", kind=kind,
                                                   old_address="http://10.0.0.1:8080/",
                                                   new_address="http://10.0.0.2:8080/")))

    box_event("endpoint_changed")  # before the relay's first run: history, not relayed
    assert first.relay() == 0
    box_event("endpoint_changed")
    box_event("auth_failed")
    assert first.relay() == 1
    assert second.relay() == 0
    assert [(e.kind, e.data["new_address"]) for e in got] == [
        (ENDPOINT_CHANGED, "http://10.0.0.2:8080/")]
    assert [e.kind for e in rows(db_url, OutboxEvent)] == [ENDPOINT_CHANGED]
