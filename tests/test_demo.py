"""`make demo` as a test: the session runs in both versions and every captured envelope is valid."""

from __future__ import annotations

import threading

from ocpp_soap import demo

OPERATIONS = ["BootNotification", "StatusNotification", "Authorize", "RemoteStartTransaction",
              "StartTransaction", "MeterValues", "ChangeAvailability", "RemoteStopTransaction",
              "StopTransaction", "Reset"]


def test_demo_session_and_summary(tmp_path, capsys):
    before = {t.name for t in threading.enumerate()}
    assert demo.main(["--keep", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "demo OK" in out
    assert "change availability (Inoperative) while charging: Scheduled" in out
    assert "change availability (Operative) after the transaction: Accepted" in out
    table = out.split("each compared with its sample ===")[1]
    lines = [line.split() for line in table.splitlines() if line.startswith(("1.5", "1.6"))]
    for version in ("1.5", "1.6"):
        for op in OPERATIONS:
            for side in ("central", "chargepoint"):
                for direction in ("request", "response"):
                    row = [r for r in lines if r[:4] == [version, op, side, direction]]
                    assert row, (version, op, side, direction)
                    assert row[0][-1] == "yes", row
    assert (tmp_path / "central.db").is_file()
    # no server thread of the demo is left serving
    leftover = {t.name for t in threading.enumerate() if t.name.startswith("http-")} - before
    assert not leftover
