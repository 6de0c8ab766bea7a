"""``ocpp-soap central serve`` for real: gunicorn, 2 sync workers, one SQLite file.

Started as a subprocess the way an operator starts it; a charger (our zeep client) and an operator
(HTTP) use it together; SIGTERM stops it cleanly. The log has one line per message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import requests

from ocpp_soap.central.storage.models import ChargeBox, MeterSample, Transaction
from ocpp_soap.soap.client import OcppClient
from tests.central.test_e2e_support import GunicornCS, rows

CS = "CentralSystemService"


def test_two_workers_one_sqlite_file(tmp_path):
    db = tmp_path / "central.db"
    from ocpp_soap.central.cli import main

    url = f"sqlite:///{db}"
    assert main(["chargebox", "add", "CB1", "--db", url]) == 0
    assert main(["tag", "add", "TAG1", "--db", url]) == 0

    cs = GunicornCS(db, "--heartbeat-interval", "77", workers=2)
    try:
        assert requests.get(cs.url + "/healthz", timeout=5).status_code == 200
        wsdl = requests.get(cs.soap_url("1.6") + "?wsdl", timeout=5)
        assert wsdl.status_code == 200 and cs.soap_url("1.6").encode() in wsdl.content

        cp = OcppClient("1.6", CS, "CB1", cs.soap_url(), timeout=10)
        boot = cp.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
        assert boot["status"] == "Accepted" and boot["interval"] == 77
        cp.call("StatusNotification", {"connectorId": 1, "status": "Charging",
                                       "errorCode": "NoError"})
        start = cp.call("StartTransaction", {"connectorId": 1, "idTag": "TAG1", "meterStart": 10,
                                             "timestamp": datetime.now(UTC)})
        tx = start["transactionId"]
        for i in range(10):  # spread over both workers
            cp.call("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [
                {"timestamp": datetime.now(UTC), "sampledValue": [{"value": str(10 + i)}]}]})
            assert requests.get(cs.url + "/healthz", timeout=5).status_code == 200
        cp.call("StopTransaction", {"transactionId": tx, "meterStop": 99,
                                    "timestamp": datetime.now(UTC)})

        # The operator's API on the same server (no token needed: loopback only).
        api = requests.get(cs.url + "/api/v1/chargeboxes", timeout=5)
        assert api.status_code == 200, api.text
        (box,) = api.json()["items"]
        assert box["charge_box_id"] == "CB1" and box["charge_point_vendor"] == "V"
        api = requests.get(cs.url + "/api/v1/transactions", timeout=5)
        assert api.status_code == 200, api.text
        (txj,) = api.json()["items"]
        assert (txj["id"], txj["meter_start"], txj["meter_stop"]) == (tx, 10, 99)
        # A second, 1.5 charger on the combined URL at the same time.
        assert main(["chargebox", "add", "CB15", "--db", url]) == 0
        cp15 = OcppClient("1.5", CS, "CB15", cs.soap_url(), timeout=10)
        assert cp15.call("BootNotification", {"chargePointVendor": "V",
                                              "chargePointModel": "M"})["status"] == "Accepted"
    finally:
        code = cs.stop()
    log = cs.log()
    assert code == 0, log
    assert len(set(re.findall(r"Booting worker with pid: (\d+)", log))) == 2
    # One line per message: box, action, outcome, HTTP status, milliseconds.
    assert re.search(r"ocpp_soap\.central\.messages: CB1 BootNotification ok 200 [\d.]+ms", log), log
    assert len(re.findall(r"messages: CB1 MeterValues ok 200", log)) == 10
    assert "Shutting down" in log

    (txrow,) = rows(url, Transaction)
    assert (txrow.meter_start, txrow.meter_stop, txrow.stop_count) == (10, 99, 1)
    assert sorted(int(s.value) for s in rows(url, MeterSample)) == list(range(10, 20))
    versions = {b.charge_box_id: b.ocpp_version for b in rows(url, ChargeBox)}
    assert versions == {"CB1": "1.6", "CB15": "1.5"}


def test_serve_refuses_public_host_without_token(tmp_path, capsys):
    from ocpp_soap.central.cli import main

    assert main(["serve", "--host", "0.0.0.0", "--db", f"sqlite:///{tmp_path}/x.db"]) == 2
    err = capsys.readouterr().err
    assert "without an API token" in err and "--api-token" in err
    assert not (tmp_path / "x.db").exists()  # refused before touching anything
