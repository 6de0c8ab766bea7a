"""Chargers that keep talking through a database outage, and the checks of what got stored.

Used by the tests that take the database away under load (``test_e2e_pg_outage``). Each simulated
charger behaves as a real one does with transaction messages: a message the CS answered with a
fault is sent again (same content) until it is acknowledged. Every call is recorded with when it
began, how long it took and how it ended, so a test can say "faults while down, never a hang",
and everything acknowledged is remembered to compare with the database afterwards.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp_soap.central.storage.models import MeterSample, Transaction
from ocpp_soap.central.storage.outage import OUTAGE_TEXT
from ocpp_soap.soap.client import OcppClient, RemoteFault
from tests.central.test_e2e_support import rows

CS = "CentralSystemService"


@dataclass
class Call:
    began: float
    action: str
    elapsed: float
    outcome: str  # "ok", "outage" (Receiver/InternalError naming the storage outage), or the error


@dataclass
class Charger:
    """One box: its calls, its acknowledged transactions and meter readings."""

    box: str
    tag: str
    url: str
    calls: list[Call] = field(default_factory=list)
    #: transactionId → (meterStart, meterStop or None, Counter of acknowledged reading values)
    acked: dict[int, list[Any]] = field(default_factory=dict)

    def _send(self, cp: OcppClient, action: str, payload: dict[str, Any],
              stop: threading.Event) -> dict[str, Any] | None:
        """Send until acknowledged (a real charger's transaction-message retry)."""
        while True:
            began = time.monotonic()
            try:
                reply = cp.call(action, payload)
            except RemoteFault as exc:
                fault = exc.fault
                outage = (fault.code == "Receiver" and fault.subcode == "InternalError"
                          and OUTAGE_TEXT in fault.reason)
                self.calls.append(Call(began, action, time.monotonic() - began,
                                       "outage" if outage else f"fault {fault}"))
            except Exception as exc:  # a dropped connection, a timeout, a bare 500
                self.calls.append(Call(began, action, time.monotonic() - began, repr(exc)))
            else:
                self.calls.append(Call(began, action, time.monotonic() - began, "ok"))
                return reply
            if stop.is_set() and action == "Heartbeat":
                return None
            time.sleep(0.2)

    def run(self, stop: threading.Event, meter_base: int) -> None:
        cp = OcppClient("1.6", CS, self.box, self.url, timeout=60)
        self._send(cp, "BootNotification", {"chargePointVendor": "Outage", "chargePointModel": "T"},
                   stop)
        meter = meter_base
        while not stop.is_set():
            start = meter
            reply = self._send(cp, "StartTransaction", {
                "connectorId": 1, "idTag": self.tag, "meterStart": start, "timestamp": _now()},
                stop)
            tx = reply["transactionId"]
            entry = self.acked.setdefault(tx, [start, None, Counter()])
            for _ in range(2):
                meter += 10
                self._send(cp, "MeterValues", {
                    "connectorId": 1, "transactionId": tx, "meterValue": [{
                        "timestamp": _now(), "sampledValue": [{"value": str(meter)}]}]}, stop)
                entry[2][str(meter)] += 1
            meter += 10
            self._send(cp, "StopTransaction", {"transactionId": tx, "meterStop": meter,
                                               "timestamp": _now()}, stop)
            entry[1] = meter
            self._send(cp, "Heartbeat", {}, stop)


def _now() -> datetime:
    return datetime.now(UTC)


def run_chargers(url: str, count: int, during: Any) -> list[Charger]:
    """``count`` chargers against ``url`` while ``during()`` runs (it takes the database away);
    they stop at the end of their current cycle once it returns."""
    chargers = [Charger(f"OUT{n:02d}", f"TAG{n:02d}", url) for n in range(count)]
    stop = threading.Event()
    threads = [threading.Thread(target=c.run, args=(stop, n * 1_000_000), daemon=True)
               for n, c in enumerate(chargers)]
    for t in threads:
        t.start()
    try:
        during()
    finally:
        stop.set()
        for t in threads:
            t.join(120)
    assert not any(t.is_alive() for t in threads), "a charger is still waiting for the CS"
    return chargers


def check_nothing_lost(db_url: str, chargers: list[Charger]) -> None:
    """Every acknowledged Start has exactly one row, every acknowledged Stop its meterStop, and
    every acknowledged reading is stored once (neither missing nor doubled)."""
    txs = {t.id: t for t in rows(db_url, Transaction)}
    samples: dict[int, Counter] = {}
    for s in rows(db_url, MeterSample):
        samples.setdefault(s.transaction_id, Counter())[s.value] += 1
    acked_ids = set()
    for c in chargers:
        for tx_id, (start, stop, readings) in c.acked.items():
            acked_ids.add(tx_id)
            tx = txs.get(tx_id)
            assert tx is not None, f"{c.box}: acknowledged transaction {tx_id} missing"
            assert (tx.charge_box_id, tx.meter_start) == (c.box, start)
            if stop is not None:
                assert tx.meter_stop == stop and tx.stop_count >= 1, (c.box, tx_id)
            stored = samples.get(tx_id, Counter())
            for value, n in readings.items():
                assert stored[value] == n, f"{c.box} tx {tx_id} reading {value}: {stored[value]}"
    # One row per (box, meterStart): a re-sent StartTransaction never made a second transaction.
    starts = Counter((t.charge_box_id, t.meter_start) for t in txs.values())
    assert [k for k, n in starts.items() if n > 1] == []
    assert acked_ids <= set(txs)
