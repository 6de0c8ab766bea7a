"""Pending commands, the command log and the envelope log."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from ocpp_soap.central.errors import NotFound
from ocpp_soap.central.testing import Ctx, central_on_file


@pytest.fixture
def central(tmp_path):
    c = central_on_file(tmp_path, envelope_log_retention_days=7)
    c.admin.add_chargebox("CB1")
    return c


def _deliver_all(central) -> list:
    """Claim and finish as sent, one at a time, as the commander does."""
    done = []
    while (cmd := central.claim_pending("CB1")) is not None:
        assert central.finish_pending(cmd, "sent")
        done.append(cmd)
    return done


def test_pending_commands_in_order_and_once(central):
    when = datetime(2024, 5, 1, tzinfo=UTC)
    a = central.queue_command("CB1", "Reset", {"type": "Soft"})
    b = central.queue_command(
        "CB1", "UpdateFirmware", {"location": "http://x/fw", "retrieveDate": when}
    )
    assert [(p["id"], p["state"]) for p in central.admin.list_pending("CB1")] == [
        (a, "queued"), (b, "queued")]
    central.heartbeat(Ctx(from_address="http://10.0.0.5:8082/"), {})
    first = central.claim_pending("CB1")
    assert (first.id, first.operation, first.attempt) == (a, "Reset", 1)
    # One delivery in flight per box: the next waits until the first is finished.
    assert central.claim_pending("CB1") is None
    assert [p["state"] for p in central.admin.list_pending("CB1")] == ["sending", "queued"]
    assert central.finish_pending(first, "sent")
    second = central.claim_pending("CB1")
    assert (second.id, second.operation) == (b, "UpdateFirmware")
    assert second.payload == {"location": "http://x/fw", "retrieveDate": when}
    assert central.finish_pending(second, "failed")
    assert central.claim_pending("CB1") is None
    assert central.admin.list_pending("CB1") == []
    assert [p["state"] for p in central.admin.list_pending("CB1", include_taken=True)] == [
        "sent", "failed"]
    assert [p["id"] for p in central.admin.list_pending(state="sent")] == [a]
    assert [p["id"] for p in central.admin.list_pending("CB1", state="failed")] == [b]


def test_expired_pending_commands_not_sent(central):
    gone = central.queue_command("CB1", "Reset", {"type": "Hard"}, ttl_seconds=-1)
    keep = central.queue_command("CB1", "Reset", {"type": "Soft"}, ttl_seconds=3600)
    assert [p["state"] for p in central.admin.list_pending("CB1", include_taken=True)] == [
        "expired", "queued"]
    assert [c.id for c in _deliver_all(central)] == [keep]
    (expired,) = central.admin.list_pending("CB1", state="expired")
    assert expired["id"] == gone and expired["attempts"] == 0 and expired["taken_at"] is None


def test_expiry_default_and_explicit(central):
    before = central.clock()
    a = central.queue_command("CB1", "Reset", {"type": "Soft"})
    after = central.clock()
    b = central.queue_command("CB1", "Reset", {"type": "Soft"},
                              expires_at="2099-01-02T03:04:05Z")
    rows = {p["id"]: p for p in central.admin.list_pending("CB1")}
    expires = datetime.fromisoformat(rows[a]["expires_at"])
    # 24 h from the moment of queueing, which lies between the two clock readings
    assert before + timedelta(hours=24) <= expires <= after + timedelta(hours=24)
    assert rows[b]["expires_at"].startswith("2099-01-02T03:04:05")
    with pytest.raises(ValueError):
        central.queue_command("CB1", "Reset", {}, expires_at="tomorrow")


def test_lease_running_out_queues_the_command_again(central):
    """A worker that took a command and died: after the lease it is delivered, once more."""
    now = datetime.now(UTC)
    central.clock = lambda: now
    pid = central.queue_command("CB1", "Reset", {"type": "Soft"})
    taken = central.claim_pending("CB1")
    assert taken.id == pid  # ... and the worker is killed here: no finish, no release
    lease = central.pending_lease()
    central.clock = lambda: now + lease - timedelta(seconds=1)
    assert central.claim_pending("CB1") is None  # still in flight
    assert [p["state"] for p in central.admin.list_pending("CB1")] == ["sending"]
    central.clock = lambda: now + lease + timedelta(seconds=1)
    assert [p["state"] for p in central.admin.list_pending("CB1")] == ["queued"]
    again = central.claim_pending("CB1")
    assert (again.id, again.attempt) == (pid, 2)
    assert not central.finish_pending(taken, "sent")  # the dead worker's lease is void
    assert central.finish_pending(again, "sent")
    assert central.claim_pending("CB1") is None


def test_pending_for_unknown_box_and_cancel(central):
    with pytest.raises(NotFound):
        central.queue_command("NOPE", "Reset", {})
    pid = central.queue_command("CB1", "Reset", {"type": "Soft"})
    central.admin.cancel_pending(pid)
    assert central.claim_pending("CB1") is None
    with pytest.raises(NotFound):
        central.admin.cancel_pending(pid)
    sending = central.queue_command("CB1", "Reset", {"type": "Soft"})
    central.claim_pending("CB1")
    with pytest.raises(NotFound):  # being delivered: not cancelled
        central.admin.cancel_pending(sending)
    with pytest.raises(ValueError):
        central.admin.list_pending(state="lost")


def test_pending_taken_once_by_concurrent_takers(central):
    ids = [central.queue_command("CB1", "Reset", {"n": i}) for i in range(20)]
    results: list[int] = []
    barrier = threading.Barrier(4)

    def take():
        barrier.wait()
        while True:
            cmd = central.claim_pending("CB1")
            if cmd is None:
                if not central.admin.list_pending("CB1"):
                    return
                continue
            results.append(cmd.id)
            assert central.finish_pending(cmd, "sent")

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ids and len(results) == len(set(results))


def test_record_command_outcomes(central):
    central.record_command(
        "CB1",
        "Reset",
        {"type": "Soft"},
        reply={"status": "Accepted"},
        latency_ms=12.5,
        version="1.6",
        message_id="urn:uuid:1",
        endpoint="http://cp/",
    )
    central.record_command("CB1", "Reset", {"type": "Hard"}, fault="Sender: NotSupported")
    central.record_command(
        "CB1", "UnlockConnector", {"connectorId": 1}, timed_out=True, latency_ms=30000
    )
    central.record_command(
        "CB1",
        "GetDiagnostics",
        {"location": "ftp://x", "startTime": datetime(2024, 1, 1, tzinfo=UTC)},
        error="connection refused",
    )
    rows = central.admin.list_commands(charge_box_id="CB1")
    assert [r["outcome"] for r in rows] == ["error", "timeout", "fault", "reply"]
    assert rows[3]["reply"] == {"status": "Accepted"} and rows[3]["latency_ms"] == 12.5
    assert rows[2]["error"] == "Sender: NotSupported"
    assert rows[0]["request"]["startTime"] == "2024-01-01T00:00:00+00:00"  # JSON-friendly
    assert [r["operation"] for r in central.admin.list_commands(outcome="timeout")] == [
        "UnlockConnector"
    ]


def test_envelope_log_and_prune(central):
    now = datetime.now(UTC)
    old = central.log_envelope(
        "in", b"<old/>", charge_box_id="CB1", action="Heartbeat", at=now - timedelta(days=10)
    )
    new = central.log_envelope(
        "out",
        "<new/>",
        charge_box_id="CB1",
        action="HeartbeatResponse",
        message_id="urn:uuid:2",
        relates_to="urn:uuid:1",
        version="1.6",
    )
    central.log_envelope("in", "<other/>", charge_box_id="UNKNOWN-BOX", action="BootNotification")
    assert [r["id"] for r in central.admin.list_envelopes(charge_box_id="CB1")] == [new, old]
    assert central.admin.list_envelopes(direction="out")[0]["relates_to"] == "urn:uuid:1"
    assert "envelope" not in central.admin.list_envelopes(include_envelope=False)[0]
    assert central.prune_envelopes() == 1
    assert [r["id"] for r in central.admin.list_envelopes(charge_box_id="CB1")] == [new]
    assert central.prune_envelopes(older_than_days=0) == 0  # 0 keeps everything


def test_prune_in_batches(central):
    past = datetime.now(UTC) - timedelta(days=30)
    for i in range(7):
        central.log_envelope("in", f"<m{i}/>", at=past)
    assert central.prune_envelopes(batch=3) == 7
    assert central.admin.list_envelopes() == []
    with pytest.raises(ValueError):  # a batch of none would never finish
        central.prune_envelopes(batch=0)


def test_log_envelope_rejects_bad_direction(central):
    with pytest.raises(ValueError):
        central.log_envelope("sideways", "<x/>")


def test_released_pending_command_is_sent_again_in_order(central):
    a = central.queue_command("CB1", "Reset", {"type": "Soft"})
    b = central.queue_command("CB1", "ClearCache", {})
    taken = central.claim_pending("CB1")
    central.release_pending(taken.id)
    assert [c.id for c in _deliver_all(central)] == [a, b]
    with pytest.raises(NotFound):
        central.release_pending(12345)


def test_a_claim_passes_over_the_commands_it_kept(central):
    """The commander puts back a command not for the box's state and asks for the next one."""
    a, b, c = (central.queue_command("CB1", "Reset", {"n": i}) for i in range(3))
    kept = central.claim_pending("CB1")
    assert kept.id == a
    central.release_pending(a)
    second = central.claim_pending("CB1", exclude=[a])
    assert second.id == b
    assert central.finish_pending(second, "sent")
    assert central.claim_pending("CB1", exclude={a, 999}).id == c
    central.release_pending(c)
    assert central.claim_pending("CB1", exclude=(a, c)) is None  # only kept ones wait
    again = central.claim_pending("CB1")  # in queue order again once nothing is kept
    assert (again.id, again.attempt) == (a, 2)
