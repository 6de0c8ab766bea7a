"""50 commands at once to a charge point that never answers do not stop the CS serving chargers.

``ocpp-soap central serve --workers 2 --threads 32`` (gthread workers: 64 request threads) with a
1.5 s command timeout. A charge point accepts the connection and never answers. Two waves of 50
``POST /api/v1/chargeboxes/SILENT/operations/ClearCache`` each end in 504 within the timeout (the
second wave only fits if the first freed its threads), while three chargers keep sending Heartbeat
and StatusNotification: every one of their requests succeeds, each within 1.5 s.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from ocpp_soap.central.storage.models import CommandLog
from ocpp_soap.soap.client import OcppClient
from tests.central.test_e2e_support import GunicornCS, SilentPeer, rows

CS = "CentralSystemService"
CALLS = 50
THREADS = 32          # per worker: 2 × 32 = 64 > 50 hanging calls, the rest serve chargers
TIMEOUT = 1.5
CHARGERS = 3


def _charger(url: str, box: str, stop: threading.Event, latencies: list, errors: list) -> None:
    cp = OcppClient("1.6", CS, box, url, timeout=10)
    try:
        cp.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
    except Exception as exc:
        errors.append(f"{box} boot: {exc!r}")
        return
    n = 0
    while not stop.is_set():
        n += 1
        t0 = time.monotonic()
        try:
            if n % 2:
                cp.call("Heartbeat", {})
            else:
                cp.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                               "status": "Available"})
        except Exception as exc:  # every failure is a finding
            errors.append(f"{box}: {exc!r}")
        latencies.append(time.monotonic() - t0)
        time.sleep(0.05)


def test_fifty_calls_to_a_hanging_charge_point_leave_chargers_served(tmp_path):
    from ocpp_soap.central.cli import main

    db = tmp_path / "hang.db"
    url = f"sqlite:///{db}"
    silent = SilentPeer()
    assert main(["chargebox", "add", "SILENT", "--endpoint", silent.url, "--db", url]) == 0
    for n in range(CHARGERS):
        assert main(["chargebox", "add", f"CB{n}", "--db", url]) == 0
    cs = GunicornCS(db, "--threads", str(THREADS), "--command-timeout", str(TIMEOUT),
                    "--log-level", "warning", workers=2)
    stop = threading.Event()
    latencies: list[float] = []
    errors: list[str] = []
    chargers = [threading.Thread(target=_charger, args=(cs.soap_url(), f"CB{n}", stop, latencies,
                                                       errors), daemon=True)
                for n in range(CHARGERS)]
    op_url = cs.url + "/api/v1/chargeboxes/SILENT/operations/ClearCache"

    def command(_):
        t0 = time.monotonic()
        r = requests.post(op_url, json={}, timeout=30)
        return r.status_code, time.monotonic() - t0

    waves = []
    try:
        for t in chargers:
            t.start()
        time.sleep(0.5)
        with ThreadPoolExecutor(CALLS) as pool:
            for _ in range(2):
                t0 = time.monotonic()
                outcomes = list(pool.map(command, range(CALLS)))
                waves.append((outcomes, time.monotonic() - t0))
        time.sleep(0.3)
    finally:
        stop.set()
        for t in chargers:
            t.join(15)
        silent.close()
        code = cs.stop()
    assert code == 0, cs.log()[-3000:]

    for outcomes, took in waves:
        assert all(status == 504 for status, _ in outcomes), outcomes
        # each call ends within the configured time (plus the queueing of 50 at once)
        assert all(TIMEOUT - 0.1 <= t < TIMEOUT + 3 for _, t in outcomes), sorted(t for _, t in outcomes)
        assert took < TIMEOUT + 4, took  # all 50 together, not one after another
    assert not errors, (errors[:5], cs.log()[-4000:])
    assert len(latencies) >= 20, len(latencies)
    assert max(latencies) < 1.5, sorted(latencies)[-5:]
    logged = [r for r in rows(url, CommandLog) if r.charge_box_id == "SILENT"]
    assert len(logged) == 2 * CALLS and {r.outcome for r in logged} == {"timeout"}
