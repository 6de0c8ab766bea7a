"""The simulated charge point as users and the CLI run it: :class:`ChargePoint`.

A :class:`ChargePoint` joins four things around one
:class:`~ocpp_soap.chargepoint._core.ChargePointCore` (the plain-Python state machine):

- a :class:`ClientLink` to the Central System (the core's ``central``): an ``OcppClient`` that logs
  one readable line per message and turns a timeout into "unreachable", as the core expects;
- a :class:`~ocpp_soap.chargepoint._routing.Router` that answers the CS→CP operations with the
  user's overrides (:meth:`ChargePoint.on`) or the simulator's own behaviour;
- a :class:`ChargePointHost` that serves them over HTTP;
- a short history of recent messages (scenarios wait on it) and the envelope printer of the shell.

``ocpp-soap chargepoint run|shell|scenario|fleet`` build exactly this class, so a scripted charge
point and the command line share one path.

A :class:`ChargePointHost` is the WSGI application of a process: one ``OcppEndpoint`` of the
ChargePointService for every charge point it hosts (routed by path, so a fleet shares one port and one
Spyne application), and the JSON admin API under ``/admin/``. A lone charge point answers at
``/ocpp/ChargePointService``; every charge point also answers at ``/ocpp/ChargePointService/<id>``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from ocpp_soap.chargepoint._admin import AdminApi
from ocpp_soap.chargepoint._config import SimConfig
from ocpp_soap.chargepoint._core import ChargePointCore
from ocpp_soap.chargepoint._render import pretty, summarize, to_json
from ocpp_soap.chargepoint._routing import OPERATIONS, Override, Router
from ocpp_soap.chargepoint._scheduler import Scheduler
from ocpp_soap.messages.catalog import service_schema
from ocpp_soap.messages.schema import (
    Builtin,
    Complex,
    Restricted,
    TextWithAttributes,
)
from ocpp_soap.messages.xsdtime import parse_xsd_datetime
from ocpp_soap.soap.client import (
    BadReply,
    CallTimeout,
    OcppClient,
    OutgoingExchange,
    RemoteFault,
    Unreachable,
)
from ocpp_soap.soap.context import CallContext
from ocpp_soap.soap.faults import IdentityMismatch
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.server import EndpointOptions, Exchange, OcppEndpoint
from ocpp_soap.soap.versions import CENTRAL, CHARGEPOINT, VERSIONS

log = logging.getLogger(__name__)
#: one line per message; the CLI shows it at INFO, a fleet keeps it quiet
messages_log = logging.getLogger("ocpp_soap.chargepoint.messages")

CP_PATH = "/ocpp/" + CHARGEPOINT
#: CP→CS operations (the same ten in 1.5 and 1.6)
CS_ACTIONS = tuple(op.name for op in service_schema("1.6", CENTRAL).operations)


class CentralUnreachable(ConnectionError):
    """The Central System did not answer in time (the core treats it as unreachable)."""


# ==================================================================== payload help
def _scalar_kind(t: Any) -> str:
    if isinstance(t, Restricted):
        t = t.base
    if isinstance(t, TextWithAttributes):
        t = t.base
    return t.name if isinstance(t, Builtin) else "string"


def coerce(value: Any, t: Any) -> Any:
    """A shell/scenario value (text, or JSON data) in the type the schema declares for it."""
    if isinstance(t, Complex):
        if not isinstance(value, dict):
            raise ValueError(f"{t.name} is a structure: give it as json:{{...}}")
        out = {}
        for k, v in value.items():
            try:
                f = t.field(k)
            except KeyError:
                raise ValueError(f"{t.name} has no field {k!r}") from None
            out[k] = [coerce(x, f.type) for x in v] if f.repeated and isinstance(v, list) else coerce(v, f.type)
        return out
    if isinstance(t, TextWithAttributes):
        return value if isinstance(value, dict) else {"value": str(value)}
    kind = _scalar_kind(t)
    if value is None:
        return None
    if kind == "int":
        return int(value)
    if kind == "decimal":
        return float(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes")
    if kind == "dateTime":
        if isinstance(value, datetime):
            return value
        if str(value).lower() == "now":
            return datetime.now(UTC)
        return parse_xsd_datetime(str(value))
    return value if isinstance(value, str) else str(value)


def request_type(version: str, action: str) -> Complex:
    schema = service_schema(version, CENTRAL)
    if not schema.has(action):
        raise ValueError(f"{action} is not a charge point → Central System message of OCPP {version}")
    return schema.operation(action).request


def canonical_action(name: str) -> str:
    """``bootnotification`` / ``BootNotification`` → ``BootNotification``."""
    for action in CS_ACTIONS:
        if action.lower() == name.lower():
            return action
    raise ValueError(f"unknown message {name!r} (one of: {', '.join(CS_ACTIONS)})")


# ==================================================================== the link to the CS
class ClientLink:
    """The core's ``central``: an OcppClient plus the log line, the history and the counters."""

    def __init__(self, sim: ChargePoint, client: OcppClient) -> None:
        self.sim = sim
        self.client = client

    def call(self, action: str, payload: dict) -> dict:
        sim = self.sim
        sim.sent += 1
        sim.core.scheduler.note_send(action)
        try:
            reply = self.client.call(action, payload)
        except CallTimeout as exc:
            sim._outcome("out", action, payload, None, "timeout")
            raise CentralUnreachable(str(exc)) from exc
        except Unreachable as exc:
            sim._outcome("out", action, payload, None, "unreachable")
            raise CentralUnreachable(str(exc)) from exc
        except RemoteFault as exc:
            sim._outcome("out", action, payload, None, f"fault {exc.fault.subcode}: {exc.fault.reason}")
            raise
        except BadReply as exc:
            sim._outcome("out", action, payload, None, f"bad reply: {exc}")
            raise
        sim._outcome("out", action, payload, reply, None)
        return reply


# ==================================================================== one simulated charge point
class ChargePoint:
    """One simulated OCPP-S charge point (1.5 or 1.6): its link to the Central System, its
    ChargePointService, its physical actions, and the answers it gives.

    Every CS→CP operation is answered with the simulator's real behaviour unless an override is
    registered with :meth:`on`; see the README, "Scripting a charge point"::

        cp = ChargePoint("CB1", "http://cs:8180/ocpp/CentralSystemService", "1.6")

        @cp.on("Reset")
        def reset(context, type):
            return {"status": "Rejected"}

        cp.serve("127.0.0.1", 0)   # HTTP on a free port; cp.url is its ChargePointService
        cp.start()                 # power on: BootNotification, StatusNotification, heartbeats
        cp.plug(1); cp.swipe("ABC", 1); cp.state()
        cp.close()

    Its timers (heartbeats, meter samples, retries) run on a :class:`Scheduler`: by default the
    one the whole process shares, or the one given as ``scheduler=`` (a test or a script that
    wants its threads gone at the end: ``Scheduler(workers=4)``, then ``shutdown()`` after
    ``close()``).
    """

    def __init__(self, identity: str, central_url: str, version: str = "1.6", connectors: int = 1,
                 config: SimConfig | dict | None = None, state_path: str | None = None, *,
                 public_url: str | None = None, scheduler: Scheduler | None = None,
                 session: requests.Session | None = None, timeout: float = 10.0,
                 compress: str | None = None, capture: Any = None, history: int = 500,
                 strict: bool = False, auth: tuple[str, str] | None = None) -> None:
        self.identity = identity
        self.version = version
        self.central_url = central_url
        self.public_url = public_url
        self.strict = strict
        self.capture = capture
        self.show_envelopes = False
        #: where envelopes and notices go (the shell sets it to its own output)
        self.echo: Callable[[str], None] = print
        self.sent = 0
        self.errors = 0
        self._seq = 0
        self.history: deque[dict] = deque(maxlen=history or 0)
        self._cond = threading.Condition()
        hooks = capture is not None
        # HTTP Basic goes in the Authorization header only: never in the URL (which is logged
        # and sent as wsa:To).
        self.client = OcppClient(version, CENTRAL, identity, central_url, from_address=public_url,
                                 timeout=timeout, compress=compress, session=session,
                                 on_exchange=self._outgoing if hooks else None, auth=auth)
        self.link = ClientLink(self, self.client)
        self.core = ChargePointCore(identity, version, connectors, config, state_path,
                                    central=self.link, scheduler=scheduler)
        self.router = Router(self.core, owner=self)
        self.host: ChargePointHost | None = None
        self._server: BackgroundServer | None = None

    @property
    def scheduler(self) -> Scheduler:
        """The :class:`Scheduler` this charge point's timers run on: the one given to the
        constructor, or else the process-wide one. ``close()`` leaves it running, since other
        charge points may share it; whoever made it shuts it down."""
        return self.core.scheduler

    # ------------------------------------------------------------------ overrides
    def on(self, action: str) -> Callable[[Override], Override]:
        """Decorator: answer the CS→CP operation ``action`` (``"Reset"``) with the decorated
        function instead of the simulator's own behaviour.

        The function is called as ``fn(context, **fields)``: ``context`` is a
        :class:`HandlerContext` (``context.default()`` gives the simulator's own answer), the
        request's fields come as snake_case keyword arguments (``id_tag``,
        ``cs_charging_profiles``), nested structures included. It returns a dict with snake_case
        keys, turned back into the official names (a key the reply lacks: an ``InternalError``
        fault naming it), or raises ``ProtocolError``, ``SecurityError``, ``NotSupported`` or
        ``InternalError`` to answer with that SOAP fault. A name that is no operation of this
        charge point's version raises ``ValueError`` at once.
        """
        self.router.check(action)

        def register(fn: Override) -> Override:
            self.router.override(action, fn)
            return fn

        return register

    # ------------------------------------------------------------------ serving
    def serve(self, host: str = "127.0.0.1", port: int = 0, public_url: str | None = None) -> ChargePoint:
        """Serve this charge point's ChargePointService and admin API on ``host:port`` (0: any free port)."""
        self.host = ChargePointHost(strict=self.strict, capture=self.capture)
        self.host.add(self, default=True)
        self._server = BackgroundServer(self.host, host, port)
        self.set_public_url(public_url or self.public_url or f"{self._server.url}{CP_PATH}")
        self.host.endpoint.options.reply_from = self.public_url
        self._server.start()
        return self

    def set_public_url(self, url: str) -> None:
        self.public_url = url
        self.client.from_address = url

    @property
    def url(self) -> str | None:
        """This charge point's ChargePointService URL (its WS-A From)."""
        return self.public_url

    @property
    def admin_url(self) -> str | None:
        return f"{self._server.url}/admin" if self._server else None

    @property
    def port(self) -> int | None:
        return self._server.port if self._server else None

    def start(self) -> ChargePoint:
        """Power on (boot)."""
        self.core.start()
        return self

    def stop(self) -> None:
        """Power off (state kept)."""
        self.core.stop()

    def close(self) -> None:
        """Power off and stop serving."""
        self.core.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> ChargePoint:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ the driver's hands
    def plug(self, n: int = 1) -> None:
        self.core.plug(int(n))

    def unplug(self, n: int = 1) -> None:
        self.core.unplug(int(n))

    def swipe(self, tag: str, n: int | None = None) -> str:
        return self.core.swipe(str(tag), None if n is None else int(n))

    def fault(self, n: int, code: str = "OtherError") -> None:
        self.core.fault(int(n), code)

    def clear_fault(self, n: int) -> None:
        self.core.clear_fault(int(n))

    def stop_transaction(self, n: int, reason: str = "Local") -> bool:
        return self.core.stop_transaction(int(n), reason)

    def state(self) -> dict:
        """A JSON-friendly picture: registration, connectors, transactions, queue, firmware."""
        return to_json(self.core.state())

    def summary(self) -> dict:
        """A short line of figures for a fleet overview."""
        core = self.core
        return {"registration": core.registration, "online": core.online,
                "status": core.box_status(),
                "charging": sum(1 for c in core.connectors.values() if c.transaction is not None),
                "queue": len(core.outbox), "sent": self.sent, "errors": self.errors}

    # ------------------------------------------------------------------ configuration keys
    def configure(self, key: str, value: Any) -> str:
        """Set an OCPP configuration key as the operator at the box would (not an override's
        business); returns the ChangeConfiguration status."""
        return self.core.configure(key, str(value))

    def configuration(self, keys: list[str] | None = None) -> tuple[list[dict], list[str]]:
        """(known keys as ``{key, readonly, value}``, unknown names) for ``keys`` (None: all)."""
        with self.core._lock:
            return self.core.config.get(keys or None)

    # ------------------------------------------------------------------ raw messages
    def prepare(self, action: str, payload: dict | None = None) -> tuple[str, dict]:
        """(action, payload) with values typed by the schema and obvious fields filled in."""
        action = canonical_action(action)
        rtype = request_type(self.version, action)
        payload = coerce(dict(payload or {}), rtype)
        cp, now = self.core, datetime.now(UTC)
        defaults: dict[str, Any] = {}
        cid = int(payload.get("connectorId", 1) or 0)
        conn = cp.connectors.get(cid)
        meter = None
        if conn is not None:
            conn.meter.update(cp.now())
            meter = int(round(conn.meter.energy_wh))
        if action == "BootNotification":
            defaults = cp.boot_payload()
        elif action == "StatusNotification":
            defaults = {"connectorId": 0, "errorCode": "NoError", "timestamp": now}
            c = cp.connectors.get(int(payload.get("connectorId", 0)))
            defaults["status"] = cp._status_of(c) if c else cp.box_status()
        elif action == "StartTransaction":
            defaults = {"connectorId": 1, "meterStart": meter or 0, "timestamp": now}
        elif action == "StopTransaction":
            defaults = {"meterStop": meter or 0, "timestamp": now}
            tx = conn.transaction if conn else None
            if tx is not None and tx.transaction_id is not None:
                defaults["transactionId"] = tx.transaction_id
        elif action == "MeterValues":
            defaults = {"connectorId": 1, "meterValue": [{"timestamp": now, "sampledValue": [
                {"value": str(meter or 0), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]}
        elif action == "DataTransfer":
            defaults = {"vendorId": cp.sim.data_transfer_vendor or cp.sim.vendor}
        elif action == "DiagnosticsStatusNotification":
            defaults = {"status": "Idle" if self.version == "1.6" else "Uploaded"}
        elif action == "FirmwareStatusNotification":
            defaults = {"status": "Idle" if self.version == "1.6" else "Installed"}
        full = {**defaults, **payload}
        missing = [f.name for f in rtype.fields if f.required and full.get(f.name) is None]
        if missing:
            raise ValueError(f"{action}: missing {', '.join(missing)}")
        return action, full

    def send(self, action: str, payload: dict | None = None) -> dict:
        """Send any CP→CS message now (filled in by :meth:`prepare`); returns the reply."""
        action, full = self.prepare(action, payload)
        return self.core.send(action, full)

    # ------------------------------------------------------------------ CS→CP requests
    def handle(self, action: str, ctx: CallContext | None, payload: dict) -> dict:
        """Answer one CS→CP request (the host calls this for every request to this charge point)."""
        try:
            reply = self.router.handle(action, ctx, payload)
        except Exception as exc:
            self._outcome("in", action, payload, None, f"{type(exc).__name__}: {exc}")
            raise
        self._outcome("in", action, payload, reply, None)
        return reply

    # ------------------------------------------------------------------ history and log
    def _outcome(self, direction: str, action: str, payload: dict, reply: dict | None,
                 error: str | None) -> None:
        if error is not None:
            self.errors += 1
        if messages_log.isEnabledFor(logging.INFO):
            arrow, back = ("→", "←") if direction == "out" else ("←", "→")
            req = summarize(payload)
            tail = summarize(reply, reply=True) if error is None else f"✗ {error}"
            messages_log.info("%s %s %s%s %s %s", self.identity, arrow, action, f" {req}" if req else "",
                              back, tail or "OK")
        if self.history.maxlen:
            with self._cond:
                self._seq += 1
                self.history.append({"seq": self._seq, "direction": direction, "action": action,
                                     "payload": payload, "reply": reply, "error": error,
                                     "time": time.monotonic()})
                self._cond.notify_all()

    def wait_for(self, predicate: Callable[[], Any], timeout: float) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on each message and every 50 ms)."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            left = deadline - time.monotonic()
            if left <= 0:
                return result
            with self._cond:
                self._cond.wait(min(left, 0.05))

    def _outgoing(self, ex: OutgoingExchange) -> None:
        if self.show_envelopes:
            self.echo(f"--- {self.identity} → {ex.operation} request\n{pretty(ex.request)}")
            if ex.response:
                self.echo(f"--- {self.identity} ← {ex.operation} reply (HTTP {ex.status})\n{pretty(ex.response)}")
        if self.capture is not None:
            self.capture.outgoing(ex)

    def enable_envelopes(self, on: bool) -> None:
        self.show_envelopes = on
        self.client.on_exchange = self._outgoing if (on or self.capture is not None) else None


# ==================================================================== the WSGI application
class ChargePointHost:
    """WSGI app hosting one or many simulated charge points: their SOAP endpoint and the admin API."""

    def __init__(self, strict: bool = False, capture: Any = None, reply_from: str | None = None) -> None:
        self.members: dict[str, ChargePoint] = {}
        self.default: ChargePoint | None = None
        self.capture = capture
        self._local = threading.local()
        handlers = {action: self._dispatcher(action) for action in OPERATIONS}
        self.endpoint = OcppEndpoint(CHARGEPOINT, handlers, versions=VERSIONS,
                                     options=EndpointOptions(strict=strict, reply_from=reply_from),
                                     on_exchange=self._on_exchange, before_dispatch=self._before_dispatch)
        self.admin = AdminApi(self)

    def add(self, sim: ChargePoint, default: bool = False) -> None:
        self.members[sim.identity] = sim
        sim.host = self
        if default:
            self.default = sim

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "") or "/"
        if path == CP_PATH or path.startswith(CP_PATH + "/"):
            ident = path[len(CP_PATH) + 1:].strip("/")
            sim = self.members.get(ident) if ident else self.default
            if sim is None:
                start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
                return [f"no simulated charge point at {path}\n".encode()]
            self._local.sim = sim
            try:
                return self.endpoint(environ, start_response)
            finally:
                self._local.sim = None
        if path == "/admin" or path.startswith("/admin/"):
            return self.admin(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [f"nothing at {path}; SOAP at {CP_PATH}[/<id>], JSON at /admin/\n".encode()]

    def _before_dispatch(self, call: CallContext, incoming: Any) -> None:
        sim = self._local.sim
        if call.charge_box_id != sim.identity:
            messages_log.info("%s ← %s ✗ chargeBoxIdentity %r", sim.identity, call.action, call.charge_box_id)
            raise IdentityMismatch(f"this is charge point {sim.identity!r}, not {call.charge_box_id!r}")
        call.extra["sim"] = sim

    def _dispatcher(self, action: str) -> Callable[[CallContext, dict], dict]:
        def handler(ctx: CallContext, payload: dict) -> dict:
            return ctx.extra["sim"].handle(action, ctx, payload)

        handler.__name__ = f"dispatch_{action}"
        return handler

    def _on_exchange(self, ex: Exchange) -> None:
        sim = getattr(self._local, "sim", None)
        if sim is not None and sim.show_envelopes:
            sim.echo(f"--- {sim.identity} ← {ex.action} request\n{pretty(ex.request)}")
            sim.echo(f"--- {sim.identity} → {ex.action} reply (HTTP {ex.status})\n{pretty(ex.response)}")
        if self.capture is not None:
            self.capture.incoming(ex)

