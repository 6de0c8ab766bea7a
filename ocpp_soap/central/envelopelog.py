"""The raw envelope log, written in batches off the request path.

Keeping every envelope is what lets an operator see what a charger really sent; writing two rows
per message inside the request would double the database's write load. A single writer thread
collects rows and writes them in one transaction per batch, and flushes on shutdown.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert

from .fieldlimits import fit_log_value, limit_of
from .storage.models import EnvelopeLog
from .storage.outage import StorageUnavailable, brief
from .storage.store import Store

log = logging.getLogger("ocpp_soap.central")
_COLUMNS = ("at", "direction", "charge_box_id", "action", "message_id", "relates_to", "version",
            "peer", "envelope")
_INSERT = insert(EnvelopeLog.__table__).values({c: bindparam(c) for c in _COLUMNS})
#: The short columns and their declared maximum: a longer value (a 300-character MessageID) is
#: cut and marked, so the row is written on every database; the envelope itself stays whole.
_SHORT = {c: limit_of("envelope_log", c) for c in ("direction", "charge_box_id", "action",
                                                    "message_id", "relates_to", "version", "peer")}


class EnvelopeLogWriter:
    """Queue envelope rows; a daemon thread writes them in batches."""

    #: Longest wait between tries while the database is unavailable.
    OUTAGE_RETRY_MAX = 5.0

    def __init__(self, store: Store, max_batch: int = 1000, max_queue: int = 50_000,
                 linger: float = 0.25, prune: Callable[[], int] | None = None,
                 prune_every: float = 3600.0):
        self.store = store
        #: Retention: ``prune`` (deleting envelopes older than the configured days) runs from
        #: this thread at start and then every ``prune_every`` seconds.
        self.prune = prune
        self.prune_every = prune_every
        self._pruned_at = float("-inf")
        self.max_batch = max_batch
        #: How long a batch gathers rows: the writer then takes SQLite's write lock a few
        #: times a second instead of once per message, out of the chargers' way.
        self.linger = linger
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue(max_queue)
        self.dropped = 0
        #: Rows the database refused one by one (logged with their identity).
        self.failed = 0
        self._hurry = threading.Event()
        self.thread = threading.Thread(target=self._run, name="envelope-log", daemon=True)
        self.thread.start()

    def add(self, direction: str, envelope: bytes | str | None, *, at: datetime,
            charge_box_id: str | None, action: str | None, message_id: str | None,
            relates_to: str | None = None, version: str | None = None,
            peer: str | None = None) -> None:
        if envelope is None:
            return
        text = envelope.decode("utf-8", "replace") if isinstance(envelope, bytes) else envelope
        if "\x00" in text:  # PostgreSQL text cannot hold NUL; SQLite could: the same on both
            text = text.replace("\x00", "\ufffd")
        row = dict(at=at, direction=direction, charge_box_id=charge_box_id, action=action,
                   message_id=message_id, relates_to=relates_to, version=version, peer=peer,
                   envelope=text)
        for column, limit in _SHORT.items():
            value = row[column]
            if value is not None and len(value) > limit:
                row[column] = fit_log_value(value, limit)
        try:
            self.queue.put_nowait(row)
        except queue.Full:  # a stalled database must not stall the chargers
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("envelope log queue full: %d envelopes not logged", self.dropped)

    def _run(self) -> None:
        while True:
            self._maybe_prune()
            try:
                first = self.queue.get(timeout=self.prune_every if self.prune else None)
            except queue.Empty:
                continue
            if first is None:
                return
            # Gather by sleeping, not by waiting on the queue: a waiting get() is woken by every
            # put(), which would hand the GIL back and forth twice per message.
            self._hurry.wait(self.linger)
            rows = [first]
            while len(rows) < self.max_batch:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._write(rows)
                    return
                rows.append(item)
            self._write(rows)

    def _maybe_prune(self) -> None:
        if self.prune is None or time.monotonic() - self._pruned_at < self.prune_every:
            return
        self._pruned_at = time.monotonic()
        try:
            removed = self.prune()
            if removed:
                log.info("envelope log: %d envelopes past retention removed", removed)
        except Exception:
            log.exception("envelope log retention run failed")

    def _write(self, rows: list[dict[str, Any]]) -> None:
        """Write a batch; through an outage, keep it and try again; a batch the database
        refuses is written row by row, so one bad row never takes the others with it."""
        # One executemany on the driver: ORM objects cost ~100 µs a row, and this thread's
        # time is taken from the request threads of the same process (the GIL).
        insert = self.store.fast.statement(_INSERT)
        delay = 0.25
        while rows:
            try:
                self.store.fast.write(lambda cur, rows=rows: cur.executemany(insert, rows))
                return
            except StorageUnavailable as exc:
                log.warning("envelope log: %s; %d rows kept, next try in %.1f s", exc,
                            len(rows), delay)
                time.sleep(delay)
                delay = min(delay * 2, self.OUTAGE_RETRY_MAX)
            except Exception as exc:
                log.warning("envelope log: a batch of %d rows was refused (%s); writing it row "
                            "by row", len(rows), brief(exc))
                rows = self._write_each(insert, rows)

    def _write_each(self, insert: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Write the rows one by one; the rows not tried yet when an outage began are returned
        (kept for the next try), a row the database refuses is counted and logged."""
        for n, row in enumerate(rows):
            try:
                self.store.fast.write(lambda cur, row=row: cur.execute(insert, row))
            except StorageUnavailable:
                return rows[n:]
            except Exception as exc:
                self.failed += 1
                log.error("envelope log: row not written (%s): %s %s from %r, MessageID %r; "
                          "%d rows not written so far", brief(exc), row.get("direction"),
                          row.get("action"), row.get("charge_box_id"), row.get("message_id"),
                          self.failed)
        return []

    def flush(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the writer (used at shutdown and by tests)."""
        self.queue.put(None)
        self._hurry.set()
        self.thread.join(timeout)
