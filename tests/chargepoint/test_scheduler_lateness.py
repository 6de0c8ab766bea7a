"""The fleet's lateness figures: a message sent from a scheduled callback records its delay."""

from __future__ import annotations

import threading
import time

import pytest

from ocpp_soap.chargepoint._scheduler import Lateness, Scheduler, scheduled_due

# Wall-clock bounds (waves of calls, lateness): run alone, after the parallel part of the suite.
pytestmark = pytest.mark.serial


def test_lateness_counts_late_messages_and_quantiles():
    lat = Lateness(late_after=1.0)
    for d in [0.001] * 98 + [1.5, 3.0]:
        lat.record(d, "Heartbeat")
    s = lat.summary()
    assert (s["scheduled"], s["late"], s["late_share"]) == (100, 2, 0.02)
    assert 0.9 <= s["delay_p50_ms"] <= 1.1 and 1400 <= s["delay_p99_ms"] <= 1600
    assert s["delay_max_ms"] == 3000.0 and s["late_by_action"] == {"Heartbeat": {"sent": 100, "late": 2}}


def test_scheduler_records_the_delay_of_a_send_from_a_timer():
    sched = Scheduler(workers=2)
    done = threading.Event()

    def send():
        assert scheduled_due() is not None
        time.sleep(0.05)  # the message goes out 50 ms after its due time
        sched.note_send("MeterValues")
        done.set()

    try:
        sched.call_later(0.01, send)
        assert done.wait(5)
        sched.note_send("Heartbeat")  # not from a timer: not counted
        assert scheduled_due() is None
        s = sched.lateness.summary()
        assert s["scheduled"] == 1 and s["late"] == 0 and 40 <= s["delay_max_ms"] < 1000
    finally:
        sched.shutdown()
