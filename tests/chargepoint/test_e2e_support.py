"""A tiny Central System for the simulator's end-to-end tests, over real HTTP on 127.0.0.1.

It is deliberately not the project's CS: the simulator must work against any Central System. It
accepts every boot and every idTag, numbers transactions from 1, records each call (action, payload,
context) in order, and can be stopped and started again on the same port (an outage). Its server
closes each connection after the reply, so a stopped CS is really gone for the charge point's
connection pool.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from ocpp_soap.chargepoint import ChargePoint, Scheduler
from ocpp_soap.soap.client import OcppClient
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.server import OcppEndpoint

CS_PATH = "/ocpp/CentralSystemService"


def _closing(server: BackgroundServer) -> BackgroundServer:
    base = server.server.RequestHandlerClass
    server.server.RequestHandlerClass = type("ClosingHandler", (base,), {"protocol_version": "HTTP/1.0"})
    return server


class TestCentral:
    """In-memory CS: ``calls`` is [(action, payload, ctx)] in arrival order."""

    __test__ = False

    def __init__(self, interval: int = 300) -> None:
        self.calls: list[tuple[str, dict, object]] = []
        self.interval = interval
        self.next_tx = 1
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        actions = ("Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
                   "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StartTransaction",
                   "StatusNotification", "StopTransaction")
        self.app = OcppEndpoint("CentralSystemService", {a: self._handler(a) for a in actions})
        self.server: BackgroundServer | None = None
        self.port = 0

    # --- serving ---------------------------------------------------------------------------
    def start(self) -> TestCentral:
        self.server = _closing(BackgroundServer(self.app, "127.0.0.1", self.port)).start()
        self.port = self.server.port
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{CS_PATH}"

    # --- answers ---------------------------------------------------------------------------
    def _handler(self, action: str) -> Callable:
        def handle(ctx, payload: dict) -> dict:
            with self.cond:
                self.calls.append((action, copy.deepcopy(payload), ctx))
                reply = self._answer(action, payload)
                self.cond.notify_all()
            return reply

        return handle

    def _answer(self, action: str, payload: dict) -> dict:
        now = datetime.now(UTC)
        if action == "BootNotification":
            return {"status": "Accepted", "currentTime": now, "interval": self.interval}
        if action == "Heartbeat":
            return {"currentTime": now}
        if action in ("Authorize", "StopTransaction"):
            return {"idTagInfo": {"status": "Accepted"}} if payload.get("idTag") or action == "Authorize" else {}
        if action == "StartTransaction":
            tx = self.next_tx
            self.next_tx += 1
            return {"transactionId": tx, "idTagInfo": {"status": "Accepted"}}
        if action == "DataTransfer":
            return {"status": "Accepted"}
        return {}

    # --- inspection ------------------------------------------------------------------------
    def of(self, action: str, box: str | None = None) -> list[dict]:
        with self.lock:
            return [p for a, p, c in self.calls if a == action and (box is None or c.charge_box_id == box)]

    def actions(self, skip: tuple[str, ...] = ("Heartbeat",)) -> list[str]:
        with self.lock:
            return [a for a, _, _ in self.calls if a not in skip]

    def wait(self, predicate: Callable[[], object], timeout: float = 5.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                result = predicate()
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; CS saw {self.actions()}")
                self.cond.wait(min(left, 0.05))

    def wait_for(self, action: str, count: int = 1, timeout: float = 5.0, box: str | None = None) -> list[dict]:
        return self.wait(lambda: (lambda got: got if len(got) >= count else None)(self.of(action, box)),
                         timeout, f"{count}× {action}")


def wait_until(predicate: Callable[[], object], timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def start_cp(cs: TestCentral, version: str = "1.6", identity: str = "CB1", connectors: int = 1,
             keys: dict | None = None, state_path=None, **sim) -> ChargePoint:
    """A served and booted simulated charge point with its own scheduler."""
    config = dict(sim)
    config["keys"] = keys or {}
    cp = ChargePoint(identity, cs.url, version, connectors, config, state_path,
                     scheduler=Scheduler(workers=4), timeout=2.0)
    cp.serve("127.0.0.1", 0)
    cp.start()
    seen = len(cs.of("StatusNotification", identity))
    cs.wait(lambda: cp.core.registration == "Accepted", 5, "boot")
    cs.wait(lambda: len(cs.of("StatusNotification", identity)) >= seen + connectors + 1, 5,
            "StatusNotification of the box and each connector")
    return cp


def close_cp(cp: ChargePoint) -> None:
    """Close ``cp`` and then the scheduler :func:`start_cp` gave it."""
    cp.close()
    cp.scheduler.shutdown()


def cs_client(cp: ChargePoint, identity: str | None = None) -> OcppClient:
    """What the CS uses to call ``cp`` (CS→CP operations)."""
    return OcppClient(cp.version, "ChargePointService", identity or cp.identity, cp.url, timeout=5.0)


def status_of(cp: ChargePoint, n: int = 1) -> str:
    return cp.state()["connectors"][n - 1]["status"]


class ProjectCentral(TestCentral):
    """The project's own Central System (SQLite file, real domain) with the same inspection API:
    every message the domain handles is recorded on its way in, and answered by the domain."""

    __test__ = False
    TAGS = ("ABC", "CARD1", "LATE")

    def __init__(self, db_path, interval: int = 300) -> None:
        from ocpp_soap.central.app import CentralApp, ServeOptions
        from ocpp_soap.central.domain import CentralSystem
        from ocpp_soap.central.settings import CentralSettings

        super().__init__(interval)
        recorder = self

        class Recording(CentralSystem):
            pass

        for action, method in (("Authorize", "authorize"), ("BootNotification", "boot"),
                               ("DataTransfer", "data_transfer"),
                               ("DiagnosticsStatusNotification", "diagnostics_status"),
                               ("FirmwareStatusNotification", "firmware_status"),
                               ("Heartbeat", "heartbeat"), ("MeterValues", "meter_values"),
                               ("StartTransaction", "start_transaction"),
                               ("StatusNotification", "status_notification"),
                               ("StopTransaction", "stop_transaction")):
            setattr(Recording, method, recorder._recording(action, getattr(CentralSystem, method)))

        settings = CentralSettings(db_url=f"sqlite:///{db_path}", heartbeat_interval=interval,
                                   unknown_chargebox="accept")
        central = Recording.open(settings)
        for tag in self.TAGS:
            central.admin.add_tag(tag, max_active_transactions=None)
        # The simulator's DataTransfer names its vendor; a real CS answers vendors it knows.
        central.vendors.register("OcppSoapSim", lambda request: {"status": "Accepted"})
        self.central_app = CentralApp(settings, ServeOptions(), central=central)
        self.app = self.central_app

    def _recording(self, action: str, method: Callable) -> Callable:
        recorder = self

        def handle(central, ctx, payload: dict) -> dict:
            reply = method(central, ctx, payload)
            with recorder.cond:
                recorder.calls.append((action, copy.deepcopy(payload), ctx))
                recorder.cond.notify_all()
            return reply

        return handle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ocpp/CentralSystemService"
