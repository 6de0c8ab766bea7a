"""Who answers a CS→CP request: the user's override for that operation, else the simulator itself.

One table (operation → built-in method, the versions that define it) serves both versions. The
wire layer has checked chargeBoxIdentity before it calls; :meth:`Router.handle` then refuses what
the registration state forbids, and hands the neutral request payload (1.6 shape, official names)
to the override or to :class:`~ocpp_soap.chargepoint._operations.BuiltinOperations`.

An override is a plain function, like a handler of mobilityhouse/ocpp: it gets a
:class:`HandlerContext` and the request's fields as snake_case keyword arguments, and returns a
dict with snake_case keys (checked against the reply's schema and turned back into the official
names). It refuses a request by raising one of the OCPP-S faults (``ProtocolError``,
``SecurityError``, ``NotSupported``, ``InternalError``); Python's ``NotImplementedError`` becomes
``NotSupported``, and any other exception ``InternalError``, as for every handler of the project.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from ocpp_soap.chargepoint._core import ChargePointCore
from ocpp_soap.chargepoint._names import to_snake, to_wire
from ocpp_soap.chargepoint._operations import BuiltinOperations
from ocpp_soap.messages import adapters
from ocpp_soap.messages.catalog import service_schema
from ocpp_soap.messages.schema import Complex
from ocpp_soap.soap.context import CallContext
from ocpp_soap.soap.faults import InternalError, SecurityError
from ocpp_soap.soap.versions import CHARGEPOINT

#: operation → (name of the BuiltinOperations method, OCPP versions that define the operation)
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
#: ``override(context, **fields) -> dict`` (snake_case in, snake_case out)
Override = Callable[..., dict | None]

#: What a Pending charge point refuses (OCPP 1.6 4.2: the Central System may configure and
#: query a Pending box, not make it charge).
PENDING_REFUSED = frozenset({"RemoteStartTransaction", "RemoteStopTransaction"})



@cache
def neutral_type(version: str, action: str, direction: str) -> Complex:
    """The schema of a CS→CP message as the core (and an override) sees it: the version's own
    fields, under the names ``messages.adapters`` gives them (1.5's ``localAuthorisationList``
    is ``localAuthorizationList``; its ``hash`` stays). The renames are read from the adapter
    itself, so they are written down once."""
    op = service_schema(version, CHARGEPOINT).operation(action)
    t = op.request if direction == adapters.REQUEST else op.response
    probe = {f.name: object() for f in t.fields}
    seen = adapters.to_neutral(version, action, direction, dict(probe))
    name_of = {id(value): name for name, value in seen.items()}
    return replace(t, fields=tuple(replace(f, name=name_of.get(id(probe[f.name]), f.name))
                                   for f in t.fields))


def check_registration(core: ChargePointCore, action: str) -> None:
    """OCPP 1.6 4.2: while Rejected the charge point does not serve the Central System; while
    Pending it serves everything but RemoteStart/RemoteStop. Refusals are SecurityError faults,
    matching what the Central System does to a Pending box."""
    if core.registration == "Rejected":
        raise SecurityError(f"charge point {core.identity} is Rejected by the Central System: "
                            f"{action} refused")
    if core.registration == "Pending" and action in PENDING_REFUSED:
        raise SecurityError(f"charge point {core.identity} is Pending: {action} refused until "
                            "it is Accepted")


def operation_names(version: str) -> tuple[str, ...]:
    """The CS→CP operations of OCPP ``version``, sorted."""
    return tuple(sorted(a for a, (_, versions) in OPERATIONS.items() if version in versions))


@dataclass(frozen=True)
class HandlerContext:
    """What an override knows besides the request's fields.

    ``charge_point`` is the :class:`~ocpp_soap.chargepoint.ChargePoint` being asked (its state,
    its connectors: ``charge_point.state()``); ``peer`` is the HTTP client's address and
    ``from_address`` the WS-Addressing From of the Central System, when it sent one.
    :meth:`default` gives the simulator's own answer, so an override can change one case and leave
    the rest as they were.
    """

    action: str
    version: str
    identity: str
    charge_point: Any = None
    message_id: str | None = None
    peer: str | None = None
    from_address: str | None = None
    _payload: dict = field(default_factory=dict, repr=False)
    _builtin: Callable[[dict], dict] | None = field(default=None, repr=False)

    def default(self, **fields: Any) -> dict:
        """The simulator's own reply (snake_case) to this request, or to these fields instead
        (snake_case, as the override received them). Its side effects happen as usual: a
        default Reset still reboots."""
        if fields:
            request = neutral_type(self.version, self.action, adapters.REQUEST)
            payload = to_wire(fields, request, f"{self.action} request")
        else:
            payload = self._payload
        return to_snake(self._builtin(payload)) if self._builtin else {}


class Router:
    """The CS→CP operations of one charge point core, with the overrides its owner registered."""

    def __init__(self, core: ChargePointCore, owner: Any = None) -> None:
        self.core = core
        self.owner = owner
        self.builtin = BuiltinOperations(core)
        self._overrides: dict[str, Override] = {}

    def check(self, action: str) -> None:
        """ValueError unless ``action`` is a CS→CP operation of this charge point's version."""
        if action not in OPERATIONS:
            raise ValueError(f"{action!r} is not a Central System → charge point operation "
                             f"(one of: {', '.join(sorted(OPERATIONS))})")
        if self.core.version not in OPERATIONS[action][1]:
            raise ValueError(f"{action} does not exist in OCPP {self.core.version}")

    def override(self, action: str, fn: Override) -> None:
        """Answer ``action`` with ``fn`` from now on (an unknown or wrong-version name: ValueError)."""
        self.check(action)
        if not callable(fn):
            raise TypeError(f"the override for {action} must be callable, not {type(fn).__name__}")
        self._overrides[action] = fn

    def overridden(self) -> tuple[str, ...]:
        return tuple(sorted(self._overrides))

    def handle(self, action: str, ctx: CallContext | None, payload: dict | None) -> dict:
        """The neutral reply to ``action`` (a fault raised leaves as a SOAP fault)."""
        method, versions = OPERATIONS[action]
        if self.core.version not in versions:
            raise NotImplementedError(f"{action} does not exist in OCPP {self.core.version}")
        check_registration(self.core, action)
        payload = payload or {}
        builtin = getattr(self.builtin, method)
        fn = self._overrides.get(action)
        if fn is None:
            return builtin(payload)
        context = HandlerContext(
            action=action, version=self.core.version, identity=self.core.identity,
            charge_point=self.owner, message_id=ctx.message_id if ctx else None,
            peer=ctx.peer if ctx else None, from_address=ctx.from_address if ctx else None,
            _payload=payload, _builtin=builtin)
        reply = fn(context, **to_snake(payload))
        try:
            response = neutral_type(self.core.version, action, adapters.RESPONSE)
            return to_wire(reply or {}, response, f"{action} reply")
        except ValueError as exc:
            raise InternalError(f"the override for {action} answered wrongly: {exc}") from None

    def table(self) -> dict[str, Handler]:
        """Every CS→CP operation → ``handler(ctx, payload) -> reply`` (the wire layer's shape).

        All 19 operations are present; those the charge point's version lacks raise
        NotImplementedError (the wire layer turns that into a NotSupported fault).
        """
        def make(action: str) -> Handler:
            def handler(ctx: Any, payload: dict) -> dict:
                return self.handle(action, ctx, payload)

            handler.__name__ = f"handle_{OPERATIONS[action][0]}"
            handler.__doc__ = f"{action} for charge point {self.core.identity}"
            return handler

        return {action: make(action) for action in OPERATIONS}


def build_handlers(core: ChargePointCore) -> dict[str, Handler]:
    """The handler table of a core without overrides (the core tests drive it directly)."""
    return Router(core).table()
