"""Reliability under load (issue "Benchmarks and load"), bounded and on loopback only.

1. 20 chargers (threads, each with its own OcppClient) run full transactions for ~20 s against
   ``ocpp-soap central serve --workers 2`` on one SQLite file: no request fails, every
   transaction is stored exactly once (its own row, box, tag, connector, meterStart and
   meterStop, stopped once), and every meter sample is stored once, with its value, in its own
   transaction (the stored samples are exactly the samples sent).
2. A charge point that accepts the connection and never answers: ``ocpp-soap call`` to it exits 1
   after its ``--timeout``; then two waves of 50 commands at once, sent by a commander on the same
   database (as the CLI sends them, in its own process: no worker of the CS waits), each time out
   within the configured time while a charger keeps being served. The same waves through the
   JSON API of a server with threaded workers, where each waiting command holds a worker thread:
   ``test_e2e_hanging``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from ocpp_soap.central.app import CentralApp, ServeOptions
from ocpp_soap.central.commander import CommandFailed
from ocpp_soap.central.settings import CentralSettings
from ocpp_soap.central.storage.models import CommandLog, MeterSample, Transaction
from ocpp_soap.soap.client import OcppClient
from tests.central.test_e2e_support import (
    GunicornCS,
    SilentPeer,
    check_waves,
    commands_while_charging,
    rows,
)

# Wall-clock bounds (waves of calls, lateness): run alone, after the parallel part of the suite.
pytestmark = pytest.mark.serial

CS = "CentralSystemService"
CHARGERS = 20
DURATION = 20.0
METER_MESSAGES = 3   # MeterValues per transaction, two samples each; StopTransaction adds one
CALLS = 50           # commands at once to the silent charge point, per wave
TIMEOUT = 1.5        # their command timeout


def _now():
    return datetime.now(UTC)


def _charger(url: str, n: int, stop_at: float, errors: list, done: dict) -> None:
    """Full transactions until ``stop_at``; ``done[box]`` = {transactionId: (meterStart,
    meterStop, Counter of the samples sent as (source, measurand, unit, value))}."""
    box = f"LOAD{n:02d}"
    cp = OcppClient("1.6", CS, box, url, timeout=30)
    mine: dict[int, tuple[int, int, Counter]] = {}
    issued: list[int] = []  # every transactionId the CS gave this charger, repeats included
    try:
        cp.call("BootNotification", {"chargePointVendor": "Load", "chargePointModel": "T"})
        cp.call("StatusNotification", {"connectorId": 1, "status": "Available",
                                       "errorCode": "NoError"})
        meter = n * 1_000_000
        while time.monotonic() < stop_at:
            start = meter
            reply = cp.call("StartTransaction", {"connectorId": 1, "idTag": f"TAG{n:02d}",
                                                 "meterStart": start, "timestamp": _now()})
            if reply["idTagInfo"]["status"] != "Accepted":
                raise AssertionError(f"StartTransaction refused: {reply}")
            tx = reply["transactionId"]
            issued.append(tx)
            sent: Counter = Counter()
            for k in range(METER_MESSAGES):
                meter += 100
                sampled = [("Energy.Active.Import.Register", "Wh", str(meter)),
                           ("Current.Import", "A", str(16 + k))]
                cp.call("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [{
                    "timestamp": _now(), "sampledValue": [
                        {"value": v, "measurand": m, "unit": u} for m, u, v in sampled]}]})
                sent.update(("MeterValues", m, u, v) for m, u, v in sampled)
            meter += 100
            cp.call("StopTransaction", {"transactionId": tx, "meterStop": meter,
                                        "timestamp": _now(), "transactionData": [{
                                            "timestamp": _now(),
                                            "sampledValue": [{"value": str(meter)}]}]})
            sent[("StopTransaction", None, None, str(meter))] += 1
            mine[tx] = (start, meter, sent)
            cp.call("Heartbeat", {})
    except Exception as exc:  # every failure is a finding
        errors.append(f"{box}: {exc!r}")
    done[box] = (mine, issued)


@pytest.fixture
def gunicorn_cs(tmp_path):
    from ocpp_soap.central.cli import main

    db = tmp_path / "load.db"
    url = f"sqlite:///{db}"
    for n in range(CHARGERS):
        assert main(["chargebox", "add", f"LOAD{n:02d}", "--db", url]) == 0
        assert main(["tag", "add", f"TAG{n:02d}", "--db", url]) == 0
    cs = GunicornCS(db, "--log-level", "warning", workers=2)
    yield cs
    assert cs.stop() == 0, cs.log()[-3000:]


def test_twenty_chargers_full_transactions(gunicorn_cs):
    cs = gunicorn_cs
    errors: list[str] = []
    done: dict[str, tuple] = {}
    began = time.monotonic()
    stop_at = began + DURATION
    threads = [threading.Thread(target=_charger, args=(cs.soap_url(), n, stop_at, errors, done),
                                daemon=True)
               for n in range(CHARGERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, stop_at + 60 - time.monotonic()))  # bounded: 60 s after the load ends
    assert not any(t.is_alive() for t in threads), "a charger is still waiting for the CS"
    assert not errors, errors[:5]  # no request failed (a fault, an HTTP error, a timeout)
    assert len(done) == CHARGERS

    expected: dict[int, tuple] = {}  # transactionId → (box, tag, meterStart, meterStop, samples)
    issued: list[int] = []
    for n in range(CHARGERS):
        box = f"LOAD{n:02d}"
        mine, given = done[box]
        assert mine, f"{box} finished no transaction"
        issued += given
        for tx, (start, stop, sent) in mine.items():
            expected[tx] = (box, f"TAG{n:02d}", start, stop, sent)
    assert len(issued) == len(set(issued)) == len(expected)  # the CS never gave an id twice

    # Every transaction exactly once: one row per transactionId given, no other row.
    txs = rows(cs.db_url, Transaction)
    assert sorted(tx.id for tx in txs) == sorted(expected)
    for tx in txs:
        box, tag, start, stop, _ = expected[tx.id]
        assert (tx.charge_box_id, tx.id_tag, tx.connector_id, tx.meter_start, tx.meter_stop,
                tx.stop_count, tx.orphan, tx.stop_timestamp is not None) == \
            (box, tag, 1, start, stop, 1, False, True), tx.id

    # Every sample sent is stored once, in its own transaction, with its value; nothing else is.
    want = Counter({(tx, box, *sample): count for tx, (box, _, _, _, sent) in expected.items()
                    for sample, count in sent.items()})
    got = Counter((s.transaction_id, s.charge_box_id, s.source, s.measurand, s.unit, s.value)
                  for s in rows(cs.db_url, MeterSample))
    assert got == want, (list((want - got).items())[:5], list((got - want).items())[:5])
    samples = (METER_MESSAGES * 2 + 1) * len(expected)
    assert sum(got.values()) == samples

    log = cs.log()
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]
    print(f"{len(expected)} transactions, {samples} samples in {time.monotonic() - began:.1f} s")


def test_silent_charge_point_times_out_and_cs_keeps_serving(gunicorn_cs):
    from ocpp_soap.central.cli import main

    cs = gunicorn_cs
    silent = SilentPeer()
    app = None
    try:
        url = cs.db_url
        assert main(["chargebox", "add", "SILENT", "--endpoint", silent.url, "--version", "1.6",
                     "--db", url]) == 0
        # One command through the CLI: exit 1 after the --timeout, not the 30 s default.
        started = time.monotonic()
        assert main(["call", "SILENT", "Reset", "type=Soft", "--timeout", "1", "--db", url]) == 1
        assert 0.95 <= time.monotonic() - started < 5

        # The CLI's commander (its own process: here the test's), on the same database.
        app = CentralApp(CentralSettings(db_url=url, command_timeout=TIMEOUT), ServeOptions())

        def command(_):
            try:
                app.commander.send("SILENT", "Reset", {"type": "Soft"})
            except CommandFailed as exc:
                return exc.kind
            return "reply"

        run = commands_while_charging(command, calls=CALLS, waves=2, soap_url=cs.soap_url(),
                                      boxes=["LOAD00"])
    finally:
        if app is not None:
            app.close()
        silent.close()
    check_waves(run, outcome="timeout", timeout=TIMEOUT, calls=CALLS, slack=1.0,
                max_latency=1.0)
    logged = [r for r in rows(url, CommandLog) if r.charge_box_id == "SILENT"]
    assert len(logged) == 1 + 2 * CALLS and {r.outcome for r in logged} == {"timeout"}
