"""Events of the Central System, the same for every OCPP version.

One message or command makes at most a few events; they reach Python callbacks (``on_event``)
and HTTP webhooks (``webhooks`` setting, delivered from the durable outbox of ``outbox``). An
event is plain data: a kind, the box, when, and a JSON-safe dict of snake_case fields, so a
callback and a webhook receiver see the same thing.

Kinds (a contract with receivers: never renamed):

- ``box.booted``: a BootNotification was answered (``registration_status``, vendor, model …);
- ``box.status_changed``: the charge point as a whole reported a status: StatusNotification on
  connector 0 (``subject`` ``charge_point``), firmware or diagnostics status (``subject``
  ``firmware``/``diagnostics``);
- ``connector.status_changed``: StatusNotification of a connector (``connector_id`` > 0);
- ``transaction.started`` / ``transaction.stopped``: with the transaction id we gave and the
  idTag status we answered;
- ``meter.values``: a MeterValues message (``meter_value`` as sent, in snake_case);
- ``command.result``: a command to a box was answered, failed or was queued;
- ``endpoint.changed``: the address we call a box at moved (from the ``box_events`` table).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from .wirenames import to_snake

__all__ = ["BOX_BOOTED", "BOX_STATUS_CHANGED", "COMMAND_RESULT", "CONNECTOR_STATUS_CHANGED",
           "ENDPOINT_CHANGED", "EVENT_KINDS", "METER_VALUES", "TRANSACTION_STARTED",
           "TRANSACTION_STOPPED", "Event", "Publisher", "from_message"]

BOX_BOOTED = "box.booted"
BOX_STATUS_CHANGED = "box.status_changed"
CONNECTOR_STATUS_CHANGED = "connector.status_changed"
TRANSACTION_STARTED = "transaction.started"
TRANSACTION_STOPPED = "transaction.stopped"
METER_VALUES = "meter.values"
COMMAND_RESULT = "command.result"
ENDPOINT_CHANGED = "endpoint.changed"
EVENT_KINDS = (BOX_BOOTED, BOX_STATUS_CHANGED, CONNECTOR_STATUS_CHANGED, TRANSACTION_STARTED,
               TRANSACTION_STOPPED, METER_VALUES, COMMAND_RESULT, ENDPOINT_CHANGED)


def json_default(value: Any) -> Any:
    """``json.dumps``'s ``default`` for what storage and the wire hand out (times, decimals,
    bytes, sets); anything else is not JSON (``TypeError``)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _plain(value: Any) -> Any:
    """As :func:`json_default`, but an event never fails: anything else becomes its text."""
    try:
        return json_default(value)
    except TypeError:
        return str(value)


def jsonable(data: Any) -> Any:
    """``data`` as JSON types only (times as ISO 8601 text), as a webhook receiver reads it."""
    return json.loads(json.dumps(data, default=_plain, ensure_ascii=False))


@dataclass(frozen=True)
class Event:
    """One thing that happened at a box. ``id`` is the outbox's number once stored (events that
    no webhook wants are not stored and have none)."""

    kind: str
    charge_box_id: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")
        object.__setattr__(self, "data", jsonable(self.data))

    def stored_as(self, event_id: int) -> Event:
        return replace(self, id=event_id)

    def as_dict(self) -> dict[str, Any]:
        """The webhook body (and the API's view)."""
        return {"id": self.id, "kind": self.kind, "charge_box_id": self.charge_box_id,
                "at": self.at.isoformat(), "data": self.data}


def _without(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in names}


def from_message(operation: str, box: str, at: datetime, payload: dict[str, Any],
                 reply: dict[str, Any]) -> list[Event]:
    """The events an answered CP→CS message makes (payload and reply in the neutral shape)."""
    fields = to_snake(payload)
    answer = to_snake(reply or {})
    tag_status = (answer.get("id_tag_info") or {}).get("status")
    if operation == "BootNotification":
        return [Event(BOX_BOOTED, box, at, {**fields,
                                             "registration_status": answer.get("status")})]
    if operation == "StatusNotification":
        connector = int(fields.get("connector_id") or 0)
        if connector == 0:
            return [Event(BOX_STATUS_CHANGED, box, at,
                          {"subject": "charge_point", **_without(fields, "connector_id")})]
        return [Event(CONNECTOR_STATUS_CHANGED, box, at, fields)]
    if operation in ("FirmwareStatusNotification", "DiagnosticsStatusNotification"):
        subject = "firmware" if operation.startswith("Firmware") else "diagnostics"
        return [Event(BOX_STATUS_CHANGED, box, at, {"subject": subject, **fields})]
    if operation == "StartTransaction":
        return [Event(TRANSACTION_STARTED, box, at, {
            "transaction_id": answer.get("transaction_id"), **fields,
            "id_tag_status": tag_status})]
    if operation == "StopTransaction":
        data = _without(fields, "transaction_data")
        data["samples"] = sum(len(m.get("sampled_value") or [])
                              for m in fields.get("transaction_data") or [])
        if tag_status is not None:
            data["id_tag_status"] = tag_status
        return [Event(TRANSACTION_STOPPED, box, at, data)]
    if operation == "MeterValues":
        return [Event(METER_VALUES, box, at, fields)]
    return []


class Publisher(Protocol):
    """Where the domain sends the events of the messages it answers (``outbox.Outbox``).

    The domain stores an event that webhooks want inside the message's own unit of work (so
    the message and its events commit together), then hands the events to ``published``."""

    @property
    def active(self) -> bool:
        """Whether anyone listens (no events are made otherwise)."""

    def webhooks_for(self, kind: str) -> list[str]:
        """The names of the webhooks that want events of ``kind``."""

    def published(self, events: list[Event]) -> None:
        """After the commit: run the callbacks and wake the deliveries. Never raises."""
