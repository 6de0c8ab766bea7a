"""``ocpp-soap chargepoint run`` and ``shell`` as real processes: config file, capture, SIGTERM, piped shell."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.chargepoint.test_e2e_support import TestCentral, wait_until

ROOT = Path(__file__).resolve().parents[2]
EXE = [sys.executable, "-m", "ocpp_soap.cli", "chargepoint"]


@pytest.fixture
def cs():
    central = TestCentral().start()
    yield central
    central.stop()


def _env():
    return dict(os.environ, PYTHONUNBUFFERED="1", HOME=os.environ.get("HOME", "/tmp"))


def test_run_with_config_and_capture_stops_on_sigterm(cs, tmp_path):
    proc = subprocess.Popen(
        [*EXE, "run", "--central", cs.url, "--id", "RUN1", "--listen", "127.0.0.1:0",
         "--config", str(ROOT / "examples" / "chargepoint.toml"), "--state", str(tmp_path / "state.json"),
         "--capture", str(tmp_path / "cap")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
    try:
        boot = cs.wait_for("BootNotification", timeout=20)[0]
        assert (boot["chargePointVendor"], boot["chargePointModel"], boot["firmwareVersion"]) == ("DBT", "CX-22", "2.4.1")
        assert boot["chargePointSerialNumber"] == "DBT-0042"
        cs.wait(lambda: len(cs.of("StatusNotification")) >= 3, 5, "status of box and 2 connectors")
        ctx = next(c for a, _, c in cs.calls if a == "BootNotification")
        assert ctx.charge_box_id == "RUN1"
        assert ctx.from_address.startswith("http://127.0.0.1:") and ctx.from_address.endswith("/ocpp/ChargePointService")
        wait_until(lambda: len(list((tmp_path / "cap").glob("*BootNotification_out.req.xml"))) == 1, 3, "capture")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "RUN1 → BootNotification vendor=DBT model=CX-22" in err
    assert "stopping" in err
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["config"]["MeterValueSampleInterval"] == "60"


def test_shell_through_piped_stdin(cs):
    script = "\n".join([
        "# comments and blank lines are skipped",
        "",
        'bootnotification chargePointVendor="DBT" chargePointModel="Shell One"',
        "heartbeat",
        "statusnotification connectorId=1 status=Available errorCode=NoError",
        'datatransfer vendorId=DBT messageId=ping data=json:"pong"',
        "power on",
        "wait 0.5",
        "plug 1",
        "swipe TAG-9 1",
        "config MeterValueSampleInterval 30",
        "config MeterValueSampleInterval",
        "envelopes on",
        "heartbeat",
        "envelopes off",
        "swipe TAG-9",
        "state",
        "fault 1 NotACode",
        "quit",
    ]) + "\n"
    proc = subprocess.run([*EXE, "shell", "--central", cs.url, "--id", "SH1", "--listen", "127.0.0.1:0",
                           "--manual"], input=script, capture_output=True, text=True, cwd=ROOT,
                          env=_env(), timeout=40)
    out = proc.stdout
    boots = cs.of("BootNotification")
    assert boots[0]["chargePointVendor"] == "DBT" and boots[0]["chargePointModel"] == "Shell One"
    assert len(boots) == 2  # the raw one, then the power-on boot
    assert "← Accepted interval=300" in out
    assert cs.of("StatusNotification")[0] == {"connectorId": 1, "status": "Available", "errorCode": "NoError",
                                              "timestamp": cs.of("StatusNotification")[0]["timestamp"]}
    assert cs.of("DataTransfer")[0]["data"] == "pong"
    assert "connector 1: Preparing" in out
    assert "started" in out and "stopped" in out
    assert cs.of("StartTransaction")[0]["idTag"] == "TAG-9"
    assert cs.of("StopTransaction")[0]["idTag"] == "TAG-9"
    assert "MeterValueSampleInterval = 30" in out
    assert "<soap-env:Envelope" in out and "heartbeatResponse" in out
    state = json.loads(out[out.index("> state\n") + 8:out.index("> fault")])
    assert state["identity"] == "SH1" and state["connectors"][0]["status"] == "Finishing"
    assert "error: not a 1.6 error code: NotACode" in out
    assert proc.returncode == 1  # one command failed


def test_usage_errors_exit_2(tmp_path):
    from ocpp_soap.chargepoint.cli import main

    assert main(["run", "--id", "X"]) == 2  # no --central
    bad = tmp_path / "bad.toml"
    bad.write_text('vendor = "X"\nwattage = 3\n')
    assert main(["run", "--central", "http://127.0.0.1:9/x", "--config", str(bad)]) == 2
    assert main(["scenario", str(tmp_path / "missing.yaml"), "--central", "http://127.0.0.1:9/x"]) == 2
    time.sleep(0)


@pytest.mark.parametrize("line", ["persist_interval_s = 0", "persist_interval_s = -1",
                                  'persist_interval_s = "often"', "boot_retry_s = 0",
                                  "boot_retry_s = inf"])
def test_timer_periods_in_the_config_must_be_positive(tmp_path, capsys, line):
    """A period of zero would re-arm its timer at once, for ever: refused before anything starts."""
    from ocpp_soap.chargepoint.cli import main

    config = tmp_path / "cp.toml"
    config.write_text(f'vendor = "X"\n{line}\n')
    assert main(["run", "--central", "http://127.0.0.1:9/x", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "must be a positive number of seconds" in err and "Traceback" not in err
