"""The event outbox's tables: events, their webhook deliveries, and the box-events relay mark.

An event is stored once; each webhook that wants its kind gets a delivery row, retried with
backoff until the receiver answers 2xx or the attempts run out. Deliveries of one webhook and box
go out in event order: only the oldest open one of a (webhook, box) is ever tried.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigId, Ident, Short
from .types import JSONPayload

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


class OutboxEvent(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_box_id", "charge_box_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    charge_box_id: Mapped[str] = mapped_column(Ident)
    data: Mapped[Any] = mapped_column(JSONPayload)
    #: The ``box_events`` row an ``endpoint.changed`` event was relayed from (once only).
    box_event_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_open", "webhook", "state", "charge_box_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id", ondelete="CASCADE"))
    webhook: Mapped[str] = mapped_column(Text)
    charge_box_id: Mapped[str] = mapped_column(Ident)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(Short, default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    #: While one process posts it, no other may (crash: the lease runs out and it is retried).
    lease_until: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]


class EventRelayMark(Base):
    """How far ``box_events`` were turned into events (one row per relay)."""

    __tablename__ = "event_relay"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger)
