"""Meter values in the neutral (1.6) shape → one stored row per sampled value.

The same function serves MeterValues and StopTransaction's transactionData (1.5's shapes are
mapped to this one by the wire adapters), so both sources land in one table and one query.
Attributes the box left out are stored as absent (NULL), not as the spec's defaults: we keep what
the box said, and readers apply defaults.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from .storage.models import MeterSample
from .timeutil import as_utc

SOURCE_METER_VALUES = "MeterValues"
SOURCE_STOP_TRANSACTION = "StopTransaction"
_ATTRIBUTES = ("measurand", "unit", "context", "format", "phase", "location")


def build_samples(
    meter_values: Iterable[dict[str, Any]] | None,
    *,
    charge_box_id: str,
    connector_id: int | None,
    transaction_id: int | None,
    reported_transaction_id: int | None,
    source: str,
    received_at: datetime,
) -> list[dict[str, Any]]:
    """Column values of the rows to insert. Plain dicts, written with one multi-row INSERT
    (``insert_samples``): building ORM objects for every sample cost more than the insert."""
    rows: list[dict[str, Any]] = []
    for meter_value in meter_values or ():
        timestamp = as_utc(meter_value.get("timestamp"))
        for sampled in meter_value.get("sampledValue") or ():
            value = sampled.get("value")
            row = {
                "transaction_id": transaction_id,
                "reported_transaction_id": reported_transaction_id,
                "charge_box_id": charge_box_id,
                "connector_id": connector_id,
                "timestamp": timestamp,
                "value": None if value is None else str(value),
                "source": source,
                "received_at": received_at,
            }
            for a in _ATTRIBUTES:
                row[a] = _text(sampled.get(a))
            rows.append(row)
    return rows


def insert_samples(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(MeterSample.__table__), rows)


def sample_key(row: MeterSample | dict[str, Any]) -> tuple[Any, ...]:
    """What makes two samples "the same reading" (to drop re-sent StopTransaction data)."""
    if isinstance(row, dict):
        return (as_utc(row["timestamp"]), row["value"], *(row[a] for a in _ATTRIBUTES))
    return (as_utc(row.timestamp), row.value, *(getattr(row, a) for a in _ATTRIBUTES))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
