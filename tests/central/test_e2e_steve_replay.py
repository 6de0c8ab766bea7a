"""Replay what a Schneider EVlink sent SteVe (``reference/envelopes/ocpp15/tom``) against our CS.

Each CP→CS request goes over HTTP, in lenient mode (two of them break the schema the way real
chargers do), to ``/ocpp/CentralSystemService``. Each reply must be valid against the official 1.5
WSDL's schema, relate to the request's MessageID, and have the same body element tree as SteVe's
recorded reply except the values that must differ (ids, times, MessageID).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from lxml import etree

from ocpp_soap.central.storage.models import (
    ChargeBox,
    ConnectorStatus,
    DataTransfer,
    MeterSample,
    Transaction,
)
from ocpp_soap.soap.versions import SOAP12_NS, WSA_NS
from ocpp_soap.soap.xsd import schema_from_wsdl
from ocpp_soap.tools.diff import diff_envelopes
from tests.central.test_e2e_support import InProcessCS, rows

TOM = "envelopes/ocpp15/tom"
CS_WSDL = "wsdl/ocpp15/ocpp_centralsystemservice_1.5_final.wsdl"
# In the order a charger would send them.
REQUESTS = ["BootNotification.req.xml", "StatusNotification.req.xml", "Authorize.req.xml",
            "Heartbeat.req.xml", "StartTransaction.req.xml", "MeterValues.req.xml",
            "MeterValues.req-2.xml", "StopTransaction.req.xml"]
TAG = "0700001B0BFA68"
# Where our reply headers legitimately differ from SteVe's: we mark Action and To
# mustUnderstand (as OCPP-S's header table asks) and echo chargeBoxIdentity.
HEADER_EXTRAS = {"Header/Action/@mustUnderstand", "Header/To/@mustUnderstand",
                 "Header/chargeBoxIdentity"}
CONTENT_TYPE = {"Content-Type": "application/soap+xml; charset=utf-8"}


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    from tests.conftest import shared_reference

    ref = shared_reference()
    # SteVe was configured with a 4-hour heartbeat; the box ids are the ones in the files.
    cs = InProcessCS(tmp_path_factory.mktemp("tom") / "cs.db", heartbeat_interval=14400,
                     strict=False)
    for box in ("ABC", "powerwolf1", "TEST1"):
        cs.admin.add_chargebox(box)
    cs.admin.add_tag(TAG, expiry_date=datetime.now(UTC) + timedelta(days=90))
    replies = {}
    try:
        for name in REQUESTS:
            r = requests.post(cs.soap_url(), data=(ref / TOM / name).read_bytes(),
                              headers=CONTENT_TYPE, timeout=10)
            replies[name] = r
    finally:
        cs.stop()
    return ref, cs, replies


def _body(content: bytes) -> etree._Element:
    return etree.fromstring(content).find(f"{{{SOAP12_NS}}}Body")[0]


@pytest.mark.parametrize("name", REQUESTS)
def test_reply_matches_steve(replay, name):
    ref, _, replies = replay
    r = replies[name]
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/soap+xml")
    body = _body(r.content)
    schema = schema_from_wsdl(ref / CS_WSDL)
    assert schema.validate(etree.fromstring(etree.tostring(body))), schema.error_log

    request = etree.fromstring((ref / TOM / name).read_bytes())
    ours = etree.fromstring(r.content)
    assert ours.findtext(f".//{{{WSA_NS}}}RelatesTo") == request.findtext(f".//{{{WSA_NS}}}MessageID")

    steve = (ref / TOM / (name.split(".")[0] + ".conf.xml")).read_bytes()
    diffs = diff_envelopes(steve, r.content)
    assert [d for d in diffs if not d.path.startswith("Header")] == [], diffs
    assert {d.path for d in diffs} <= HEADER_EXTRAS, diffs
    steve_relates = etree.fromstring(steve).findtext(f".//{{{WSA_NS}}}RelatesTo")
    if name != "MeterValues.req-2.xml":  # the only request without a reply of its own
        assert ours.findtext(f".//{{{WSA_NS}}}RelatesTo") == steve_relates


def test_replay_is_stored(replay):
    _, cs, _ = replay
    boxes = {b.charge_box_id: b for b in rows(cs.db_url, ChargeBox)}
    wolf = boxes["powerwolf1"]
    # 26- and 33-character serials: over the schema's 25, kept whole in lenient mode.
    assert wolf.charge_point_serial_number == "3N170740564A1S1B7551700014"
    assert wolf.charge_box_serial_number == "EVB1A22P4RI3N1712406002002503A057"
    assert (wolf.charge_point_vendor, wolf.firmware_version) == ("Schneider Electric", "3.2.0.12")
    assert wolf.ocpp_version == "1.5"
    # EVlink says From http://localhost:8080/ from 127.0.0.1: loopback peer, so kept as sent.
    assert wolf.endpoint_address == "http://localhost:8080/" and wolf.endpoint_source == "from"
    assert boxes["ABC"].endpoint_address == "http://192.168.0.102:8080/"
    assert boxes["ABC"].last_heartbeat_at is not None

    (conn,) = rows(cs.db_url, ConnectorStatus)
    assert (conn.charge_box_id, conn.connector_id, conn.status, conn.error_code) == \
        ("ABC", 1, "Occupied", "NoError")

    txs = rows(cs.db_url, Transaction)
    started = [t for t in txs if not t.orphan]
    (tx,) = started
    assert (tx.charge_box_id, tx.connector_id, tx.id_tag, tx.meter_start) == ("ABC", 1, TAG, 0)
    assert tx.start_timestamp.replace(tzinfo=UTC) == datetime(2018, 9, 10, 11, 7, 34, tzinfo=UTC)
    # StopTransaction for SteVe's transaction 13, unknown here: answered, and kept.
    (orphan,) = [t for t in txs if t.orphan]
    assert orphan.reported_transaction_id == 13 and orphan.meter_stop == 0
    assert orphan.stop_timestamp.replace(tzinfo=UTC) == datetime(2018, 9, 10, 11, 9, 12, tzinfo=UTC)

    samples = rows(cs.db_url, MeterSample)
    abc = [s for s in samples if s.charge_box_id == "ABC"]
    assert len(abc) == 1
    assert (abc[0].value, abc[0].reported_transaction_id, abc[0].measurand, abc[0].unit,
            abc[0].context, abc[0].format, abc[0].location) == \
        ("0", 29, "Energy.Active.Import.Register", "Wh", "Sample.Periodic", "Raw", "Outlet")
    test1 = [s for s in samples if s.charge_box_id == "TEST1"]
    assert len(test1) == 13 and all(s.value == "95" for s in test1)
    assert sum(s.measurand is None for s in test1) == 5  # four bare values and one without


def test_datatransfer(reference, tmp_path):
    """tom's DataTransfer is SteVe's *CS→CP* request (Cp namespace, To = the box): the CS refuses
    it with a clean fault. The same body in the Cs namespace — a charger's DataTransfer — is
    answered UnknownVendorId (no handler for vendor "stringid"), schema-valid, and stored."""
    raw = (reference / TOM / "DataTransfer.req.xml").read_bytes()
    with InProcessCS(tmp_path / "cs.db") as cs:
        cs.admin.add_chargebox("ABC")
        r = requests.post(cs.soap_url(), data=raw, headers=CONTENT_TYPE, timeout=10)
        assert r.status_code == 400
        fault = etree.fromstring(r.content).find(f".//{{{SOAP12_NS}}}Fault")
        assert fault.findtext(f".//{{{SOAP12_NS}}}Value") == "s:Sender"
        assert "ChargePointService" in fault.findtext(f".//{{{SOAP12_NS}}}Text")

        as_cs = raw.replace(b"urn://Ocpp/Cp/2012/06/", b"urn://Ocpp/Cs/2012/06/")
        r = requests.post(cs.soap_url(), data=as_cs, headers=CONTENT_TYPE, timeout=10)
        assert r.status_code == 200, r.text
        body = _body(r.content)
        schema = schema_from_wsdl(reference / CS_WSDL)
        assert schema.validate(etree.fromstring(etree.tostring(body))), schema.error_log
        assert body.findtext("{urn://Ocpp/Cs/2012/06/}status") == "UnknownVendorId"
    (row,) = rows(cs.db_url, DataTransfer)
    assert (row.charge_box_id, row.direction, row.vendor_id, row.message_id, row.data) == \
        ("ABC", "in", "stringid", "messageid", "data-data-data")
    assert row.status == "UnknownVendorId"
