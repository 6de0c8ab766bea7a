"""A fake Central System and a factory for charge points on a manual clock (shared by the core tests).

The fake records every CP→CS call in order, answers like a friendly CS, and can go offline (raising
ConnectionError, as the wire layer does when it cannot connect) or answer with faults.
"""

from __future__ import annotations

import copy
from datetime import timedelta

from ocpp_soap.chargepoint._core import ChargePointCore
from ocpp_soap.chargepoint._scheduler import ManualScheduler


class FakeCentral:
    def __init__(self, boot: list[str] | None = None, interval: int = 60) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.offline = False
        self.fault: set[str] = set()
        self.boot_statuses = list(boot or [])
        self.interval = interval
        self.tags: dict[str, str] = {}
        self.parents: dict[str, str] = {}
        self.next_tx = 100
        self.clock = None

    def call(self, action: str, payload: dict) -> dict:
        if self.offline:
            raise ConnectionError("central system unreachable")
        if action in self.fault:
            raise RuntimeError("SOAP fault")
        self.calls.append((action, copy.deepcopy(payload)))
        now = self.clock.now() if self.clock else None
        if action == "BootNotification":
            status = self.boot_statuses.pop(0) if self.boot_statuses else "Accepted"
            return {"status": status, "currentTime": now, "interval": self.interval}
        if action == "Heartbeat":
            return {"currentTime": now}
        if action in ("Authorize", "StartTransaction", "StopTransaction"):
            reply: dict = {}
            tag = payload.get("idTag")
            if tag:
                info = {"status": self.tags.get(tag, "Accepted")}
                if tag in self.parents:
                    info["parentIdTag"] = self.parents[tag]
                reply["idTagInfo"] = info
            if action == "StartTransaction":
                reply["transactionId"] = self.next_tx
                self.next_tx += 1
            return reply
        return {}

    # --- inspection helpers -------------------------------------------------------------------
    def actions(self, *, skip: tuple[str, ...] = ("Heartbeat",)) -> list[str]:
        return [a for a, _ in self.calls if a not in skip]

    def of(self, action: str) -> list[dict]:
        return [p for a, p in self.calls if a == action]

    def statuses(self, connector: int | None = None) -> list[str]:
        return [p["status"] for p in self.of("StatusNotification")
                if connector is None or p["connectorId"] == connector]

    def clear(self) -> None:
        self.calls.clear()


def make(version: str = "1.6", connectors: int = 1, keys: dict | None = None,
         state_path=None, boot: list[str] | None = None, start: bool = True, **sim):
    """(charge point, fake CS, manual scheduler), booted unless ``start=False``."""
    sched = ManualScheduler()
    cs = FakeCentral(boot=boot)
    cs.clock = sched.clock
    cfg = dict(sim)
    cfg["keys"] = keys or {}
    cp = ChargePointCore("CB1", version, connectors, cfg, state_path=state_path, central=cs, scheduler=sched)
    if start:
        cp.start()
        sched.run_pending()
    return cp, cs, sched


def restart(cp: ChargePointCore, cs: FakeCentral, sched: ManualScheduler, state_path, **kw):
    """A new ChargePointCore process on the same state file, clock and CS."""
    cp.stop()
    keys = kw.pop("keys", {})
    new = ChargePointCore(cp.identity, cp.version, len(cp.connectors), {"keys": keys, **kw},
                      state_path=state_path, central=cs, scheduler=sched)
    new.start()
    sched.run_pending()
    return new


def until(sched: ManualScheduler, seconds: float) -> None:
    sched.advance(seconds)


__all__ = ["FakeCentral", "make", "restart", "until", "timedelta"]
