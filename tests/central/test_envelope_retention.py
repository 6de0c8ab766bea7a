"""The raw envelope log keeps what the retention setting says, and prunes by itself."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from ocpp_soap.central.envelopelog import EnvelopeLogWriter
from ocpp_soap.central.testing import central_on_file


def test_writer_batches_and_prunes_past_retention(tmp_path):
    central = central_on_file(tmp_path, envelope_log_retention_days=1)
    old = datetime.now(UTC) - timedelta(days=3)
    central.log_envelope("in", b"<old/>", charge_box_id="CB1", action="Heartbeat", at=old)
    writer = EnvelopeLogWriter(central.store, linger=0.05, prune=central.prune_envelopes,
                               prune_every=0.2)
    now = datetime.now(UTC)
    for i in range(25):
        writer.add("in", f"<m{i}/>".encode(), at=now, charge_box_id="CB1", action="Heartbeat",
                   message_id=f"urn:uuid:{i}")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = central.admin.list_envelopes(limit=100)
        if len(rows) == 25:
            break
        time.sleep(0.05)
    writer.flush()
    rows = central.admin.list_envelopes(limit=100)
    assert len(rows) == 25  # the 3-day-old envelope is gone, all 25 new ones are there
    assert all(r["envelope"] != "<old/>" for r in rows)
