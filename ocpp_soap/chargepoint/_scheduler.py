"""Clocks and a timer scheduler for the simulator.

A fleet of a thousand simulated charge points must not need a thousand timer threads, so every
charge point of a process shares one :class:`Scheduler`: one thread keeps a heap of due times and
hands the due callbacks to a small worker pool (a slow HTTP call then blocks one worker, not every
timer of the fleet). Tests swap in :class:`ManualScheduler`, whose fake clock only moves when the
test says so, which keeps them fast and deterministic.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Clock(Protocol):
    """Source of wall-clock time (timezone-aware UTC) and of monotonic seconds."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that only moves when told to; both readings advance together."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


class Timer:
    """Handle of one scheduled callback; ``cancel()`` is idempotent and thread-safe."""

    __slots__ = ("due", "fn", "args", "cancelled")

    def __init__(self, due: float, fn: Callable[..., Any], args: tuple) -> None:
        self.due = due
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


#: the due time of the callback this thread is running (what a message sent from it was scheduled for)
_current = threading.local()


def scheduled_due() -> float | None:
    """Monotonic due time of the scheduled callback running in this thread, if any."""
    return getattr(_current, "due", None)


def _run(timer: Timer) -> None:
    if timer.cancelled:
        return
    _current.due = timer.due
    try:
        timer.fn(*timer.args)
    except Exception:  # a failing callback must not kill the shared thread
        log.exception("scheduled callback %r failed", timer.fn)
    finally:
        _current.due = None


class Lateness:
    """How much later than scheduled messages went out: counts and a bounded log-scale histogram.

    Each message sent from a scheduled callback (heartbeat, meter sample, boot, a deferred status)
    records ``send time - due time``; one later than ``late_after`` seconds counts as late. Memory
    stays constant however long a fleet runs (buckets 5 % wide, from 0.1 ms to about an hour).
    """

    _STEPS_PER_DECADE = 48

    def __init__(self, late_after: float = 1.0) -> None:
        self.late_after = late_after
        self.count = 0
        self.late = 0
        self.max = 0.0
        #: action → [messages, late]
        self.by_action: dict[str, list[int]] = {}
        self._buckets: dict[int, int] = {}
        self._lock = threading.Lock()

    def _bucket(self, delay: float) -> int:
        ms = max(delay * 1000.0, 0.1)
        return int(math.floor(math.log10(ms * 10.0) * self._STEPS_PER_DECADE))

    def _value(self, bucket: int) -> float:
        """Upper edge of a bucket, in seconds."""
        return 10 ** ((bucket + 1) / self._STEPS_PER_DECADE) / 10.0 / 1000.0

    def record(self, delay: float, action: str = "") -> None:
        delay = max(0.0, delay)
        b = self._bucket(delay)
        late = delay > self.late_after
        with self._lock:
            self.count += 1
            self.late += late
            counts = self.by_action.setdefault(action, [0, 0])
            counts[0] += 1
            counts[1] += late
            if delay > self.max:
                self.max = delay
            self._buckets[b] = self._buckets.get(b, 0) + 1

    def quantile(self, q: float) -> float:
        """Approximate ``q`` quantile of the delays in seconds (0 when nothing was recorded)."""
        with self._lock:
            if not self.count:
                return 0.0
            rank = q * self.count
            seen = 0
            for b in sorted(self._buckets):
                seen += self._buckets[b]
                if seen >= rank:
                    return min(self._value(b), self.max)
            return self.max

    def summary(self) -> dict[str, float | int]:
        return {"scheduled": self.count, "late": self.late, "late_after_s": self.late_after,
                "late_share": self.late / self.count if self.count else 0.0,
                "delay_p50_ms": round(self.quantile(0.50) * 1000, 2),
                "delay_p99_ms": round(self.quantile(0.99) * 1000, 2),
                "delay_max_ms": round(self.max * 1000, 2),
                "late_by_action": {a: {"sent": c[0], "late": c[1]}
                                   for a, c in sorted(self.by_action.items())}}


class Scheduler:
    """One background thread for all timers of the process, callbacks on a worker pool."""

    _shared: Scheduler | None = None
    _shared_lock = threading.Lock()

    def __init__(self, clock: Clock | None = None, workers: int = 16) -> None:
        self.clock: Clock = clock or SystemClock()
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cp-worker")
        self._stopped = False
        #: how late the messages sent from this scheduler's callbacks went out
        self.lateness = Lateness()
        self._thread = threading.Thread(target=self._loop, name="cp-scheduler", daemon=True)
        self._thread.start()

    @classmethod
    def shared(cls) -> Scheduler:
        """The process-wide scheduler, created on first use."""
        with cls._shared_lock:
            if cls._shared is None or cls._shared._stopped:
                cls._shared = cls()
            return cls._shared

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        timer = Timer(self.clock.monotonic() + max(0.0, delay), fn, args)
        with self._cond:
            heapq.heappush(self._heap, (timer.due, next(self._seq), timer))
            self._cond.notify()
        return timer

    def call_at(self, when: datetime, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run at a wall-clock time (reservation expiry, firmware retrieveDate)."""
        return self.call_later((when - self.clock.now()).total_seconds(), fn, *args)

    def note_send(self, action: str = "") -> None:
        """A message is going out now: record its delay if a scheduled callback sends it."""
        due = scheduled_due()
        if due is not None:
            self.lateness.record(self.clock.monotonic() - due, action)

    def shutdown(self) -> None:
        """Stop the timer thread and drop the callbacks not yet run (charge points on it stop
        ticking: close them first)."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopped:
                    return
                if not self._heap:
                    self._cond.wait()
                    continue
                due, _, timer = self._heap[0]
                wait = due - self.clock.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            if not timer.cancelled:
                try:
                    self._pool.submit(_run, timer)
                except RuntimeError:  # pool shut down
                    return


class ManualScheduler:
    """Scheduler for tests: callbacks run in the caller's thread when the fake clock passes them."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        timer = Timer(self.clock.monotonic() + max(0.0, delay), fn, args)
        with self._lock:
            heapq.heappush(self._heap, (timer.due, next(self._seq), timer))
        return timer

    def call_at(self, when: datetime, fn: Callable[..., Any], *args: Any) -> Timer:
        return self.call_later((when - self.clock.now()).total_seconds(), fn, *args)

    def run_pending(self) -> int:
        """Run every callback already due (including ones they schedule for now)."""
        return self.advance(0)

    def advance(self, seconds: float) -> int:
        """Move the clock forward, running each callback at its own due time, in order."""
        target = self.clock.monotonic() + seconds
        ran = 0
        while True:
            with self._lock:
                if not self._heap or self._heap[0][0] > target:
                    break
                due, _, timer = heapq.heappop(self._heap)
            if due > self.clock.monotonic():
                self.clock.advance(due - self.clock.monotonic())
            if not timer.cancelled:
                ran += 1
                _run(timer)
        if target > self.clock.monotonic():
            self.clock.advance(target - self.clock.monotonic())
        return ran

    def pending(self) -> int:
        with self._lock:
            return sum(1 for _, _, t in self._heap if not t.cancelled)

    def note_send(self, action: str = "") -> None:
        """Nothing to record: on a manual clock a callback runs exactly when it is due."""

    def shutdown(self) -> None:
        with self._lock:
            self._heap.clear()
