"""The queue of transaction-related messages (StartTransaction, StopTransaction, MeterValues).

Billing depends on these, so none may be lost or reordered: they go through one FIFO that is
persisted with the rest of the state. When the Central System cannot be reached the head stays in
place and is retried later, however long the outage; when the CS answers with a fault the message is
retried ``TransactionMessageAttempts`` times (waiting ``TransactionMessageRetryInterval`` × attempt)
and then dropped, as OCPP 1.6 prescribes.

A StartTransaction queued while offline carries a provisional (negative) transaction id; MeterValues
and StopTransaction of that transaction queue behind it with the same provisional id, which is
swapped for the real one when the StartTransaction answer arrives.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from typing import Any

from ocpp_soap.chargepoint._state import to_dt

log = logging.getLogger(__name__)

TX_ACTIONS = ("StartTransaction", "StopTransaction", "MeterValues")


class Outbox:
    """FIFO of transaction messages with retry and provisional-id mapping."""

    def __init__(self, send: Callable[[str, dict], dict], scheduler: Any,
                 attempts: Callable[[], int], retry_interval: Callable[[], int],
                 on_reply: Callable[[dict, dict, dict | None], None],
                 on_change: Callable[[], None]) -> None:
        self._send = send
        self._scheduler = scheduler
        self._attempts = attempts
        self._retry_interval = retry_interval
        self._on_reply = on_reply
        self._on_change = on_change
        self.items: list[dict] = []
        #: provisional id → CS id (None when the StartTransaction was given up)
        self.id_map: dict[int, int | None] = {}
        #: messages are held until the charge point is registered (BootNotification Accepted)
        self.paused = True
        self._lock = threading.Lock()
        self._draining = False
        self._again = False
        self._retry_timer = None

    def __len__(self) -> int:
        return len(self.items)

    def put(self, action: str, payload: dict, local_tx: int | None = None) -> None:
        with self._lock:
            self.items.append({"action": action, "payload": payload, "local_tx": local_tx, "attempts": 0})

    def kick(self) -> None:
        """Retry now (the CS came back): forget any pending retry wait and drain."""
        with self._lock:
            if self._retry_timer is not None:
                self._retry_timer.cancel()
                self._retry_timer = None
        self.drain()

    def _resolve(self, payload: dict) -> dict | None:
        tid = payload.get("transactionId")
        if isinstance(tid, int) and tid < 0:
            if tid not in self.id_map:
                return payload  # its StartTransaction is this very item or still ahead
            real = self.id_map[tid]
            if real is None:
                return None
            payload = dict(payload, transactionId=real)
        return payload

    def drain(self) -> None:
        """Send queued messages in order until the queue is empty or the CS fails."""
        with self._lock:
            if self._draining:
                self._again = True
                return
            if self.paused or self._retry_timer is not None:
                return
            self._draining = True
        try:
            self._drain_loop()
        finally:
            with self._lock:
                self._draining = False
                again, self._again = self._again, False
        if again:
            self.drain()

    def _drain_loop(self) -> None:
        while True:
            with self._lock:
                if not self.items or self.paused or self._retry_timer is not None:
                    return
                item = self.items[0]
            payload = self._resolve(item["payload"])
            if payload is None:
                log.warning("dropping %s of a transaction the CS never started", item["action"])
                self._pop(item)
                continue
            try:
                reply = self._send(item["action"], payload)
            except ConnectionError:
                self._wait(self._retry_interval())
                return
            except Exception as exc:  # the CS answered with a fault
                item["attempts"] += 1
                if item["attempts"] >= max(1, self._attempts()):
                    log.warning("giving up %s after %d attempts: %s", item["action"], item["attempts"], exc)
                    if item["action"] == "StartTransaction" and item["local_tx"] is not None:
                        self.id_map[item["local_tx"]] = None
                    self._pop(item)
                    self._on_reply(item, payload, None)
                    continue
                self._on_change()
                self._wait(self._retry_interval() * item["attempts"])
                return
            if item["action"] == "StartTransaction" and item["local_tx"] is not None:
                self.id_map[item["local_tx"]] = (reply or {}).get("transactionId")
                if len(self.id_map) > 200:  # old mappings are of no further use
                    for key in list(self.id_map)[:-100]:
                        del self.id_map[key]
            self._pop(item)
            self._on_reply(item, payload, reply or {})

    def _pop(self, item: dict) -> None:
        with self._lock:
            if self.items and self.items[0] is item:
                self.items.pop(0)
        self._on_change()

    def _wait(self, seconds: float) -> None:
        with self._lock:
            self._retry_timer = self._scheduler.call_later(max(0.05, seconds), self._retry)

    def _retry(self) -> None:
        with self._lock:
            self._retry_timer = None
        self.drain()

    def cancel_retry(self) -> None:
        with self._lock:
            if self._retry_timer is not None:
                self._retry_timer.cancel()
                self._retry_timer = None

    # --- persistence -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"items": copy.deepcopy(self.items),
                    "id_map": {str(k): v for k, v in self.id_map.items()}}

    def restore(self, data: dict | None) -> None:
        if not data:
            return
        self.items = [_revive(i) for i in data.get("items", [])]
        self.id_map = {int(k): v for k, v in data.get("id_map", {}).items()}


def _revive(item: dict) -> dict:
    """Turn persisted ISO timestamps back into datetimes (the neutral shape uses datetime)."""
    payload = dict(item["payload"])
    if "timestamp" in payload:
        payload["timestamp"] = to_dt(payload["timestamp"])
    for key in ("meterValue", "transactionData"):
        if key in payload:
            payload[key] = [dict(mv, timestamp=to_dt(mv["timestamp"])) for mv in payload[key]]
    return dict(item, payload=payload)
