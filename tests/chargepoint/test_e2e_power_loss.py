"""Simulator power loss (issue 14, item 9), over real HTTP in both versions.

- After a restart, the queued StopTransaction (PowerLoss) goes before the status notifications.
- The meter register is on disk at least every ``persist_interval_s`` of charging, whatever the
  sample interval (here 0: no samples at all), so a power cut loses at most that much energy.
"""

from __future__ import annotations

import json
import shutil

import pytest

from ocpp_soap.chargepoint import ChargePoint, Scheduler
from tests.chargepoint.test_e2e_support import TestCentral, close_cp, wait_until


def _sim(cs: TestCentral, version: str, state) -> ChargePoint:
    cp = ChargePoint("PL1", cs.url, version, 1,
                     {"persist_interval_s": 0.2, "keys": {"MeterValueSampleInterval": 0}},
                     str(state), scheduler=Scheduler(workers=4), timeout=2.0)
    cp.serve("127.0.0.1", 0)
    cp.start()
    wait_until(lambda: cp.core.registration == "Accepted", 5, "boot")
    return cp


def _energy(path) -> float:
    return json.loads(path.read_text())["connectors"]["1"]["energy_wh"]


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_power_loss_stop_first_and_register_kept(tmp_path, version):
    state = tmp_path / "state.json"
    cs = TestCentral().start()
    try:
        cp = _sim(cs, version, state)
        try:
            assert cp.swipe("ABC", 1) == "waiting"
            cp.plug(1)
            start = cs.wait_for("StartTransaction")[-1]
            at_start = _energy(state)
            # What a SIGKILL would leave behind: the file as the persist timer wrote it.
            wait_until(lambda: _energy(state) > at_start + 1, 10, "register persisted")
            crashed = tmp_path / "crashed.json"
            shutil.copy(state, crashed)
        finally:
            close_cp(cp)

        seen = len(cs.calls)
        cp = _sim(cs, version, crashed)
        try:
            stop = cs.wait_for("StopTransaction")[-1]
            cs.wait(lambda: "StatusNotification" in [a for a, _, _ in cs.calls[seen:]], 5,
                    "status notifications after the restart")
            after = [a for a, _, _ in cs.calls[seen:]]
            assert after.index("StopTransaction") < after.index("StatusNotification"), after
            assert stop["transactionId"] == 1
            if version == "1.6":
                assert stop["reason"] == "PowerLoss"
            # the energy charged before the cut is in meterStop
            assert stop["meterStop"] > start["meterStart"]
            assert stop["meterStop"] >= int(_energy(crashed)) - 1
        finally:
            close_cp(cp)
    finally:
        cs.stop()
