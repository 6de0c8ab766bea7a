"""Events out of the Central System: Python callbacks now, HTTP webhooks from a durable outbox.

``publish`` takes the events of an answered message or command. Callbacks (``on_event``) run in
this process at once; an event that some webhook wants is first written to the ``events`` table
with one ``webhook_deliveries`` row per such webhook, in one short transaction.

A background thread per process then delivers: for each webhook and box only the oldest open
delivery is tried (so a box's events arrive in order), claimed with a lease so that two worker
processes never post the same one, posted through the address guard (no redirects, no
environment proxies), and on failure retried after a doubling pause (``webhook_retry_min`` up to
``webhook_retry_max``) until ``webhook_max_attempts``, when it is marked failed and the box's
next events follow. A receiver that was down gets everything once it is back.

``endpoint.changed`` events come from the ``box_events`` table the trust rules write (issue 13):
the same thread relays new rows of that kind, once, whichever process sees them first.

The events of a message the domain answers are stored inside the message's own unit of work
(``CentralSystem.publisher`` is this outbox): the message and its events commit together. Events
published after the fact (command results, replies of a user's replacement handler) are written
in a transaction of their own just after; a process killed between the two loses those.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ocpp_soap.soap.logsafe import clean

from .addressguard import AddressGuard, AddressRefused
from .events import ENDPOINT_CHANGED, Event
from .storage.eventtables import (
    DELIVERED,
    FAILED,
    PENDING,
    EventRelayMark,
    OutboxEvent,
    WebhookDelivery,
)
from .storage.models import BoxEvent
from .storage.store import Store
from .timeutil import utc_now
from .trust import ENDPOINT_CHANGED as BOX_ENDPOINT_CHANGED
from .webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Webhook,
    sign,
    webhooks_of,
)

log = logging.getLogger(__name__)

EventCallback = Callable[[Event], Any]
RELAY_NAME = "endpoint_changes"
_HEADS_PER_ROUND = 100


class Outbox:
    """Publishes events to callbacks and to the webhook outbox of one ``Store``."""

    POLL = 0.5
    PRUNE_EVERY = 600.0
    FAILED_PAUSE = 5.0

    def __init__(self, store: Store, guard: AddressGuard, settings: Any,
                 callbacks: Iterable[EventCallback] = (),
                 clock: Callable[[], datetime] = utc_now):
        self.store, self.guard, self.settings, self.clock = store, guard, settings, clock
        self.callbacks: list[EventCallback] = list(callbacks)
        self.webhooks: list[Webhook] = webhooks_of(settings)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._session: requests.Session | None = None

    # -- publishing ----------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return bool(self.callbacks or self.webhooks)

    def webhooks_for(self, kind: str) -> list[str]:
        """The webhooks that want events of ``kind`` (``events.Publisher``)."""
        return [hook.name for hook in self.webhooks if hook.wants(kind)]

    def published(self, events: list[Event]) -> None:
        """Events the domain stored with its message: call back, and wake the deliveries."""
        if any(event.id is not None for event in events):
            self._wake.set()
        self._call_back(events)

    def publish(self, events: Iterable[Event]) -> list[Event]:
        """Store what webhooks want, then call the callbacks; never raises (the message or
        command these events are about has its answer already)."""
        events = list(events)
        if not events or not self.active:
            return events
        wanted = [e for e in events if any(h.wants(e.kind) for h in self.webhooks)]
        if wanted:
            try:
                ids = self.store.write(lambda session: self._store(session, wanted))
                stored = dict(zip(map(id, wanted), ids, strict=True))
                events = [e.stored_as(stored[id(e)]) if id(e) in stored else e for e in events]
                self._wake.set()
            except Exception:
                log.exception("could not write %d event(s) to the outbox", len(wanted))
        self._call_back(events)
        return events

    def _store(self, session: Session, events: list[Event],
               box_event_ids: list[int | None] | None = None) -> list[int]:
        ids = []
        now = self.clock()
        for i, event in enumerate(events):
            row = OutboxEvent(at=event.at, kind=event.kind, charge_box_id=event.charge_box_id,
                              data=event.data,
                              box_event_id=box_event_ids[i] if box_event_ids else None)
            session.add(row)
            session.flush()
            ids.append(row.id)
            for hook in self.webhooks:
                if hook.wants(event.kind):
                    session.add(WebhookDelivery(
                        event_id=row.id, webhook=hook.name, charge_box_id=event.charge_box_id,
                        kind=event.kind, state=PENDING, attempts=0, created_at=now,
                        next_attempt_at=now))
        return ids

    def _call_back(self, events: list[Event]) -> None:
        for event in events:
            for callback in self.callbacks:
                try:
                    callback(event)
                except Exception:
                    log.exception("event callback %s failed on %s",
                                  getattr(callback, "__name__", callback), event.kind)

    # -- the background thread ----------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None and self.active:
            self._thread = threading.Thread(target=self._run, name="ocpp-soap-outbox",
                                            daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.webhook_timeout + 5)
            self._thread = None
        if self._session is not None:
            self._session.close()

    def _run(self) -> None:
        pruned_at = float("-inf")
        while not self._stop.is_set():
            busy = False
            try:
                self.relay()
                if self.webhooks:
                    busy = self.deliver_due() > 0
                if time.monotonic() - pruned_at > self.PRUNE_EVERY:
                    pruned_at = time.monotonic()
                    self.prune()
            except Exception:  # e.g. the database is down: say so, then wait longer
                log.exception("the event outbox failed a round; trying again in %.0f s",
                              self.FAILED_PAUSE)
                self._stop.wait(self.FAILED_PAUSE)
            if not busy:
                self._wake.wait(self.POLL)
                self._wake.clear()

    # -- relaying box events --------------------------------------------------------------------
    def relay(self) -> int:
        """Turn new ``endpoint_changed`` box events into ``endpoint.changed`` events."""
        if not self.store.read(self._relay_due):
            return 0
        try:
            relayed = self.store.write(self._relay)
        except IntegrityError:  # another process relayed the same rows first
            return 0
        if relayed:
            self._wake.set()
            self._call_back(relayed)
        return len(relayed)

    @staticmethod
    def _relay_due(session: Session) -> bool:
        """A read first: the write lock is only taken when there is something to relay."""
        mark = session.get(EventRelayMark, RELAY_NAME)
        if mark is None:
            return True
        newest = session.execute(select(func.max(BoxEvent.id)).where(
            BoxEvent.kind == BOX_ENDPOINT_CHANGED)).scalar()
        return newest is not None and newest > mark.last_id

    def _relay(self, session: Session) -> list[Event]:
        mark = session.get(EventRelayMark, RELAY_NAME, with_for_update=True)
        if mark is None:  # first run: what happened before events were wanted stays history
            last = session.execute(select(func.max(BoxEvent.id))).scalar() or 0
            session.add(EventRelayMark(name=RELAY_NAME, last_id=last))
            return []
        rows = session.execute(
            select(BoxEvent).where(BoxEvent.id > mark.last_id,
                                   BoxEvent.kind == BOX_ENDPOINT_CHANGED)
            .order_by(BoxEvent.id).limit(500)).scalars().all()
        if not rows:
            return []
        events = [Event(ENDPOINT_CHANGED, r.charge_box_id, r.at,
                        {"old_address": r.old_address, "new_address": r.new_address,
                         "message": r.message, "source_ip": r.source_ip, "detail": r.detail})
                  for r in rows]
        mark.last_id = rows[-1].id
        wanted = [(e, r.id) for e, r in zip(events, rows, strict=True)
                  if any(h.wants(e.kind) for h in self.webhooks)]
        if wanted:
            ids = self._store(session, [e for e, _ in wanted], [i for _, i in wanted])
            stored = dict(zip((id(e) for e, _ in wanted), ids, strict=True))
            events = [e.stored_as(stored[id(e)]) if id(e) in stored else e for e in events]
        return events

    # -- delivering -------------------------------------------------------------------------------
    def deliver_due(self) -> int:
        """Try each (webhook, box)'s oldest open delivery that is due; returns how many."""
        done = 0
        for hook in self.webhooks:
            for delivery_id in self._due_heads(hook):
                if self._stop.is_set():
                    return done
                if self._claim(delivery_id):
                    self._deliver(hook, delivery_id)
                    done += 1
        return done

    def _due_heads(self, hook: Webhook) -> list[int]:
        now = self.clock()

        def read(session: Session) -> list[int]:
            heads = (select(func.min(WebhookDelivery.id))
                     .where(WebhookDelivery.webhook == hook.name,
                            WebhookDelivery.state == PENDING)
                     .group_by(WebhookDelivery.charge_box_id).scalar_subquery())
            return list(session.execute(
                select(WebhookDelivery.id).where(
                    WebhookDelivery.id.in_(heads),
                    WebhookDelivery.next_attempt_at <= now,
                    (WebhookDelivery.lease_until.is_(None)) | (WebhookDelivery.lease_until < now))
                .order_by(WebhookDelivery.id).limit(_HEADS_PER_ROUND)).scalars())

        return self.store.read(read)

    def _claim(self, delivery_id: int) -> bool:
        now = self.clock()
        lease = now + timedelta(seconds=self.settings.webhook_timeout + 30)

        def work(session: Session) -> bool:
            result = session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id, WebhookDelivery.state == PENDING,
                       (WebhookDelivery.lease_until.is_(None))
                       | (WebhookDelivery.lease_until < now))
                .values(lease_until=lease))
            return result.rowcount == 1

        return self.store.write(work)

    def _deliver(self, hook: Webhook, delivery_id: int) -> None:
        def read(session: Session) -> tuple[WebhookDelivery, OutboxEvent]:
            delivery = session.get(WebhookDelivery, delivery_id)
            return delivery, session.get(OutboxEvent, delivery.event_id)

        delivery, event = self.store.read(read)
        body = json.dumps({"id": event.id, "kind": event.kind,
                           "charge_box_id": event.charge_box_id, "at": event.at.isoformat(),
                           "data": event.data}, ensure_ascii=False).encode("utf-8")
        status, error = self._post(hook, delivery_id, event.kind, body)
        self._settle(delivery, status, error)

    def _post(self, hook: Webhook, delivery_id: int, kind: str,
              body: bytes) -> tuple[int | None, str | None]:
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", EVENT_HEADER: kind,
                   DELIVERY_HEADER: str(delivery_id), TIMESTAMP_HEADER: timestamp}
        if hook.secret:
            headers[SIGNATURE_HEADER] = sign(hook.secret, timestamp, body)
        try:
            self.guard.check_url(hook.url)
            response = self.session().post(hook.url, data=body, headers=headers,
                                           timeout=self.settings.webhook_timeout,
                                           allow_redirects=False)
        except AddressRefused as exc:
            return None, f"address refused: {exc}"
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:1000]
        with response:
            if 200 <= response.status_code < 300:
                return response.status_code, None
            return response.status_code, f"HTTP {response.status_code}"

    def session(self) -> requests.Session:
        if self._session is None:
            from .cphttp import GuardedAdapter

            s = requests.Session()
            s.trust_env = False
            adapter = GuardedAdapter(self.guard, max_retries=0)
            s.mount("http://", adapter)
            s.mount("https://", adapter)
            s.headers["User-Agent"] = "ocpp-soap-webhooks"
            self._session = s
        return self._session

    def _settle(self, delivery: WebhookDelivery, status: int | None, error: str | None) -> None:
        now = self.clock()
        attempts = (delivery.attempts or 0) + 1
        values: dict[str, Any] = {"attempts": attempts, "last_attempt_at": now,
                                  "last_status": status, "last_error": error,
                                  "lease_until": None}
        if error is None:
            values.update(state=DELIVERED, delivered_at=now)
        elif attempts >= self.settings.webhook_max_attempts:
            values["state"] = FAILED
            log.error("webhook %s: delivery %d (%s of %s) given up after %d attempts: %s",
                      clean(delivery.webhook, 200), delivery.id, delivery.kind,
                      clean(delivery.charge_box_id), attempts, clean(error, 300))
        else:
            pause = min(self.settings.webhook_retry_max,
                        self.settings.webhook_retry_min * 2 ** (attempts - 1))
            values["next_attempt_at"] = now + timedelta(seconds=pause * random.uniform(0.9, 1.1))
            log.warning("webhook %s: delivery %d failed (%s); retry %d in %.1f s",
                        clean(delivery.webhook, 200), delivery.id, clean(error, 300), attempts,
                        pause)
        self.store.write(lambda session: session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values)))


    def prune(self) -> int:
        """Forget settled deliveries, and events without open ones, older than
        ``webhook_retention_days``; pending deliveries are kept, however old."""
        cutoff = self.clock() - timedelta(days=self.settings.webhook_retention_days)

        def work(session: Session) -> int:
            gone = session.execute(delete(WebhookDelivery).where(
                WebhookDelivery.state != PENDING,
                WebhookDelivery.created_at < cutoff)).rowcount
            open_events = select(WebhookDelivery.event_id)
            session.execute(delete(OutboxEvent).where(OutboxEvent.at < cutoff,
                                                      OutboxEvent.id.not_in(open_events)))
            return gone

        return self.store.write(work)


def list_deliveries(store: Store, *, webhook: str | None = None, state: str | None = None,
                    charge_box_id: str | None = None, limit: int | None = 100,
                    offset: int = 0) -> list[dict[str, Any]]:
    """The outbox as the API shows it: newest first, with each delivery's event."""
    def read(session: Session) -> list[dict[str, Any]]:
        query = (select(WebhookDelivery, OutboxEvent)
                 .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
                 .order_by(WebhookDelivery.id.desc()).offset(offset))
        if webhook is not None:
            query = query.where(WebhookDelivery.webhook == webhook)
        if state is not None:
            query = query.where(WebhookDelivery.state == state)
        if charge_box_id is not None:
            query = query.where(WebhookDelivery.charge_box_id == charge_box_id)
        if limit is not None:
            query = query.limit(limit)
        out = []
        for d, e in session.execute(query):
            out.append({
                "id": d.id, "webhook": d.webhook, "state": d.state, "attempts": d.attempts,
                "created_at": d.created_at, "next_attempt_at": d.next_attempt_at,
                "last_attempt_at": d.last_attempt_at, "last_status": d.last_status,
                "last_error": d.last_error, "delivered_at": d.delivered_at,
                "event": {"id": e.id, "kind": e.kind, "charge_box_id": e.charge_box_id,
                          "at": e.at, "data": e.data},
            })
        return out

    return store.read(read)


DELIVERY_STATES = (PENDING, DELIVERED, FAILED)
