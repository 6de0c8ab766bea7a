"""Two ``central serve`` instances on one PostgreSQL database behave as one Central System.

Both instances (2 gunicorn workers each) serve the same database, as they would behind any HTTP
load balancer without sticky sessions. Three chargers send every other message to the other
instance, through full transactions; commands are queued through the JSON API of both instances
while the chargers cannot be reached, and more are sent through both once they can. Then:

- every transaction is stored once, with its meterStart and meterStop, and every acknowledged
  meter reading once;
- every queued command was delivered exactly once (counted at the charger), ended ``sent``, with
  one command-log reply each; every direct command got its reply;
- each charger's address was learned, whichever instance heard it.

And a tag limited to one transaction, started with by two boxes at the same moment through the
two instances: exactly one is Accepted, every time.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime

import requests

from ocpp_soap.central.cli import main
from ocpp_soap.central.storage.models import CommandLog, MeterSample, PendingCommand, Transaction
from tests.central.peer_support import Box
from tests.central.test_e2e_support import GunicornCS, rows

BOXES = 3
QUEUED_PER_INSTANCE = 4
CYCLES = 4


def _now() -> datetime:
    return datetime.now(UTC)


def _charge(box: Box, n: int, acked: dict, errors: list) -> None:
    """Full transactions, each message to the next instance in turn."""
    turn = 0

    def call(action, payload):
        nonlocal turn
        client = box.clients[turn % len(box.clients)]
        turn += 1
        return client.call(action, payload)

    try:
        call("BootNotification", {"chargePointVendor": "Scale", "chargePointModel": "Out"})
        meter = n * 1_000_000
        for _ in range(CYCLES):
            start = meter
            tx = call("StartTransaction", {"connectorId": 1, "idTag": f"TAG{n}",
                                           "meterStart": start, "timestamp": _now()})
            assert tx["idTagInfo"]["status"] == "Accepted", tx
            readings = []
            for _ in range(2):
                meter += 10
                call("MeterValues", {"connectorId": 1, "transactionId": tx["transactionId"],
                                     "meterValue": [{"timestamp": _now(),
                                                     "sampledValue": [{"value": str(meter)}]}]})
                readings.append(str(meter))
            meter += 10
            call("StopTransaction", {"transactionId": tx["transactionId"], "meterStop": meter,
                                     "timestamp": _now()})
            acked[tx["transactionId"]] = (box.clients[0].charge_box_id, start, meter, readings)
            call("Heartbeat", {})
    except Exception as exc:
        errors.append(f"SCALE{n}: {exc!r}")


def test_two_instances_one_database(pg_url, tmp_path):
    for n in range(BOXES):
        assert main(["chargebox", "add", f"SCALE{n}", "--db", pg_url]) == 0
        assert main(["tag", "add", f"TAG{n}", "--db", pg_url]) == 0
    with GunicornCS(tmp_path / "a.db", "--log-level", "warning", db_url=pg_url) as a, \
            GunicornCS(tmp_path / "b.db", "--log-level", "warning", db_url=pg_url) as b:
        boxes = [Box(a.soap_url(), f"SCALE{n}", b.soap_url()) for n in range(BOXES)]
        for box in boxes:
            box.hold.set()
            for client in box.clients:  # each instance hears it once: its address is learned
                client.call("Heartbeat", {})
        for n in range(BOXES):
            info = requests.get(f"{b.url}/api/v1/chargeboxes/SCALE{n}", timeout=10).json()
            assert info["endpoint_address"] == boxes[n].url

        # Nobody listens at the chargers yet: commands through both instances are queued.
        queued: list[str] = []
        for n in range(BOXES):
            for k in range(QUEUED_PER_INSTANCE):
                for cs in (a, b):
                    message_id = f"q-{n}-{k}-{cs.port}"
                    r = requests.post(
                        f"{cs.url}/api/v1/chargeboxes/SCALE{n}/operations/DataTransfer",
                        params={"queue": "true"}, timeout=30,
                        json={"vendorId": "scale", "messageId": message_id})
                    assert r.status_code == 202, r.text
                    queued.append(message_id)
        for box in boxes:
            box.listen()
        acked: dict[int, tuple] = {}
        errors: list[str] = []
        try:
            threads = [threading.Thread(target=_charge, args=(box, n, acked, errors))
                       for n, box in enumerate(boxes)]
            for t in threads:
                t.start()
            direct = Counter()
            for k in range(3):  # reachable now: sent at once, through either instance
                for n in range(BOXES):
                    cs = (a, b)[(k + n) % 2]
                    r = requests.post(
                        f"{cs.url}/api/v1/chargeboxes/SCALE{n}/operations/DataTransfer",
                        json={"vendorId": "scale", "messageId": f"d-{n}-{k}"}, timeout=30)
                    direct[r.status_code] += 1
            for t in threads:
                t.join(120)
            # The last messages may have woken deliveries still running: wait for them.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                states = Counter(p.state for p in rows(pg_url, PendingCommand))
                if states == Counter({"sent": len(queued)}):
                    break
                for box in boxes:
                    box.clients[0].call("Heartbeat", {})
                time.sleep(0.5)
        finally:
            for box in boxes:
                box.stop()
        logs = a.log() + b.log()
    assert errors == []
    assert direct == Counter({200: 3 * BOXES})
    delivered = Counter()
    for box in boxes:
        delivered.update(box.transfers)
    assert {m: delivered[m] for m in queued} == {m: 1 for m in queued}
    assert all(delivered[f"d-{n}-{k}"] == 1 for n in range(BOXES) for k in range(3))
    pending = rows(pg_url, PendingCommand)
    assert Counter(p.state for p in pending) == Counter({"sent": len(queued)})
    replies = Counter(r.pending_command_id for r in rows(pg_url, CommandLog)
                      if r.pending_command_id is not None and r.outcome == "reply")
    assert replies == Counter({p.id: 1 for p in pending})

    txs = rows(pg_url, Transaction)
    assert len(txs) == len(acked) == BOXES * CYCLES
    samples = Counter((s.transaction_id, s.value) for s in rows(pg_url, MeterSample))
    for tx in txs:
        box_id, start, stop, readings = acked[tx.id]
        assert (tx.charge_box_id, tx.meter_start, tx.meter_stop, tx.stop_count) == (
            box_id, start, stop, 1)
        assert all(samples[(tx.id, v)] == 1 for v in readings)
    assert "Traceback" not in logs, logs[-3000:]


def test_tag_limit_holds_across_instances(pg_url, tmp_path):
    """One tag allowed one transaction at a time, two boxes starting with it at the same moment
    through different instances: exactly one is Accepted, every round."""
    assert main(["chargebox", "add", "LIM-A", "--db", pg_url]) == 0
    assert main(["chargebox", "add", "LIM-B", "--db", pg_url]) == 0
    assert main(["tag", "add", "SHARED", "--max-active", "1", "--db", pg_url]) == 0
    with GunicornCS(tmp_path / "a.db", "--log-level", "warning", db_url=pg_url) as a, \
            GunicornCS(tmp_path / "b.db", "--log-level", "warning", db_url=pg_url) as b:
        boxes = [Box(a.soap_url(), "LIM-A"), Box(b.soap_url(), "LIM-B")]
        for box in boxes:
            box.heartbeat()
        for meter in range(5):
            barrier = threading.Barrier(2)
            replies: dict[int, dict] = {}

            def start(i: int, meter=meter, barrier=barrier, replies=replies) -> None:
                barrier.wait()
                replies[i] = boxes[i].client.call("StartTransaction", {
                    "connectorId": 1, "idTag": "SHARED", "meterStart": meter,
                    "timestamp": _now()})

            threads = [threading.Thread(target=start, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            statuses = sorted(r["idTagInfo"]["status"] for r in replies.values())
            assert statuses == ["Accepted", "ConcurrentTx"], (meter, replies)
            for i, r in replies.items():
                boxes[i].client.call("StopTransaction", {
                    "transactionId": r["transactionId"], "meterStop": meter + 1,
                    "timestamp": _now()})
