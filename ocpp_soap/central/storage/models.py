"""The Central System's tables (SQLAlchemy 2 ORM), portable between SQLite and PostgreSQL.

History tables (transactions, meter samples, logs) hold the charge box identity as plain text
without a foreign key: removing a box from service must not erase what it did, and the envelope
log must be able to name boxes we never registered. Only state that means nothing without its
box (connector status, queued commands) cascades on delete.

String lengths are generous on purpose: real boxes exceed the spec's CiString limits, and a
too-long serial number must never cost us a BootNotification.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import JSONPayload, UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key for big logs.
BigId = BigInteger().with_variant(Integer, "sqlite")
Ident = String(255)
Short = String(64)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), str: Ident}


class ChargeBox(Base):
    """A charge box we know: registration, what it told us at boot and how to reach it."""

    __tablename__ = "charge_boxes"

    charge_box_id: Mapped[str] = mapped_column(Ident, primary_key=True)
    registration_status: Mapped[str] = mapped_column(Short, default="Accepted")
    description: Mapped[str | None] = mapped_column(Text)

    charge_point_vendor: Mapped[str | None]
    charge_point_model: Mapped[str | None]
    charge_point_serial_number: Mapped[str | None]
    charge_box_serial_number: Mapped[str | None]
    firmware_version: Mapped[str | None]
    iccid: Mapped[str | None]
    imsi: Mapped[str | None]
    meter_type: Mapped[str | None]
    meter_serial_number: Mapped[str | None]
    ocpp_version: Mapped[str | None] = mapped_column(String(8))

    # The address commands go to; with endpoint_override set it is the operator's and learning
    # leaves it alone (learning still records what it saw in learned_*).
    endpoint_address: Mapped[str | None] = mapped_column(Text)
    endpoint_source: Mapped[str | None] = mapped_column(String(16))
    endpoint_override: Mapped[bool] = mapped_column(Boolean, default=False)
    endpoint_updated_at: Mapped[datetime | None]
    learned_address: Mapped[str | None] = mapped_column(Text)
    learned_source: Mapped[str | None] = mapped_column(String(16))
    # The address the box last used to reach us (its request's WS-A To, else the URL it
    # called): our From on commands when no public_url is configured.
    called_address: Mapped[str | None] = mapped_column(Text)

    last_boot_at: Mapped[datetime | None]
    last_heartbeat_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    auth_secret_hash: Mapped[str | None]
    # Other ways a box proves who it is: the source networks it may talk from (CIDRs, comma
    # separated) and the SHA-256 fingerprint of its TLS client certificate (hex).
    allow_from: Mapped[str | None] = mapped_column(Text)
    cert_fingerprint: Mapped[str | None] = mapped_column(String(64))

    firmware_status: Mapped[str | None] = mapped_column(Short)
    firmware_status_at: Mapped[datetime | None]
    diagnostics_status: Mapped[str | None] = mapped_column(Short)
    diagnostics_status_at: Mapped[datetime | None]

    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ConnectorStatus(Base):
    """Latest StatusNotification per connector (connector 0 is the box itself)."""

    __tablename__ = "connector_status"

    charge_box_id: Mapped[str] = mapped_column(
        ForeignKey("charge_boxes.charge_box_id", ondelete="CASCADE"), primary_key=True
    )
    connector_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str | None] = mapped_column(Short)
    error_code: Mapped[str | None] = mapped_column(Short)
    info: Mapped[str | None]
    vendor_id: Mapped[str | None]
    vendor_error_code: Mapped[str | None]
    # The box's time for the status, or the receipt time when the box's ran more than
    # clock_skew ahead; what the box said is kept in reported_timestamp.
    timestamp: Mapped[datetime | None]
    reported_timestamp: Mapped[datetime | None]
    received_at: Mapped[datetime]


class IdTag(Base):
    """An identifier that may charge; parent tags group identifiers (a blocked parent blocks all).

    IdToken is case-insensitive: one row per case-folded idTag (unique index), kept as it was
    first written."""

    __tablename__ = "id_tags"

    id_tag: Mapped[str] = mapped_column(Ident, primary_key=True)
    status: Mapped[str] = mapped_column(Short, default="Accepted")
    expiry_date: Mapped[datetime | None]
    parent_id_tag: Mapped[str | None]
    max_active_transactions: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


Index("ux_id_tags_folded", func.lower(IdTag.id_tag), unique=True)


class Transaction(Base):
    """A charging session; ``orphan`` rows come from a StopTransaction for an id we never issued."""

    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_box_start", "charge_box_id", "start_timestamp"),
        Index("ix_transactions_tag_open", "id_tag", "stop_timestamp"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    charge_box_id: Mapped[str]
    connector_id: Mapped[int | None] = mapped_column(Integer)
    id_tag: Mapped[str | None]
    start_status: Mapped[str | None] = mapped_column(Short)
    meter_start: Mapped[int | None] = mapped_column(BigInteger)
    start_timestamp: Mapped[datetime | None]
    reservation_id: Mapped[int | None] = mapped_column(Integer)
    stop_timestamp: Mapped[datetime | None]
    meter_stop: Mapped[int | None] = mapped_column(BigInteger)
    stop_reason: Mapped[str | None] = mapped_column(Short)
    # The reason as the box wrote it, when it was outside the enumeration (stored as Other).
    stop_reason_raw: Mapped[str | None] = mapped_column(Text)
    stop_id_tag: Mapped[str | None]
    stop_received_at: Mapped[datetime | None]
    stop_count: Mapped[int] = mapped_column(Integer, default=0)
    orphan: Mapped[bool] = mapped_column(Boolean, default=False)
    reported_transaction_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    # Closed by the Central System (a newer StartTransaction on the connector) or an operator,
    # not by the box: who ("central-system", "cli (user)", "api (address)"), when and why. A
    # late StopTransaction still fixes the stop values and keeps these.
    closed_by: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    close_note: Mapped[str | None] = mapped_column(Text)
    # Implausible values seen (meterStop < meterStart, a time ahead of ours, connector 0):
    # a list of texts; the reply to the box is unchanged.
    warnings: Mapped[Any] = mapped_column(JSONPayload, nullable=True)


# The ConcurrentTx count compares idTags ignoring case.
Index("ix_transactions_tag_folded_open", func.lower(Transaction.id_tag),
      Transaction.stop_timestamp)


class MeterSample(Base):
    """One sampled value, from MeterValues or a StopTransaction's transactionData."""

    __tablename__ = "meter_samples"
    __table_args__ = (
        Index("ix_meter_samples_tx", "transaction_id"),
        Index("ix_meter_samples_box_time", "charge_box_id", "timestamp"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("transactions.id", ondelete="SET NULL")
    )
    # What the box said, even when it matches no transaction row (nothing is thrown away).
    reported_transaction_id: Mapped[int | None] = mapped_column(BigInteger)
    charge_box_id: Mapped[str]
    connector_id: Mapped[int | None] = mapped_column(Integer)
    timestamp: Mapped[datetime | None]
    value: Mapped[str | None] = mapped_column(Text)
    measurand: Mapped[str | None] = mapped_column(Short)
    unit: Mapped[str | None] = mapped_column(Short)
    context: Mapped[str | None] = mapped_column(Short)
    format: Mapped[str | None] = mapped_column(Short)
    phase: Mapped[str | None] = mapped_column(Short)
    location: Mapped[str | None] = mapped_column(Short)
    source: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime]
    # The unit as the box wrote it, when ``unit`` holds its normalised (1.6) spelling.
    reported_unit: Mapped[str | None] = mapped_column(Short)
    # "connector": a MeterValues without transactionId linked to the one open transaction on
    # its connector.
    linked_by: Mapped[str | None] = mapped_column(String(16))
    # Implausible values seen (negative, a time ahead of ours): a list of texts.
    warnings: Mapped[Any] = mapped_column(JSONPayload, nullable=True)


class Reservation(Base):
    """A reservation the CS made (ReserveNow); StartTransaction with its id marks it used."""

    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    charge_box_id: Mapped[str]
    connector_id: Mapped[int] = mapped_column(Integer)
    id_tag: Mapped[str]
    parent_id_tag: Mapped[str | None]
    expiry_date: Mapped[datetime]
    status: Mapped[str] = mapped_column(Short, default="Requested")
    transaction_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StatusEvent(Base):
    """History of FirmwareStatusNotification and DiagnosticsStatusNotification."""

    __tablename__ = "status_events"
    __table_args__ = (Index("ix_status_events_box", "charge_box_id", "received_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    charge_box_id: Mapped[str]
    kind: Mapped[str] = mapped_column(String(16))  # "firmware" | "diagnostics"
    status: Mapped[str] = mapped_column(Short)
    received_at: Mapped[datetime]


class DataTransfer(Base):
    """A DataTransfer in either direction and what was answered."""

    __tablename__ = "data_transfers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    charge_box_id: Mapped[str]
    direction: Mapped[str] = mapped_column(String(8))  # "in" (CP→CS) | "out"
    vendor_id: Mapped[str]
    message_id: Mapped[str | None]
    data: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Short)
    reply_data: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]


class EnvelopeLog(Base):
    """Raw SOAP envelopes as they crossed the wire (pruned after the retention period)."""

    __tablename__ = "envelope_log"
    __table_args__ = (
        Index("ix_envelope_log_at", "at"),
        Index("ix_envelope_log_box_at", "charge_box_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    direction: Mapped[str] = mapped_column(String(8))  # "in" | "out"
    charge_box_id: Mapped[str | None]
    action: Mapped[str | None] = mapped_column(Short)
    message_id: Mapped[str | None]
    relates_to: Mapped[str | None]
    version: Mapped[str | None] = mapped_column(String(8))
    peer: Mapped[str | None]
    envelope: Mapped[str] = mapped_column(Text)


class CommandLog(Base):
    """Every CS→CP call: request, and reply or fault or timeout, with its latency."""

    __tablename__ = "command_log"
    __table_args__ = (Index("ix_command_log_box_at", "charge_box_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    charge_box_id: Mapped[str]
    operation: Mapped[str] = mapped_column(Short)
    version: Mapped[str | None] = mapped_column(String(8))
    message_id: Mapped[str | None]
    endpoint: Mapped[str | None] = mapped_column(Text)
    request: Mapped[Any] = mapped_column(JSONPayload, nullable=True)
    reply: Mapped[Any] = mapped_column(JSONPayload, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))  # reply | fault | timeout | error
    error: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    pending_command_id: Mapped[int | None] = mapped_column(BigInteger)


class PendingCommand(Base):
    """A command waiting for its box to talk to us (the OCPP-S wake-up rule).

    ``state``: ``queued`` → ``sending`` (a worker holds it until ``lease_until``) → ``sent`` |
    ``failed`` | ``expired``. A ``sending`` command whose lease ran out (its worker died) counts
    as queued again; a queued one past ``expires_at`` is never sent.
    """

    __tablename__ = "pending_commands"
    __table_args__ = (
        Index("ix_pending_box_taken", "charge_box_id", "taken_at"),
        Index("ix_pending_box_state", "charge_box_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    charge_box_id: Mapped[str] = mapped_column(
        ForeignKey("charge_boxes.charge_box_id", ondelete="CASCADE")
    )
    operation: Mapped[str] = mapped_column(Short)
    payload: Mapped[Any] = mapped_column(JSONPayload, nullable=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    #: When a worker last took it for delivery.
    taken_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(Short, default="queued", server_default="queued")
    lease_until: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class BoxEvent(Base):
    """What happened to a box's trust: address changes (old, new, who and which message),
    refused addresses, failed authentications, rate-limit hits. No foreign key: events of
    identities we never registered are kept too (a flood of unknown boxes is an event)."""

    __tablename__ = "box_events"
    __table_args__ = (Index("ix_box_events_box_at", "charge_box_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    charge_box_id: Mapped[str]
    kind: Mapped[str] = mapped_column(String(32))
    source_ip: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Short)  # the OCPP action, or "api"/"cli"
    old_address: Mapped[str | None] = mapped_column(Text)
    new_address: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)


class ConsoleUser(Base):
    """An operator account of the web console; the password is hashed as box secrets are."""

    __tablename__ = "console_users"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # viewer | operator | admin
    password_hash: Mapped[str]
    # Raised on every password or role change and on removal: sessions signed with an older
    # value end at once (a cookie cannot be taken back otherwise).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LoginFailure(Base):
    """Failed console logins per key (``user:NAME`` or ``ip:ADDRESS``), for rate limiting;
    in the database so that every worker process sees the same count."""

    __tablename__ = "console_login_failures"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class ConsoleSecret(Base):
    """Server-side secrets of the console (the session-signing key), made on first use so that
    every worker and every restart signs with the same key."""

    __tablename__ = "console_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
