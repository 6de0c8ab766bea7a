"""Many simulated charge points in one process (``ocpp-soap chargepoint fleet``).

The charge points share what can be shared: one listening port (each has its own path,
``/ocpp/ChargePointService/<id>``, and the host routes by path to one Spyne application), one timer
scheduler with a worker pool, one HTTP connection pool to the Central System and the process-wide
zeep client of the version. What remains per charge point is its core state and a small OcppClient.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ocpp_soap.chargepoint._scheduler import Scheduler
from ocpp_soap.chargepoint._simulator import CP_PATH, ChargePoint, ChargePointHost
from ocpp_soap.soap.client import _session
from ocpp_soap.soap.httpserver import BackgroundServer

log = logging.getLogger(__name__)


@dataclass
class Progress:
    total: int
    booted: int
    charging: int
    transactions: int
    sent: int
    errors: int
    queued: int
    elapsed: float
    late: int = 0
    scheduled: int = 0
    delay_p99_ms: float = 0.0

    def line(self) -> str:
        share = 100.0 * self.late / self.scheduled if self.scheduled else 0.0
        return (f"{self.elapsed:6.1f}s  booted {self.booted}/{self.total}  charging {self.charging}  "
                f"transactions {self.transactions}  messages {self.sent}  queued {self.queued}  "
                f"late {self.late} ({share:.2f}%, p99 {self.delay_p99_ms:.0f} ms)  errors {self.errors}")


def rss_kib() -> tuple[int, int]:
    """(current, peak) resident set size of this process in KiB (Linux ``/proc``; else the peak twice)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]), peak
    except OSError:
        pass
    return peak, peak


class Fleet:
    """``count`` charge points named ``<prefix><n>`` behind one HTTP server."""

    def __init__(self, central_url: str, count: int, prefix: str = "SIM", version: str = "1.6",
                 connectors: int = 1, config: dict | None = None, host: str = "127.0.0.1",
                 port: int = 0, public_base: str | None = None, workers: int | None = None,
                 timeout: float = 10.0, strict: bool = False, capture: Any = None) -> None:
        self.count = count
        self.scheduler = Scheduler(workers=workers or min(64, max(8, count // 8)))
        self.session = _session()  # one connection pool for the whole fleet
        # No per-request look-ups of ~/.netrc and proxy variables (a profile of a fleet of 300
        # showed them as the largest cost in requests itself): a fleet talks to one known URL.
        self.session.trust_env = False
        self.host = ChargePointHost(strict=strict, capture=capture)
        self.server = BackgroundServer(self.host, host, port)
        base = (public_base or self.server.url).rstrip("/")
        width = max(3, len(str(count)))
        self.members: list[ChargePoint] = []
        #: RSS once the first member (and with it the shared zeep client) exists: the base that
        #: the per-charge-point memory figure grows from
        self.rss_base_kib = 0
        for i in range(1, count + 1):
            ident = f"{prefix}{i:0{width}d}"
            sim = ChargePoint(ident, central_url, version, connectors, dict(config or {}),
                                       None, public_url=f"{base}{CP_PATH}/{ident}",
                                       scheduler=self.scheduler, session=self.session,
                                       timeout=timeout, capture=capture, history=0, strict=strict)
            self.host.add(sim)
            self.members.append(sim)
            if i == 1:
                self.rss_base_kib = rss_kib()[0]
        self.started = time.monotonic()
        self.transactions = 0
        self._charging_started: set[str] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.server.url

    def start(self, ramp: float = 0.0) -> Fleet:
        """Serve, then power on every charge point (spread over ``ramp`` seconds)."""
        self.server.start()
        self.started = time.monotonic()
        n = len(self.members)
        for i, sim in enumerate(self.members):
            delay = ramp * i / n if ramp > 0 else 0.0
            self.scheduler.call_later(delay, sim.start)
        return self

    def progress(self) -> Progress:
        booted = charging = sent = errors = queued = 0
        for sim in self.members:
            cp = sim.core
            booted += cp.registration == "Accepted"
            charging += sum(1 for c in cp.connectors.values() if c.transaction is not None)
            sent += sim.sent
            errors += sim.errors
            queued += len(cp.outbox)
        lateness = self.scheduler.lateness
        return Progress(len(self.members), booted, charging, self.transactions, sent, errors, queued,
                        time.monotonic() - self.started, lateness.late, lateness.count,
                        lateness.quantile(0.99) * 1000)

    def summary(self, final: Progress | None = None, lateness: dict | None = None) -> dict[str, Any]:
        """Figures of the run so far as one JSON-ready dict (the CLI prints it as its last line).

        ``lateness`` is a :meth:`Lateness.summary` taken earlier (``run_fleet`` takes it before the
        fleet stops every transaction at once, so the teardown burst does not count as late).
        """
        p = final or self.progress()
        rss, peak = rss_kib()
        cpu = os.times()
        n = len(self.members)
        return {"count": n, "booted": p.booted, "transactions": p.transactions, "sent": p.sent,
                "errors": p.errors, "queued": p.queued, "elapsed_s": round(p.elapsed, 2),
                "messages_per_s": round(p.sent / p.elapsed, 2) if p.elapsed > 0 else 0.0,
                **(lateness or self.scheduler.lateness.summary()),
                "cpu_s": round(cpu.user + cpu.system, 2), "rss_kib": rss, "rss_peak_kib": peak,
                "rss_base_kib": self.rss_base_kib,
                "rss_per_cp_kib": round((peak - self.rss_base_kib) / n, 1) if n else 0.0}

    def charge_booted(self, tag: Callable[[ChargePoint], str] | None = None) -> int:
        """Plug in and swipe a card at every booted charge point not yet sent charging."""
        n = 0
        for sim in self.members:
            if sim.core.registration == "Accepted" and sim.identity not in self._charging_started:
                self._charging_started.add(sim.identity)
                self.scheduler.call_later(0, self._charge, sim, (tag or _tag)(sim))
                n += 1
        return n

    def _charge(self, sim: ChargePoint, tag: str) -> None:
        sim.plug(1)
        if sim.swipe(tag, 1) == "started":
            with self._lock:
                self.transactions += 1

    def finish(self, timeout: float = 10.0) -> None:
        """Stop every transaction (local stop), unplug, and wait for the queues to empty."""
        done = threading.Event()
        pending = [len(self.members)]
        lock = threading.Lock()

        def one(sim: ChargePoint) -> None:
            try:
                for n in sim.core.connectors:
                    sim.stop_transaction(n, "Local")
                    sim.unplug(n)
            finally:
                with lock:
                    pending[0] -= 1
                    if pending[0] == 0:
                        done.set()

        if not self.members:
            return
        for sim in self.members:
            self.scheduler.call_later(0, one, sim)
        deadline = time.monotonic() + timeout
        done.wait(timeout)
        while time.monotonic() < deadline and any(len(s.core.outbox) for s in self.members):
            time.sleep(0.05)

    def close(self) -> None:
        for sim in self.members:
            sim.core.stop()
        self.server.stop()
        self.scheduler.shutdown()


def _tag(sim: ChargePoint) -> str:
    return ("T" + sim.identity)[:20]


def run_fleet(fleet: Fleet, charge: bool = False, duration: float | None = None, ramp: float = 0.0,
              every: float | None = None, out=None, stop: threading.Event | None = None,
              summary: Any = None) -> Progress:
    """Start, show progress until ``duration`` passes (or ``stop`` is set), finish, close.

    With ``summary`` (a stream), :meth:`Fleet.summary` is written to it as one JSON line at the end.
    """
    out = out or sys.stderr
    tty = hasattr(out, "isatty") and out.isatty()
    every = every if every is not None else (0.5 if tty else 5.0)
    stop = stop or threading.Event()
    fleet.start(ramp)
    last_print = 0.0
    end = time.monotonic() + duration if duration else None
    try:
        while not stop.is_set():
            if charge:
                fleet.charge_booted()
            now = time.monotonic()
            if now - last_print >= every:
                _show(out, fleet.progress(), tty)
                last_print = now
            if end is not None and now >= end:
                break
            stop.wait(0.1)
    except KeyboardInterrupt:
        pass
    # The run itself, not the teardown below (every transaction stopped at once).
    lateness = fleet.scheduler.lateness.summary()
    lateness["queued_at_end"] = fleet.progress().queued
    try:
        if charge:
            fleet.finish(timeout=max(10.0, len(fleet.members) / 50))
        final = fleet.progress()
        _show(out, final, tty, final_line=True)
        if summary is not None:
            summary.write(json.dumps(fleet.summary(final, lateness)) + "\n")
            summary.flush()
    finally:
        fleet.close()
    return final


def _show(out, p: Progress, tty: bool, final_line: bool = False) -> None:
    if tty:
        out.write("\r\x1b[K" + p.line() + ("\n" if final_line else ""))
    else:
        out.write(p.line() + "\n")
    out.flush()
