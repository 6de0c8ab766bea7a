"""The simulated charge point on the wire: its ChargePointService, its link to the CS, its log.

A :class:`SimulatedChargePoint` joins three things around one :class:`ChargePoint` core:

- an :class:`OcppClient` to the Central System (the core's ``central``), which logs one readable line
  per message and turns a timeout into "unreachable", as the core expects;
- the handlers of the CS→CP operations, served by a :class:`ChargePointHost`;
- a short history of recent messages (scenarios wait on it) and the envelope printer of the shell.

A :class:`ChargePointHost` is the WSGI application of a process: one ``OcppEndpoint`` of the
ChargePointService for every charge point it hosts (routed by path, so a fleet shares one port and one
Spyne application), and the JSON admin API under ``/admin/``. A lone charge point answers at
``/ocpp/ChargePointService``; every charge point also answers at ``/ocpp/ChargePointService/<id>``.

Typical in-process use (a demo, a test)::

    sim = SimulatedChargePoint("CB1", "http://127.0.0.1:8180/ocpp/CentralSystemService", "1.6")
    sim.serve("127.0.0.1", 0)      # HTTP server on a free port; sim.url is its ChargePointService
    sim.start()                    # power on: BootNotification, StatusNotification, heartbeats
    sim.plug(1); sim.swipe("ABC", 1); sim.state()
    sim.close()
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
from lxml import etree

from ocpp_soap.chargepoint.config import SimConfig
from ocpp_soap.chargepoint.core import ChargePoint
from ocpp_soap.chargepoint.handlers import OPERATIONS, build_handlers
from ocpp_soap.chargepoint.scheduler import Scheduler
from ocpp_soap.messages.schema import (
    Builtin,
    Complex,
    Restricted,
    TextWithAttributes,
    service_schema,
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


# ==================================================================== readable message lines
_KEY_FIELDS = (
    ("connectorId", "connector"), ("idTag", "idTag"), ("transactionId", "txId"),
    ("meterStart", "meterStart"), ("meterStop", "meterStop"), ("reason", "reason"),
    ("status", "status"), ("errorCode", "errorCode"), ("type", "type"), ("key", "key"),
    ("value", "value"), ("chargePointVendor", "vendor"), ("chargePointModel", "model"),
    ("firmwareVersion", "firmware"), ("reservationId", "reservationId"), ("vendorId", "vendorId"),
    ("messageId", "messageId"), ("requestedMessage", "message"), ("listVersion", "listVersion"),
    ("updateType", "updateType"), ("location", "location"), ("interval", "interval"),
    ("fileName", "file"), ("duration", "duration"),
)


def _fmt(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def summarize(payload: dict | None, reply: bool = False) -> str:
    """The key fields of a payload as ``name=value`` words (a reply leads with its status)."""
    if not payload:
        return ""
    words: list[str] = []
    if reply:
        status = payload.get("status") or (payload.get("idTagInfo") or {}).get("status")
        if status:
            words.append(str(status))
    for name, short in _KEY_FIELDS:
        if name in payload and not (reply and name == "status") and not isinstance(payload[name], list):
            words.append(f"{short}={_fmt(payload[name])}")
    if isinstance(payload.get("key"), list):
        words.append(f"keys={','.join(payload['key'])}")
    if "configurationKey" in payload:
        words.append(f"keys={len(payload['configurationKey'])}")
    if payload.get("unknownKey"):
        words.append(f"unknown={','.join(payload['unknownKey'])}")
    if "chargingProfile" in payload:
        words.append(f"profile={(payload['chargingProfile'] or {}).get('chargingProfilePurpose')}")
    for mv in (payload.get("meterValue") or [])[:1]:
        for sv in (mv.get("sampledValue") or [])[:3]:
            unit = sv.get("unit") or ""
            words.append(f"{sv.get('measurand') or 'Energy.Active.Import.Register'}={sv.get('value')}{unit}")
    if payload.get("transactionData"):
        words.append(f"samples={len(payload['transactionData'])}")
    if not reply and not words:
        return ""
    return " ".join(words)


def to_json(value: Any) -> Any:
    """A payload or state with datetimes as ISO text (for JSON and the shell)."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


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
class CentralLink:
    """The core's ``central``: an OcppClient plus the log line, the history and the counters."""

    def __init__(self, sim: SimulatedChargePoint, client: OcppClient) -> None:
        self.sim = sim
        self.client = client

    def call(self, action: str, payload: dict) -> dict:
        sim = self.sim
        sim.sent += 1
        note = getattr(sim.cp.scheduler, "note_send", None)
        if note is not None:
            note(action)
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
class SimulatedChargePoint:
    """A ChargePoint core with its SOAP faces (see the module docstring for a usage example)."""

    def __init__(self, identity: str, central_url: str, version: str = "1.6", connectors: int = 1,
                 config: SimConfig | dict | None = None, state_path: str | None = None, *,
                 public_url: str | None = None, scheduler: Any = None,
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
        self.link = CentralLink(self, self.client)
        self.cp = ChargePoint(identity, version, connectors, config, state_path, central=self.link,
                              scheduler=scheduler)
        self.handlers = build_handlers(self.cp)
        self.host: ChargePointHost | None = None
        self._server: BackgroundServer | None = None
        self._own_scheduler = None

    # ------------------------------------------------------------------ serving
    def serve(self, host: str = "127.0.0.1", port: int = 0, public_url: str | None = None) -> SimulatedChargePoint:
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

    def start(self) -> SimulatedChargePoint:
        """Power on (boot)."""
        self.cp.start()
        return self

    def stop(self) -> None:
        """Power off (state kept)."""
        self.cp.stop()

    def close(self) -> None:
        """Power off and stop serving."""
        self.cp.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> SimulatedChargePoint:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ the driver's hands
    def plug(self, n: int = 1) -> None:
        self.cp.plug(int(n))

    def unplug(self, n: int = 1) -> None:
        self.cp.unplug(int(n))

    def swipe(self, tag: str, n: int | None = None) -> str:
        return self.cp.swipe(str(tag), None if n is None else int(n))

    def fault(self, n: int, code: str = "OtherError") -> None:
        self.cp.fault(int(n), code)

    def clear_fault(self, n: int) -> None:
        self.cp.clear_fault(int(n))

    def stop_transaction(self, n: int, reason: str = "Local") -> bool:
        return self.cp.stop_transaction(int(n), reason)

    def state(self) -> dict:
        return to_json(self.cp.state())

    # ------------------------------------------------------------------ raw messages
    def prepare(self, action: str, payload: dict | None = None) -> tuple[str, dict]:
        """(action, payload) with values typed by the schema and obvious fields filled in."""
        action = canonical_action(action)
        rtype = request_type(self.version, action)
        payload = coerce(dict(payload or {}), rtype)
        cp, now = self.cp, datetime.now(UTC)
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
        return self.cp.send(action, full)

    # ------------------------------------------------------------------ CS→CP requests
    def handle(self, action: str, ctx: CallContext, payload: dict) -> dict:
        try:
            reply = self.handlers[action](ctx, payload)
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


def pretty(data: bytes) -> str:
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True,
                                                      remove_blank_text=True))
        return etree.tostring(root, pretty_print=True, encoding="unicode")
    except etree.XMLSyntaxError:
        return data.decode("utf-8", "replace")


# ==================================================================== the WSGI application
class ChargePointHost:
    """WSGI app hosting one or many simulated charge points: their SOAP endpoint and the admin API."""

    def __init__(self, strict: bool = False, capture: Any = None, reply_from: str | None = None) -> None:
        self.members: dict[str, SimulatedChargePoint] = {}
        self.default: SimulatedChargePoint | None = None
        self.capture = capture
        self._local = threading.local()
        handlers = {action: self._dispatcher(action) for action in OPERATIONS}
        self.endpoint = OcppEndpoint(CHARGEPOINT, handlers, versions=VERSIONS,
                                     options=EndpointOptions(strict=strict, reply_from=reply_from),
                                     on_exchange=self._on_exchange, before_dispatch=self._before_dispatch)
        from ocpp_soap.chargepoint.admin import AdminApi

        self.admin = AdminApi(self)

    def add(self, sim: SimulatedChargePoint, default: bool = False) -> None:
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


def new_scheduler(workers: int = 16) -> Scheduler:
    """A scheduler of its own (a fleet, a scenario), rather than the process-wide one."""
    return Scheduler(workers=workers)


__all__ = ["CP_PATH", "CS_ACTIONS", "CentralLink", "CentralUnreachable", "ChargePointHost",
           "SimulatedChargePoint", "coerce", "new_scheduler", "pretty", "summarize", "to_json"]
