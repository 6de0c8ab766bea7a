"""When each box was last seen and last sent a Heartbeat, written behind, in batches.

A Heartbeat carries no data; its only lasting effect is "this box was alive at T". Writing that at
once would take SQLite's write lock for every Heartbeat of every box, and with several workers the
writers queue behind each other. So a Heartbeat from a box in good standing is answered after a
read (WAL readers never wait), and its time joins this buffer, which one thread writes with one
transaction every ``interval`` seconds. A time never moves backwards (another worker may have
written a later one), and ``flush()`` writes at once (shutdown, and before in-process admin reads).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import bindparam, or_, update
from sqlalchemy.orm import Session

from .storage.models import ChargeBox
from .storage.outage import StorageUnavailable
from .storage.store import Store

log = logging.getLogger(__name__)

_T = ChargeBox.__table__.c
_SEEN = (
    update(ChargeBox.__table__)
    .where(_T.charge_box_id == bindparam("box_id"),
           or_(_T.last_seen_at.is_(None), _T.last_seen_at < bindparam("at")))
    .values(last_seen_at=bindparam("at"), updated_at=bindparam("at"))
)
_HEARTBEAT = (
    update(ChargeBox.__table__)
    .where(_T.charge_box_id == bindparam("box_id"),
           or_(_T.last_heartbeat_at.is_(None), _T.last_heartbeat_at < bindparam("at")))
    .values(last_heartbeat_at=bindparam("at"))
)


class PresenceBuffer:
    """Latest seen/heartbeat time per box, flushed by a daemon thread."""

    def __init__(self, store: Store, interval: float = 0.5):
        self.store = store
        self.interval = interval
        self._lock = threading.Lock()
        self._seen: dict[str, datetime] = {}
        self._heartbeat: dict[str, datetime] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="presence", daemon=True)
        self._thread.start()

    def touch(self, charge_box_id: str, at: datetime, heartbeat: bool = False) -> None:
        with self._lock:
            self._seen[charge_box_id] = at
            if heartbeat:
                self._heartbeat[charge_box_id] = at

    def flush(self) -> None:
        with self._lock:
            seen, heartbeat = self._seen, self._heartbeat
            self._seen, self._heartbeat = {}, {}
        if not seen and not heartbeat:
            return

        def work(session: Session) -> None:
            if seen:
                session.execute(_SEEN, [{"box_id": b, "at": t} for b, t in seen.items()])
            if heartbeat:
                session.execute(_HEARTBEAT,
                                [{"box_id": b, "at": t} for b, t in heartbeat.items()])

        try:
            self.store.write(work)
        except Exception as exc:
            if isinstance(exc, StorageUnavailable):  # kept; the pool reconnects on next use
                log.warning("presence of %d boxes not written yet: %s", len(seen), exc)
            else:
                log.exception("could not write presence of %d boxes", len(seen))
            with self._lock:  # keep them for the next round, unless newer times came in
                for b, t in seen.items():
                    self._seen.setdefault(b, t)
                for b, t in heartbeat.items():
                    self._heartbeat.setdefault(b, t)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()
