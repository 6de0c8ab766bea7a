"""``ocpp-soap chargepoint scenario``: the shipped examples pass, a wrong expectation fails by name."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ocpp_soap.chargepoint._scenario import load_file, lookup, matches
from ocpp_soap.chargepoint.cli import main
from ocpp_soap.soap.client import OcppClient
from tests.chargepoint.test_e2e_support import TestCentral
from tests.chargepoint.test_e2e_support import wait_until as until

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def cs():
    central = TestCentral().start()
    yield central
    central.stop()


@pytest.mark.parametrize("name", ["session-1.6.yaml", "session-1.5.toml"])
def test_example_session_passes(cs, capsys, name):
    assert main(["scenario", str(EXAMPLES / name), "--central", cs.url, "-q"]) == 0
    out = capsys.readouterr().out
    assert "steps passed" in out
    version = load_file(EXAMPLES / name)["version"]
    start, stop = cs.of("StartTransaction")[0], cs.of("StopTransaction")[0]
    assert start["idTag"] == "DEMO-TAG"
    assert stop["transactionId"] == 1 and stop["meterStop"] >= start["meterStart"]
    assert ("reason" in stop) == (version == "1.6")
    assert cs.of("MeterValues")


def test_wrong_expectation_fails_naming_the_step(cs, capsys, tmp_path):
    text = (EXAMPLES / "session-1.6.yaml").read_text().replace(
        "expect: {status: Accepted}", "expect: {status: Blocked}")
    path = tmp_path / "wrong.yaml"
    path.write_text(text)
    assert main(["scenario", str(path), "--central", cs.url, "-q"]) == 1
    captured = capsys.readouterr()
    assert "step 3 (send Authorize)" in captured.err
    assert "status is 'Accepted', expected 'Blocked'" in captured.err
    assert cs.of("StartTransaction") == []  # it stopped there


def test_expect_times_out_with_a_reason(cs, capsys, tmp_path):
    path = tmp_path / "timeout.toml"
    path.write_text('version = "1.5"\n[[steps]]\nname = "never"\n'
                    'expect = { operation = "Reset", timeout = 0.3 }\n')
    assert main(["scenario", str(path), "--central", cs.url, "-q"]) == 1
    assert "step 1 (never): after 0.3 s: no Reset from the Central System" in capsys.readouterr().err


def test_remote_example_waits_for_the_operator(cs, capsys):
    """The test plays the operator: it finds the charge point by its WS-A From and commands it."""
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault(
        "rc", main(["scenario", str(EXAMPLES / "remote-session-1.6.yaml"), "--central", cs.url, "-q"])))
    runner.start()
    try:
        cs.wait_for("StatusNotification", 2, timeout=10)
        ctx = next(c for a, _, c in cs.calls if a == "BootNotification")
        client = OcppClient("1.6", "ChargePointService", ctx.charge_box_id, ctx.from_address, timeout=5)
        until(lambda: client.call("RemoteStartTransaction", {"idTag": "OP", "connectorId": 1})["status"] == "Accepted",
              5, "RemoteStart accepted")
        tx = cs.wait_for("StartTransaction", timeout=5) and 1
        until(lambda: any(p.get("status") == "Charging" for p in cs.of("StatusNotification")), 5, "Charging")
        assert client.call("RemoteStopTransaction", {"transactionId": tx}) == {"status": "Accepted"}
    finally:
        runner.join(20)
    assert result.get("rc") == 0, capsys.readouterr()
    assert cs.of("StopTransaction")[0]["reason"] == "Remote"


def test_paths_and_comparisons():
    state = {"connectors": [{"id": 1, "status": "Charging", "meter_wh": 12.5, "transaction": None}],
             "queue_length": 0}
    assert lookup(state, "connectors.1.status") == "Charging"
    assert matches(lookup(state, "connectors.1.meter_wh"), {">": 10})
    assert not matches(lookup(state, "connectors.1.meter_wh"), {"<=": 10})
    assert matches(lookup(state, "connectors.1.transaction"), None)
    assert matches(lookup(state, "connectors.1.status"), {"in": ["Charging", "SuspendedEV"]})
    assert matches(lookup(state, "queue_length"), "0")
