"""Sanity checks on transaction values: recorded as warnings, never a reason to refuse.

OCPP 1.6 4.8/4.10: a box must not re-send a transaction message we faulted, so refusing an odd
value loses the transaction. The Central System stores what the box said and adds a ``warnings``
list to the transaction (and, in ``metering``, to the sample) for the operator: the API and CLI
show it, the reply to the box is unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .metering import ahead_warning


def start_warnings(connector_id: int | None, meter_start: Any, started: datetime | None,
                   now: datetime, clock_skew: float) -> list[str]:
    warnings = []
    if connector_id == 0:
        warnings.append("transaction on connector 0 (the charge box itself)")
    if isinstance(meter_start, int) and meter_start < 0:
        warnings.append(f"negative meterStart {meter_start}")
    ahead = ahead_warning(started, now, clock_skew)
    if ahead:
        warnings.append("start " + ahead)
    return warnings


def stop_warnings(meter_start: Any, meter_stop: Any, stopped: datetime | None, now: datetime,
                  clock_skew: float) -> list[str]:
    warnings = []
    if isinstance(meter_stop, int):
        if meter_stop < 0:
            warnings.append(f"negative meterStop {meter_stop}")
        if isinstance(meter_start, int) and meter_stop < meter_start:
            warnings.append(f"meterStop {meter_stop} is less than meterStart {meter_start}")
    ahead = ahead_warning(stopped, now, clock_skew)
    if ahead:
        warnings.append("stop " + ahead)
    return warnings


def merged(existing: list[str] | None, new: list[str]) -> list[str] | None:
    """The transaction's warnings after adding ``new`` (None when there are none)."""
    out = list(existing or [])
    out.extend(w for w in new if w not in out)
    return out or None
