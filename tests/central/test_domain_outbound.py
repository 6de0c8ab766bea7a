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


def test_pending_commands_in_order_and_once(central):
    when = datetime(2024, 5, 1, tzinfo=UTC)
    a = central.queue_command("CB1", "Reset", {"type": "Soft"})
    b = central.queue_command(
        "CB1", "UpdateFirmware", {"location": "http://x/fw", "retrieveDate": when}
    )
    assert [p["id"] for p in central.admin.list_pending("CB1")] == [a, b]
    central.heartbeat(Ctx(from_address="http://10.0.0.5:8082/"), {})
    taken = central.take_pending("CB1")
    assert [(t.id, t.operation) for t in taken] == [(a, "Reset"), (b, "UpdateFirmware")]
    assert taken[1].payload == {"location": "http://x/fw", "retrieveDate": when}
    assert central.take_pending("CB1") == []
    assert central.admin.list_pending("CB1") == []
    assert len(central.admin.list_pending("CB1", include_taken=True)) == 2


def test_expired_pending_commands_not_sent(central):
    central.queue_command("CB1", "Reset", {"type": "Hard"}, ttl_seconds=-1)
    keep = central.queue_command("CB1", "Reset", {"type": "Soft"}, ttl_seconds=3600)
    assert [t.id for t in central.take_pending("CB1")] == [keep]


def test_pending_for_unknown_box_and_cancel(central):
    with pytest.raises(NotFound):
        central.queue_command("NOPE", "Reset", {})
    pid = central.queue_command("CB1", "Reset", {"type": "Soft"})
    central.admin.cancel_pending(pid)
    assert central.take_pending("CB1") == []
    with pytest.raises(NotFound):
        central.admin.cancel_pending(pid)


def test_pending_taken_once_by_concurrent_takers(central):
    ids = [central.queue_command("CB1", "Reset", {"n": i}) for i in range(20)]
    results: list[list[int]] = []
    barrier = threading.Barrier(4)

    def take():
        barrier.wait()
        results.append([t.id for t in central.take_pending("CB1")])

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(i for r in results for i in r) == ids


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


def test_log_envelope_rejects_bad_direction(central):
    with pytest.raises(ValueError):
        central.log_envelope("sideways", "<x/>")


def test_released_pending_command_is_sent_again_in_order(central):
    a = central.queue_command("CB1", "Reset", {"type": "Soft"})
    b = central.queue_command("CB1", "ClearCache", {})
    taken = central.take_pending("CB1")
    central.release_pending(taken[0].id)
    central.release_pending(taken[1].id)
    assert [t.id for t in central.take_pending("CB1")] == [a, b]
    with pytest.raises(NotFound):
        central.release_pending(12345)
