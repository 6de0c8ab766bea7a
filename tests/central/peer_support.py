"""A charge point for end-to-end tests of commands: it listens, counts what arrives, and talks.

``Box`` answers ChangeAvailability (holding the answer until ``hold`` is set, to catch a delivery
in flight) and DataTransfer (recording each ``messageId``), and sends its own messages to one or
more Central System addresses with its listening address as WS-A From.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

from ocpp_soap.soap.client import OcppClient
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.server import OcppEndpoint
from tests.conftest import free_port

CS = "CentralSystemService"


def gunicorn_workers(master: int) -> list[int]:
    """The gunicorn workers: processes whose parent is the master."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                found.append(int(entry.name))
    return found


class Box:
    """A charge point: a SOAP endpoint answering ChangeAvailability, and a client to the CS."""

    def __init__(self, cs_url: str, box: str = "CB1", *more_cs_urls: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/ocpp/ChargePointService"
        self.clients = [OcppClient("1.6", CS, box, u, from_address=self.url, timeout=30)
                        for u in (cs_url, *more_cs_urls)]
        self.client = self.clients[0]
        self.transfers: Counter = Counter()
        self.deliveries: list[float] = []
        self.arrived = threading.Event()
        self.hold = threading.Event()
        self.in_flight = 0
        self.most_in_flight = 0
        self.server: BackgroundServer | None = None

    def change_availability(self, ctx, payload):
        self.deliveries.append(time.monotonic())
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.arrived.set()
        self.hold.wait(60)
        self.in_flight -= 1
        return {"status": "Accepted"}

    def data_transfer(self, ctx, payload):
        self.transfers[payload.get("messageId")] += 1
        return {"status": "Accepted"}

    def listen(self) -> None:
        self.server = BackgroundServer(OcppEndpoint(
            "ChargePointService", {"ChangeAvailability": self.change_availability,
                                   "DataTransfer": self.data_transfer}),
            port=self.port).start()

    def heartbeat(self) -> None:
        self.client.call("Heartbeat", {})

    def stop(self) -> None:
        self.hold.set()
        if self.server is not None:
            self.server.stop()
