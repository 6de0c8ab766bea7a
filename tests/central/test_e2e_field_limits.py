"""Over-long charger values over real HTTP, on SQLite and PostgreSQL: never a 500.

A lenient Central System stores them cut (identifiers aside) and answers normally; the envelope
log keeps every envelope, cutting and marking its own over-long columns (a 300-character
MessageID or chargeBoxIdentity no longer takes its batch with it). An over-long
chargeBoxIdentity is answered ``Sender/ProtocolError`` naming it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from ocpp_soap.central.fieldlimits import CUT_MARK
from ocpp_soap.central.storage.models import ConnectorStatus, DataTransfer, EnvelopeLog
from ocpp_soap.soap.client import OcppClient, RemoteFault
from tests.central.test_e2e_support import InProcessCS, rows

CS = "CentralSystemService"


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path):
    overrides = {}
    if request.param == "postgresql":
        overrides["db_url"] = request.getfixturevalue("pg_url")
    with InProcessCS(tmp_path / "cs.db", **overrides) as cs:
        cs.admin.add_chargebox("CB1")
        cs.admin.add_tag("TAG")
        yield cs


def test_hostile_lengths_never_500(server):
    cp = OcppClient("1.6", CS, "CB1", server.soap_url("1.6"), timeout=30)
    cp.call("BootNotification", {"chargePointVendor": "V" * 300, "chargePointModel": "M"})
    cp.call("StatusNotification", {"connectorId": 1, "status": "Available",
                                   "errorCode": "NoError", "info": "i" * 5000,
                                   "vendorId": "v" * 300})
    start = cp.call("StartTransaction", {"connectorId": 1, "idTag": "T" * 300,
                                         "meterStart": 0, "timestamp": datetime.now(UTC)})
    assert start["idTagInfo"]["status"] == "Invalid"
    assert cp.call("Authorize", {"idTag": "T" * 300})["idTagInfo"]["status"] == "Invalid"
    cp.call("DataTransfer", {"vendorId": "x" * 300, "data": "d" * 70_000})
    (status,) = rows(server.db_url, ConnectorStatus)
    assert status.info == "i" * 255 and status.vendor_id == "v" * 255
    (transfer,) = rows(server.db_url, DataTransfer)
    assert transfer.vendor_id == "x" * 255 and len(transfer.data) == 65_536

    long_id = "C" * 300
    other = OcppClient("1.6", CS, long_id, server.soap_url("1.6"), timeout=30)
    with pytest.raises(RemoteFault) as caught:
        other.call("Heartbeat", {})
    fault = caught.value.fault
    assert (fault.code, fault.subcode) == ("Sender", "ProtocolError")
    assert "chargeBoxIdentity" in fault.reason

    # A 300-character MessageID: logged, cut and marked, with the others of its batch.
    envelope = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:o="urn://Ocpp/Cs/2015/10/">'
        '<s:Header><o:chargeBoxIdentity>CB1</o:chargeBoxIdentity>'
        f'<a:MessageID>urn:uuid:{"m" * 300}</a:MessageID><a:Action>/Heartbeat</a:Action>'
        '<a:To>x</a:To></s:Header><s:Body><o:heartbeatRequest/></s:Body></s:Envelope>')
    reply = requests.post(server.soap_url("1.6"), data=envelope.encode(), timeout=30,
                          headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    assert reply.status_code == 200, reply.text
    server.app.envelopes.flush()
    logged = rows(server.db_url, EnvelopeLog)
    assert any(r.message_id and r.message_id.endswith(CUT_MARK) and len(r.message_id) == 255
               for r in logged)
    assert any(r.charge_box_id and r.charge_box_id.startswith("C" * 200) for r in logged)
    assert sum(r.direction == "in" for r in logged) >= 7
    assert server.app.envelopes.failed == 0


def test_api_and_cli_refuse_naming_the_field(tmp_path, capsys):
    from ocpp_soap.central.cli import main
    from tests.central.test_api_support import assert_error, running_api

    with running_api(tmp_path) as api:
        body = assert_error(api.post("/chargeboxes", {"charge_box_id": "B" * 256}), 422,
                            "charge_box_id", "255")
        assert body["field"] == "charge_box_id"
        body = assert_error(api.post("/idtags", {"id_tag": "T1", "note": "n" * 65_537}), 422,
                            "note")
        assert body["field"] == "note"
        assert api.get("/chargeboxes").json()["count"] == 0
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    capsys.readouterr()
    assert main(["chargebox", "add", "C" * 300, "--db", url]) == 2
    assert "charge_box_id is 300 characters long; at most 255" in capsys.readouterr().err
    assert main(["tag", "add", "T" * 300, "--db", url]) == 2
    assert "id_tag is 300 characters long" in capsys.readouterr().err
