"""The operation → handler table the wire layer builds both versions' services from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .domain import CentralSystem, Reply
from .fieldlimits import fit_incoming

Handler = Callable[[Any, dict[str, Any]], dict[str, Any]]

OPERATIONS = (
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
)


def build_handlers(service: CentralSystem, *, strict: bool = False,
                   commands_waiting: Callable[[str], None] | None = None
                   ) -> dict[str, Handler]:
    """Map each CP→CS operation name to the bound method that serves it (both versions), each
    behind ``CentralSystem.guarded`` (identity checks, refusals recorded as box events), then
    the stored-field limits (``fieldlimits``): over-long values are cut (lenient) or refused
    (``strict``) naming the field, over-long idTags treated as unknown.

    ``commands_waiting(box)`` is called when a reply says commands wait for its box
    (``Reply.commands_waiting``: the wake-up question of OCPP-S 5, asked by the domain)."""
    table = {
        "Authorize": service.authorize,
        "BootNotification": service.boot,
        "DataTransfer": service.data_transfer,
        "DiagnosticsStatusNotification": service.diagnostics_status,
        "FirmwareStatusNotification": service.firmware_status,
        "Heartbeat": service.heartbeat,
        "MeterValues": service.meter_values,
        "StartTransaction": service.start_transaction,
        "StatusNotification": service.status_notification,
        "StopTransaction": service.stop_transaction,
    }
    return {op: service.guarded(_within_limits(op, fn, strict, commands_waiting))
            for op, fn in table.items()}


def _within_limits(operation: str, handler: Handler, strict: bool,
                   commands_waiting: Callable[[str], None] | None) -> Handler:
    def handle(ctx: Any, payload: dict[str, Any]) -> dict[str, Any]:
        dropped = fit_incoming(operation, payload, strict=strict, charge_box_id=ctx.charge_box_id)
        reply = handler(ctx, payload)
        if commands_waiting is not None and isinstance(reply, Reply) and reply.commands_waiting:
            commands_waiting(ctx.charge_box_id)
        if dropped and operation == "StopTransaction":  # the stop is kept; the tag is unknown
            reply = {**(reply or {}), "idTagInfo": {"status": "Invalid"}}
        return reply

    handle.__name__ = getattr(handler, "__name__", operation)
    handle.__doc__ = handler.__doc__
    return handle
