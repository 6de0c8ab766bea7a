"""The table of CS→CP operations the wire layer serves, for either OCPP version.

One table (operation → core method, first version that has it) builds both versions' handler maps,
as the architecture asks. The wire layer checks chargeBoxIdentity before calling; a handler only
sees the neutral request payload and returns the neutral reply payload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ocpp_soap.chargepoint.core import ChargePoint
from ocpp_soap.soap.faults import SecurityError

#: operation → (name of the ChargePoint method, OCPP versions that define the operation)
OPERATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "CancelReservation": ("cancel_reservation", ("1.5", "1.6")),
    "ChangeAvailability": ("change_availability", ("1.5", "1.6")),
    "ChangeConfiguration": ("change_configuration", ("1.5", "1.6")),
    "ClearCache": ("clear_cache", ("1.5", "1.6")),
    "DataTransfer": ("data_transfer", ("1.5", "1.6")),
    "GetConfiguration": ("get_configuration", ("1.5", "1.6")),
    "GetDiagnostics": ("get_diagnostics", ("1.5", "1.6")),
    "GetLocalListVersion": ("get_local_list_version", ("1.5", "1.6")),
    "RemoteStartTransaction": ("remote_start", ("1.5", "1.6")),
    "RemoteStopTransaction": ("remote_stop", ("1.5", "1.6")),
    "ReserveNow": ("reserve_now", ("1.5", "1.6")),
    "Reset": ("reset", ("1.5", "1.6")),
    "SendLocalList": ("send_local_list", ("1.5", "1.6")),
    "UnlockConnector": ("unlock_connector", ("1.5", "1.6")),
    "UpdateFirmware": ("update_firmware", ("1.5", "1.6")),
    "ClearChargingProfile": ("clear_charging_profile", ("1.6",)),
    "GetCompositeSchedule": ("get_composite_schedule", ("1.6",)),
    "SetChargingProfile": ("set_charging_profile", ("1.6",)),
    "TriggerMessage": ("trigger_message", ("1.6",)),
}

Handler = Callable[[Any, dict], dict]

#: What a Pending charge point refuses (OCPP 1.6 4.2: the Central System may configure and
#: query a Pending box, not make it charge).
PENDING_REFUSED = frozenset({"RemoteStartTransaction", "RemoteStopTransaction"})


def check_registration(cp: ChargePoint, action: str) -> None:
    """OCPP 1.6 4.2: while Rejected the charge point does not serve the Central System; while
    Pending it serves everything but RemoteStart/RemoteStop. Refusals are SecurityError faults,
    matching what the Central System does to a Pending box."""
    if cp.registration == "Rejected":
        raise SecurityError(f"charge point {cp.identity} is Rejected by the Central System: "
                            f"{action} refused")
    if cp.registration == "Pending" and action in PENDING_REFUSED:
        raise SecurityError(f"charge point {cp.identity} is Pending: {action} refused until "
                            "it is Accepted")


def _make(cp: ChargePoint, action: str, method: str, versions: tuple[str, ...]) -> Handler:
    def handler(ctx: Any, payload: dict) -> dict:
        if cp.version not in versions:
            raise NotImplementedError(f"{action} does not exist in OCPP {cp.version}")
        check_registration(cp, action)
        return getattr(cp, method)(payload or {})

    handler.__name__ = f"handle_{method}"
    handler.__doc__ = f"{action} for charge point {cp.identity}"
    return handler


def build_handlers(cp: ChargePoint) -> dict[str, Handler]:
    """Every CS→CP operation → ``handler(ctx, payload) -> reply`` for ``cp``.

    All 19 operations are present; those the charge point's version lacks raise NotImplementedError
    (the wire layer turns that into a fault).
    """
    return {action: _make(cp, action, method, versions)
            for action, (method, versions) in OPERATIONS.items()}
