"""The envelope log never loses a batch to one row the database refuses (SQLite and PostgreSQL).

A batch is one ``executemany``; when the database refuses it, the writer writes the batch again
row by row: the good rows are kept, the bad ones are counted and logged with their identity.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select

from ocpp_soap.central.envelopelog import EnvelopeLogWriter
from ocpp_soap.central.storage.models import EnvelopeLog
from ocpp_soap.central.testing import central_on_file


def test_one_bad_row_keeps_the_others(tmp_path, caplog):
    cs = central_on_file(tmp_path)
    writer = EnvelopeLogWriter(cs.store, linger=0.5)
    now = datetime.now(UTC)
    for n in range(20):
        # Row 7 has no time: every database refuses it (NOT NULL), in the middle of the batch.
        writer.add("in", f"<env n='{n}'/>", at=None if n == 7 else now, charge_box_id="CB1",
                   action="Heartbeat", message_id=f"urn:uuid:{n}")
    with caplog.at_level(logging.WARNING, logger="ocpp_soap.central"):
        writer.flush(timeout=30)
    stored = cs.store.read(lambda s: [r.message_id for r in s.execute(
        select(EnvelopeLog).order_by(EnvelopeLog.id)).scalars()])
    assert stored == [f"urn:uuid:{n}" for n in range(20) if n != 7]
    assert writer.failed == 1
    text = caplog.text
    assert "writing it row by row" in text
    assert "row not written" in text and "urn:uuid:7" in text and "'CB1'" in text
    cs.close()
