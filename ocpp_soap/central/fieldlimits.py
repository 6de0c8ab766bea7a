"""One declared maximum per stored string, enforced before the database, the same on every one.

Why: PostgreSQL refuses a value longer than its ``VARCHAR(n)`` (the request then failed with a
500 and the charger re-sent it for ever) while SQLite stores it whole. So every stored string has
a declared maximum, the column's own length (``String(n)``) or, for free text (``Text``), the
``FREE_TEXT`` limit below, and values are fitted here, in the domain, before any statement runs.

What happens to a value beyond its limit:

- from a charger, in lenient reading: it is stored cut to the limit, with a warning naming the
  field (the full value stays in the envelope log);
- from a charger, in strict reading: ``Sender/ProtocolError`` naming the field (``FieldTooLong``);
- identifiers are never cut: an over-long chargeBoxIdentity is a ``ProtocolError`` (``trust.check_identity``, before this module), an over-long
  idTag is treated as absent, so it is answered ``Invalid`` without any lookup;
- from the API or the CLI: ``FieldTooLong`` (a ``ValueError``: 422 or exit 2, naming the field);
- the envelope log cuts its short columns and marks the cut (``fit_log_value``).

A value longer than the schema's CiString length but within the column is not this module's
business: the wire layer keeps it whole, with a warning (real chargers send 26- and 33-character
serial numbers).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import String

from .errors import ProtocolViolation
from .storage.models import Base

log = logging.getLogger("ocpp_soap.central")

#: The declared maximum of free-text columns (``Text``): DataTransfer data, a meter value, notes.
#: (The envelope log's ``envelope`` is bounded by the body cap instead and is never cut.)
FREE_TEXT = 65_536
#: Free-text columns with a smaller declared maximum than ``FREE_TEXT``.
DECLARED = {("transactions", "stop_reason_raw"): 1000}
#: Appended to a value the envelope log had to cut.
CUT_MARK = "…[cut]"


class FieldTooLong(ProtocolViolation, ValueError):
    """A value is longer than its stored field allows (Sender/ProtocolError, API 422, exit 2)."""

    def __init__(self, field: str, length: int, limit: int) -> None:
        super().__init__(f"{field} is {length} characters long; at most {limit} are stored")
        self.field = field
        self.length = length
        self.limit = limit


def limit_of(table: str, column: str) -> int | None:
    """The declared maximum of a stored string column (None: not a string column)."""
    col = Base.metadata.tables[table].c[column]
    if not isinstance(col.type, String):  # Text is a String without a length
        return None
    return col.type.length or DECLARED.get((table, column), FREE_TEXT)



def check_admin(table: str, **values: Any) -> None:
    """Operator input (API, CLI): a value beyond its column is refused, never cut."""
    for column, value in values.items():
        if isinstance(value, str):
            limit = limit_of(table, column)
            if limit is not None and len(value) > limit:
                raise FieldTooLong(column, len(value), limit)


def fit_log_value(value: str | None, limit: int) -> str | None:
    """A value for a short envelope-log column: cut and marked when too long."""
    if value is None or len(value) <= limit:
        return value
    return value[:limit - len(CUT_MARK)] + CUT_MARK


# -- what chargers send, and where it is stored ---------------------------------------------------

#: The identifier fields of each message: never cut, treated as absent when too long.
_ID = "id"
_METER = "meterValue[].sampledValue[]."
_STOP_METER = "transactionData[].sampledValue[]."
_SAMPLE_COLUMNS = ("value", "measurand", "unit", "context", "format", "phase", "location")

#: Operation → (payload path, table, column, kind): every string a CP→CS message has stored.
INCOMING: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "BootNotification": tuple(
        (wire, "charge_boxes", column, "text") for wire, column in (
            ("chargePointVendor", "charge_point_vendor"),
            ("chargePointModel", "charge_point_model"),
            ("chargePointSerialNumber", "charge_point_serial_number"),
            ("chargeBoxSerialNumber", "charge_box_serial_number"),
            ("firmwareVersion", "firmware_version"),
            ("iccid", "iccid"),
            ("imsi", "imsi"),
            ("meterType", "meter_type"),
            ("meterSerialNumber", "meter_serial_number"),
        )),
    "StatusNotification": tuple(
        (wire, "connector_status", column, "text") for wire, column in (
            ("status", "status"), ("errorCode", "error_code"), ("info", "info"),
            ("vendorId", "vendor_id"), ("vendorErrorCode", "vendor_error_code"),
        )),
    "Authorize": (("idTag", "id_tags", "id_tag", _ID),),
    "StartTransaction": (("idTag", "transactions", "id_tag", _ID),),
    "StopTransaction": (
        ("idTag", "transactions", "stop_id_tag", _ID),
        # A reason outside the enumeration is stored as Other, the box's text beside it.
        ("reason", "transactions", "stop_reason_raw", "text"),
        *((_STOP_METER + c, "meter_samples", c, "text") for c in _SAMPLE_COLUMNS),
    ),
    "MeterValues": tuple((_METER + c, "meter_samples", c, "text") for c in _SAMPLE_COLUMNS),
    "DataTransfer": (
        ("vendorId", "data_transfers", "vendor_id", "text"),
        ("messageId", "data_transfers", "message_id", "text"),
        ("data", "data_transfers", "data", "text"),
    ),
    "FirmwareStatusNotification": (("status", "status_events", "status", "text"),),
    "DiagnosticsStatusNotification": (("status", "status_events", "status", "text"),),
}


def fit_incoming(operation: str, payload: dict[str, Any], *, strict: bool,
                 charge_box_id: str | None = None) -> list[str]:
    """Fit a charger's message (neutral payload, changed in place) to the stored limits.

    Logs a warning per fitted field and returns the identifier fields treated as absent; raises
    ``FieldTooLong`` in strict reading."""
    warnings: list[str] = []
    dropped: list[str] = []
    for path, table, column, kind in INCOMING.get(operation, ()):
        limit = limit_of(table, column)
        if limit is None:
            continue
        for holder, key in _slots(payload, path):
            value = holder[key]
            text = value if isinstance(value, str) else str(value)
            if len(text) <= limit:
                continue
            field = path.replace("[]", "")
            if kind == _ID:
                holder[key] = None
                dropped.append(field)
                warnings.append(f"{field} is {len(text)} characters long (at most {limit}): "
                                "treated as unknown, never cut")
            elif strict:
                raise FieldTooLong(field, len(text), limit)
            else:
                holder[key] = text[:limit]
                warnings.append(f"{field} is {len(text)} characters long: stored cut to {limit}")
    for warning in warnings:
        log.warning("%s %s: %s", charge_box_id or "-", operation, warning)
    return dropped


def _slots(node: Any, path: str) -> Iterator[tuple[dict[str, Any], str]]:
    """(dict, key) of every non-None value at ``path`` ("a[].b[].c": lists marked by ``[]``)."""
    head, _, rest = path.partition(".")
    if not isinstance(node, dict):
        return
    if head.endswith("[]"):
        items = node.get(head[:-2])
        if isinstance(items, dict):  # a single element read as a mapping
            items = [items]
        for item in items or ():
            yield from _slots(item, rest)
    elif not rest:
        if node.get(head) is not None:
            yield node, head
    else:
        yield from _slots(node.get(head), rest)
