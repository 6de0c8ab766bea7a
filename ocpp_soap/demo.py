"""``make demo``: a Central System and a simulated charge point talk, in OCPP 1.5 and 1.6.

Everything runs in this process on 127.0.0.1 (free ports, a SQLite file in a temporary folder), so
the demo needs nothing but the virtual environment and leaves no process behind. Both sides
capture every envelope; at the end each one is compared with its sample in ``samples/`` and a
table says which are the same and which differ, and how.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from ocpp_soap.central import CentralSettings, CentralSystem, create_app
from ocpp_soap.chargepoint import ChargePoint
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.tools.capture import CaptureWriter
from ocpp_soap.tools.diff import (
    CHANGED,
    diff_envelopes,
    find_sample,
    read_envelope,
    sample_volatile,
)
from ocpp_soap.tools.validate import validate_envelope

TAG = "04A2B3C4D5"


class DemoFailed(Exception):
    """A step of the session did not go as it should."""


def say(text: str) -> None:
    print(text, flush=True)


def wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise DemoFailed(f"timed out waiting for {what}")


def session(cs: CentralSystem, cs_url: str, version: str, capture: CaptureWriter) -> None:
    box = f"DEMO-{version.replace('.', '')}"
    say(f"\n=== OCPP {version}: charge point {box} ===")
    cs.central.admin.add_chargebox(box, registration_status="Accepted")
    sim = ChargePoint(
        box, f"{cs_url}/ocpp/{version}/CentralSystemService", version, connectors=1,
        config={"vendor": "ocpp-soap", "model": "Demo Wallbox",
                "keys": {"MeterValueSampleInterval": 1, "HeartbeatInterval": 60}},
        capture=capture)
    sim.serve("127.0.0.1", 0)
    try:
        sim.start()
        wait(lambda: sim.state().get("registration") == "Accepted", 15, "BootNotification accepted")
        say("boot: Accepted; status notifications sent")
        wait(lambda: cs.central.admin.get_chargebox(box)["endpoint_address"], 5, "endpoint")
        reply = sim.send("Authorize", {"idTag": TAG})
        say(f"authorize {TAG}: {reply['idTagInfo']['status']}")
        reply = cs.commander.send(box, "RemoteStartTransaction", {"connectorId": 1, "idTag": TAG})
        say(f"remote start: {reply.reply['status']}")
        sim.plug(1)
        tx = wait(lambda: sim.state()["connectors"][0].get("transaction"), 10, "StartTransaction")
        tx_id = tx.get("id") if isinstance(tx, dict) else tx
        say(f"cable plugged: StartTransaction → transaction {tx_id}")
        wait(lambda: cs.central.admin.list_meter_values(charge_box_id=box), 10, "MeterValues")
        time.sleep(1.5)
        samples = cs.central.admin.list_meter_values(charge_box_id=box)
        say(f"meter values: {len(samples)} samples stored so far")
        reply = cs.commander.send(box, "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})
        say(f"change availability (Inoperative) while charging: {reply.reply['status']}")
        if reply.reply["status"] != "Scheduled":
            raise DemoFailed("ChangeAvailability during a transaction must be Scheduled")
        txs = cs.central.admin.list_transactions(charge_box_id=box, active=True)
        reply = cs.commander.send(box, "RemoteStopTransaction", {"transactionId": txs[0]["id"]})
        say(f"remote stop: {reply.reply['status']}")
        wait(lambda: not cs.central.admin.list_transactions(charge_box_id=box, active=True), 10,
             "StopTransaction")
        stored = cs.central.admin.list_transactions(charge_box_id=box)[0]
        say(f"StopTransaction: meterStart {stored['meter_start']} → meterStop "
            f"{stored['meter_stop']} Wh, reason {stored['stop_reason'] or '(none in 1.5)'}")
        reply = cs.commander.send(box, "ChangeAvailability", {"connectorId": 0, "type": "Operative"})
        say(f"change availability (Operative) after the transaction: {reply.reply['status']}")
        reply = cs.commander.send(box, "Reset", {"type": "Soft"})
        say(f"reset (Soft): {reply.reply['status']}")
        boots = sim.state().get("boots", 0)
        wait(lambda: sim.state().get("registration") == "Accepted" and
             (sim.state().get("boots", 0) > boots or "boots" not in sim.state()), 15, "reboot")
        time.sleep(0.5)
        say("rebooted: BootNotification accepted again")
    finally:
        sim.close()


def summarize(capture_dirs: list[Path]) -> tuple[list[dict], int]:
    """Compare every captured envelope with its sample and validate it; one row per side,
    operation and direction. Optional elements and values naturally differ from the samples;
    an envelope that breaks the schema or the OCPP-S header rules is an error."""
    rows: dict[tuple, dict] = {}
    errors = 0
    for capture_dir in capture_dirs:
        side = capture_dir.name
        for f in sorted(capture_dir.glob("*.xml")):
            try:
                env = read_envelope(f.read_bytes())
                diffs = diff_envelopes(find_sample(env), env, volatile=sample_volatile(env))
                fatal = [v for v in validate_envelope(env) if v.fatal]
            except Exception as exc:  # noqa: BLE001 - reported in the table
                errors += 1
                say(f"{f.name}: {exc}")
                continue
            key = (env.ocpp_version, env.operation, side, env.direction)
            row = rows.setdefault(key, {"version": env.ocpp_version, "operation": env.operation,
                                        "side": side, "direction": env.direction, "count": 0,
                                        "kinds": Counter(), "invalid": 0})
            row["count"] += 1
            row["kinds"].update({d.kind for d in diffs} or {"same"})
            if fatal:
                row["invalid"] += 1
                errors += 1
                say(f"{f.name}: {fatal[0].message}")
    out = []
    for row in rows.values():
        kinds = row.pop("kinds")
        if set(kinds) == {"same"}:
            row["vs sample"] = "same"
        elif set(kinds) <= {"same", CHANGED}:
            row["vs sample"] = "same elements, other values"
        else:
            row["vs sample"] = "other optional elements"
        row["valid"] = "yes" if not row["invalid"] else f"NO ({row['invalid']})"
        out.append(row)
    out.sort(key=lambda r: (r["version"], r["operation"], r["side"], r["direction"]))
    return out, errors


def print_table(rows: list[dict]) -> None:
    cols = ["version", "operation", "side", "direction", "count", "vs sample", "valid"]
    width = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    say("  ".join(c.ljust(width[c]) for c in cols))
    say("  ".join("-" * width[c] for c in cols))
    for r in rows:
        say("  ".join(str(r[c]).ljust(width[c]) for c in cols))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="ocpp-soap demo", description=__doc__.splitlines()[0])
    ap.add_argument("--keep", help="keep the database and captures in this folder")
    ap.add_argument("--versions", default="1.5,1.6")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    work = Path(args.keep or tempfile.mkdtemp(prefix="ocpp-soap-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    capture_dirs = [work / "capture" / "central", work / "capture" / "chargepoint"]
    cp_capture = CaptureWriter(capture_dirs[1])
    settings = CentralSettings(db_url=f"sqlite:///{work}/central.db", heartbeat_interval=60,
                               command_timeout=10)
    # The public embedding API, as an integrator would start a Central System.
    cs = create_app(settings, capture_dir=str(capture_dirs[0]))
    cs_capture = cs.capture
    server = BackgroundServer(cs).start()
    cs.settings.public_url = server.url  # the address the charge point is given as ours
    say(f"Central System on {server.url} (SQLite {work}/central.db); envelopes in {work}/capture")
    cs.central.admin.add_tag(TAG)
    failed = None
    try:
        for version in args.versions.split(","):
            session(cs, server.url, version.strip(), cp_capture)
    except DemoFailed as exc:
        failed = str(exc)
    finally:
        server.stop()
        cs.close()
    total = cs_capture.written + cp_capture.written
    say(f"\n=== {total} envelopes captured (both sides); each compared with its sample ===")
    rows, errors = summarize(capture_dirs)
    print_table(rows)
    if failed:
        say(f"\ndemo FAILED: {failed}")
        return 1
    if errors:
        say(f"\ndemo FAILED: {errors} envelope(s) invalid")
        return 1
    say("\ndemo OK: every message of the session went through, in both versions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
