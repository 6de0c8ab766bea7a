"""One domain path: every message runs its rules once, through the repositories, on both databases.

A box in good standing is admitted by the quick acceptance (one UPDATE); a box that must prove
who it is takes the full admission. Everything else is the same code, so the same message
sequence must store the same rows for both, column by column (datetimes included: the
statements bind through SQLAlchemy's own type processors, and the ORM reads them back). Runs on
SQLite and PostgreSQL (``tests/central/conftest.py``).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ocpp_soap.central.errors import SecurityError
from ocpp_soap.central.storage.models import ChargeBox, ConnectorStatus, MeterSample, Transaction
from ocpp_soap.central.testing import Ctx, central_on_file
from ocpp_soap.central.trust import Refused

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)  # whole seconds on purpose
EXPIRY = datetime(2031, 1, 1, tzinfo=UTC)  # in the future of the test clock
FROM = "http://192.0.2.10:8080/ocpp/ChargePointService"


def _ctx(action: str, box: str = "CB1", **kw):
    return Ctx(box, action=action, from_address=FROM, **kw)


def _meter(tx_id: int | None, start: datetime, n: int = 3) -> dict:
    return {"connectorId": 1, "transactionId": tx_id, "meterValue": [
        {"timestamp": start + timedelta(seconds=10 * i), "sampledValue": [
            {"value": str(1000 + i), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": "16.0", "measurand": "Current.Import", "phase": "L1", "unit": "A"}]}
        for i in range(n)]}


def _session(central, box: str) -> dict:
    """Boot, status, authorize, start, meter values (one re-sent), stop with data; replies."""
    replies = {}
    replies["boot"] = dict(central.boot(_ctx("BootNotification", box), {
        "chargePointVendor": "V", "chargePointModel": "M", "firmwareVersion": "1.2"}))
    replies["boot"].pop("currentTime")
    for status, at in (("Available", T0), ("Charging", T0 + timedelta(minutes=1)),
                       ("Faulted", T0 + timedelta(seconds=30))):  # older, received last: wins
        central.status_notification(_ctx("StatusNotification", box), {
            "connectorId": 1, "status": status, "errorCode": "NoError", "timestamp": at})
    replies["authorize"] = central.authorize(_ctx("Authorize", box), {"idTag": "tag-a"})
    replies["authorize_unknown"] = central.authorize(_ctx("Authorize", box), {"idTag": "NOPE"})
    start = central.start_transaction(_ctx("StartTransaction", box), {
        "connectorId": 1, "idTag": "TAG-A", "meterStart": 100, "timestamp": T0})
    tx = start["transactionId"]
    central.meter_values(_ctx("MeterValues", box), _meter(tx, T0 + timedelta(minutes=2)))
    central.meter_values(_ctx("MeterValues", box), _meter(tx, T0 + timedelta(minutes=2)))
    central.meter_values(_ctx("MeterValues", box), _meter(None, T0 + timedelta(minutes=3), 1))
    central.meter_values(_ctx("MeterValues", box), _meter(987654, T0 + timedelta(minutes=4), 1))
    replies["stop"] = central.stop_transaction(_ctx("StopTransaction", box), {
        "transactionId": tx, "idTag": "TAG-A", "meterStop": 2500, "reason": "Local",
        "timestamp": T0 + timedelta(minutes=5),
        "transactionData": _meter(None, T0 + timedelta(minutes=5), 2)["meterValue"]})
    replies["stop_again"] = central.stop_transaction(_ctx("StopTransaction", box), {
        "transactionId": tx, "meterStop": 2600, "timestamp": T0 + timedelta(minutes=6),
        "transactionData": _meter(None, T0 + timedelta(minutes=5), 3)["meterValue"]})
    replies["heartbeat_waiting"] = central.heartbeat(_ctx("Heartbeat", box), {}).commands_waiting
    return replies


_SKIP = {"last_seen_at", "updated_at", "last_boot_at", "created_at", "endpoint_updated_at",
         "last_heartbeat_at", "received_at", "stop_received_at", "id", "transaction_id",
         "charge_box_id", "allow_from", "reported_transaction_id"}


def _stored(central, box: str) -> dict:
    """The box's rows, without what differs between two boxes and two runs."""
    def rows(model, order):
        table = model.__table__
        cols = [c for c in table.columns if c.name not in _SKIP]
        query = select(*cols).where(table.c.charge_box_id == box).order_by(*order)
        return [tuple(r) for r in session.execute(query)]

    with central.store._read() as session:
        return {
            "box": rows(ChargeBox, [ChargeBox.charge_box_id]),
            "status": rows(ConnectorStatus, [ConnectorStatus.connector_id]),
            "transactions": rows(Transaction, [Transaction.id]),
            "samples": rows(MeterSample, [MeterSample.timestamp, MeterSample.source,
                                          MeterSample.value]),
        }


@pytest.fixture
def central(tmp_path):
    central = central_on_file(tmp_path)
    central.admin.add_chargebox("CB1")
    # The same network for both boxes; only this one has to prove it (full admission).
    central.admin.add_chargebox("PINNED", allow_from="192.0.2.0/24")
    central.admin.add_tag("TAG-A", expiry_date=EXPIRY, parent_id_tag="GROUP")
    central.admin.add_tag("GROUP")
    yield central
    central.store.fast.dispose()


def test_quick_acceptance_and_full_admission_store_the_same(central):
    quick, full = _session(central, "CB1"), _session(central, "PINNED")
    tx_quick = quick["stop"]
    assert quick == full
    assert tx_quick["idTagInfo"] == {"status": "Accepted", "expiryDate": EXPIRY,
                                     "parentIdTag": "GROUP"}
    assert quick["authorize"]["idTagInfo"] == tx_quick["idTagInfo"]
    assert quick["authorize_unknown"]["idTagInfo"] == {"status": "Invalid"}
    assert quick["heartbeat_waiting"] is False
    a, b = _stored(central, "CB1"), _stored(central, "PINNED")
    assert a == b
    # What the rules say was stored: the re-sent MeterValues once, the repeated stop's data
    # only where new, the latest received status, the first stop's values.
    assert len(a["samples"]) == 3 * 2 + 1 * 2 + 1 * 2 + 2 * 2 + 1 * 2
    assert [s[0] for s in a["status"]] == [1] and a["status"][0][1] == "Faulted"
    (tx,) = central.admin.list_transactions(charge_box_id="CB1")
    assert (tx["meter_start"], tx["meter_stop"], tx["stop_reason"], tx["stop_count"]) == (
        100, 2500, "Local", 2)
    linked = [s for s in central.admin.list_meter_values(transaction_id=tx["id"])
              if s.get("linked_by") == "connector"]
    assert len(linked) == 2  # the MeterValues without transactionId, by its connector


def test_times_read_back_as_the_orm_writes_them(central):
    central.status_notification(_ctx("StatusNotification"), {
        "connectorId": 2, "status": "Available", "errorCode": "NoError", "timestamp": T0})
    with central.store._read() as session:
        assert session.get(ConnectorStatus, ("CB1", 2)).timestamp == T0
    central.status_notification(_ctx("StatusNotification"), {
        "connectorId": 2, "status": "Unavailable", "errorCode": "NoError", "timestamp": T0})
    assert central.admin.connector_status("CB1")[0]["status"] == "Unavailable"


def test_the_full_admission_registers_checks_and_refuses(central):
    central.settings.unknown_chargebox = "accept"
    assert central.boot(_ctx("BootNotification", "NEW-1"), {
        "chargePointVendor": "V", "chargePointModel": "M"})["status"] == "Accepted"
    central.meter_values(_ctx("MeterValues", "NEW-1"), _meter(None, T0))
    assert central.admin.get_chargebox("NEW-1")["charge_point_vendor"] == "V"
    # An unregistered sender of any message is registered under "accept" …
    central.meter_values(_ctx("MeterValues", "GHOST"), _meter(None, T0))
    assert central.admin.get_chargebox("GHOST")["registration_status"] == "Accepted"
    # … and refused under "reject", with the wording of a failed authentication.
    central.settings.unknown_chargebox = "reject"
    with pytest.raises(Refused, match="not authorized") as refused:
        central.meter_values(_ctx("MeterValues", "GHOST-2"), _meter(None, T0))
    assert refused.value.detail == "unknown charge box"
    # A box with a secret must send it.
    central.admin.add_chargebox("SECRET-1", auth_secret="s3cret")
    with pytest.raises(Refused, match="not authorized") as refused:
        central.boot(_ctx("BootNotification", "SECRET-1"), {"chargePointVendor": "V",
                                                            "chargePointModel": "M"})
    assert "credentials missing" in refused.value.detail
    # A Pending box may keep itself known, not start a transaction; nothing of it is stored.
    central.admin.update_chargebox("CB1", registration_status="Pending")
    central.heartbeat(_ctx("Heartbeat"), {})
    with pytest.raises(SecurityError, match="Pending"):
        central.start_transaction(_ctx("StartTransaction"), {
            "connectorId": 1, "idTag": "TAG-A", "meterStart": 0, "timestamp": T0})
    assert central.admin.list_transactions(charge_box_id="CB1") == []


def test_the_wake_up_question_is_answered_in_the_reply(central):
    boot = central.boot(_ctx("BootNotification"), {"chargePointVendor": "V",
                                                    "chargePointModel": "M"})
    assert boot.commands_waiting is False
    central.queue_command("CB1", "Reset", {"type": "Soft"})
    assert central.heartbeat(_ctx("Heartbeat"), {}).commands_waiting is True
    central.write_presence_behind()  # the read-only Heartbeat of a box in good standing
    try:
        assert central.heartbeat(_ctx("Heartbeat"), {}).commands_waiting is True
        assert central.boot(_ctx("BootNotification"), {
            "chargePointVendor": "V", "chargePointModel": "M"}).commands_waiting is True
        assert central.authorize(_ctx("Authorize"), {"idTag": "TAG-A"}).commands_waiting is None
    finally:
        central.close()


def test_threads_write_on_connections_of_their_own(central):
    central.boot(_ctx("BootNotification"), {"chargePointVendor": "V", "chargePointModel": "M"})
    errors: list[BaseException] = []

    def send(k: int) -> None:
        try:
            for i in range(20):
                central.meter_values(_ctx("MeterValues"), _meter(
                    None, T0 + timedelta(hours=k, minutes=i), 1))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with central.store._read() as session:
        assert session.query(MeterSample).count() == 4 * 20 * 2


class _Publisher:
    """A publisher with one webhook ("crm") for every kind; it can be made to fail."""

    active = True

    def __init__(self) -> None:
        self.seen: list = []
        self.broken: set[str] = set()

    def webhooks_for(self, kind: str) -> list[str]:
        if kind in self.broken:
            raise RuntimeError(f"cannot decide {kind}")
        return ["crm"]

    def published(self, events) -> None:
        self.seen.extend(events)


def test_a_message_and_its_events_commit_together(central):
    from ocpp_soap.central.storage.eventtables import OutboxEvent, WebhookDelivery

    publisher = _Publisher()
    central.publisher = publisher
    tx = central.start_transaction(_ctx("StartTransaction"), {
        "connectorId": 1, "idTag": "TAG-A", "meterStart": 0, "timestamp": T0})["transactionId"]
    (started,) = publisher.seen
    assert (started.kind, started.data["transaction_id"]) == ("transaction.started", tx)
    with central.store._read() as session:
        stored = session.get(OutboxEvent, started.id)
        assert (stored.kind, stored.charge_box_id) == ("transaction.started", "CB1")
        (delivery,) = session.execute(select(WebhookDelivery)).scalars()
        assert (delivery.event_id, delivery.webhook, delivery.state) == (started.id, "crm",
                                                                         "pending")
    # An event that cannot be stored takes its message with it: the box gets a fault, sends
    # the StopTransaction again, and nothing was half stored in between.
    publisher.broken.add("transaction.stopped")
    stop = {"transactionId": tx, "idTag": "TAG-A", "meterStop": 10, "timestamp": T0}
    with pytest.raises(RuntimeError):
        central.stop_transaction(_ctx("StopTransaction"), stop)
    assert central.admin.get_transaction(tx)["stop_timestamp"] is None
    publisher.broken.clear()
    central.stop_transaction(_ctx("StopTransaction"), stop)
    assert central.admin.get_transaction(tx)["meter_stop"] == 10
    assert [e.kind for e in publisher.seen] == ["transaction.started", "transaction.stopped"]
    with central.store._read() as session:
        assert session.query(OutboxEvent).count() == 2


def test_a_thread_that_ends_gives_its_connection_back(central):
    """A command delivery runs on a short-lived thread; its connection must not wait for the
    garbage collector (on PostgreSQL each one is a server process)."""
    held = {}

    def deliver() -> None:
        central.units.read(lambda repos: repos.commands.waiting("CB1", T0))
        held["before"] = central.store.fast._local.conn
        central.units.end_thread()
        held["after"] = getattr(central.store.fast._local, "conn", None)

    thread = threading.Thread(target=deliver)
    thread.start()
    thread.join()
    assert held["before"] is not None and held["after"] is None
    assert held["before"].dbapi_connection is None  # closed, not only forgotten
