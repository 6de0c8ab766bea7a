"""The remaining CS→CP operations: reservations, local list, data transfer, diagnostics, firmware,
trigger; the handler table; state(); the real threaded scheduler."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ocpp_soap.chargepoint._core import ChargePointCore
from ocpp_soap.chargepoint._routing import OPERATIONS, build_handlers
from ocpp_soap.chargepoint._scheduler import Scheduler
from tests.chargepoint.test_core_support import FakeCentral, make


def test_handler_table_per_version():
    cp15, _, _ = make("1.5", start=False)
    cp16, _, _ = make("1.6", start=False)
    h15, h16 = build_handlers(cp15), build_handlers(cp16)
    assert len(h16) == len(OPERATIONS) == 19
    assert sum(1 for _, v in OPERATIONS.values() if "1.5" in v) == 15
    with pytest.raises(NotImplementedError):
        h15["TriggerMessage"](None, {"requestedMessage": "Heartbeat"})
    with pytest.raises(NotImplementedError):
        h15["SetChargingProfile"](None, {})
    assert h16["GetLocalListVersion"](None, {}) == {"listVersion": 0}


def test_reserve_and_use_reservation():
    cp, cs, sched = make("1.6", connectors=2)
    h = build_handlers(cp)
    expiry = cp.now() + timedelta(minutes=10)
    assert h["ReserveNow"](None, {"connectorId": 1, "expiryDate": expiry, "idTag": "R", "reservationId": 5}) == {"status": "Accepted"}
    sched.run_pending()
    assert cs.statuses(1)[-1] == "Reserved"
    assert h["ReserveNow"](None, {"connectorId": 0, "expiryDate": expiry, "idTag": "R", "reservationId": 6})["status"] == "Rejected"
    cp.plug(1)
    assert cp.swipe("OTHER", 1) == "rejected"
    assert cp.swipe("R", 1) == "started"
    assert cs.of("StartTransaction")[0]["reservationId"] == 5
    assert h["ReserveNow"](None, {"connectorId": 1, "expiryDate": expiry, "idTag": "Q", "reservationId": 7})["status"] == "Occupied"
    cp.fault(2, "HighTemperature")
    assert h["ReserveNow"](None, {"connectorId": 2, "expiryDate": expiry, "idTag": "Q", "reservationId": 7})["status"] == "Faulted"
    cp.clear_fault(2)
    h["ChangeAvailability"](None, {"connectorId": 2, "type": "Inoperative"})
    assert h["ReserveNow"](None, {"connectorId": 2, "expiryDate": expiry, "idTag": "Q", "reservationId": 7})["status"] == "Unavailable"


def test_reservation_expiry_and_cancel():
    cp, cs, sched = make("1.5")
    h = build_handlers(cp)
    h["ReserveNow"](None, {"connectorId": 1, "expiryDate": cp.now() + timedelta(seconds=30), "idTag": "R", "reservationId": 1})
    sched.advance(31)
    assert cs.statuses(1)[-2:] == ["Reserved", "Available"]
    h["ReserveNow"](None, {"connectorId": 0, "expiryDate": cp.now() + timedelta(seconds=30), "idTag": "R", "reservationId": 2})
    assert h["RemoteStartTransaction"](None, {"idTag": "X", "connectorId": 1})["status"] == "Rejected"
    assert h["CancelReservation"](None, {"reservationId": 2}) == {"status": "Accepted"}
    assert h["CancelReservation"](None, {"reservationId": 2}) == {"status": "Rejected"}
    sched.run_pending()
    assert cs.statuses(1)[-1] == "Available"


def test_send_local_list_full_differential_and_errors():
    cp, cs, sched = make("1.6", keys={"SendLocalListMaxLength": 3, "LocalAuthListMaxLength": 4})
    send = build_handlers(cp)["SendLocalList"]
    ok = {"status": "Accepted"}
    entry = lambda tag, status="Accepted": {"idTag": tag, "idTagInfo": {"status": status}}  # noqa: E731
    assert send(None, {"listVersion": 3, "updateType": "Full", "localAuthorizationList": [entry("A"), entry("B")]}) == {"status": "Accepted"}
    assert send(None, {"listVersion": 3, "updateType": "Differential", "localAuthorizationList": [entry("C")]}) == {"status": "VersionMismatch"}
    assert send(None, {"listVersion": 4, "updateType": "Differential",
                       "localAuthorizationList": [entry("C", "Blocked"), {"idTag": "A"}]}) == ok
    assert sorted(cp.auth.local_list) == ["b", "c"]
    assert send(None, {"listVersion": 5, "updateType": "Full", "localAuthorizationList": [entry(t) for t in "WXYZ"]}) == {"status": "Failed"}
    assert send(None, {"listVersion": 5, "updateType": "Full", "localAuthorizationList": [{"idTag": "A"}]}) == {"status": "Failed"}
    assert send(None, {"listVersion": 5, "updateType": "Differential",
                       "localAuthorizationList": [entry("D"), entry("E"), entry("F")]}) == {"status": "Failed"}  # 5 > 4
    assert build_handlers(cp)["GetLocalListVersion"](None, {}) == {"listVersion": 4}
    assert send(None, {"listVersion": 9, "updateType": "Full"}) == ok
    assert cp.auth.local_list == {}


def test_data_transfer_and_clear_cache():
    cp, cs, sched = make("1.6", vendor="ACME")
    h = build_handlers(cp)
    assert h["DataTransfer"](None, {"vendorId": "Other"}) == {"status": "UnknownVendorId"}
    assert h["DataTransfer"](None, {"vendorId": "ACME", "messageId": "x", "data": "hi"}) == {"status": "Accepted", "data": "hi"}
    assert h["ClearCache"](None, {}) == {"status": "Accepted"}


def test_get_diagnostics_to_file_url(tmp_path):
    cp, cs, sched = make("1.6")
    reply = build_handlers(cp)["GetDiagnostics"](None, {"location": tmp_path.as_uri()})
    sched.run_pending()
    assert (tmp_path / reply["fileName"]).exists()
    assert json.loads((tmp_path / reply["fileName"]).read_text())["state"]["identity"] == "CB1"
    assert [p["status"] for p in cs.of("DiagnosticsStatusNotification")] == ["Uploading", "Uploaded"]


def test_get_diagnostics_failure_15_with_retries(tmp_path):
    cp, cs, sched = make("1.5")
    build_handlers(cp)["GetDiagnostics"](None, {"location": (tmp_path / "missing").as_uri(), "retries": 2, "retryInterval": 10})
    sched.advance(25)
    assert [p["status"] for p in cs.of("DiagnosticsStatusNotification")] == ["UploadFailed"]


class _Sink(BaseHTTPRequestHandler):
    received: list = []

    def do_PUT(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Sink.received.append((self.path, body))
        self.send_response(201)
        self.end_headers()

    def do_GET(self):  # noqa: N802
        body = b"version=9.9.9\nfirmware bytes"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = HTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_diagnostics_http_put_and_firmware_http_download(http_server):
    cp, cs, sched = make("1.6")
    h = build_handlers(cp)
    name = h["GetDiagnostics"](None, {"location": http_server + "/upload/"})["fileName"]
    sched.run_pending()
    assert _Sink.received[-1][0] == "/upload/" + name
    assert h["UpdateFirmware"](None, {"location": http_server + "/fw.bin", "retrieveDate": cp.now()}) == {}
    sched.run_pending()
    assert [p["status"] for p in cs.of("FirmwareStatusNotification")] == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert cs.of("BootNotification")[-1]["firmwareVersion"] == "9.9.9"


def test_update_firmware_at_retrieve_date_15(tmp_path):
    fw = tmp_path / "fw-2.0.bin"
    fw.write_bytes(b"\x00binary")
    cp, cs, sched = make("1.5")
    build_handlers(cp)["UpdateFirmware"](None, {"location": fw.as_uri(), "retrieveDate": cp.now() + timedelta(seconds=60)})
    sched.advance(59)
    assert cs.of("FirmwareStatusNotification") == []
    sched.advance(1)
    assert [p["status"] for p in cs.of("FirmwareStatusNotification")] == ["Downloaded", "Installed"]
    assert cs.of("BootNotification")[-1]["firmwareVersion"] == "fw-2.0"
    build_handlers(cp)["UpdateFirmware"](None, {"location": "ftp://nowhere/fw", "retrieveDate": cp.now()})
    sched.run_pending()
    assert cs.of("FirmwareStatusNotification")[-1]["status"] == "DownloadFailed"


def test_trigger_message():
    cp, cs, sched = make("1.6", connectors=2)
    trigger = build_handlers(cp)["TriggerMessage"]
    cs.clear()
    for what in ("Heartbeat", "DiagnosticsStatusNotification", "FirmwareStatusNotification"):
        assert trigger(None, {"requestedMessage": what}) == {"status": "Accepted"}
    assert trigger(None, {"requestedMessage": "StatusNotification", "connectorId": 2}) == {"status": "Accepted"}
    assert trigger(None, {"requestedMessage": "MeterValues", "connectorId": 1}) == {"status": "Accepted"}
    assert trigger(None, {"requestedMessage": "Authorize"}) == {"status": "NotImplemented"}
    assert trigger(None, {"requestedMessage": "StatusNotification", "connectorId": 9}) == {"status": "Rejected"}
    assert cs.calls == []  # replies first
    sched.run_pending()
    assert cs.actions(skip=()) == ["Heartbeat", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
                                   "StatusNotification", "MeterValues"]
    assert cs.of("DiagnosticsStatusNotification")[0]["status"] == "Idle"
    assert cs.of("MeterValues")[0]["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
    trigger(None, {"requestedMessage": "BootNotification"})
    sched.run_pending()
    assert cs.actions()[-4:] == ["BootNotification"] + ["StatusNotification"] * 3


def test_state_snapshot_is_json():
    cp, cs, sched = make("1.6", connectors=2)
    cp.plug(1)
    cp.swipe("T", 1)
    st = json.loads(json.dumps(cp.state()))
    assert st["connectors"][0]["status"] == "Charging"
    assert st["connectors"][0]["transaction"]["id"] == 100
    assert st["queue_length"] == 0 and st["registration"] == "Accepted"
    with pytest.raises(ValueError):
        cp.plug(3)
    with pytest.raises(ValueError):
        cp.fault(1, "Mode3Error")  # a 1.5 code


def test_real_scheduler_with_short_intervals():
    sched = Scheduler(workers=4)
    cs = FakeCentral(interval=1)
    try:
        cp = ChargePointCore("RT1", "1.6", 1, {"keys": {"MeterValueSampleInterval": 1}}, central=cs, scheduler=sched)
        cs.clock = sched.clock
        cp.start()
        deadline = time.monotonic() + 2
        while cp.state()["registration"] != "Accepted" and time.monotonic() < deadline:
            time.sleep(0.02)
        cp.plug(1)
        cp.swipe("T", 1)
        time.sleep(1.3)
        cp.swipe("T", 1)
        cp.stop()
        assert cs.actions(skip=("Heartbeat",)).count("MeterValues") >= 1
        assert cs.of("StopTransaction")[0]["meterStop"] >= 3
    finally:
        sched.shutdown()
