"""Users' handlers behind the operation table: snake_case keyword arguments in, a dict out.

An embedder writes ``def data_transfer(context, vendor_id, message_id=None, data=None)`` and
never sees a wire name: the payload's keys (the neutral 1.6 shape the adapters give the domain)
are turned into snake_case, nested ones too, and the returned dict's keys back into the wire's
camelCase. The version difference stays at the adapters: a handler sees the same shape for 1.5
and 1.6.

A replacement handler (``on``) still runs behind the checks every message passes: the identity
rules of ``CentralSystem.guarded`` and the box's admission (registered, its credentials, Accepted
or, for what a Pending box may send, Pending). BootNotification cannot be replaced: registration
and trust live there; ``after`` hooks see it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from .ocpperrors import OcppError, as_fault
from .wirenames import to_snake, to_wire

if TYPE_CHECKING:
    from ocpp_soap.soap.context import CallContext

log = logging.getLogger(__name__)

#: Operations a Pending box may send (OCPP 1.6 4.2), as the domain admits them.
PENDING_OK = {"Heartbeat", "StatusNotification", "MeterValues", "DataTransfer",
              "FirmwareStatusNotification", "DiagnosticsStatusNotification"}
NOT_REPLACEABLE = {"BootNotification"}


class Admission(Protocol):
    """What a replacement handler needs of the domain (``domain.CentralSystem``): its clock, the
    admission check every message of a box passes, and the DataTransfer record. Declared here,
    on the side that uses it, so this module does not import the domain."""

    def clock(self) -> datetime: ...

    def admit(self, ctx: CallContext, *, pending_ok: bool = False) -> None: ...

    def record_data_transfer(self, ctx: CallContext, payload: dict[str, Any],
                             reply: dict[str, Any], now: datetime) -> None: ...


@dataclass(frozen=True)
class Context:
    """Who sent the message a handler serves: the box, the OCPP version, the peer address."""

    charge_box_id: str
    version: str
    peer: str | None
    operation: str
    message_id: str | None = None
    #: The reply that was decided (snake_case), for ``after`` hooks; None in ``on`` handlers.
    reply: dict[str, Any] | None = field(default=None, compare=False)

    @classmethod
    def of(cls, ctx: Any, operation: str, reply: dict[str, Any] | None = None) -> Context:
        return cls(charge_box_id=ctx.charge_box_id, version=ctx.version,
                   peer=ctx.peer, operation=operation,
                   message_id=ctx.message_id,
                   reply=None if reply is None else to_snake(reply))


class UserCall:
    """Calls a user's function with ``context`` and the payload as keyword arguments.

    Fields the function does not name are left out unless it takes ``**kwargs``: a handler
    written for 1.6 keeps working when a box sends a field it does not know."""

    def __init__(self, fn: Callable[..., Any]):
        if not callable(fn):
            raise TypeError(f"{fn!r} is not callable")
        self.fn = fn
        params = inspect.signature(fn).parameters.values()
        self.any_keyword = any(p.kind is p.VAR_KEYWORD for p in params)
        self.names = {p.name for p in params
                      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}

    def __call__(self, context: Context, payload: dict[str, Any]) -> Any:
        kwargs = to_snake(payload)
        if not self.any_keyword:
            kwargs = {k: v for k, v in kwargs.items() if k in self.names}
        if self.any_keyword or "context" in self.names:
            kwargs["context"] = context
        return self.fn(**kwargs)


def replacement(domain: Admission, operation: str, fn: Callable[..., Any]):
    """An operation-table handler that admits the box, then asks ``fn`` for the reply."""
    if operation in NOT_REPLACEABLE:
        raise ValueError(f"{operation} cannot be replaced (registration and trust live there);"
                         " use after() for work once it is answered")
    call = UserCall(fn)

    def handler(ctx: Any, payload: dict[str, Any]) -> dict[str, Any]:
        now = domain.clock()
        domain.admit(ctx, pending_ok=operation in PENDING_OK)
        try:
            reply = call(Context.of(ctx, operation), payload)
        except OcppError as exc:
            raise as_fault(exc) from None
        if reply is None:
            reply = {}
        if not isinstance(reply, dict):
            log.error("handler for %s returned %s, not a dict", operation, type(reply).__name__)
            raise as_fault(OcppError("the handler's reply is not a dict"))
        wire = to_wire(reply)
        if operation == "DataTransfer":
            _record_data_transfer(domain, ctx, payload, wire, now)
        return wire

    handler.__name__ = getattr(fn, "__name__", operation)
    return handler


def _record_data_transfer(domain: Admission, ctx: Any, payload: dict[str, Any],
                          reply: dict[str, Any], now: Any) -> None:
    """The data_transfers row the domain's own handler writes, for a replaced DataTransfer."""
    try:
        domain.record_data_transfer(ctx, payload, reply, now)
    except Exception:  # the reply is decided; the record must not turn it into a fault
        log.exception("could not record the DataTransfer of %s", ctx.charge_box_id)
