"""``POST /api/v1/chargeboxes/{id}/operations/{Operation}`` over real HTTP on 127.0.0.1.

Acceptance: every CS→CP operation of both versions (15 in 1.5, 19 in 1.6) goes through the API to
a test charge point, which checks the raw envelope it receives: chargeBoxIdentity in the Cp
namespace, To = its URL, Action ``/Op``, MessageID ``urn:uuid:``, From = the CS's public URL and
ReplyTo anonymous. Then each error code of the command path: 404, 409, 422, 502 (fault, bad reply,
unreachable), 504 (a box that never answers), 202 with ``?queue=true``, 400 for malformed JSON.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime

import pytest
from lxml import etree

from ocpp_soap.messages import service_schema
from ocpp_soap.messages.examples import example
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.server import OcppEndpoint
from ocpp_soap.soap.versions import CHARGEPOINT, NAMESPACES, SOAP12_NS, WSA_ANONYMOUS, WSA_NS
from tests.central.test_api_support import PUBLIC_URL, assert_error, running_api
from tests.conftest import free_port

JSON = {"Content-Type": "application/json"}  # raw bodies: the API takes only JSON

CASES = [(v, op.name) for v in ("1.5", "1.6") for op in service_schema(v, CHARGEPOINT).operations]
BOX = {"1.5": "CP-15", "1.6": "CP-16"}
CP_PATH = "/ocpp/ChargePointService"


def _json(value):
    """What a value looks like after a trip through JSON (datetimes as ISO 8601)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat()
                                 if isinstance(v, datetime) else str(v)))


class TestChargePoint:
    """A charge point answering each operation's example reply, keeping every exchange."""

    def __init__(self, version: str, handler=None):
        self.version = version
        self.exchanges = []
        self.payloads = []
        handlers = {op.name: handler or self._answer(op.name)
                    for op in service_schema(version, CHARGEPOINT).operations}
        endpoint = OcppEndpoint(CHARGEPOINT, handlers, versions=[version],
                                on_exchange=self.exchanges.append)
        self.server = BackgroundServer(endpoint).start()
        self.url = self.server.url + CP_PATH

    __test__ = False  # not a test class, despite its name

    def _answer(self, operation: str):
        def handler(ctx, payload):
            self.payloads.append((operation, payload))
            return example(self.version, CHARGEPOINT, operation)[1]
        return handler


class SilentBox:
    """Accepts connections and never answers (a box that hangs)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}{CP_PATH}"
        self.held = []
        self.stopped = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def stop(self):
        self.stopped.set()
        self.sock.close()
        for conn in self.held:
            conn.close()


def garbage_app(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<html>router login</html>"]


def failing_handler(ctx, payload):
    raise RuntimeError("relay stuck")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    cps = {v: TestChargePoint(v) for v in ("1.5", "1.6")}
    faulty = TestChargePoint("1.6", failing_handler)
    garbage = BackgroundServer(garbage_app).start()
    silent = SilentBox()
    tmp = tmp_path_factory.mktemp("cs")
    with running_api(tmp, command_timeout=1.0) as api:
        admin = api.admin
        for v, cp in cps.items():
            admin.add_chargebox(BOX[v], registration_status="Accepted", endpoint=cp.url,
                                ocpp_version=v)
        admin.add_chargebox("FAULTY", endpoint=faulty.url, ocpp_version="1.6")
        admin.add_chargebox("GARBAGE", endpoint=garbage.url + CP_PATH, ocpp_version="1.6")
        admin.add_chargebox("SILENT", endpoint=silent.url, ocpp_version="1.6")
        admin.add_chargebox("GONE", endpoint=f"http://127.0.0.1:{free_port()}{CP_PATH}",
                            ocpp_version="1.6")
        admin.add_chargebox("PENDING", registration_status="Pending",
                            endpoint=cps["1.6"].url, ocpp_version="1.6")
        admin.add_chargebox("NOWHERE", ocpp_version="1.6")
        yield api, cps
    for cp in (*cps.values(), faulty):
        cp.server.stop()
    garbage.stop()
    silent.stop()


def call(api, box, operation, body=None, **kw):
    return api.post(f"/chargeboxes/{box}/operations/{operation}", body, **kw)


def test_every_operation_has_a_case():
    assert sum(1 for v, _ in CASES if v == "1.5") == 15
    assert sum(1 for v, _ in CASES if v == "1.6") == 19


@pytest.mark.parametrize("version,operation", CASES)
def test_every_operation_through_the_api(world, version, operation):
    api, cps = world
    cp = cps[version]
    box = BOX[version]
    request, reply = example(version, CHARGEPOINT, operation)
    cp.exchanges.clear()
    cp.payloads.clear()

    r = call(api, box, operation, _json(request))

    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == _json(reply)
    assert cp.payloads == [(operation, request)]

    (exchange,) = cp.exchanges
    doc = etree.fromstring(exchange.request)
    header = doc.find(f"{{{SOAP12_NS}}}Header")
    cp_ns = NAMESPACES[(version, CHARGEPOINT)]
    identity = header.findall(f"{{{cp_ns}}}chargeBoxIdentity")
    assert [e.text for e in identity] == [box]
    assert header.findtext(f"{{{WSA_NS}}}To") == cp.url
    assert header.findtext(f"{{{WSA_NS}}}Action") == "/" + operation
    assert header.findtext(f"{{{WSA_NS}}}MessageID").startswith("urn:uuid:")
    assert header.findtext(f"{{{WSA_NS}}}From/{{{WSA_NS}}}Address") == (
        f"{PUBLIC_URL}/ocpp/{version}/CentralSystemService")
    assert header.findtext(f"{{{WSA_NS}}}ReplyTo/{{{WSA_NS}}}Address") == WSA_ANONYMOUS
    body = doc.find(f"{{{SOAP12_NS}}}Body")[0]
    element = service_schema(version, CHARGEPOINT).operation(operation).request_element
    assert body.tag == f"{{{cp_ns}}}{element}"

    logged = api.get("/commands", params={"chargebox": box, "operation": operation,
                                          "limit": 1}).json()["items"][0]
    assert logged["outcome"] == "reply" and logged["version"] == version
    assert logged["message_id"] == header.findtext(f"{{{WSA_NS}}}MessageID")
    assert logged["endpoint"] == cp.url


def test_unknown_box_is_404(world):
    api, _ = world
    assert_error(call(api, "NO-SUCH-BOX", "Reset", {"type": "Soft"}), 404, "NO-SUCH-BOX")


def test_unknown_operation_is_404(world):
    api, _ = world
    assert_error(call(api, "CP-16", "Explode", {}), 404, "Explode")
    assert_error(call(api, "CP-16", "reset", {"type": "Soft"}), 404, "reset")
    # a CP→CS operation is no command
    assert_error(call(api, "CP-16", "BootNotification", {}), 404, "BootNotification")
    # an operation the box's version lacks
    assert_error(call(api, "CP-15", "TriggerMessage", {"requestedMessage": "Heartbeat"}), 404,
                 "1.5")


def test_box_not_accepted_or_without_endpoint_is_409(world):
    api, _ = world
    # OCPP 1.6 4.2: a Pending box gets every command but RemoteStart/RemoteStop (issue 14).
    assert call(api, "PENDING", "Reset", {"type": "Soft"}).status_code == 200
    assert_error(call(api, "PENDING", "RemoteStartTransaction", {"idTag": "T"}), 409, "Pending")
    api.admin.update_chargebox("PENDING", registration_status="Rejected")
    assert_error(call(api, "PENDING", "Reset", {"type": "Soft"}), 409, "Rejected")
    assert_error(call(api, "NOWHERE", "Reset", {"type": "Soft"}), 409, "endpoint")


@pytest.mark.parametrize("body,field", [
    ({"connectorId": 0, "type": "Sideways"}, "type"),
    ({"connectorId": "zero", "type": "Inoperative"}, "connectorId"),
    ({"type": "Inoperative"}, "connectorId"),
    ({"connectorId": 0, "type": "Inoperative", "colour": "red"}, "colour"),
])
def test_invalid_payload_is_422_naming_the_field(world, body, field):
    api, cps = world
    cps["1.6"].payloads.clear()
    r = call(api, "CP-16", "ChangeAvailability", body)
    assert assert_error(r, 422, field)["field"] == field
    assert cps["1.6"].payloads == []


def test_nested_field_is_named(world):
    api, _ = world
    profile = _json(example("1.6", CHARGEPOINT, "SetChargingProfile")[0])
    profile["csChargingProfiles"]["chargingSchedule"]["chargingRateUnit"] = "kW"
    r = call(api, "CP-16", "SetChargingProfile", profile)
    assert assert_error(r, 422)["field"] == "csChargingProfiles.chargingSchedule.chargingRateUnit"


def test_malformed_json_is_400(world):
    api, _ = world
    r = api.request("POST", "/chargeboxes/CP-16/operations/Reset", data=b'{"type": ', headers=JSON)
    assert_error(r, 400, "JSON")


def test_empty_body_means_no_fields(world):
    api, _ = world
    r = api.request("POST", "/chargeboxes/CP-16/operations/ClearCache")
    assert r.status_code == 200 and r.json() == _json(example("1.6", CHARGEPOINT, "ClearCache")[1])


def test_soap_fault_is_502_with_its_text(world):
    api, _ = world
    body = assert_error(call(api, "FAULTY", "Reset", {"type": "Hard"}), 502, "FAULTY")
    assert body["kind"] == "fault"
    assert "Receiver" in body["error"]
    logged = api.get("/commands", params={"chargebox": "FAULTY"}).json()["items"][0]
    assert logged["outcome"] == "fault"


def test_bad_reply_is_502(world):
    api, _ = world
    body = assert_error(call(api, "GARBAGE", "Reset", {"type": "Soft"}), 502, "bad reply")
    assert body["kind"] == "bad_reply"
    assert "text/html" in body["error"]


def test_unreachable_is_502(world):
    api, _ = world
    body = assert_error(call(api, "GONE", "Reset", {"type": "Soft"}), 502, "cannot be reached")
    assert body["kind"] == "unreachable"


def test_timeout_is_504(world):
    api, _ = world
    body = assert_error(call(api, "SILENT", "Reset", {"type": "Soft"}), 504, "in time")
    assert body["kind"] == "timeout"
    logged = api.get("/commands", params={"chargebox": "SILENT"}).json()["items"][0]
    assert logged["outcome"] == "timeout"


def test_queue_when_unreachable_is_202(world):
    api, _ = world
    r = call(api, "GONE", "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"},
             params={"queue": "true"})
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["status"] == "queued" and queued["operation"] == "ChangeConfiguration"
    assert queued["charge_box_id"] == "GONE"
    pending = api.get("/pending", params={"chargebox": "GONE"}).json()["items"]
    assert [(p["id"], p["operation"], p["payload"]) for p in pending] == [
        (queued["pending_id"], "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"})]
    assert api.delete(f"/pending/{queued['pending_id']}").status_code == 204
    # a box that answers does not get queued
    assert call(api, "CP-16", "ClearCache", {}, params={"queue": "true"}).status_code == 200
    # nor does a fault, or an invalid payload
    assert call(api, "FAULTY", "ClearCache", {}, params={"queue": "true"}).status_code == 502
    assert call(api, "GONE", "Reset", {"type": "Medium"}, params={"queue": "1"}).status_code == 422


def test_queue_for_a_box_without_endpoint_is_202(world):
    api, _ = world
    r = call(api, "NOWHERE", "Reset", {"type": "Soft"}, params={"queue": "true"})
    assert r.status_code == 202, r.text
    pending = api.get("/pending", params={"chargebox": "NOWHERE"}).json()["items"]
    assert [p["id"] for p in pending] == [r.json()["pending_id"]]
    assert_error(call(api, "PENDING", "RemoteStartTransaction", {"idTag": "T"},
                      params={"queue": "true"}), 409)
    assert_error(call(api, "NOWHERE", "Reset", {"type": "Soft"}, params={"queue": "perhaps"}), 400,
                 "queue")


def test_version_15_takes_its_own_field_names_too(world):
    api, cps = world
    cp = cps["1.5"]
    cp.payloads.clear()
    body = _json(example("1.5", CHARGEPOINT, "SendLocalList")[0])
    body["localAuthorisationList"] = body.pop("localAuthorizationList")
    r = call(api, "CP-15", "SendLocalList", body)
    assert r.status_code == 200, r.text
    ((_, received),) = cp.payloads
    assert received == example("1.5", CHARGEPOINT, "SendLocalList")[0]
