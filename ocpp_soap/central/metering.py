"""Meter values in the neutral (1.6) shape → one stored row per sampled value.

The same function serves MeterValues and StopTransaction's transactionData (1.5's shapes are
mapped to this one by the wire adapters), so both sources land in one table and one query.
Attributes the box left out are stored as absent (NULL), not as the spec's defaults: we keep what
the box said, and readers apply defaults. Units are the exception: 1.5's ``Amp`` and ``Volt`` are
stored in 1.6's spelling (``A``, ``V``) so one query finds both, with the box's own spelling kept
in ``reported_unit``.

Implausible values (a negative reading, a time more than ``clock_skew`` ahead of ours) are stored
as sent with a ``warnings`` list on the row; nothing is refused for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .storage.models import MeterSample
from .timeutil import as_utc

SOURCE_METER_VALUES = "MeterValues"
SOURCE_STOP_TRANSACTION = "StopTransaction"
_ATTRIBUTES = ("measurand", "unit", "context", "format", "phase", "location")
LINKED_BY_CONNECTOR = "connector"
#: Unit spellings of OCPP 1.5 (and of boxes that mix versions) → the OCPP 1.6 spelling.
UNIT_SPELLINGS = {"Amp": "A", "Volt": "V", "wh": "Wh", "kwh": "kWh"}


def build_samples(
    meter_values: Iterable[dict[str, Any]] | None,
    *,
    charge_box_id: str,
    connector_id: int | None,
    transaction_id: int | None,
    reported_transaction_id: int | None,
    source: str,
    received_at: datetime,
    clock_skew: float | None = None,
    linked_by: str | None = None,
) -> list[dict[str, Any]]:
    """Column values of the rows to insert. Plain dicts, written with one multi-row INSERT
    (``MeterValueRepository.add``): building ORM objects for every sample cost more than the
    insert."""
    rows: list[dict[str, Any]] = []
    for meter_value in meter_values or ():
        timestamp = as_utc(meter_value.get("timestamp"))
        ahead = ahead_warning(timestamp, received_at, clock_skew)
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
                "linked_by": linked_by,
            }
            for a in _ATTRIBUTES:
                row[a] = _text(sampled.get(a))
            unit = row["unit"]
            row["reported_unit"] = None
            if unit in UNIT_SPELLINGS:
                row["unit"], row["reported_unit"] = UNIT_SPELLINGS[unit], unit
            warnings = [w for w in (ahead, _negative(row["value"])) if w]
            row["warnings"] = warnings or None
            rows.append(row)
    return rows


def ahead_warning(timestamp: datetime | None, now: datetime,
                  clock_skew: float | None) -> str | None:
    """A warning text when ``timestamp`` runs more than ``clock_skew`` seconds ahead of ``now``."""
    if timestamp is None or clock_skew is None:
        return None
    if (timestamp - now).total_seconds() > clock_skew:
        return f"timestamp {timestamp.isoformat()} is ahead of the Central System's clock"
    return None


def _negative(value: str | None) -> str | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    if number is not None and number < 0:
        return f"negative value {value}"
    return None


def sample_key(row: MeterSample | dict[str, Any]) -> tuple[Any, ...]:
    """What makes two samples "the same reading" (to drop re-sent StopTransaction data)."""
    if isinstance(row, dict):
        return (as_utc(row["timestamp"]), row["value"], *(row[a] for a in _ATTRIBUTES))
    return (as_utc(row.timestamp), row.value, *(getattr(row, a) for a in _ATTRIBUTES))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
