"""Closing a transaction its box never stopped: by the Central System, or by an operator.

A box that reboots or loses a reply leaves its transaction open, and an open transaction counts
against its tag's concurrent-transaction limit for ever. So a StartTransaction on a connector
closes the older open one there, and an operator can close any open transaction. Either way the
row records who closed it, when and why, and the stop values are our best knowledge: the last
energy reading stored for the transaction, else its start value. A StopTransaction that arrives
later still fixes the stop values (see ``CentralSystem.stop_transaction``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from ocpp_soap.messages import service_schema
from ocpp_soap.soap.versions import CENTRAL

from .storage.models import MeterSample
from .timeutil import as_utc

#: StopTransaction reasons of the OCPP 1.6 enumeration (1.5 sends none).
STOP_REASONS: tuple[str, ...] = (
    service_schema("1.6", CENTRAL).operation("StopTransaction").request.field("reason")
    .type.enumeration)
CLOSED_BY_CENTRAL = "central-system"
DEFAULT_REASON = "Other"
_ENERGY = (None, "Energy.Active.Import.Register")
_TO_WH = {None: 1.0, "Wh": 1.0, "kWh": 1000.0}


#: A transaction's samples, newest first: (value, unit, timestamp, measurand); the caller runs
#: it on its own storage path with ``tx_id`` bound, and ``last_energy_reading`` picks the one.
ENERGY_READINGS = (
    select(MeterSample.value, MeterSample.unit, MeterSample.timestamp, MeterSample.measurand)
    .where(MeterSample.transaction_id == bindparam("tx_id"))
    .order_by(MeterSample.timestamp.desc(), MeterSample.id.desc())
)


def last_energy_reading(rows: Iterable[Sequence[Any]]) -> tuple[int, datetime | None] | None:
    """The latest Energy.Active.Import.Register reading in Wh, with its time, from the rows of
    ``ENERGY_READINGS``."""
    for value, unit, timestamp, measurand in rows:
        if measurand not in _ENERGY or unit not in _TO_WH:
            continue
        try:
            wh = float(value) * _TO_WH[unit]
        except (TypeError, ValueError):
            continue  # signed data, garbage: not a reading we can use
        return round(wh), timestamp
    return None


def close(tx: Any, readings: Iterable[Sequence[Any]], *, now: datetime, by: str, note: str,
          reason: str = DEFAULT_REASON, meter_stop: int | None = None) -> None:
    """Mark ``tx`` stopped by us: stop values from our knowledge (``readings``: the rows of
    ``ENERGY_READINGS`` for it) unless given, and who/when/why."""
    reading = last_energy_reading(readings)
    if meter_stop is None:
        meter_stop = reading[0] if reading is not None else tx.meter_start
    tx.meter_stop = meter_stop
    tx.stop_timestamp = (reading[1] if reading is not None and reading[1] is not None else now)
    if tx.start_timestamp is not None and as_utc(tx.stop_timestamp) < as_utc(tx.start_timestamp):
        tx.stop_timestamp = now
    tx.stop_reason = reason
    tx.closed_by, tx.closed_at, tx.close_note = by, now, note


def closed_by_us(tx: Any) -> bool:
    """Closed by the Central System or an operator, and no StopTransaction received yet."""
    return tx.closed_by is not None and not tx.stop_count
