"""Every stored string of every CP→CS message has one limit, the same on SQLite and PostgreSQL.

Driven through the handler table the wire layer uses (``build_handlers``), on both databases:

- lenient: a value beyond its column is stored cut to the limit, with a warning naming the field;
- strict: ``FieldTooLong`` (Sender/ProtocolError) naming the field, and nothing of it is stored;
- identifiers are never cut: an over-long idTag is answered Invalid and stored as absent, an
  over-long chargeBoxIdentity is refused before anything is looked up;
- the admin layer (API, CLI) refuses over-long values naming the field.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from ocpp_soap.central.errors import ProtocolViolation
from ocpp_soap.central.fieldlimits import INCOMING, FieldTooLong, limit_of
from ocpp_soap.central.handlers import build_handlers
from ocpp_soap.central.storage.models import Base, Transaction
from ocpp_soap.central.testing import Ctx, central_on_file

TEXT_CASES = [(op, path, table, column) for op, specs in INCOMING.items()
              for path, table, column, kind in specs if kind != "id"]
ID_CASES = [(op, path) for op, specs in INCOMING.items()
            for path, _t, _c, kind in specs if kind == "id"]


def _now() -> datetime:
    return datetime.now(UTC)


def _meter() -> list[dict[str, Any]]:
    return [{"timestamp": _now(), "sampledValue": [{"value": "1", "measurand": "Voltage"}]}]


def _payload(cs, op: str) -> dict[str, Any]:
    """A valid message of ``op`` (a StopTransaction gets a transaction of its own)."""
    if op == "StopTransaction":
        ctx = Ctx(action="StartTransaction")
        tx = cs.start_transaction(ctx, {"connectorId": 1, "idTag": "TAG", "meterStart": 0,
                                        "timestamp": _now()})["transactionId"]
        return {"transactionId": tx, "meterStop": 10, "timestamp": _now(), "idTag": "TAG",
                "reason": "Local", "transactionData": _meter()}
    return {
        "BootNotification": {"chargePointVendor": "V", "chargePointModel": "M",
                             "chargePointSerialNumber": "S", "chargeBoxSerialNumber": "S",
                             "firmwareVersion": "1", "iccid": "1", "imsi": "1",
                             "meterType": "M", "meterSerialNumber": "S"},
        "StatusNotification": {"connectorId": 1, "status": "Available", "errorCode": "NoError",
                               "info": "i", "vendorId": "v", "vendorErrorCode": "e",
                               "timestamp": _now()},
        "MeterValues": {"connectorId": 1, "meterValue": _meter()},
        "DataTransfer": {"vendorId": "V", "messageId": "M", "data": "d"},
        "FirmwareStatusNotification": {"status": "Installed"},
        "DiagnosticsStatusNotification": {"status": "Uploaded"},
        "Authorize": {"idTag": "TAG"},
        "StartTransaction": {"connectorId": 1, "idTag": "TAG", "meterStart": 0,
                             "timestamp": _now()},
    }[op]


def _put(payload: dict[str, Any], path: str, value: str) -> None:
    node: Any = payload
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[part[:-2]][0] if part.endswith("[]") else node[part]
    node[parts[-1]] = value


def _stored(cs, table: str, column: str, value: str) -> int:
    t = Base.metadata.tables[table]
    return cs.store.read(lambda s: s.execute(
        select(func.count()).select_from(t).where(t.c[column] == value)).scalar_one())


@pytest.fixture
def cs(tmp_path):
    central = central_on_file(tmp_path)
    central.admin.add_chargebox("CB1")
    central.admin.add_tag("TAG", max_active_transactions=None)
    yield central
    central.close()


@pytest.mark.parametrize(("op", "path", "table", "column"), TEXT_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in TEXT_CASES])
def test_lenient_cuts_with_a_warning(cs, caplog, op, path, table, column):
    limit = limit_of(table, column)
    handlers = build_handlers(cs)
    payload = _payload(cs, op)
    _put(payload, path, "Z" * (limit + 7))
    with caplog.at_level(logging.WARNING, logger="ocpp_soap.central"):
        handlers[op](Ctx(action=op), payload)
    assert _stored(cs, table, column, "Z" * limit) == 1
    field = path.replace("[]", "")
    assert f"{field} is {limit + 7} characters long: stored cut to {limit}" in caplog.text


@pytest.mark.parametrize(("op", "path", "table", "column"), TEXT_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in TEXT_CASES])
def test_strict_refuses_naming_the_field(cs, op, path, table, column):
    limit = limit_of(table, column)
    handlers = build_handlers(cs, strict=True)
    payload = _payload(cs, op)
    _put(payload, path, "Y" * (limit + 1))
    with pytest.raises(FieldTooLong) as caught:
        handlers[op](Ctx(action=op), payload)
    assert isinstance(caught.value, ProtocolViolation)
    assert caught.value.field == path.replace("[]", "")
    assert path.replace("[]", "") in str(caught.value)
    assert _stored(cs, table, column, "Y" * limit) == 0
    assert _stored(cs, table, column, "Y" * (limit + 1)) == 0


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize(("op", "path"), ID_CASES)
def test_over_long_id_tag_is_invalid_never_cut(cs, op, path, strict):
    handlers = build_handlers(cs, strict=strict)
    cs.admin.add_tag("T" * 255)  # a tag the first 255 characters would match
    payload = _payload(cs, op)
    _put(payload, path, "T" * 300)
    reply = handlers[op](Ctx(action=op), payload)
    assert reply["idTagInfo"]["status"] == "Invalid"
    txs = cs.store.read(lambda s: list(s.execute(select(Transaction)).scalars()))
    if op == "StartTransaction":
        assert reply["transactionId"] in {t.id for t in txs}  # the box charges: kept
        assert [t.id_tag for t in txs if t.id == reply["transactionId"]] == [None]
    if op == "StopTransaction":
        (tx,) = [t for t in txs if t.id == payload["transactionId"]]
        assert tx.meter_stop == 10 and tx.stop_id_tag is None


def test_over_long_identity_is_a_protocol_error(cs):
    handlers = build_handlers(cs)
    with pytest.raises(ProtocolViolation, match="chargeBoxIdentity longer than 255"):
        handlers["Heartbeat"](Ctx(charge_box_id="C" * 256), {})
    assert handlers["Heartbeat"](Ctx(charge_box_id="CB1"), {})["currentTime"]


def test_within_the_column_is_kept_whole(cs, caplog):
    """Longer than the schema's CiString20 but within the column: stored as sent."""
    handlers = build_handlers(cs, strict=True)
    serial = "S" * 33
    handlers["BootNotification"](Ctx(action="BootNotification"), {
        "chargePointVendor": "V", "chargePointModel": "M", "chargeBoxSerialNumber": serial})
    assert _stored(cs, "charge_boxes", "charge_box_serial_number", serial) == 1


@pytest.mark.parametrize(("call", "field"), [
    (lambda a: a.add_chargebox("B" * 256), "charge_box_id"),
    (lambda a: a.add_chargebox("B1", description="d" * 65_537), "description"),
    (lambda a: a.update_chargebox("CB1", description="d" * 65_537), "description"),
    (lambda a: a.add_tag("G" * 256), "id_tag"),
    (lambda a: a.add_tag("G1", parent_id_tag="P" * 256), "parent_id_tag"),
    (lambda a: a.update_tag("TAG", note="n" * 65_537), "note"),
    (lambda a: a.set_endpoint("CB1", "http://h/" + "p" * 65_536), "endpoint_address"),
    (lambda a: a.close_transaction(1, by="api", note="n" * 65_537), "close_note"),
])
def test_admin_refuses_naming_the_field(cs, call, field):
    with pytest.raises(FieldTooLong) as caught:
        call(cs.admin)
    assert caught.value.field == field and isinstance(caught.value, ValueError)
