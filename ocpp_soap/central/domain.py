"""The Central System's behaviour for the ten CP→CS operations, independent of SOAP.

Every incoming message runs as one short write transaction that (1) checks who is talking
(registered, its credentials — password, certificate, source network — see ``trust``, and
Accepted unless it is a BootNotification), (2) records that the box was seen and where it can be
reached (under the trust rules of ``_learn``), and (3) does the operation's work.
Doing all three together keeps the database consistent if a worker dies mid-message, and keeps
SQLite's write lock for milliseconds only.

Handlers take the wire layer's ``CallContext`` (duck-typed: only its attributes are used) and the
payload in the neutral 1.6 shape, and return the reply payload in that shape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ocpp_soap.soap.logsafe import clean

from . import closing, hotpath, plausibility
from .addressguard import AddressRefused
from .authorization import Authorizer, TagTableAuthorizer, tag_info
from .commands import HAS_PENDING, Outbound, waiting_for
from .endpoint import (
    SOURCE_FROM,
    SOURCE_REPLY_TO,
    LearnedEndpoint,
    called_address,
    client_address,
    learn_endpoint,
)
from .errors import SecurityError
from .fieldlimits import limit_of
from .gate import TrustGate
from .idtags import CursorTags
from .metering import (
    LINKED_BY_CONNECTOR,
    SOURCE_METER_VALUES,
    SOURCE_STOP_TRANSACTION,
    ahead_warning,
    build_samples,
    insert_samples,
    sample_key,
)
from .presence import PresenceBuffer
from .settings import CentralSettings
from .storage.models import (
    ChargeBox,
    ConnectorStatus,
    DataTransfer,
    MeterSample,
    Reservation,
    StatusEvent,
    Transaction,
)
from .storage.store import Store, upsert
from .timeutil import as_utc, utc_now
from .trust import (
    AUTH_FAILED,
    ENDPOINT_CHANGED,
    ENDPOINT_IGNORED,
    ENDPOINT_REFUSED,
    MAX_IDENTITY,  # the longest identity a box is registered under (the column's length)
    RATE_LIMITED,
    REGISTERED,
    Refused,
)
from .vendors import DataTransferRequest, VendorRegistry

log = logging.getLogger(__name__)

STOP_REASONS = closing.STOP_REASONS


def stop_reason(reason: Any) -> tuple[str | None, str | None]:
    """(stored reason, raw text): a reason outside the enumeration, read leniently, is stored as
    ``Other`` with what the box wrote kept beside it (1.6 4.10: the stop must not be lost)."""
    if reason is None or reason in STOP_REASONS:
        return reason, None
    log.warning("StopTransaction reason %r is not in the enumeration; stored as Other", reason)
    return "Other", str(reason)[:REASON_TEXT]

BOOT_NOTIFICATION = "BootNotification"
#: Longest stop reason kept as the box wrote it (``stop_reason_raw``).
REASON_TEXT = limit_of("transactions", "stop_reason_raw")
REGISTRATION_STATUSES = ("Accepted", "Pending", "Rejected")
# Explicit statements of the box's URL outrank our guess from the peer address.
_STRONG_SOURCES = {SOURCE_FROM, SOURCE_REPLY_TO, "manual"}

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


def _standing_conditions() -> tuple[Any, ...]:
    t = ChargeBox.__table__.c
    address, source = bindparam("address"), bindparam("source")
    return (
        t.charge_box_id == bindparam("box_id"),
        t.registration_status == "Accepted",
        t.auth_secret_hash.is_(None),
        t.allow_from.is_(None),
        t.cert_fingerprint.is_(None),
        t.ocpp_version == bindparam("version"),
        t.learned_address == address,
        t.learned_source == source,
        t.called_address.is_not_distinct_from(bindparam("called")),
        t.endpoint_override.is_(True)
        | ((t.endpoint_address == address) & (t.endpoint_source == source)),
    )


def _quick_accept_statement(heartbeat: bool) -> Any:
    """Built once: constructing a statement costs more than running it (see ``_quick_accept``)."""
    values: dict[str, Any] = {"last_seen_at": bindparam("now"), "updated_at": bindparam("now")}
    if heartbeat:
        values["last_heartbeat_at"] = bindparam("now")
    return update(ChargeBox.__table__).where(*_standing_conditions()).values(**values)


_STORED_SAMPLES = select(MeterSample.__table__).where(
    MeterSample.__table__.c.charge_box_id == bindparam("box_id"),
    MeterSample.__table__.c.timestamp.in_(bindparam("stamps", expanding=True)),
    MeterSample.__table__.c.source == bindparam("source"),
)
_QUICK_SEEN = _quick_accept_statement(heartbeat=False)
_QUICK_HEARTBEAT = _quick_accept_statement(heartbeat=True)
_GOOD_STANDING = select(ChargeBox.__table__.c.charge_box_id).where(*_standing_conditions())
#: The same, and whether commands wait for the box, in one round trip (every Heartbeat asks).
_GOOD_STANDING_PENDING = select(
    ChargeBox.__table__.c.charge_box_id,
    waiting_for(ChargeBox.__table__.c.charge_box_id, bindparam("now")),
).where(*_standing_conditions())


class CallContextLike(Protocol):
    """What the domain reads from the wire layer's ``ocpp_soap.soap.context.CallContext``."""

    charge_box_id: str
    version: str
    action: str
    message_id: str | None
    from_address: str | None
    reply_to: str | None
    to: str | None
    peer: str | None
    http_headers: dict[str, str]
    basic_auth_user: str | None
    basic_auth_password: str | None
    client_cert: dict | None


class CentralSystem(Outbound, TrustGate):
    """Central System behaviour over a ``Store``; one instance per process is enough."""

    def __init__(
        self,
        store: Store,
        settings: CentralSettings | None = None,
        vendors: VendorRegistry | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.settings = settings or CentralSettings()
        self.vendors = vendors or VendorRegistry()
        self.clock = clock
        #: Decides every idTag of Authorize, StartTransaction and StopTransaction (see
        #: ``authorization``); replace it to take tags from elsewhere.
        self.authorizer: Authorizer = TagTableAuthorizer(store)
        #: Set by ``write_presence_behind``: Heartbeats of boxes in good standing are then
        #: answered after a read and their time written in batches (see ``presence``).
        self.presence: PresenceBuffer | None = None
        self.open_gate(self.settings)

    def write_presence_behind(self, interval: float = 0.5) -> None:
        if self.presence is None:
            self.presence = PresenceBuffer(self.store, interval)

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

    @property
    def admin(self):  # -> CentralAdmin (import deferred: admin imports this module's helpers)
        from .admin import CentralAdmin

        if self.presence is not None:  # what this process saw is visible to its own readers
            self.presence.flush()

        return CentralAdmin(self.store, self.settings, self.clock, guard=self.guard)

    @property
    def accounts(self):  # -> Accounts (the console's operator accounts)
        from .accounts import Accounts

        return Accounts(self.store, self.clock)

    # ----------------------------------------------------------------- who is talking

    def _accepted_box(self, session: Session, ctx: CallContextLike, now: datetime,
                      pending_ok: bool = False) -> ChargeBox:
        """The sender's row, if it may send this message; records that it was seen.

        The box proves who it is first (``TrustGate._authenticate``). Accepted boxes may send
        anything. A Pending box (OCPP 1.6 4.2) may send what keeps it known while it waits
        (``pending_ok``: Heartbeat, StatusNotification, MeterValues without a transaction,
        status notifications, DataTransfer), not Authorize or transaction messages. An unknown
        box is registered on its first message of any kind when the ``unknown_chargebox``
        policy is ``accept`` (Accepted) or ``pending`` (Pending): chargers moved to a new
        Central System do not reboot first.
        """
        self._check_identity(ctx)
        box = session.get(ChargeBox, ctx.charge_box_id)
        if box is None:
            box = self._register_unknown(session, ctx, now)
            if box is None:
                raise Refused(ctx.charge_box_id, AUTH_FAILED, "unknown charge box",
                              record=False)
        authenticated = self._authenticate(box, ctx)
        status = box.registration_status
        if status != "Accepted" and not (status == "Pending" and pending_ok):
            action = getattr(ctx, "action", None) or "this message"
            raise SecurityError(
                f"charge box {ctx.charge_box_id!r} is {status}, not Accepted"
                + (f": {action} not allowed" if status == "Pending" else "")
            )
        self._record(session, self._seen(box, ctx, now, authenticated))
        return box

    def _register_unknown(self, session: Session, ctx: CallContextLike,
                          now: datetime) -> ChargeBox | None:
        """A new row for an unknown box under the ``accept``/``pending`` policy, else None."""
        policy = self.settings.unknown_chargebox
        if policy == "reject":
            return None
        identity = ctx.charge_box_id
        if not identity or len(identity) > MAX_IDENTITY or not identity.isprintable():
            log.warning("unknown charge box with an unusable identity %s not registered",
                        clean(identity, 80))
            return None
        ip = self.source_ip(ctx)
        why = self.registrations.allow(ip)
        if why is not None:
            raise Refused(identity, RATE_LIMITED, f"unknown box not registered: {why}",
                          throttle_key=("registration", ip))
        self._record(session, [self._event(identity, REGISTERED, ctx, now,
                                           detail=f"unknown_chargebox = {policy}")])
        box = ChargeBox(
            charge_box_id=ctx.charge_box_id,
            registration_status="Accepted" if policy == "accept" else "Pending",
            endpoint_override=False,
            created_at=now,
            updated_at=now,
        )
        session.add(box)
        log.warning("unknown charge box %s registered as %s (first message: %s)",
                    clean(identity), box.registration_status,
                    getattr(ctx, "action", None) or "?")
        return box

    #: The quick acceptance UPDATE (also run by ``hotpath`` on the driver's connection).
    QUICK_SEEN = _QUICK_SEEN

    def fast(self, stmt: Any) -> Any:
        """``stmt`` compiled for this store's fast path (see ``storage.fastsql``)."""
        return self.store.fast.statement(stmt)

    def quick_accept_params(self, ctx: CallContextLike, now: datetime) -> dict[str, Any] | None:
        """Parameters of the quick acceptance UPDATE, or None when it cannot apply (Basic auth
        to check, no endpoint to compare, no version)."""
        self._check_identity(ctx)
        if self._must_authenticate(ctx):
            return None
        learned = self._endpoint_of(ctx)
        if learned is None or not getattr(ctx, "version", None):
            return None
        return {"box_id": ctx.charge_box_id, "version": ctx.version,
                "address": learned.address, "source": learned.source, "now": now,
                "called": self._called(ctx)}

    def _quick_accept(
        self, session: Session, ctx: CallContextLike, now: datetime, heartbeat: bool = False
    ) -> bool:
        """The common case in one UPDATE: an Accepted box without a stored secret, speaking the
        version we know, from the address we already learned. Its row gets its seen (and
        heartbeat) time, and the caller skips loading it. Any other case returns False and the
        caller takes the full path (``_accepted_box``), which raises or records what changed.

        This keeps a Heartbeat to a single statement; loading and flushing the ORM object cost
        several times more, on every message of every box.
        """
        params = self.quick_accept_params(ctx, now)
        if params is None:
            return False
        result = session.execute(_QUICK_HEARTBEAT if heartbeat else _QUICK_SEEN, params)
        return result.rowcount == 1

    def _in_good_standing(self, ctx: CallContextLike) -> bool:
        """The read-only twin of ``_quick_accept``: True when the box is Accepted, has no secret,
        and this message changes nothing we store but times. Also notes queued commands."""
        self._check_identity(ctx)
        if self._must_authenticate(ctx):
            return False
        learned = self._endpoint_of(ctx)
        if learned is None or not getattr(ctx, "version", None):
            return False
        params = {"box_id": ctx.charge_box_id, "version": ctx.version,
                  "address": learned.address, "source": learned.source,
                  "called": self._called(ctx)}
        fast = self.store.fast
        extra = getattr(ctx, "extra", None)
        if extra is None:
            return fast.read(lambda cur: cur.first(fast.statement(_GOOD_STANDING), params)
                             is not None)
        params["now"] = self.clock()
        row = fast.read(lambda cur: cur.first(fast.statement(_GOOD_STANDING_PENDING), params))
        if row is None:
            return False
        extra["has_pending"] = bool(row[1])
        return True

    def _must_authenticate(self, ctx: CallContextLike) -> bool:
        """The quick paths only serve boxes with nothing to check (their SQL also requires no
        stored credential): not when credentials or a certificate came, or all must prove."""
        return (getattr(ctx, "basic_auth_user", None) is not None
                or getattr(ctx, "client_cert", None) is not None
                or self.settings.require_auth != "none")

    def _endpoint_of(self, ctx: CallContextLike) -> LearnedEndpoint | None:
        """Where this message says (or suggests) the box can be reached (see ``endpoint``)."""
        peer = client_address(
            getattr(ctx, "peer", None),
            getattr(ctx, "http_headers", None),
            self.settings.trusted_proxies,
        )
        return learn_endpoint(
            getattr(ctx, "from_address", None),
            getattr(ctx, "reply_to", None),
            peer,
            self.settings.default_endpoint_port,
            self.settings.default_endpoint_path,
        )

    @staticmethod
    def _called(ctx: CallContextLike) -> str | None:
        return called_address(getattr(ctx, "to", None), getattr(ctx, "url", None))

    def _seen(self, box: ChargeBox, ctx: CallContextLike, now: datetime,
              authenticated: bool = False) -> list[dict[str, Any]]:
        """Times, version and address from this message; returns the box events it makes."""
        box.last_seen_at = now
        box.updated_at = now
        if getattr(ctx, "version", None):
            box.ocpp_version = ctx.version
        box.called_address = self._called(ctx)
        return self._learn(box, ctx, now, authenticated)

    def _learn(self, box: ChargeBox, ctx: CallContextLike, now: datetime,
               authenticated: bool = False) -> list[dict[str, Any]]:
        """Endpoint learning (see ``endpoint``) under the trust rules:

        - a box without an address takes the first one any message gives;
        - after that only a message that passed the box's authentication moves it, or, for a
          box without credentials, what ``endpoint_change`` allows (default: a BootNotification);
        - every address passes the guard; a refused one leaves the old address in place;
        - a manual address is never overwritten (learning still records what it saw), and a
          guess from the peer address never replaces an address the box stated itself.
        Each change, refusal and ignored move is returned as a box event."""
        learned = self._endpoint_of(ctx)
        if learned is None:
            return []
        same_learned = (box.learned_address, box.learned_source) == (learned.address,
                                                                     learned.source)
        in_use = box.endpoint_override or (box.endpoint_address, box.endpoint_source) == (
            learned.address, learned.source)
        if same_learned and in_use:
            return []
        weak_guess = learned.source not in _STRONG_SOURCES
        if weak_guess and box.learned_source in _STRONG_SOURCES and box.learned_address:
            return []
        box_id = box.charge_box_id
        first = not box.learned_address and not box.endpoint_address
        policy = self.settings.endpoint_change
        action = getattr(ctx, "action", None)
        if not (first or authenticated or policy == "any"
                or (policy == "boot" and action == BOOT_NOTIFICATION)):
            return [self._event(box_id, ENDPOINT_IGNORED, ctx, now, old=box.endpoint_address,
                                new=learned.address,
                                detail=f"endpoint_change = {policy}: not moved by {action} of a"
                                       " box without credentials")]
        try:
            self.guard.check_url(learned.address, unresolved_ok=True)
        except AddressRefused as exc:
            log.warning("%s: address %s refused: %s", clean(box_id), clean(learned.address),
                        exc)
            return [self._event(box_id, ENDPOINT_REFUSED, ctx, now, old=box.endpoint_address,
                                new=learned.address, detail=str(exc))]
        old_learned = box.learned_address
        box.learned_address, box.learned_source = learned.address, learned.source
        if box.endpoint_override:
            if old_learned == learned.address:
                return []
            return [self._event(box_id, ENDPOINT_CHANGED, ctx, now, old=old_learned,
                                new=learned.address,
                                detail=f"learned from {learned.source}; the manual address"
                                       " stays in use")]
        old = box.endpoint_address
        box.endpoint_address, box.endpoint_source = learned.address, learned.source
        box.endpoint_updated_at = now
        if old == learned.address:
            return []
        log.info("%s: endpoint %s (from %s)", clean(box_id), clean(learned.address),
                 learned.source)
        return [self._event(box_id, ENDPOINT_CHANGED, ctx, now, old=old, new=learned.address,
                            detail=f"learned from {learned.source}")]

    # ----------------------------------------------------------------- operations

    def boot(self, ctx: CallContextLike, payload: dict[str, Any]) -> dict[str, Any]:
        """BootNotification: registered → its status; unknown → the ``unknown_chargebox`` policy."""
        now = self.clock()
        try:
            status = hotpath.boot(self, ctx, payload, now)
            return {"status": status, "currentTime": now,
                    "interval": self.settings.heartbeat_interval}
        except hotpath.Retry:
            pass

        def work(session: Session) -> str:
            self._check_identity(ctx)
            box = session.get(ChargeBox, ctx.charge_box_id)
            events: list[dict[str, Any]] = []
            if box is None:
                box = self._register_unknown(session, ctx, now)
                if box is None:
                    log.warning(
                        "BootNotification from unknown charge box %s rejected",
                        clean(ctx.charge_box_id)
                    )
                    return "Rejected"
            authenticated = self._authenticate(box, ctx)
            for wire_name, column in BOOT_FIELDS.items():
                value = payload.get(wire_name)
                setattr(box, column, None if value is None else str(value))
            box.last_boot_at = now
            events += self._seen(box, ctx, now, authenticated)
            session.flush()
            self._record(session, events)
            self._note_pending(session, ctx)
            status = box.registration_status
            return status if status in REGISTRATION_STATUSES else "Rejected"

        status = self.store.write(work)
        return {"status": status, "currentTime": now, "interval": self.settings.heartbeat_interval}

    def heartbeat(self, ctx: CallContextLike, payload: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        if self.presence is not None and self._in_good_standing(ctx):
            self.presence.touch(ctx.charge_box_id, now, heartbeat=True)
            return {"currentTime": now}

        def work(session: Session) -> None:
            if not self._quick_accept(session, ctx, now, heartbeat=True):
                box = self._accepted_box(session, ctx, now, pending_ok=True)
                box.last_heartbeat_at = now
            self._note_pending(session, ctx)

        self.store.write(work)
        return {"currentTime": now}

    def _note_pending(self, session: Session, ctx: CallContextLike) -> None:
        """OCPP-S 5: a Heartbeat (or boot) is the box's wake-up call. Whether commands wait for
        it is asked inside the message's own transaction, where it costs one statement, and
        left in ``ctx.extra["has_pending"]`` for the glue that sends them."""
        extra = getattr(ctx, "extra", None)
        if extra is not None:
            found = session.execute(HAS_PENDING, {"box_id": ctx.charge_box_id,
                                                  "now": self.clock()}).first()
            extra["has_pending"] = found is not None

    def authorize(self, ctx: CallContextLike, payload: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        try:
            return {"idTagInfo": hotpath.authorize(self, ctx, payload.get("idTag"), now)}
        except hotpath.Retry:
            pass

        def work(session: Session) -> dict[str, Any]:
            if not self._quick_accept(session, ctx, now):
                self._accepted_box(session, ctx, now)
            return tag_info(self.authorizer, session, ctx, payload.get("idTag"), now,
                            "Authorize")

        return {"idTagInfo": self.store.write(work)}

    def start_transaction(self, ctx: CallContextLike, payload: dict[str, Any]) -> dict[str, Any]:
        """Always issues a transactionId (the box has started charging whatever we say); a
        retried request (same box, connector, tag, start time and meter) gets the same id."""
        now = self.clock()
        id_tag = payload.get("idTag")
        connector_id = payload.get("connectorId")
        meter_start = payload.get("meterStart")
        started = as_utc(payload.get("timestamp"))
        reservation_id = payload.get("reservationId")

        def work(session: Session) -> dict[str, Any]:
            box = self._accepted_box(session, ctx, now)
            existing = (
                session.execute(
                    select(Transaction).where(
                        Transaction.charge_box_id == box.charge_box_id,
                        Transaction.connector_id == connector_id,
                        Transaction.id_tag == id_tag,
                        Transaction.start_timestamp == started,
                        Transaction.meter_start == meter_start,
                        Transaction.orphan.is_(False),
                    )
                )
                .scalars()
                .first()
            )
            if existing is not None:
                info = tag_info(self.authorizer, session, ctx, id_tag, now, "StartTransaction",
                                for_start=True, exclude_transaction=existing.id)
                return {"transactionId": existing.id, "idTagInfo": info}
            # A connector charges one transaction at a time: closing what its box left open
            # there comes first, so the stale one does not count against the tag either.
            self._close_stale(session, box.charge_box_id, connector_id, now)
            info = tag_info(self.authorizer, session, ctx, id_tag, now, "StartTransaction",
                            for_start=True)
            warnings = plausibility.start_warnings(connector_id, meter_start, started, now,
                                                   self.settings.clock_skew)
            if warnings:
                log.warning("%s: StartTransaction: %s", box.charge_box_id, "; ".join(warnings))
            tx = Transaction(
                charge_box_id=box.charge_box_id,
                connector_id=connector_id,
                id_tag=id_tag,
                start_status=info["status"],
                meter_start=meter_start,
                start_timestamp=started,
                reservation_id=reservation_id,
                stop_count=0,
                orphan=False,
                created_at=now,
                warnings=warnings or None,
            )
            session.add(tx)
            session.flush()
            if reservation_id is not None:
                reservation = session.get(Reservation, reservation_id)
                if reservation is not None and reservation.charge_box_id == box.charge_box_id:
                    reservation.status = "Used"
                    reservation.transaction_id = tx.id
                    reservation.updated_at = now
            return {"transactionId": tx.id, "idTagInfo": info}

        return self.store.write(work)

    def _close_stale(self, session: Session, box_id: str, connector_id: int | None,
                     now: datetime) -> None:
        """A start on a connector closes the older open transactions there (their box rebooted
        or lost a reply). BootNotification closes nothing."""
        if connector_id is None:
            return
        stale = session.execute(
            select(Transaction).where(
                Transaction.charge_box_id == box_id,
                Transaction.connector_id == connector_id,
                Transaction.stop_timestamp.is_(None),
                Transaction.orphan.is_(False),
            ).with_for_update()
        ).scalars().all()
        for old in stale:
            note = (f"a new StartTransaction on connector {connector_id} at "
                    f"{now.isoformat()} while this transaction was open")
            closing.close(session, old, now=now, by=closing.CLOSED_BY_CENTRAL, note=note)
            log.warning("%s: transaction %s closed: %s", box_id, old.id, note)

    def stop_transaction(self, ctx: CallContextLike, payload: dict[str, Any]) -> dict[str, Any]:
        """Closes the transaction and keeps its transactionData. An unknown id gets an orphan row
        (flagged) so its data is kept; a repeated stop keeps the first stop and adds only samples
        not stored yet. The spec forbids answering a StopTransaction with anything but a reply."""
        now = self.clock()
        reported = payload.get("transactionId")
        id_tag = payload.get("idTag")
        stopped = as_utc(payload.get("timestamp"))
        try:
            hotpath.stop_transaction(self, ctx, payload, now, stopped)
            if not id_tag:
                return {}
            fast = self.store.fast
            return {"idTagInfo": fast.read(lambda cur: tag_info(
                self.authorizer, CursorTags(fast, cur), ctx, id_tag, now, "StopTransaction"))}
        except hotpath.Retry:
            pass

        def work(session: Session) -> dict[str, Any]:
            box = self._accepted_box(session, ctx, now)
            tx = session.get(Transaction, reported) if reported is not None else None
            if tx is not None and tx.charge_box_id != box.charge_box_id:
                tx = None
            # A transaction we closed ourselves still takes the box's own stop values.
            repeated = (tx is not None and tx.stop_timestamp is not None
                        and not closing.closed_by_us(tx))
            if tx is None:
                log.warning(
                    "%s: StopTransaction for unknown transaction %s", clean(box.charge_box_id),
                    clean(reported)
                )
                tx = Transaction(
                    charge_box_id=box.charge_box_id,
                    id_tag=id_tag,
                    orphan=True,
                    reported_transaction_id=reported,
                    stop_count=0,
                    created_at=now,
                )
                session.add(tx)
            if repeated:
                log.info("%s: repeated StopTransaction for %s", clean(box.charge_box_id), tx.id)
            else:
                tx.stop_timestamp = stopped or now
                tx.meter_stop = payload.get("meterStop")
                tx.stop_reason, tx.stop_reason_raw = stop_reason(payload.get("reason"))
                warnings = plausibility.stop_warnings(tx.meter_start, tx.meter_stop, stopped, now,
                                                      self.settings.clock_skew)
                if warnings:
                    log.warning("%s: StopTransaction %s: %s", box.charge_box_id, tx.id,
                                "; ".join(warnings))
                    tx.warnings = plausibility.merged(tx.warnings, warnings)
                tx.stop_id_tag = id_tag
                tx.stop_received_at = now
            tx.stop_count = (tx.stop_count or 0) + 1
            session.flush()
            rows = build_samples(
                payload.get("transactionData"),
                charge_box_id=box.charge_box_id,
                connector_id=tx.connector_id,
                transaction_id=tx.id,
                reported_transaction_id=reported,
                source=SOURCE_STOP_TRANSACTION,
                received_at=now,
                clock_skew=self.settings.clock_skew,
            )
            if repeated and rows:
                known = {
                    sample_key(s)
                    for s in session.execute(
                        select(MeterSample).where(
                            MeterSample.transaction_id == tx.id,
                            MeterSample.source == SOURCE_STOP_TRANSACTION,
                        )
                    ).scalars()
                }
                rows = [r for r in rows if sample_key(r) not in known]
            insert_samples(session, rows)
            if not id_tag:
                return {}
            return {"idTagInfo": tag_info(self.authorizer, session, ctx, id_tag, now,
                                          "StopTransaction")}

        return self.store.write(work)

    def meter_values(self, ctx: CallContextLike, payload: dict[str, Any]) -> dict[str, Any]:
        """Samples are kept even when the transactionId matches nothing (linked later by id)."""
        now = self.clock()
        reported = payload.get("transactionId")
        try:
            hotpath.meter_values(self, ctx, payload, now)
            return {}
        except hotpath.Retry:
            pass

        def work(session: Session) -> None:
            if not self._quick_accept(session, ctx, now):
                self._accepted_box(session, ctx, now, pending_ok=reported is None)
            box_id = ctx.charge_box_id
            connector_id = payload.get("connectorId")
            tx = session.get(Transaction, reported) if reported is not None else None
            if tx is not None and tx.charge_box_id != box_id:
                tx = None
            tx_id, linked_by = (tx.id if tx is not None else None), None
            if reported is None:
                tx_id = self._only_open_transaction(session, box_id, connector_id)
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
            insert_samples(session, self._not_stored_yet(session, rows))

        self.store.write(work)
        return {}

    #: The open transactions on a connector (at most two read: "exactly one" is what counts).
    OPEN_ON_CONNECTOR = (
        select(Transaction.__table__.c.id)
        .where(
            Transaction.__table__.c.charge_box_id == bindparam("box_id"),
            Transaction.__table__.c.connector_id == bindparam("connector_id"),
            Transaction.__table__.c.stop_timestamp.is_(None),
            Transaction.__table__.c.orphan.is_(False),
        )
        .limit(2)
    )

    def _only_open_transaction(self, session: Session, box_id: str,
                               connector_id: int | None) -> int | None:
        """The transaction a MeterValues without transactionId belongs to (1.5 boxes send them
        during a transaction): the one open transaction on its connector, if exactly one."""
        if not connector_id:
            return None
        ids = session.execute(self.OPEN_ON_CONNECTOR,
                              {"box_id": box_id, "connector_id": connector_id}).scalars().all()
        return ids[0] if len(ids) == 1 else None

    def _not_stored_yet(self, session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Nothing, when the message was stored already: a box re-sends a MeterValues whose reply
        it never got (the CS went down after committing), and it must not count twice."""
        if not rows:
            return rows
        first = rows[0]
        stored = session.execute(_STORED_SAMPLES, {
            "box_id": first["charge_box_id"],
            "stamps": sorted({r["timestamp"] for r in rows if r["timestamp"] is not None}),
            "source": first["source"],
        })
        known = {(s.connector_id, s.reported_transaction_id, sample_key(s)) for s in stored}
        # Only a message all of whose readings are stored is a re-send: two messages taken in
        # the same second may share some readings (a steady current) and are both kept.
        if known and all(
            (r["connector_id"], r["reported_transaction_id"], sample_key(r)) in known for r in rows
        ):
            return []
        return rows

    def status_notification(self, ctx: CallContextLike, payload: dict[str, Any]) -> dict[str, Any]:
        """Latest status per connector: the most recently received notification wins (boxes
        set their clocks from our currentTime, so their timestamps jump and cannot order them).
        A timestamp more than ``clock_skew`` ahead is stored as received, with a warning, and
        kept as reported."""
        now = self.clock()
        reported = as_utc(payload.get("timestamp"))
        timestamp = reported or now
        if ahead_warning(reported, now, self.settings.clock_skew):
            log.warning("%s: StatusNotification time %s is ahead of ours (%s); stored as received",
                        ctx.charge_box_id, reported.isoformat(), now.isoformat())
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
        try:
            hotpath.status_notification(self, ctx, values, now)
            return {}
        except hotpath.Retry:
            pass

        def work(session: Session) -> None:
            if not self._quick_accept(session, ctx, now):
                self._accepted_box(session, ctx, now, pending_ok=True)
                session.flush()
            upsert(session, ConnectorStatus, values, keys=("charge_box_id", "connector_id"))

        self.store.write(work)
        return {}

    def firmware_status(self, ctx: CallContextLike, payload: dict[str, Any]) -> dict[str, Any]:
        return self._box_status(ctx, "firmware", payload.get("status"))

    def diagnostics_status(self, ctx: CallContextLike, payload: dict[str, Any]) -> dict[str, Any]:
        return self._box_status(ctx, "diagnostics", payload.get("status"))

    def _box_status(self, ctx: CallContextLike, kind: str, status: Any) -> dict[str, Any]:
        now = self.clock()

        def work(session: Session) -> None:
            box = self._accepted_box(session, ctx, now, pending_ok=True)
            setattr(box, f"{kind}_status", None if status is None else str(status))
            setattr(box, f"{kind}_status_at", now)
            session.add(
                StatusEvent(
                    charge_box_id=box.charge_box_id, kind=kind, status=str(status), received_at=now
                )
            )

        self.store.write(work)
        return {}

    def data_transfer(self, ctx: CallContextLike, payload: dict[str, Any]) -> dict[str, Any]:
        """Gate and record in the database; the vendor handler runs outside any transaction so
        slow plug-in code never holds the write lock."""
        now = self.clock()
        self.store.write(lambda session: self._accepted_box(session, ctx, now, pending_ok=True)
                         and None)
        data = payload.get("data")
        request = DataTransferRequest(
            charge_box_id=ctx.charge_box_id,
            version=getattr(ctx, "version", "1.6"),
            vendor_id=str(payload.get("vendorId", "")),
            message_id=payload.get("messageId"),
            data=None if data is None else str(data),
        )
        reply = self.vendors.handle(request)

        def record(session: Session) -> None:
            session.add(
                DataTransfer(
                    charge_box_id=ctx.charge_box_id,
                    direction="in",
                    vendor_id=request.vendor_id,
                    message_id=request.message_id,
                    data=request.data,
                    status=reply.get("status"),
                    reply_data=None if reply.get("data") is None else str(reply["data"]),
                    received_at=now,
                )
            )

        self.store.write(record)
        return reply
