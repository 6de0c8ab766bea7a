"""``ocpp-soap central call``: a command to a test charge point over HTTP, and every failure's
message and exit code (2: the request is wrong; 1: the box failed or cannot be reached)."""

from __future__ import annotations

import json
import time

import pytest

from ocpp_soap.central.cli import main
from ocpp_soap.central.storage.models import CommandLog
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.server import OcppEndpoint
from tests.central.test_e2e_support import SilentPeer, dead_url, rows


class RecordingCP:
    """A charge point's SOAP endpoint that records what it gets."""

    def __init__(self):
        self.calls = []

        def change_availability(ctx, payload):
            self.calls.append((ctx, payload))
            return {"status": "Scheduled"}

        def get_configuration(ctx, payload):
            self.calls.append((ctx, payload))
            return {"configurationKey": [{"key": k, "readonly": False, "value": "1"}
                                         for k in payload.get("key", [])],
                    "unknownKey": ["Nope"]}

        def reset(ctx, payload):
            raise NotImplementedError("Reset is not supported here")

        handlers = {"ChangeAvailability": change_availability,
                    "GetConfiguration": get_configuration, "Reset": reset}
        self.server = BackgroundServer(OcppEndpoint("ChargePointService", handlers)).start()
        self.url = self.server.url + "/ocpp/ChargePointService"


@pytest.fixture
def cp():
    c = RecordingCP()
    yield c
    c.server.stop()


@pytest.fixture
def db(tmp_path):
    return ["--db", f"sqlite:///{tmp_path / 'call.db'}"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_call_prints_reply(capsys, db, cp, version, monkeypatch):
    monkeypatch.setenv("OCPP_SOAP_PUBLIC_URL", "http://cs.example:8180")
    assert run(capsys, "chargebox", "add", "CB1", "--endpoint", cp.url, "--version", version,
               *db)[0] == 0
    code, out, err = run(capsys, "call", "CB1", "ChangeAvailability", "connectorId=0",
                         "type=Inoperative", *db)
    assert code == 0, err
    assert json.loads(out) == {"status": "Scheduled"}
    (ctx, payload), = cp.calls
    assert payload == {"connectorId": 0, "type": "Inoperative"}
    assert ctx.version == version and ctx.charge_box_id == "CB1" and ctx.to == cp.url
    assert ctx.from_address == f"http://cs.example:8180/ocpp/{version}/CentralSystemService"
    assert ctx.message_id.startswith("urn:uuid:")

    code, out, err = run(capsys, "call", "CB1", "GetConfiguration",
                         "--data", '{"key": ["HeartbeatInterval", "MeterValueSampleInterval"]}',
                         *db)
    assert code == 0, err
    reply = json.loads(out)
    assert [k["key"] for k in reply["configurationKey"]] == ["HeartbeatInterval",
                                                            "MeterValueSampleInterval"]
    assert reply["unknownKey"] == ["Nope"]

    (log1, log2) = rows(db[1], CommandLog)
    assert (log1.operation, log1.outcome, log1.reply) == \
        ("ChangeAvailability", "reply", {"status": "Scheduled"})
    assert log1.request == {"connectorId": 0, "type": "Inoperative"}
    assert log1.version == version and log1.endpoint == cp.url and log1.latency_ms > 0
    assert log2.operation == "GetConfiguration" and log2.outcome == "reply"


def test_call_errors(capsys, db, cp):
    assert run(capsys, "chargebox", "add", "CB1", "--endpoint", cp.url, *db)[0] == 0

    code, _, err = run(capsys, "call", "NOBOX", "Reset", "type=Soft", *db)
    assert code == 2 and "unknown charge box 'NOBOX'" in err
    code, _, err = run(capsys, "call", "CB1", "ChangeAvailability", "connectorId=0",
                       "type=Sideways", *db)
    assert code == 2 and "invalid field type" in err and "Inoperative, Operative" in err
    code, _, err = run(capsys, "call", "CB1", "ChangeAvailability", "type=Operative", *db)
    assert code == 2 and "invalid field connectorId: required" in err
    code, _, err = run(capsys, "call", "CB1", "ChangeAvailability", "connectorId=zero",
                       "type=Operative", *db)
    assert code == 2 and "connectorId" in err and "integer" in err
    code, _, err = run(capsys, "call", "CB1", "ChangeAvailability", "connectorId=0",
                       "type=Operative", "colour=red", *db)
    assert code == 2 and "invalid field colour: unknown field" in err
    code, _, err = run(capsys, "call", "CB1", "Reboot", *db)
    assert code == 2 and "no operation 'Reboot'" in err
    code, _, err = run(capsys, "call", "CB1", "Reset", "--data", "{not json", *db)
    assert code == 2 and "--data" in err
    code, _, err = run(capsys, "call", "CB1", "Reset", "justaword", *db)
    assert code == 2 and "field=value" in err
    assert not cp.calls  # nothing reached the box

    code, out, err = run(capsys, "call", "CB1", "Reset", "type=Soft", *db)
    assert code == 1 and out == ""
    assert "fault" in err and "NotSupported" in err

    assert run(capsys, "chargebox", "add", "CB2", *db)[0] == 0
    code, _, err = run(capsys, "call", "CB2", "Reset", "type=Soft", *db)
    assert code == 1 and "no endpoint known" in err
    assert run(capsys, "chargebox", "add", "CB3", "--status", "Pending",
               "--endpoint", cp.url, *db)[0] == 0
    # A Pending box gets every command but RemoteStart/RemoteStop (issue 14).
    code, _, err = run(capsys, "call", "CB3", "RemoteStartTransaction", "idTag=T", *db)
    assert code == 1 and "Pending" in err

    assert run(capsys, "chargebox", "add", "DOWN", "--endpoint", dead_url(), *db)[0] == 0
    code, _, err = run(capsys, "call", "DOWN", "Reset", "type=Soft", *db)
    assert code == 1 and "unreachable" in err and "--queue" in err


def test_call_timeout(capsys, db):
    silent = SilentPeer()
    try:
        assert run(capsys, "chargebox", "add", "HUNG", "--endpoint", silent.url, *db)[0] == 0
        started = time.monotonic()
        code, out, err = run(capsys, "call", "HUNG", "ClearCache", "--timeout", "0.5", *db)
        took = time.monotonic() - started
        assert code == 1 and out == "" and "timeout" in err and "did not answer" in err
        assert 0.5 <= took < 3
        # --queue turns a timeout into a queued command (exit 0).
        code, out, err = run(capsys, "call", "HUNG", "ClearCache", "--timeout", "0.5", "--queue",
                             *db)
        assert code == 0 and json.loads(out) == {"queued": True, "pendingId": 1}
    finally:
        silent.close()
    outcomes = [r.outcome for r in rows(db[1], CommandLog)]
    assert outcomes == ["timeout", "timeout"]


def test_call_queue_for_a_box_without_address_waits_for_it(capsys, db):
    """An Accepted box we have no address for yet: --queue keeps the command for its next
    message instead of failing."""
    assert run(capsys, "chargebox", "add", "NEW1", *db)[0] == 0
    code, _, err = run(capsys, "call", "NEW1", "Reset", "type=Soft", *db)
    assert code == 1 and "no endpoint" in err
    code, out, err = run(capsys, "call", "NEW1", "Reset", "type=Soft", "--queue", *db)
    assert code == 0, err
    assert json.loads(out)["queued"] is True
