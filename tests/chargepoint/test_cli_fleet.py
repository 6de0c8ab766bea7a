"""``ocpp-soap chargepoint fleet``: 50 charge points on one port boot and charge against one CS."""

from __future__ import annotations

import pytest

from ocpp_soap.chargepoint._fleet import Fleet
from ocpp_soap.chargepoint.cli import main
from ocpp_soap.soap.client import OcppClient, RemoteFault
from tests.chargepoint.test_e2e_support import ProjectCentral, TestCentral


@pytest.mark.parametrize("central", ["test CS", "project CS"])
def test_fifty_charge_points_boot_and_charge(capsys, tmp_path, central):
    if central == "project CS":
        cs = ProjectCentral(tmp_path / "cs.db")
        for i in range(1, 51):  # the fleet swipes T<identity> at each charge point
            cs.central_app.central.admin.add_tag(f"TSIM{i:03d}")
        cs.start()
    else:
        cs = TestCentral().start()
    try:
        # the real CS writes to its database, so it gets longer for every member to sample
        duration = "10" if central == "project CS" else "5"
        rc = main(["fleet", "--central", cs.url, "--count", "50", "--prefix", "SIM", "--listen", "127.0.0.1:0",
                   "--charge", "--duration", duration, "--interval", "1"])
        err = capsys.readouterr().err
        assert rc == 0, err
        boxes = {c.charge_box_id for a, _, c in cs.calls if a == "BootNotification"}
        assert boxes == {f"SIM{i:03d}" for i in range(1, 51)}
        froms = {c.from_address for a, _, c in cs.calls if a == "BootNotification"}
        assert all(f.endswith(f"/ocpp/ChargePointService/{f.rsplit('/', 1)[1]}") for f in froms) and len(froms) == 50
        starts = cs.of("StartTransaction")
        assert len(starts) == 50 and len({s["idTag"] for s in starts}) == 50
        assert {c.charge_box_id for a, _, c in cs.calls if a == "MeterValues"} == boxes
        assert len(cs.of("StopTransaction")) == 50  # --duration ends every session cleanly
        assert "booted 50/50" in err and "errors 0" in err.splitlines()[-1]
        if central == "project CS":
            txs = cs.central_app.central.admin.list_transactions(limit=100)
            assert len(txs) == 50 and all(t["meter_stop"] is not None for t in txs)
    finally:
        cs.stop()


def test_fleet_members_answer_on_their_own_path():
    cs = TestCentral().start()
    fleet = Fleet(cs.url, 3, prefix="P", connectors=1, port=0)
    try:
        fleet.start()
        cs.wait(lambda: len(cs.of("BootNotification")) == 3, 5, "3 boots")
        member = fleet.members[1]
        client = OcppClient("1.6", "ChargePointService", member.identity, member.url, timeout=5)
        assert client.call("GetLocalListVersion", {}) == {"listVersion": 0}
        wrong = OcppClient("1.6", "ChargePointService", fleet.members[0].identity, member.url, timeout=5)
        with pytest.raises(RemoteFault) as err:
            wrong.call("ClearCache", {})
        assert err.value.fault.subcode == "IdentityMismatch"
        assert fleet.progress().booted == 3
    finally:
        fleet.close()
        cs.stop()
