"""The operation → handler table the wire layer builds both versions' services from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .domain import CentralSystem

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


def build_handlers(service: CentralSystem) -> dict[str, Handler]:
    """Map each CP→CS operation name to the bound method that serves it (both versions), each
    behind ``CentralSystem.guarded`` (identity checks, refusals recorded as box events)."""
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
    return {name: service.guarded(handler) for name, handler in table.items()}
