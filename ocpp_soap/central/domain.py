"""The Central System's behaviour for the ten CP→CS operations, independent of SOAP and SQL.

Every incoming message runs as one short unit of work (see ``repositories``) that (1) checks who
is talking and records that it was seen and where it can be reached (``admission``), and (2)
does the operation's work. Doing both together keeps the database consistent if a worker dies
mid-message, and keeps SQLite's write lock for milliseconds only. The rules live here once; the
storage answers narrow questions through the repository protocols, on one path for every case.

Handlers take the wire layer's ``CallContext`` and the payload in the neutral 1.6 shape, and
return the reply payload in that shape (a ``Reply``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ocpp_soap.soap.context import CallContext
from ocpp_soap.soap.logsafe import clean

from . import closing, plausibility
from .accounts import Accounts
from .admin import CentralAdmin
from .admission import BOOT_NOTIFICATION, Admission
from .authorization import Authorizer, TagTableAuthorizer, tag_info
from .commands import Outbound
from .events import Event, Publisher, from_message
from .fieldlimits import limit_of
from .metering import (
    LINKED_BY_CONNECTOR,
    SOURCE_METER_VALUES,
    SOURCE_STOP_TRANSACTION,
    ahead_warning,
    build_samples,
    sample_key,
)
from .presence import PresenceBuffer
from .repositories import Repositories, Units
from .settings import CentralSettings
from .storage.sqlrepos import SqlUnits
from .storage.store import Store
from .timeutil import as_utc, utc_now
from .vendors import DataTransferRequest, VendorRegistry

log = logging.getLogger(__name__)

STOP_REASONS = closing.STOP_REASONS
#: Longest stop reason kept as the box wrote it (``stop_reason_raw``).
REASON_TEXT = limit_of("transactions", "stop_reason_raw")
REGISTRATION_STATUSES = ("Accepted", "Pending", "Rejected")

# BootNotification field → ChargeBox column.
BOOT_FIELDS = {
    "chargePointVendor": "charge_point_vendor",
    "chargePointModel": "charge_point_model",
    "chargePointSerialNumber": "charge_point_serial_number",
    "chargeBoxSerialNumber": "charge_box_serial_number",
    "firmwareVersion": "firmware_version",
    "iccid": "iccid",
    "imsi": "imsi",
    "meterType": "meter_type",
    "meterSerialNumber": "meter_serial_number",
}


def stop_reason(reason: Any) -> tuple[str | None, str | None]:
    """(stored reason, raw text): a reason outside the enumeration, read leniently, is stored as
    ``Other`` with what the box wrote kept beside it (1.6 4.10: the stop must not be lost)."""
    if reason is None or reason in STOP_REASONS:
        return reason, None
    log.warning("StopTransaction reason %r is not in the enumeration; stored as Other", reason)
    return "Other", str(reason)[:REASON_TEXT]


class Reply(dict):
    """A reply payload (neutral shape), and what its unit of work learned beside it.

    ``commands_waiting`` answers OCPP-S 5's wake-up question for a BootNotification or a
    Heartbeat: whether commands wait for the box, asked inside the message's own transaction
    (None: not asked). The glue that sends them reads it from here.
    """

    commands_waiting: bool | None = None

    @classmethod
    def of(cls, payload: dict[str, Any], commands_waiting: bool | None = None) -> Reply:
        reply = cls(payload)
        reply.commands_waiting = commands_waiting
        return reply


class CentralSystem(Outbound, Admission):
    """Central System behaviour over a ``Store``; one instance per process is enough."""

    def __init__(
        self,
        store: Store,
        settings: CentralSettings | None = None,
        vendors: VendorRegistry | None = None,
        clock: Callable[[], datetime] = utc_now,
        units: Units | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or CentralSettings()
        self.vendors = vendors or VendorRegistry()
        self.clock = clock
        #: Every message's unit of work (see ``repositories``).
        self.units: Units = units or SqlUnits(store.fast)
        #: Decides every idTag of Authorize, StartTransaction and StopTransaction (see
        #: ``authorization``); replace it to take tags from elsewhere.
        self.authorizer: Authorizer = TagTableAuthorizer(store)
        #: Set by an application that publishes events (``embedding``): the events of each
        #: answered message are stored inside its unit of work, then handed over.
        self.publisher: Publisher | None = None
        #: Set by ``write_presence_behind``: Heartbeats of boxes in good standing are then
        #: answered after a read and their time written in batches (see ``presence``).
        self.presence: PresenceBuffer | None = None
        self.open_gate(self.settings)
        # Both read this system's clock when they run (a test may set another).
        #: The operators' use cases (CLI, API, console) on the same store and address guard.
        self.admin = CentralAdmin(store, self.settings, lambda: self.clock(), guard=self.guard)
        #: The console's operator accounts.
        self.accounts = Accounts(store, lambda: self.clock())

    def write_presence_behind(self, interval: float = 0.5) -> None:
        if self.presence is None:
            self.presence = PresenceBuffer(self.store, interval)
            # what this process saw is visible to its own readers
            self.admin.presence = self.presence

    def close(self) -> None:
        if self.presence is not None:
            self.presence.close()

    @classmethod
    def open(
        cls, settings: CentralSettings, vendors: VendorRegistry | None = None
    ) -> CentralSystem:
        """Open (and migrate) the database named by the settings."""
        store = Store.open(settings.db_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms,
                           max_wait=settings.storage_wait)
        return cls(store, settings, vendors)

    def admit(self, ctx: CallContext, *, pending_ok: bool = False) -> None:
        """Admit the sender of a message answered elsewhere (a user's handler, see
        ``userhandlers``), in a unit of work of its own."""
        now = self.clock()
        self.units.write(lambda repos: self._admit(repos, ctx, now, pending_ok=pending_ok)
                         and None)

    def _answer(self, operation: str, ctx: CallContext, payload: dict[str, Any],
                now: datetime, work: Callable[[Repositories], dict[str, Any]]) -> dict[str, Any]:
        """Run ``work`` in one unit of work with the events its reply makes (see ``events``):
        stored there for webhooks, so a message and its events commit together."""
        publisher = self.publisher
        if publisher is None or not publisher.active:
            return self.units.write(work)

        def unit(repos: Repositories) -> tuple[dict[str, Any], list[Event]]:
            reply = work(repos)
            events = []
            for event in from_message(operation, ctx.charge_box_id, now, payload, reply):
                webhooks = publisher.webhooks_for(event.kind)
                if webhooks:
                    event = event.stored_as(repos.outbox.add(event, webhooks, now))
                events.append(event)
            return reply, events

        reply, events = self.units.write(unit)
        publisher.published(events)
        return reply

    # ----------------------------------------------------------------- operations

    def boot(self, ctx: CallContext, payload: dict[str, Any]) -> Reply:
        """BootNotification: registered → its status; unknown → the ``unknown_chargebox`` policy.
        A box that is not Accepted still has its boot recorded."""
        now = self.clock()

        def answer(status: str, waiting: bool | None) -> Reply:
            return Reply.of({"status": status, "currentTime": now,
                             "interval": self.settings.heartbeat_interval}, waiting)

        def work(repos: Repositories) -> Reply:
            self._check_identity(ctx)
            box = repos.boxes.get(ctx.charge_box_id)
            if box is None:
                box = self._register_unknown(repos, ctx, now)
                if box is None:
                    log.warning("BootNotification from unknown charge box %s rejected",
                                clean(ctx.charge_box_id))
                    return answer("Rejected", None)
            authenticated = self._authenticate(box, ctx)
            for wire_name, column in BOOT_FIELDS.items():
                value = payload.get(wire_name)
                setattr(box, column, None if value is None else str(value))
            box.last_boot_at = now
            events = self._seen(box, ctx, now, authenticated)
            repos.boxes.save(box)
            self._record(repos, events)
            status = box.registration_status
            return answer(status if status in REGISTRATION_STATUSES else "Rejected",
                          repos.commands.waiting(box.charge_box_id, now))

        return self._answer(BOOT_NOTIFICATION, ctx, payload, now, work)

    def heartbeat(self, ctx: CallContext, payload: dict[str, Any]) -> Reply:
        """Heartbeat: the box's seen time, and OCPP-S 5's wake-up question. A box in good
        standing is answered after a read when presence is written behind (see ``presence``)."""
        now = self.clock()
        standing = self._standing(ctx) if self.presence is not None else None
        if standing is not None:
            waiting = self.units.read(
                lambda repos: repos.boxes.commands_if_standing(standing, now))
            if waiting is not None:
                self.presence.touch(ctx.charge_box_id, now, heartbeat=True)
                return Reply.of({"currentTime": now}, waiting)

        def work(repos: Repositories) -> bool:
            self._admit(repos, ctx, now, pending_ok=True, heartbeat=True)
            return repos.commands.waiting(ctx.charge_box_id, now)

        return Reply.of({"currentTime": now}, self.units.write(work))

    def authorize(self, ctx: CallContext, payload: dict[str, Any]) -> Reply:
        now = self.clock()

        def work(repos: Repositories) -> dict[str, Any]:
            self._admit(repos, ctx, now)
            return tag_info(self.authorizer, repos.tags, ctx, payload.get("idTag"), now,
                            "Authorize")

        return Reply({"idTagInfo": self.units.write(work)})

    def start_transaction(self, ctx: CallContext, payload: dict[str, Any]) -> Reply:
        """Always issues a transactionId (the box has started charging whatever we say); a
        retried request (same box, connector, tag, start time and meter) gets the same id."""
        now = self.clock()
        box_id = ctx.charge_box_id
        id_tag = payload.get("idTag")
        connector_id = payload.get("connectorId")
        meter_start = payload.get("meterStart")
        started = as_utc(payload.get("timestamp"))
        reservation_id = payload.get("reservationId")

        def work(repos: Repositories) -> dict[str, Any]:
            self._admit(repos, ctx, now)
            existing = repos.transactions.retried_start(box_id, connector_id, id_tag, started,
                                                        meter_start)
            if existing is not None:
                info = tag_info(self.authorizer, repos.locked_tags, ctx, id_tag, now,
                                "StartTransaction", for_start=True,
                                exclude_transaction=existing.id)
                return {"transactionId": existing.id, "idTagInfo": info}
            # A connector charges one transaction at a time: closing what its box left open
            # there comes first, so the stale one does not count against the tag either.
            self._close_stale(repos, box_id, connector_id, now)
            info = tag_info(self.authorizer, repos.locked_tags, ctx, id_tag, now,
                            "StartTransaction", for_start=True)
            warnings = plausibility.start_warnings(connector_id, meter_start, started, now,
                                                   self.settings.clock_skew)
            if warnings:
                log.warning("%s: StartTransaction: %s", clean(box_id), "; ".join(warnings))
            tx_id = repos.transactions.add({
                "charge_box_id": box_id,
                "connector_id": connector_id,
                "id_tag": id_tag,
                "start_status": info["status"],
                "meter_start": meter_start,
                "start_timestamp": started,
                "reservation_id": reservation_id,
                "stop_count": 0,
                "orphan": False,
                "created_at": now,
                "warnings": warnings or None,
            })
            if reservation_id is not None:
                repos.transactions.use_reservation(reservation_id, box_id, tx_id, now)
            return {"transactionId": tx_id, "idTagInfo": info}

        return Reply(self._answer("StartTransaction", ctx, payload, now, work))

    def _close_stale(self, repos: Repositories, box_id: str, connector_id: int | None,
                     now: datetime) -> None:
        """A start on a connector closes the older open transactions there (their box rebooted
        or lost a reply). BootNotification closes nothing."""
        if connector_id is None:
            return
        for old in repos.transactions.open_on_connector(box_id, connector_id, lock=True):
            note = (f"a new StartTransaction on connector {connector_id} at "
                    f"{now.isoformat()} while this transaction was open")
            closing.close(old, repos.meter_values.energy_readings(old.id), now=now,
                          by=closing.CLOSED_BY_CENTRAL, note=note)
            repos.transactions.save(old)
            log.warning("%s: transaction %s closed: %s", clean(box_id), old.id, note)

    def stop_transaction(self, ctx: CallContext, payload: dict[str, Any]) -> Reply:
        """Closes the transaction and keeps its transactionData. An unknown id gets an orphan row
        (flagged) so its data is kept; a repeated stop keeps the first stop and adds only samples
        not stored yet. The spec forbids answering a StopTransaction with anything but a reply."""
        now = self.clock()
        box_id = ctx.charge_box_id
        reported = payload.get("transactionId")
        id_tag = payload.get("idTag")
        stopped = as_utc(payload.get("timestamp"))

        def work(repos: Repositories) -> dict[str, Any]:
            self._admit(repos, ctx, now)
            tx = repos.transactions.get(reported) if reported is not None else None
            if tx is not None and tx.charge_box_id != box_id:
                tx = None
            # A transaction we closed ourselves still takes the box's own stop values.
            repeated = (tx is not None and tx.stop_timestamp is not None
                        and not closing.closed_by_us(tx))
            if tx is None:
                log.warning("%s: StopTransaction for unknown transaction %s", clean(box_id),
                            clean(reported))
                tx = repos.transactions.get(repos.transactions.add({
                    "charge_box_id": box_id, "id_tag": id_tag, "orphan": True,
                    "reported_transaction_id": reported, "stop_count": 0, "created_at": now}))
            if repeated:
                log.info("%s: repeated StopTransaction for %s", clean(box_id), tx.id)
            else:
                tx.stop_timestamp = stopped or now
                tx.meter_stop = payload.get("meterStop")
                tx.stop_reason, tx.stop_reason_raw = stop_reason(payload.get("reason"))
                warnings = plausibility.stop_warnings(tx.meter_start, tx.meter_stop, stopped, now,
                                                      self.settings.clock_skew)
                if warnings:
                    log.warning("%s: StopTransaction %s: %s", clean(box_id), tx.id,
                                "; ".join(warnings))
                    tx.warnings = plausibility.merged(tx.warnings, warnings)
                tx.stop_id_tag = id_tag
                tx.stop_received_at = now
            tx.stop_count = (tx.stop_count or 0) + 1
            repos.transactions.save(tx)
            rows = build_samples(
                payload.get("transactionData"),
                charge_box_id=box_id,
                connector_id=tx.connector_id,
                transaction_id=tx.id,
                reported_transaction_id=reported,
                source=SOURCE_STOP_TRANSACTION,
                received_at=now,
                clock_skew=self.settings.clock_skew,
            )
            if repeated and rows:
                known = {sample_key(s) for s in
                         repos.meter_values.of_transaction(tx.id, SOURCE_STOP_TRANSACTION)}
                rows = [r for r in rows if sample_key(r) not in known]
            repos.meter_values.add(rows)
            if not id_tag:
                return {}
            return {"idTagInfo": tag_info(self.authorizer, repos.tags, ctx, id_tag, now,
                                          "StopTransaction")}

        return Reply(self._answer("StopTransaction", ctx, payload, now, work))

    def meter_values(self, ctx: CallContext, payload: dict[str, Any]) -> Reply:
        """Samples are kept even when the transactionId matches nothing (linked later by id)."""
        now = self.clock()
        box_id = ctx.charge_box_id
        reported = payload.get("transactionId")
        connector_id = payload.get("connectorId")

        def work(repos: Repositories) -> dict[str, Any]:
            self._admit(repos, ctx, now, pending_ok=reported is None)
            tx_id, linked_by = None, None
            if reported is not None:
                tx = repos.transactions.get(reported)
                if tx is not None and tx.charge_box_id == box_id:
                    tx_id = tx.id
            else:
                tx_id = self._only_open_transaction(repos, box_id, connector_id)
                linked_by = LINKED_BY_CONNECTOR if tx_id is not None else None
            rows = build_samples(
                payload.get("meterValue"),
                charge_box_id=box_id,
                connector_id=connector_id,
                transaction_id=tx_id,
                reported_transaction_id=reported,
                source=SOURCE_METER_VALUES,
                received_at=now,
                clock_skew=self.settings.clock_skew,
                linked_by=linked_by,
            )
            if rows and not self._resent(repos, rows):
                repos.meter_values.add(rows)
            return {}

        return Reply(self._answer("MeterValues", ctx, payload, now, work))

    @staticmethod
    def _only_open_transaction(repos: Repositories, box_id: str,
                               connector_id: int | None) -> int | None:
        """The transaction a MeterValues without transactionId belongs to (1.5 boxes send them
        during a transaction): the one open transaction on its connector, if exactly one."""
        if not connector_id:
            return None
        found = repos.transactions.open_on_connector(box_id, connector_id, limit=2)
        return found[0].id if len(found) == 1 else None

    @staticmethod
    def _resent(repos: Repositories, rows: list[dict[str, Any]]) -> bool:
        """A box re-sends a MeterValues whose reply it never got (the CS went down after
        committing); a message all of whose readings are stored already is that re-send and
        must not count twice. Two messages taken in the same second may share some readings
        (a steady current), so a partial match is not a re-send: both are kept."""
        stamps = [r["timestamp"] for r in rows if r["timestamp"] is not None]
        if not stamps:
            return False
        first = rows[0]
        stored = repos.meter_values.stored_between(first["charge_box_id"], first["source"],
                                                   min(stamps), max(stamps))
        known = {(s["connector_id"], s["reported_transaction_id"], sample_key(s))
                 for s in stored}
        return bool(known) and all(
            (r["connector_id"], r["reported_transaction_id"], sample_key(r)) in known
            for r in rows)

    def status_notification(self, ctx: CallContext, payload: dict[str, Any]) -> Reply:
        """Latest status per connector: the most recently received notification wins (boxes
        set their clocks from our currentTime, so their timestamps jump and cannot order them).
        A timestamp more than ``clock_skew`` ahead is stored as received, with a warning, and
        kept as reported."""
        now = self.clock()
        reported = as_utc(payload.get("timestamp"))
        timestamp = reported or now
        if ahead_warning(reported, now, self.settings.clock_skew):
            log.warning("%s: StatusNotification time %s is ahead of ours (%s); stored as received",
                        clean(ctx.charge_box_id), reported.isoformat(), now.isoformat())
            timestamp = now
        values = {
            "charge_box_id": ctx.charge_box_id,
            "connector_id": int(payload.get("connectorId", 0)),
            "status": payload.get("status"),
            "error_code": payload.get("errorCode"),
            "info": payload.get("info"),
            "vendor_id": payload.get("vendorId"),
            "vendor_error_code": payload.get("vendorErrorCode"),
            "timestamp": timestamp,
            "reported_timestamp": reported,
            "received_at": now,
        }

        def work(repos: Repositories) -> dict[str, Any]:
            self._admit(repos, ctx, now, pending_ok=True)
            repos.boxes.set_connector_status(values)
            return {}

        return Reply(self._answer("StatusNotification", ctx, payload, now, work))

    def firmware_status(self, ctx: CallContext, payload: dict[str, Any]) -> Reply:
        return self._box_status(ctx, "FirmwareStatusNotification", "firmware", payload)

    def diagnostics_status(self, ctx: CallContext, payload: dict[str, Any]) -> Reply:
        return self._box_status(ctx, "DiagnosticsStatusNotification", "diagnostics", payload)

    def _box_status(self, ctx: CallContext, operation: str, kind: str,
                    payload: dict[str, Any]) -> Reply:
        now = self.clock()
        status = payload.get("status")

        def work(repos: Repositories) -> dict[str, Any]:
            box = self._accepted_box(repos, ctx, now, pending_ok=True)
            setattr(box, f"{kind}_status", None if status is None else str(status))
            setattr(box, f"{kind}_status_at", now)
            repos.boxes.save(box)
            repos.boxes.add_status_event({"charge_box_id": box.charge_box_id, "kind": kind,
                                          "status": str(status), "received_at": now})
            return {}

        return Reply(self._answer(operation, ctx, payload, now, work))

    def data_transfer(self, ctx: CallContext, payload: dict[str, Any]) -> Reply:
        """Admit and record in the database; the vendor handler runs outside any transaction so
        slow plug-in code never holds the write lock."""
        now = self.clock()
        self.units.write(lambda repos: self._admit(repos, ctx, now, pending_ok=True) and None)
        data = payload.get("data")
        request = DataTransferRequest(
            charge_box_id=ctx.charge_box_id,
            version=ctx.version,
            vendor_id=str(payload.get("vendorId", "")),
            message_id=payload.get("messageId"),
            data=None if data is None else str(data),
        )
        reply = self.vendors.handle(request)
        self.record_data_transfer(ctx, payload, reply, now)
        return Reply(reply)

    def record_data_transfer(self, ctx: CallContext, payload: dict[str, Any],
                             reply: dict[str, Any], now: datetime) -> None:
        """The data_transfers row of an incoming DataTransfer and the reply it got (also for a
        user's handler that answered it)."""
        data = payload.get("data")
        values = {
            "charge_box_id": ctx.charge_box_id, "direction": "in",
            "vendor_id": str(payload.get("vendorId", "")), "message_id": payload.get("messageId"),
            "data": None if data is None else str(data), "status": reply.get("status"),
            "reply_data": None if reply.get("data") is None else str(reply["data"]),
            "received_at": now,
        }
        self.units.write(lambda repos: repos.boxes.add_data_transfer(values))
