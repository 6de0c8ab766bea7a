"""Queued commands under leases, over real HTTP and real gunicorn workers.

1. A worker SIGKILLed while it delivers a queued command: the command stays ``sending`` until its
   lease runs out, then the box's next message has it delivered again, once (one command-log
   reply, state ``sent``), and never twice at the same time.
2. A command whose expiry passed while its box was away is never sent: ``expired`` in the API.
3. The API and CLI faces: ``?expiresAt=``, ``/chargeboxes/{id}/pending?state=``, ``central
   pending``, ``call --queue --expires``.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta

import requests

from ocpp_soap.central.cli import main
from ocpp_soap.central.storage.models import CommandLog, PendingCommand
from tests.central.peer_support import Box, gunicorn_workers
from tests.central.test_e2e_support import GunicornCS, InProcessCS, rows


def test_worker_killed_mid_delivery(tmp_path):
    db = tmp_path / "cs.db"
    url = f"sqlite:///{db}"
    assert main(["chargebox", "add", "CB1", "--db", url]) == 0
    env = {"OCPP_SOAP_COMMAND_TIMEOUT": "2", "OCPP_SOAP_PENDING_LEASE": "1"}  # lease: 2 + 5 s
    with GunicornCS(db, "--log-level", "warning", env=env, workers=2) as cs:
        box = Box(cs.soap_url())
        box.heartbeat()  # its address is learned; nothing listens there yet
        assert main(["call", "CB1", "ChangeAvailability", "connectorId=0", "type=Inoperative",
                     "--queue", "--db", url]) == 0
        box.listen()
        try:
            box.heartbeat()
            assert box.arrived.wait(20), "the queued command was not delivered"
            (pending,) = rows(url, PendingCommand)
            assert pending.state == "sending" and pending.attempts == 1
            for pid in gunicorn_workers(cs.proc.pid):  # the delivering worker among them
                os.kill(pid, signal.SIGKILL)
            box.hold.set()  # its answer now goes to a dead socket
            time.sleep(1)
            box.hold.clear()
            box.arrived.clear()
            # The box keeps talking: nothing is sent while the lease runs, then once.
            deadline = time.monotonic() + 30
            while len(box.deliveries) < 2 and time.monotonic() < deadline:
                try:
                    box.heartbeat()
                except Exception:  # the master is starting new workers
                    pass
                time.sleep(0.5)
            assert len(box.deliveries) == 2, box.deliveries
            # Not before the lease (7 s from the claim, just before the first delivery) ran out.
            assert box.deliveries[1] - box.deliveries[0] > 5
            box.hold.set()
            for _ in range(6):  # more messages: no third delivery
                box.heartbeat()
                time.sleep(0.5)
        finally:
            box.stop()
        for _ in range(50):
            (pending,) = rows(url, PendingCommand)
            if pending.state == "sent":
                break
            time.sleep(0.1)
        assert (pending.state, pending.attempts) == ("sent", 2)
        assert len(box.deliveries) == 2 and box.most_in_flight == 1
        replies = [r for r in rows(url, CommandLog) if r.outcome == "reply"]
        assert [r.pending_command_id for r in replies] == [pending.id]


def test_expired_command_is_never_sent(tmp_path):
    with InProcessCS(tmp_path / "cs.db") as cs:
        cs.admin.add_chargebox("CB1")
        box = Box(cs.soap_url())
        box.hold.set()
        box.heartbeat()  # learned address, nobody listening
        soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        api = cs.url + "/api/v1"
        r = requests.post(f"{api}/chargeboxes/CB1/operations/ChangeAvailability",
                          params={"queue": "true", "expiresAt": soon},
                          json={"connectorId": 0, "type": "Inoperative"}, timeout=30)
        assert r.status_code == 202, r.text
        pending_id = r.json()["pending_id"]
        queued = requests.get(f"{api}/chargeboxes/CB1/pending", params={"state": "queued"},
                              timeout=10).json()["items"]
        assert [(p["id"], p["state"]) for p in queued] == [(pending_id, "queued")]
        time.sleep(2.5)
        box.listen()
        try:
            for _ in range(4):
                box.heartbeat()
                time.sleep(0.3)
        finally:
            box.stop()
        assert box.deliveries == []
        expired = requests.get(f"{api}/chargeboxes/CB1/pending", params={"state": "expired"},
                               timeout=10).json()["items"]
        assert [p["id"] for p in expired] == [pending_id]
        assert requests.get(f"{api}/pending", timeout=10).json()["count"] == 0
        bad = requests.get(f"{api}/pending", params={"state": "lost"}, timeout=10)
        assert bad.status_code == 400 and bad.json()["field"] == "state"
        bad = requests.post(f"{api}/chargeboxes/CB1/operations/ChangeAvailability",
                            params={"queue": "true", "expiresAt": "soon"},
                            json={"connectorId": 0, "type": "Inoperative"}, timeout=30)
        assert bad.status_code == 400 and bad.json()["field"] == "expiresAt"
        assert requests.get(f"{api}/chargeboxes/NOPE/pending", timeout=10).status_code == 404


def test_cli_pending_and_expires(tmp_path, capsys):
    with InProcessCS(tmp_path / "cs.db") as cs:
        cs.admin.add_chargebox("CB1")
        Box(cs.soap_url()).heartbeat()
        capsys.readouterr()
        assert main(["call", "CB1", "Reset", "type=Soft", "--queue", "--expires",
                     "2099-01-01T00:00:00Z", "--db", cs.db_url]) == 0
        assert main(["pending", "--db", cs.db_url, "--json"]) == 0
        out = capsys.readouterr().out
        assert '"state": "queued"' in out and '"expires_at": "2099-01-01T00:00:00' in out
        assert main(["pending", "--chargebox", "CB1", "--state", "sent", "--db",
                     cs.db_url]) == 0
        assert "no queued commands" in capsys.readouterr().out
        assert main(["call", "CB1", "Reset", "type=Soft", "--expires", "2099-01-01",
                     "--db", cs.db_url]) == 2
        assert "--expires needs --queue" in capsys.readouterr().err
        assert main(["call", "CB1", "Reset", "type=Soft", "--queue", "--expires", "later",
                     "--db", cs.db_url]) == 2
        assert main(["pending", "--state", "lost", "--db", cs.db_url]) == 2
