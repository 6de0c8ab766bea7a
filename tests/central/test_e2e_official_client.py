"""A charger played by zeep built from the *official* WSDL, against the whole CS over HTTP.

boot → heartbeat → status → authorize → start → meter values → stop, in OCPP 1.5 and 1.6; then
every row the CS wrote is checked field by field (charge box, connector status, transaction, each
meter sample with its attributes, from MeterValues and from StopTransaction's transactionData).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import zeep
from zeep.plugins import HistoryPlugin

from ocpp_soap.central.storage.models import ChargeBox, ConnectorStatus, MeterSample, Transaction
from ocpp_soap.soap.versions import WSA_NS
from tests.central.test_e2e_support import InProcessCS, rows

OFFICIAL = {
    "1.5": "wsdl/ocpp15/ocpp_centralsystemservice_1.5_final.wsdl",
    "1.6": "wsdl/ocpp16/OCPP_CentralSystemService_1.6.wsdl",
}
T0 = datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC)

BOOT = {
    "chargePointVendor": "Schneider Electric",
    "chargePointModel": "EVlink Smart Wallbox",
    "chargePointSerialNumber": "CPSN-0001",
    "chargeBoxSerialNumber": "CBSN-0002",
    "firmwareVersion": "3.2.0.12",
    "iccid": "8931000000000000001",
    "imsi": "204080000000001",
    "meterType": "ABB B23",
    "meterSerialNumber": "MSN-42",
}

# (value, measurand, unit, context, format, phase, location) per sample; 1.5 has no phase.
SAMPLES = {
    "1.5": [("1200", "Energy.Active.Import.Register", "Wh", "Sample.Periodic", "Raw", None,
             "Outlet"),
            ("7400", "Power.Active.Import", "W", "Sample.Clock", "Raw", None, "Inlet")],
    "1.6": [("1.2", "Energy.Active.Import.Register", "kWh", "Sample.Periodic", "Raw", "L1",
             "Outlet"),
            ("16.5", "Current.Import", "A", "Sample.Periodic", "Raw", "L2", "Outlet"),
            ("230", "Voltage", "V", "Sample.Clock", "Raw", "L1-N", "Inlet")],
}
STOP_SAMPLES = {
    "1.5": [("5000", "Energy.Active.Import.Register", "Wh", "Transaction.End", "Raw", None,
             "Outlet")],
    "1.6": [("5.0", "Energy.Active.Import.Register", "kWh", "Transaction.End", "Raw", "L1",
             "Outlet")],
}


def _sampled(version: str, samples):
    out = []
    for value, measurand, unit, context, fmt, phase, location in samples:
        attrs = {"measurand": measurand, "unit": unit, "context": context, "format": fmt,
                 "location": location}
        if version == "1.5":
            out.append({"_value_1": value, **attrs})
        else:
            out.append({"value": value, "phase": phase, **attrs})
    return out


def _meter_value(version: str, at: datetime, samples):
    if version == "1.5":
        return {"timestamp": at, "value": _sampled(version, samples)}
    return {"timestamp": at, "sampledValue": _sampled(version, samples)}


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_official_client_full_session(reference, tmp_path, version):
    cs = InProcessCS(tmp_path / "cs.db", heartbeat_interval=600)
    try:
        cs.admin.add_chargebox("CB1")
        expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(days=365)
        cs.admin.add_tag("TAG-1", expiry_date=expiry)
        history = HistoryPlugin()
        client = zeep.Client(str(reference / OFFICIAL[version]), plugins=[history])
        svc = client.create_service(next(iter(client.wsdl.bindings)), cs.soap_url(version))
        hdr = {"_soapheaders": {"ChargeBoxIdentity": "CB1"}}

        boot = svc.BootNotification(**BOOT, **hdr)
        assert boot.status == "Accepted"
        assert (boot.heartbeatInterval if version == "1.5" else boot.interval) == 600
        sent_id = history.last_sent["envelope"].findtext(f".//{{{WSA_NS}}}MessageID")
        assert history.last_received["envelope"].findtext(f".//{{{WSA_NS}}}RelatesTo") == sent_id

        assert isinstance(svc.Heartbeat(**hdr), datetime)  # zeep unwraps a one-field reply
        status = "Occupied" if version == "1.5" else "Preparing"
        svc.StatusNotification(connectorId=1, status=status, errorCode="NoError",
                               info="plug in", timestamp=T0, vendorId="Schneider",
                               vendorErrorCode="E-0", **hdr)
        auth = svc.Authorize(idTag="TAG-1", **hdr)  # zeep unwraps the one-field reply
        assert auth.status == "Accepted" and auth.expiryDate == expiry

        start = svc.StartTransaction(connectorId=1, idTag="TAG-1", timestamp=T0 + timedelta(seconds=5),
                                     meterStart=1000, **hdr)
        assert start.idTagInfo.status == "Accepted"
        tx_id = start.transactionId

        mv = [_meter_value(version, T0 + timedelta(minutes=1), SAMPLES[version])]
        if version == "1.5":
            svc.MeterValues(connectorId=1, transactionId=tx_id, values=mv, **hdr)
        else:
            svc.MeterValues(connectorId=1, transactionId=tx_id, meterValue=mv, **hdr)

        stop_data = [_meter_value(version, T0 + timedelta(minutes=30), STOP_SAMPLES[version])]
        stop_kwargs = dict(transactionId=tx_id, idTag="TAG-1", timestamp=T0 + timedelta(minutes=30),
                           meterStop=5000, **hdr)
        if version == "1.5":
            stop_kwargs["transactionData"] = [{"values": stop_data}]
        else:
            stop_kwargs["transactionData"] = stop_data
            stop_kwargs["reason"] = "EVDisconnected"
        stop = svc.StopTransaction(**stop_kwargs)
        assert stop.status == "Accepted"
    finally:
        cs.stop()

    # -- the database, field by field -------------------------------------------------------------
    (box,) = rows(cs.db_url, ChargeBox)
    assert box.charge_box_id == "CB1" and box.registration_status == "Accepted"
    assert box.charge_point_vendor == BOOT["chargePointVendor"]
    assert box.charge_point_model == BOOT["chargePointModel"]
    assert box.charge_point_serial_number == BOOT["chargePointSerialNumber"]
    assert box.charge_box_serial_number == BOOT["chargeBoxSerialNumber"]
    assert box.firmware_version == BOOT["firmwareVersion"]
    assert box.iccid == BOOT["iccid"] and box.imsi == BOOT["imsi"]
    assert box.meter_type == BOOT["meterType"]
    assert box.meter_serial_number == BOOT["meterSerialNumber"]
    assert box.ocpp_version == version
    assert box.last_boot_at is not None and box.last_heartbeat_at is not None
    assert box.last_seen_at >= box.last_heartbeat_at >= box.last_boot_at
    # The official WSDL's zeep sends no From/ReplyTo: the peer and the default port/path it is.
    assert box.endpoint_address == "http://127.0.0.1:8080/ocpp/ChargePointService"
    assert box.endpoint_source == "peer" and box.endpoint_override is False

    (conn,) = rows(cs.db_url, ConnectorStatus)
    assert (conn.charge_box_id, conn.connector_id, conn.status, conn.error_code) == \
        ("CB1", 1, status, "NoError")
    assert (conn.info, conn.vendor_id, conn.vendor_error_code) == ("plug in", "Schneider", "E-0")
    assert conn.timestamp.replace(tzinfo=UTC) == T0

    (tx,) = rows(cs.db_url, Transaction)
    assert tx.id == tx_id and tx.charge_box_id == "CB1" and tx.connector_id == 1
    assert tx.id_tag == "TAG-1" and tx.start_status == "Accepted"
    assert tx.meter_start == 1000 and tx.meter_stop == 5000
    assert tx.start_timestamp.replace(tzinfo=UTC) == T0 + timedelta(seconds=5)
    assert tx.stop_timestamp.replace(tzinfo=UTC) == T0 + timedelta(minutes=30)
    assert tx.stop_reason == ("EVDisconnected" if version == "1.6" else None)
    assert tx.stop_id_tag == "TAG-1" and tx.stop_count == 1 and tx.orphan is False

    samples = rows(cs.db_url, MeterSample)
    expected = [(s, T0 + timedelta(minutes=1), "MeterValues") for s in SAMPLES[version]] + \
        [(s, T0 + timedelta(minutes=30), "StopTransaction") for s in STOP_SAMPLES[version]]
    assert len(samples) == len(expected)
    for row, (sample, at, source) in zip(samples, expected, strict=True):
        value, measurand, unit, context, fmt, phase, location = sample
        assert float(row.value) == float(value)
        assert (row.measurand, row.unit, row.context, row.format, row.phase, row.location) == \
            (measurand, unit, context, fmt, phase, location)
        assert row.timestamp.replace(tzinfo=UTC) == at
        assert (row.transaction_id, row.charge_box_id, row.connector_id, row.source) == \
            (tx_id, "CB1", 1, source)
