"""SIGKILL the Central System in the middle of load, restart it: nothing the chargers sent is lost.

Twenty simulated charge points (the load of ``test_e2e_reliability``; in this process, one shared
scheduler) run transactions with a 1 s MeterValueSampleInterval against ``ocpp-soap central serve
--workers 2`` on a SQLite file. The whole server (gunicorn master and workers: its process group)
gets SIGKILL while they charge; half of the chargers stop their transactions during the outage.
Their transaction messages queue; the CS comes back on the same port and file, the queues drain
(those StopTransactions are acknowledged by the new server), and then:

- every transaction a charger started has exactly one row, with its meterStart and meterStop;
- every meter sample a charger had acknowledged is stored (same transaction, source, second,
  measurand, context, phase and value), nothing stored was never sent, and no reading is stored
  more often than one message carried it (a message re-sent after the crash is not stored twice);
- the database is consistent: ``PRAGMA integrity_check`` is ok and no sample points to a missing
  transaction.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

from ocpp_soap.central.storage.models import MeterSample, Transaction
from ocpp_soap.central.timeutil import as_utc
from ocpp_soap.chargepoint import ChargePoint, Scheduler
from tests.central.test_e2e_support import OCPP_SOAP, rows, wait_for_port
from tests.conftest import ROOT, free_port

CHARGERS = 20
TX_ACTIONS = ("StartTransaction", "MeterValues", "StopTransaction")
KEYS = {"MeterValueSampleInterval": 1, "TransactionMessageRetryInterval": 1,
        "TransactionMessageAttempts": 5, "HeartbeatInterval": 2,
        "StopTxnSampledData": "Energy.Active.Import.Register"}


class KillableCS:
    """``ocpp-soap central serve`` in a process group of its own, so SIGKILL reaches every worker."""

    def __init__(self, db: Path, port: int) -> None:
        self.db, self.port = db, port
        self.url = f"http://127.0.0.1:{port}/ocpp/CentralSystemService"
        self.proc: subprocess.Popen | None = None
        self.logs: list[Path] = []

    def start(self) -> KillableCS:
        log = self.db.with_name(f"cs-{len(self.logs)}.log")
        self.logs.append(log)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OCPP_SOAP_")}
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [str(OCPP_SOAP), "central", "serve", "--port", str(self.port), "--workers", "2",
                 "--db", f"sqlite:///{self.db}", "--log-level", "warning"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, self.proc)
        return self

    def kill(self) -> None:
        """SIGKILL to the process group: master and workers die mid-request, no clean-up."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(5)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _samples(payload: dict, action: str) -> Counter:
    """The readings of one message, keyed as ``_stored`` keys a row (the wire drops sub-seconds)."""
    tx = payload["transactionId"]
    values = payload.get("meterValue" if action == "MeterValues" else "transactionData") or []
    return Counter((tx, action, as_utc(mv["timestamp"]).replace(microsecond=0),
                    sv.get("measurand"), sv.get("context"), sv.get("phase"), sv["value"])
                   for mv in values for sv in mv["sampledValue"])


def _stored(s: MeterSample) -> tuple:
    return (s.transaction_id, s.source, as_utc(s.timestamp), s.measurand, s.context, s.phase,
            s.value)


def test_sigkill_mid_load_then_restart_loses_nothing(tmp_path):
    from ocpp_soap.central.cli import main

    db = tmp_path / "crash.db"
    url = f"sqlite:///{db}"
    for n in range(CHARGERS):
        assert main(["chargebox", "add", f"CRASH{n}", "--db", url]) == 0
        assert main(["tag", "add", f"TAG{n}", "--db", url]) == 0
    cs = KillableCS(db, free_port()).start()
    scheduler = Scheduler(workers=8)
    sims = [ChargePoint(f"CRASH{n}", cs.url, "1.6", 1, {"keys": dict(KEYS)},
                        scheduler=scheduler, timeout=5, history=5000)
            for n in range(CHARGERS)]
    try:
        for sim in sims:
            sim.start()
        _wait(lambda: all(s.summary()["registration"] == "Accepted" for s in sims), 15, "boots")
        for n, sim in enumerate(sims):
            sim.plug(1)
            assert sim.swipe(f"TAG{n}", 1) == "started"
        _wait(lambda: all(_acked(s, "MeterValues") >= 2 for s in sims), 15, "meter values")

        cs.kill()  # in the middle of the load: the chargers are sending every second
        time.sleep(1.5)
        for sim in sims[::2]:  # half stop while the CS is gone: their StopTransaction queues
            assert sim.stop_transaction(1, "Local")
        time.sleep(1.0)
        assert all(s.summary()["queue"] for s in sims), [s.summary()["queue"] for s in sims]

        restarted = time.monotonic()
        cs.start()  # same port, same file
        _wait(lambda: all(not s.summary()["queue"] for s in sims), 20, "queues drained after restart")
        time.sleep(1.5)  # more samples on the new server, then the rest stop
        for sim in sims[1::2]:
            assert sim.stop_transaction(1, "Local")
        _wait(lambda: all(not s.summary()["queue"] and not s.summary()["charging"] for s in sims),
              15, "the last stops")
    finally:
        for sim in sims:
            sim.close()
        scheduler.shutdown()
        cs.stop()

    log = cs.log()
    assert "Traceback" not in log, log[-3000:]

    # What the chargers sent, and what the CS acknowledged (the reply came back).
    starts: dict[int, int] = {}      # transactionId → meterStart
    stops: dict[int, int] = {}       # transactionId → meterStop
    stopped_at: dict[int, float] = {}  # transactionId → when its StopTransaction was acknowledged
    acked: set = set()               # readings acknowledged (see _samples)
    attempted: set = set()           # readings sent at least once
    per_message: Counter = Counter()  # the most copies of a reading that one message carried
    for sim in sims:
        for h in sim.history:
            if h["direction"] != "out" or h["action"] not in TX_ACTIONS:
                continue
            action, payload, reply = h["action"], h["payload"], h["reply"]
            if action == "StartTransaction":
                if h["error"] is None:
                    starts[reply["transactionId"]] = payload["meterStart"]
                continue
            samples = _samples(payload, action)
            attempted.update(samples)
            per_message |= samples
            if h["error"] is None:
                acked.update(samples)
                if action == "StopTransaction":
                    stops[payload["transactionId"]] = payload["meterStop"]
                    stopped_at[payload["transactionId"]] = h["time"]
    assert len(starts) == CHARGERS and set(stops) == set(starts)
    assert sum(1 for sim in sims for h in sim.history if h["error"]) > 0  # the outage was felt
    # The StopTransactions queued during the outage arrived after the restart.
    assert len(stopped_at) == CHARGERS
    assert all(t > restarted for t in stopped_at.values()), \
        sorted(tx for tx, t in stopped_at.items() if t <= restarted)

    txs = rows(url, Transaction)
    assert sorted(t.id for t in txs) == sorted(starts)  # exactly one row per started transaction
    for t in txs:
        assert (t.meter_start, t.meter_stop, t.stop_count, t.orphan) == \
            (starts[t.id], stops[t.id], 1, False), t.id

    stored = Counter(_stored(s) for s in rows(url, MeterSample))
    # A message re-sent after the restart is not stored twice. (One StopTransaction may carry the
    # same value twice in one second, as Sample.Periodic and Transaction.End: context tells them
    # apart, and the bound is what one message carried, not 1.)
    doubled = {k: n for k, n in stored.items() if n > per_message[k]}
    assert not doubled, list(doubled.items())[:5]
    missing = acked - set(stored)
    assert not missing, sorted(missing)[:10]          # nothing acknowledged is lost
    assert set(stored) <= attempted, sorted(set(stored) - attempted)[:10]  # nothing invented
    assert len(acked) >= CHARGERS * 4

    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        dangling = con.execute(
            "SELECT COUNT(*) FROM meter_samples s LEFT JOIN transactions t ON t.id = s.transaction_id"
            " WHERE s.transaction_id IS NOT NULL AND t.id IS NULL").fetchone()[0]
        assert dangling == 0
        half = con.execute("SELECT COUNT(*) FROM transactions WHERE meter_start IS NULL OR "
                           "start_timestamp IS NULL OR charge_box_id IS NULL").fetchone()[0]
        assert half == 0


def _acked(sim: ChargePoint, action: str) -> int:
    return sum(1 for h in list(sim.history) if h["action"] == action and h["error"] is None)
