"""The fast path (``hotpath`` on ``storage.fastsql``) stores exactly what the general ORM path does.

The same message sequence runs on two Central Systems: one as shipped (the common cases take the
fast path) and one with every fast path refused (``Retry``), so the general path does all the work.
The stored rows must be equal column by column, datetimes included (the fast path binds through
SQLAlchemy's own type processors; a whole-second time is where the driver's own adapter would
have written another string). Runs on PostgreSQL too with ``make test`` in CI.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ocpp_soap.central import hotpath
from ocpp_soap.central.storage.fastsql import Retry
from ocpp_soap.central.storage.models import (
    ChargeBox,
    ConnectorStatus,
    IdTag,
    MeterSample,
    Transaction,
)
from ocpp_soap.central.testing import Ctx, central_on_file

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)  # whole seconds on purpose
EXPIRY = datetime(2031, 1, 1, tzinfo=UTC)  # in the future of the test clock
FROM = "http://192.0.2.10:8080/ocpp/ChargePointService"
HOT = ("authorize", "boot", "meter_values", "status_notification", "stop_transaction")


def _ctx(action: str, **kw) -> Ctx:
    return Ctx(action=action, from_address=FROM, **kw)


def _meter(tx_id: int | None, start: datetime, n: int = 3) -> dict:
    return {"connectorId": 1, "transactionId": tx_id, "meterValue": [
        {"timestamp": start + timedelta(seconds=10 * i), "sampledValue": [
            {"value": str(1000 + i), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": "16.0", "measurand": "Current.Import", "phase": "L1", "unit": "A"}]}
        for i in range(n)]}


def _session(central) -> dict:
    """Boot, status, authorize, start, meter values (one re-sent), stop with data; replies."""
    replies = {}
    replies["boot"] = central.boot(_ctx("BootNotification"), {
        "chargePointVendor": "V", "chargePointModel": "M", "firmwareVersion": "1.2"})
    replies["boot"].pop("currentTime")
    central.status_notification(_ctx("StatusNotification"), {
        "connectorId": 1, "status": "Available", "errorCode": "NoError", "timestamp": T0})
    central.status_notification(_ctx("StatusNotification"), {
        "connectorId": 1, "status": "Charging", "errorCode": "NoError", "info": "x",
        "timestamp": T0 + timedelta(minutes=1)})
    central.status_notification(_ctx("StatusNotification"), {  # older, received last: wins
        "connectorId": 1, "status": "Faulted", "errorCode": "OtherError",
        "timestamp": T0 + timedelta(seconds=30)})
    replies["authorize"] = central.authorize(_ctx("Authorize"), {"idTag": "tag-a"})
    replies["authorize_unknown"] = central.authorize(_ctx("Authorize"), {"idTag": "NOPE"})
    start = central.start_transaction(_ctx("StartTransaction"), {
        "connectorId": 1, "idTag": "TAG-A", "meterStart": 100, "timestamp": T0})
    tx = start["transactionId"]
    central.meter_values(_ctx("MeterValues"), _meter(tx, T0 + timedelta(minutes=2)))
    central.meter_values(_ctx("MeterValues"), _meter(tx, T0 + timedelta(minutes=2)))  # re-sent
    central.meter_values(_ctx("MeterValues"), _meter(None, T0 + timedelta(minutes=3), 1))
    central.meter_values(_ctx("MeterValues"), _meter(987654, T0 + timedelta(minutes=4), 1))
    replies["stop"] = central.stop_transaction(_ctx("StopTransaction"), {
        "transactionId": tx, "idTag": "TAG-A", "meterStop": 2500, "reason": "Local",
        "timestamp": T0 + timedelta(minutes=5),
        "transactionData": _meter(None, T0 + timedelta(minutes=5), 2)["meterValue"]})
    replies["stop_again"] = central.stop_transaction(_ctx("StopTransaction"), {
        "transactionId": tx, "meterStop": 2600, "timestamp": T0 + timedelta(minutes=6)})
    return replies


def _stored(central) -> dict:
    def rows(model, order, skip=()):
        cols = [c for c in model.__table__.columns if c.name not in skip]
        return [tuple(r) for r in session.execute(select(*cols).order_by(*order))]

    with central.store._read() as session:
        return {
            # seen/updated times differ between runs (the clock); everything else must not.
            "boxes": rows(ChargeBox, [ChargeBox.charge_box_id],
                          skip=("last_seen_at", "updated_at", "last_boot_at", "created_at",
                                "endpoint_updated_at", "last_heartbeat_at")),
            "status": rows(ConnectorStatus, [ConnectorStatus.charge_box_id,
                                             ConnectorStatus.connector_id],
                           skip=("received_at",)),
            "transactions": rows(Transaction, [Transaction.id],
                                 skip=("created_at", "stop_received_at")),
            "samples": rows(MeterSample, [MeterSample.id], skip=("received_at",)),
        }


def _prepared(tmp_path, name):
    central = central_on_file(tmp_path / name)
    central.admin.add_chargebox("CB1")
    central.admin.add_tag("TAG-A", expiry_date=EXPIRY,
                          parent_id_tag="GROUP")
    central.admin.add_tag("GROUP")
    return central


@pytest.fixture
def counted(monkeypatch):
    """Count the fast paths taken (and refused) in this test."""
    taken: dict[str, int] = {}
    for name in HOT:
        original = getattr(hotpath, name)

        def wrapper(*a, _original=original, _name=name, **kw):
            try:
                result = _original(*a, **kw)
            except Retry:
                taken[_name + ":refused"] = taken.get(_name + ":refused", 0) + 1
                raise
            taken[_name] = taken.get(_name, 0) + 1
            return result

        monkeypatch.setattr(hotpath, name, wrapper)
    return taken


def test_fast_and_general_paths_store_the_same(tmp_path, monkeypatch, counted):
    (tmp_path / "fast").mkdir()
    (tmp_path / "general").mkdir()
    fast = _prepared(tmp_path, "fast")
    fast_replies = _session(fast)
    # Every common case went the fast way; the repeated stop was refused and handled generally.
    assert counted == {"boot": 1, "status_notification": 3, "authorize": 2, "meter_values": 4,
                       "stop_transaction": 1, "stop_transaction:refused": 1}

    general = _prepared(tmp_path, "general")

    def refuse(*a, **kw):
        raise Retry

    for name in HOT:
        monkeypatch.setattr(hotpath, name, refuse)
    general_replies = _session(general)

    assert fast_replies == general_replies
    assert fast_replies["authorize"]["idTagInfo"] == {
        "status": "Accepted", "expiryDate": EXPIRY, "parentIdTag": "GROUP"}
    assert fast_replies["authorize_unknown"]["idTagInfo"] == {"status": "Invalid"}
    a, b = _stored(fast), _stored(general)
    assert a == b
    assert len(a["samples"]) == 3 * 2 + 1 * 2 + 1 * 2 + 2 * 2  # the re-send stored once
    assert [s[1] for s in a["status"]] == [1] and a["status"][0][2] == "Faulted"


def test_fast_path_times_read_back_as_the_orm_wrote_them(tmp_path):
    central = _prepared(tmp_path, ".")
    central.status_notification(_ctx("StatusNotification"), {
        "connectorId": 2, "status": "Available", "errorCode": "NoError", "timestamp": T0})
    # The ORM reads the fast path's value back as the same aware time, and the "only newer"
    # comparison in SQL sees it as equal (not as a different string).
    with central.store._read() as session:
        row = session.get(ConnectorStatus, ("CB1", 2))
        assert row.timestamp == T0
    central.status_notification(_ctx("StatusNotification"), {
        "connectorId": 2, "status": "Unavailable", "errorCode": "NoError", "timestamp": T0})
    assert central.admin.connector_status("CB1")[0]["status"] == "Unavailable"


def test_cases_outside_the_fast_path_are_refused(tmp_path, counted):
    central = _prepared(tmp_path, ".")
    central.settings.unknown_chargebox = "accept"
    central.boot(_ctx("BootNotification", charge_box_id="NEW-1"), {
        "chargePointVendor": "V", "chargePointModel": "M"})  # unknown box: registration
    central.meter_values(_ctx("MeterValues", charge_box_id="NEW-1"), _meter(None, T0))
    central.admin.add_chargebox("SECRET-1", auth_secret="s3cret")
    # A box with a secret must authenticate: the general path says so.
    with pytest.raises(Exception, match="not authorized"):
        central.boot(_ctx("BootNotification", charge_box_id="SECRET-1"), {
            "chargePointVendor": "V", "chargePointModel": "M"})
    # An unregistered sender goes the general path, which registers it under "accept" (issue 14)
    # and refuses it under "reject" (one wording for unknown and unauthenticated, issue 13).
    central.meter_values(_ctx("MeterValues", charge_box_id="GHOST"), _meter(None, T0))
    central.settings.unknown_chargebox = "reject"
    with pytest.raises(Exception, match="not authorized"):
        central.meter_values(_ctx("MeterValues", charge_box_id="GHOST-2"), _meter(None, T0))
    assert counted["boot:refused"] == 2
    assert counted["meter_values"] == 1  # the box registered by its boot is in good standing
    assert counted["meter_values:refused"] == 2
    with central.store._read() as session:
        assert session.get(ChargeBox, "NEW-1").charge_point_vendor == "V"
        assert session.get(IdTag, "TAG-A") is not None


def test_threads_write_on_connections_of_their_own(tmp_path):
    central = _prepared(tmp_path, ".")
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
