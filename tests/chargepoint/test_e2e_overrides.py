"""``@cp.on(...)`` overrides over real HTTP on 127.0.0.1, in both versions.

- The project's own Central System sends Reset (JSON API and ``central call``) to a simulator
  whose Reset override rejects Hard resets: the CS gets Rejected, the box does not reboot, and a
  Soft reset still reboots through ``context.default()``.
- An override raising an OCPP error answers with the SOAP fault of that subcode; a reply with a
  wrong key is an InternalError naming it; the charge point keeps serving.
- Nested payloads go to the override in snake_case and come back in the official names
  (SetChargingProfile, SendLocalList in 1.5's wire shape, GetConfiguration).
- Every operation of either version can be overridden: its example request reaches the override,
  the override's reply reaches the Central System.
- The example ``examples/scripted_chargepoint.py`` runs as its own process against the CS.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import requests

from ocpp_soap.central.cli import main as central_main
from ocpp_soap.central.errors import NotFound
from ocpp_soap.chargepoint import (
    ChargePoint,
    HandlerContext,
    InternalError,
    NotSupported,
    ProtocolError,
    Scheduler,
    SecurityError,
)
from ocpp_soap.messages import service_schema
from ocpp_soap.messages.examples import example
from ocpp_soap.soap.client import RemoteFault
from ocpp_soap.soap.versions import CHARGEPOINT
from tests.central.test_e2e_support import InProcessCS
from tests.chargepoint.test_e2e_support import (
    TestCentral,
    close_cp,
    cs_client,
    start_cp,
    wait_until,
)
from tests.conftest import ROOT, free_port

EXAMPLE = ROOT / "examples" / "scripted_chargepoint.py"


def _operations(version: str) -> list[str]:
    """The CS→CP operations of ``version``, from the message schema."""
    return sorted(op.name for op in service_schema(version, CHARGEPOINT).operations)


def _snake_keys(value):
    """The documented renaming (``idTag`` → ``id_tag``, at any depth), written out here so the
    simulator is not checked against its own converter."""
    if isinstance(value, dict):
        return {re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", k).lower(): _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) for v in value]
    return value


def _boots(cp: ChargePoint) -> int:
    return sum(1 for h in cp.history if h["direction"] == "out" and h["action"] == "BootNotification"
               and h["reply"] is not None)


def _accepted_by(cs: InProcessCS, identity: str) -> bool:
    try:
        return cs.admin.get_chargebox(identity)["registration_status"] == "Accepted"
    except NotFound:  # not registered yet
        return False


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_project_cs_gets_rejected_from_a_custom_reset(tmp_path, version, capsys):
    with InProcessCS(tmp_path / "cs.db", unknown_chargebox="accept") as cs:
        cp = ChargePoint("ODDRESET", cs.soap_url(version), version, 1,
                         {"keys": {"HeartbeatInterval": 300}}, scheduler=Scheduler(workers=4),
                         timeout=5.0)
        calls: list[tuple[HandlerContext, str]] = []

        @cp.on("Reset")
        def reset(context: HandlerContext, type: str) -> dict:
            calls.append((context, type))
            return {"status": "Rejected"} if type == "Hard" else context.default()

        cp.serve("127.0.0.1", 0)
        cp.start()
        try:
            wait_until(lambda: cp.core.registration == "Accepted" and _accepted_by(cs, cp.identity),
                       10, "boot accepted by the CS")
            api = f"{cs.url}/api/v1/chargeboxes/{cp.identity}/operations/"
            r = requests.post(api + "Reset", json={"type": "Hard"}, timeout=10)
            assert r.status_code == 200 and r.json() == {"status": "Rejected"}, r.text
            assert central_main(["call", cp.identity, "Reset", "type=Hard", "--db", cs.db_url]) == 0
            assert json.loads(capsys.readouterr().out) == {"status": "Rejected"}
            context, kind = calls[0]
            assert kind == "Hard" and len(calls) == 2
            assert (context.action, context.version, context.identity) == ("Reset", version, "ODDRESET")
            assert context.charge_point is cp and context.peer == "127.0.0.1"

            # Operations without an override keep the simulator's behaviour ...
            r = requests.post(api + "GetLocalListVersion", json={}, timeout=10)
            assert r.status_code == 200 and r.json() == {"listVersion": 0}, r.text
            # ... and the override's default() is the real thing: a Soft reset reboots. Any
            # reboot the Hard resets had caused would have been scheduled before this one.
            assert _boots(cp) == 1
            r = requests.post(api + "Reset", json={"type": "Soft"}, timeout=10)
            assert r.status_code == 200 and r.json() == {"status": "Accepted"}, r.text
            wait_until(lambda: _boots(cp) >= 2, 10, "the BootNotification after the Soft reset")
            wait_until(lambda: cp.core.registration == "Accepted", 10, "accepted again")
            assert _boots(cp) == 2
        finally:
            close_cp(cp)


@pytest.fixture(scope="module")
def central():
    cs = TestCentral().start()
    yield cs
    cs.stop()


@pytest.mark.parametrize("version", ["1.5", "1.6"])
@pytest.mark.parametrize("raised, code, subcode, http", [
    (ProtocolError("the request makes no sense to this charger"), "Sender", "ProtocolError", 400),
    (SecurityError("this Central System may not unlock"), "Sender", "SecurityError", 400),
    (NotSupported("unlocking is not wired on this model"), "Receiver", "NotSupported", 500),
    (InternalError("latch controller crashed"), "Receiver", "InternalError", 500),
    (NotImplementedError("not yet"), "Receiver", "NotSupported", 500),
    (RuntimeError("a bug in the override"), "Receiver", "InternalError", 500),
])
def test_an_ocpp_error_in_an_override_is_its_soap_fault(central, version, raised, code, subcode, http):
    cp = start_cp(central, version, identity=f"FAULT{version[-1]}")
    try:
        @cp.on("UnlockConnector")
        def unlock(context: HandlerContext, connector_id: int) -> dict:
            raise raised

        client = cs_client(cp)
        with pytest.raises(RemoteFault) as err:
            client.call("UnlockConnector", {"connectorId": 1})
        fault = err.value.fault
        assert (fault.code, fault.subcode, err.value.status) == (code, subcode, http)
        if isinstance(raised, ProtocolError | SecurityError | NotSupported | InternalError):
            assert fault.reason == raised.reason
        # the charge point keeps serving, the other operations unchanged
        assert client.call("GetLocalListVersion", {}) == {"listVersion": 0}
    finally:
        close_cp(cp)


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_a_reply_the_schema_lacks_is_an_internal_error_naming_it(central, version):
    cp = start_cp(central, version, identity=f"BADREPLY{version[-1]}")
    try:
        replies = iter([{"stauts": "Accepted"}, "Accepted", {}, {"status": "Bogus"},
                        {"status": "A" * 100_000}])
        cp.on("ClearCache")(lambda context: next(replies))
        client = cs_client(cp)
        for expected in ("has no field 'stauts' (fields: status)", "must be a dict, not str",
                         "lacks required status",
                         "ClearCache reply.status is 'Bogus', not one of: Accepted, Rejected",
                         "ClearCache reply.status is 'AAAA"):
            with pytest.raises(RemoteFault) as err:
                client.call("ClearCache", {})
            assert err.value.fault.subcode == "InternalError"
            assert expected in err.value.fault.reason
            assert len(err.value.fault.reason) < 400
        assert client.call("GetLocalListVersion", {}) == {"listVersion": 0}
    finally:
        close_cp(cp)


def test_set_charging_profile_round_trip_in_snake_case(central):
    cp = start_cp(central, "1.6", identity="NESTED16")
    seen: dict = {}
    try:
        @cp.on("SetChargingProfile")
        def set_profile(context: HandlerContext, connector_id: int, cs_charging_profiles: dict) -> dict:
            seen.update(connector_id=connector_id, profile=cs_charging_profiles)
            limit = cs_charging_profiles["charging_schedule"]["charging_schedule_period"][0]["limit"]
            if limit > 32:
                return {"status": "Rejected"}
            return context.default(connector_id=connector_id, cs_charging_profiles=cs_charging_profiles)

        @cp.on("GetConfiguration")
        def get_configuration(context: HandlerContext, key: list[str] | None = None) -> dict:
            return {"configuration_key": [{"key": "VendorLatch", "readonly": True, "value": "stuck"}],
                    "unknown_key": list(key or [])}

        client = cs_client(cp)
        start = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
        profile = {"chargingProfileId": 7, "stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile",
                   "chargingProfileKind": "Absolute",
                   "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": start,
                                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0,
                                                                    "numberPhases": 3}]}}
        assert client.call("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile}) == {
            "status": "Accepted"}
        assert seen["connector_id"] == 1
        assert seen["profile"] == {
            "charging_profile_id": 7, "stack_level": 1, "charging_profile_purpose": "TxDefaultProfile",
            "charging_profile_kind": "Absolute",
            "charging_schedule": {"charging_rate_unit": "A", "start_schedule": start,
                                  "charging_schedule_period": [{"start_period": 0, "limit": 16.0,
                                                                "number_phases": 3}]}}
        # default() installed it: the simulator's own composite schedule shows the limit
        reply = client.call("GetCompositeSchedule", {"connectorId": 1, "duration": 3600,
                                                     "chargingRateUnit": "A"})
        assert reply["status"] == "Accepted"
        assert reply["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 16.0, reply
        too_high = {**profile, "chargingSchedule": {**profile["chargingSchedule"],
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 63.0}]}}
        assert client.call("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": too_high}) == {
            "status": "Rejected"}
        assert [i["profile"]["chargingProfileId"] for i in cp.core.profiles.snapshot()] == [7]
        assert client.call("GetConfiguration", {"key": ["Nope"]}) == {
            "configurationKey": [{"key": "VendorLatch", "readonly": True, "value": "stuck"}],
            "unknownKey": ["Nope"]}
    finally:
        close_cp(cp)


def test_send_local_list_1_5_round_trip_through_default(central):
    """1.5 names the list ``localAuthorisationList`` on the wire; the override sees the neutral
    ``local_authorization_list``, drops a tag, and lets the simulator install the rest."""
    cp = start_cp(central, "1.5", identity="NESTED15")
    seen: list = []
    try:
        @cp.on("SendLocalList")
        def send_local_list(context: HandlerContext, list_version: int, update_type: str,
                            local_authorization_list: list | None = None) -> dict:
            seen.append(local_authorization_list)
            kept = [e for e in local_authorization_list or [] if e["id_tag"] != "DROPME"]
            return context.default(list_version=list_version, update_type=update_type,
                                   local_authorization_list=kept)

        client = cs_client(cp)
        expiry = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
        entries = [{"idTag": "KEEP1", "idTagInfo": {"status": "Accepted", "expiryDate": expiry}},
                   {"idTag": "DROPME", "idTagInfo": {"status": "Accepted"}}]
        assert client.call("SendLocalList", {"listVersion": 5, "updateType": "Full",
                                             "localAuthorizationList": entries}) == {"status": "Accepted"}
        assert seen == [[{"id_tag": "KEEP1", "id_tag_info": {"status": "Accepted", "expiry_date": expiry}},
                         {"id_tag": "DROPME", "id_tag_info": {"status": "Accepted"}}]]
        assert client.call("GetLocalListVersion", {}) == {"listVersion": 5}
        assert list(cp.core.auth.snapshot()["local_list"]) == ["keep1"]  # idTags: any case
    finally:
        close_cp(cp)


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_the_example_runs_against_the_project_cs(tmp_path, version):
    with InProcessCS(tmp_path / "cs.db", unknown_chargebox="accept") as cs:
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, str(EXAMPLE), "--central", cs.soap_url(version),
                                 "--id", "ODD1", "--version", version, "--listen", f"127.0.0.1:{port}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            wait_until(lambda: proc.poll() is not None or _accepted_by(cs, "ODD1"), 30, "ODD1 booted")
            assert proc.poll() is None, proc.stderr.read()
            api = f"{cs.url}/api/v1/chargeboxes/ODD1/operations/"

            def post(op: str, body: dict) -> requests.Response:
                return requests.post(api + op, json=body, timeout=10)

            assert post("Reset", {"type": "Hard"}).json() == {"status": "Rejected"}
            r = post("DataTransfer", {"vendorId": "ACME", "messageId": "Ping"})
            assert r.status_code == 200 and r.json() == {"status": "Accepted", "data": "Pong"}, r.text
            assert post("DataTransfer", {"vendorId": "Other"}).json() == {"status": "UnknownVendorId"}
            r = post("DataTransfer", {"vendorId": "ACME", "messageId": "Self-destruct"})
            assert r.status_code == 502 and "NotSupported" in r.text, r.text
            stuck, free = {"1.6": ("UnlockFailed", "Unlocked"), "1.5": ("Rejected", "Accepted")}[version]
            assert post("UnlockConnector", {"connectorId": 2}).json() == {"status": stuck}
            assert post("UnlockConnector", {"connectorId": 1}).json() == {"status": free}
            assert post("Reset", {"type": "Soft"}).json() == {"status": "Accepted"}
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert f"ODD1 (OCPP {version}) serving http://127.0.0.1:{port}/ocpp/ChargePointService" in out


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_every_operation_of_the_version_can_be_overridden(central, version):
    """For each CS→CP operation an override receives the example request in snake_case, and what
    it returns (the example reply, in snake_case) is what the Central System reads."""
    cp = start_cp(central, version, identity=f"EVERY{version[-1]}")
    received: dict[str, dict] = {}
    try:
        def make(action: str):
            def override(context: HandlerContext, **fields) -> dict:
                received[action] = fields
                return _snake_keys(example(version, CHARGEPOINT, action)[1])

            return override

        for action in _operations(version):
            cp.on(action)(make(action))
        client = cs_client(cp)
        for action in _operations(version):
            request, reply = example(version, CHARGEPOINT, action)
            assert client.call(action, request) == reply, action
            assert received[action] == _snake_keys(request), action
        assert sorted(received) == _operations(version)
    finally:
        close_cp(cp)
