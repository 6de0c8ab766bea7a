"""The operators' JSON API, mounted at ``/api/v1`` (its OpenAPI document: ``openapi.json``).

Its paths, methods and body schemas are the rows of ``routes.ROUTES``: the rules here, the
document and the body checks (``jsonbody``) all come from that one table. Resources are the admin
views (``admin.CentralAdmin``) as JSON; commands go through the ``Commander`` so they are checked,
sent and logged exactly as from the CLI. Errors are always JSON
``{"error": ...}``: 400 malformed JSON or query parameter, 401/403 auth, 404 unknown thing, 405
wrong method, 409 conflict (exists, box not Accepted, no endpoint), 413 body too large, 422 invalid
field (named in ``field``), 502 the box faulted, answered garbage or cannot be reached, 504 the box
did not answer in time.

Auth: ``Authorization: Bearer <ServeOptions.api_token>``. Without a configured token the API only
answers when the server listens on loopback, and even then a browser on this machine can reach it:
a page elsewhere may post a form (CSRF) or rebind its own name to 127.0.0.1 (DNS rebinding). So
without a token two more checks answer 403 before anything else: the ``Host`` must be the listen
address, a loopback name or our public host, and an ``Origin``, if sent, must be our own. And any
write with a body must be ``application/json`` (415), which no form can send cross-site without
a CORS preflight we never grant.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.wrappers import Request, Response

from ocpp_soap.messages import service_schema
from ocpp_soap.messages.payload import PayloadError
from ocpp_soap.soap.versions import CHARGEPOINT

from . import openapi, routes
from .commander import Commander, CommandFailed
from .commands import PENDING_STATES
from .domain import CentralSystem
from .errors import Conflict, NotFound, StorageUnavailable
from .events import json_default
from .fieldlimits import FieldTooLong
from .jsonbody import BodyError, check
from .outbox import DELIVERY_STATES
from .routes import PREFIX
from .settings import CentralSettings
from .storage.outage import OUTAGE_TEXT
from .timeutil import parse_time

log = logging.getLogger("ocpp_soap.central.api")

MAX_BODY = 1024 * 1024
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


class ApiError(Exception):
    """An answer other than success: status, message and extra JSON fields."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None,
                 **extra: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers
        self.extra = {k: v for k, v in extra.items() if v is not None}


def is_loopback(host: str | None) -> bool:
    """Whether a listen address only takes connections from this machine."""
    if not host:
        return False
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, default=json_default, ensure_ascii=False)
    return Response(body, status=status, headers=headers, content_type="application/json")


def error_response(status: int, message: str, headers: dict[str, str] | None = None,
                   **extra: Any) -> Response:
    return json_response({"error": message, **extra}, status, headers)


# --------------------------------------------------------------------- query parameters

class Query:
    """Typed access to query parameters; a wrong type is a 400 naming the parameter."""

    def __init__(self, args):
        self.args = args

    def str(self, name: str) -> str | None:
        value = self.args.get(name)
        return value if value not in (None, "") else None

    def int(self, name: str, minimum: int | None = None) -> int | None:
        text = self.str(name)
        if text is None:
            return None
        try:
            value = int(text)
        except ValueError:
            raise ApiError(400, f"{name}: expected an integer, got {text!r}", field=name) from None
        if minimum is not None and value < minimum:
            raise ApiError(400, f"{name}: must be at least {minimum}", field=name)
        return value

    def bool(self, name: str) -> bool | None:
        text = self.str(name)
        if text is None:
            return None
        low = text.lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise ApiError(400, f"{name}: expected true or false, got {text!r}", field=name)

    def time(self, name: str) -> datetime | None:
        text = self.str(name)
        if text is None:
            return None
        try:
            return parse_time(text)
        except ValueError:
            raise ApiError(400, f"{name}: expected an ISO 8601 date-time, got {text!r}",
                           field=name) from None

    def page(self) -> dict[str, Any]:
        limit = self.int("limit", 1)
        out: dict[str, Any] = {"offset": self.int("offset", 0) or 0}
        if limit is not None:
            out["limit"] = limit
        return out

    def window(self) -> dict[str, Any]:
        return {"charge_box_id": self.str("chargebox"), "since": self.time("since"),
                "until": self.time("until"), **self.page()}


def _items(rows: list[Any]) -> Response:
    return json_response({"items": rows, "count": len(rows)})


# --------------------------------------------------------------------- the app

class ApiOptions(Protocol):
    """What the API reads of how the process serves (``app.ServeOptions`` has it)."""

    api_token: str | None
    listen_host: str
    api_hosts: tuple[str, ...]


class ApiApp:
    """WSGI app for ``/api/v1/…``: the route table's rules, each answered by ``on_<endpoint>``.

    It is given what it works with (the domain, the commander, the settings it reads the public
    host from, the serve options) rather than the application that mounts it.
    """

    def __init__(self, central: CentralSystem, commander: Commander, settings: CentralSettings,
                 options: ApiOptions):
        self.central = central
        self.commander = commander
        self.settings = settings
        self.options = options
        self.url_map = routes.url_map()

    @property
    def admin(self):
        return self.central.admin

    # -- WSGI ----------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except ApiError as exc:
            response = error_response(exc.status, exc.message, exc.headers, **exc.extra)
        except StorageUnavailable as exc:
            log.warning("API %s %s: %s", request.method, request.path, exc.detail or exc)
            response = error_response(503, OUTAGE_TEXT, {"Retry-After": "5"}, kind="storage")
        except Exception:
            log.exception("API %s %s failed", request.method, request.path)
            response = error_response(500, "internal error (see the server log)")
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if not self.options.api_token:
            self.same_site_only(request)
        if _has_body(request) and request.mimetype != "application/json":
            raise ApiError(415, f"request bodies must be application/json, not"
                                f" {request.mimetype or '(none)'!r}")
        path = request.path
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            raise ApiError(404, f"no such path {path}")
        sub = path[len(PREFIX):] or "/"
        adapter = self.url_map.bind("localhost", path_info=sub)
        try:
            endpoint, args = adapter.match(sub, method=request.method)
        except MethodNotAllowed as exc:
            allowed = sorted(exc.valid_methods or ())
            return error_response(405, f"{request.method} not allowed on {path}"
                                       f" (allowed: {', '.join(allowed)})",
                                  headers={"Allow": ", ".join(allowed)})
        except RouteNotFound:
            raise ApiError(404, f"no such path {path}") from None
        except HTTPException as exc:  # anything else routing may raise
            raise ApiError(exc.code or 400, exc.description or str(exc)) from None
        route = routes.BY_ENDPOINT[endpoint]
        if not route.public:
            self.authorize(request)
        values: list[Any] = [args[name] for name in route.path_names]
        handler = getattr(self, "on_" + endpoint)
        try:
            if route.body in routes.BODIES:
                data = self.body(request, empty_ok=not route.body_required)
                values.append(check(data, route.body))
            return handler(request, *values)
        except BodyError as exc:
            raise ApiError(422, str(exc), field=exc.field) from None
        except NotFound as exc:
            raise ApiError(404, _text(exc)) from None
        except Conflict as exc:
            raise ApiError(409, _text(exc)) from None
        except PayloadError as exc:
            raise ApiError(422, str(exc), field=exc.field or None) from None
        except FieldTooLong as exc:
            raise ApiError(422, str(exc), field=exc.field) from None
        except ValueError as exc:
            raise ApiError(422, str(exc)) from None

    # -- same-site checks (no token) ------------------------------------------------------------
    def allowed_hosts(self) -> set[str]:
        """Host names the API answers to without a token (ports are not compared)."""
        hosts = {"localhost", "127.0.0.1", "::1", "ip6-localhost", "localhost.localdomain"}
        listen = _host_only(self.options.listen_host)
        if listen and listen not in ("0.0.0.0", "::", ""):
            hosts.add(listen)
        for extra in (self.settings.public_url, *self.options.api_hosts):
            name = _host_only(urlsplit(extra).netloc if extra and "://" in extra else extra)
            if name:
                hosts.add(name)
        return hosts

    def same_site_only(self, request: Request) -> None:
        if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
            raise ApiError(403, "a proxied request, and no API token is configured: behind a"
                                " proxy the API needs a token (--api-token-file)")
        host = request.headers.get("Host", "")
        name = _host_only(host)
        if not name or (name not in self.allowed_hosts() and not is_loopback(name)):
            raise ApiError(403, f"Host {host!r} is not this server's (without an API token only"
                                " the listen address, loopback and the public host are served)")
        origin = request.headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
                raise ApiError(403, f"cross-site request from Origin {origin!r} refused (without"
                                    " an API token only this server's own pages may call it)")

    # -- auth ----------------------------------------------------------------------------------
    def authorize(self, request: Request) -> None:
        token = self.options.api_token
        if not token:
            if is_loopback(self.options.listen_host):
                return
            raise ApiError(403, "the API is disabled: no API token is configured (api_token,"
                                " OCPP_SOAP_API_TOKEN, --api-token-file) and the server does"
                                " not listen on loopback")
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise _unauthorized("missing bearer token (Authorization: Bearer <token>)")
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise _unauthorized("invalid bearer token")

    # -- bodies --------------------------------------------------------------------------------
    @staticmethod
    def body(request: Request, *, empty_ok: bool = False) -> dict[str, Any]:
        length = request.content_length
        if length is not None and length > MAX_BODY:
            raise ApiError(413, f"request body larger than {MAX_BODY} bytes")
        raw = request.get_data(cache=False)
        if len(raw) > MAX_BODY:
            raise ApiError(413, f"request body larger than {MAX_BODY} bytes")
        if not raw.strip():
            if empty_ok:
                return {}
            raise ApiError(400, "a JSON object body is required")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"malformed JSON: {exc}") from None
        except RecursionError:  # nested deeper than the parser goes (no real body is)
            raise ApiError(400, "malformed JSON: nested too deeply") from None
        if not isinstance(data, dict):
            raise ApiError(400, "the body must be a JSON object")
        return data

    # -- meta ----------------------------------------------------------------------------------
    def on_openapi(self, request: Request) -> Response:
        return Response(openapi.document_bytes(), content_type="application/json")

    # -- charge boxes --------------------------------------------------------------------------
    def on_list_boxes(self, request: Request) -> Response:
        status = Query(request.args).str("registration_status")
        return _items(self.admin.list_chargeboxes(registration_status=status))

    def on_add_box(self, request: Request, data: dict[str, Any]) -> Response:
        box = self.admin.add_chargebox(data.pop("charge_box_id"), **data)
        return json_response(box, 201, {"Location": f"{PREFIX}/chargeboxes/{box['charge_box_id']}"})

    def on_get_box(self, request: Request, box: str) -> Response:
        return json_response(self.admin.get_chargebox(box))

    def on_update_box(self, request: Request, box: str, data: dict[str, Any]) -> Response:
        return json_response(self.admin.update_chargebox(box, **data))

    def on_remove_box(self, request: Request, box: str) -> Response:
        self.admin.remove_chargebox(box)
        return Response(status=204)

    def on_set_endpoint(self, request: Request, box: str, data: dict[str, Any]) -> Response:
        return json_response(self.admin.set_endpoint(box, data["address"]))

    def on_clear_endpoint(self, request: Request, box: str) -> Response:
        return json_response(self.admin.set_endpoint(box, None))

    def on_box_events(self, request: Request, box: str) -> Response:
        q = Query(request.args)
        return _items(self.admin.list_events(box, kind=q.str("kind"), since=q.time("since"),
                                             until=q.time("until"), **q.page()))

    def on_box_connectors(self, request: Request, box: str) -> Response:
        return _items(self.admin.get_chargebox(box)["connectors"])

    # -- id tags -------------------------------------------------------------------------------
    def on_list_tags(self, request: Request) -> Response:
        return _items(self.admin.list_tags(status=Query(request.args).str("status")))

    def on_add_tag(self, request: Request, data: dict[str, Any]) -> Response:
        tag = self.admin.add_tag(data.pop("id_tag"), **data)
        return json_response(tag, 201, {"Location": f"{PREFIX}/idtags/{tag['id_tag']}"})

    def on_get_tag(self, request: Request, tag: str) -> Response:
        return json_response(self.admin.get_tag(tag))

    def on_update_tag(self, request: Request, tag: str, data: dict[str, Any]) -> Response:
        return json_response(self.admin.update_tag(tag, **data))

    def on_remove_tag(self, request: Request, tag: str) -> Response:
        self.admin.remove_tag(tag)
        return Response(status=204)

    def on_block_tag(self, request: Request, tag: str) -> Response:
        return json_response(self.admin.block_tag(tag))

    def on_unblock_tag(self, request: Request, tag: str) -> Response:
        return json_response(self.admin.unblock_tag(tag))

    # -- history and logs ----------------------------------------------------------------------
    def on_list_transactions(self, request: Request) -> Response:
        q = Query(request.args)
        return _items(self.admin.list_transactions(id_tag=q.str("idTag"), active=q.bool("active"),
                                                   **q.window()))

    def on_get_transaction(self, request: Request, tx: str) -> Response:
        try:
            tx_id = int(tx)
        except ValueError:
            raise ApiError(404, f"unknown transaction {tx!r}") from None
        return json_response(self.admin.get_transaction(tx_id))

    def on_close_transaction(self, request: Request, tx: str, data: dict[str, Any]) -> Response:
        try:
            tx_id = int(tx)
        except ValueError:
            raise ApiError(404, f"unknown transaction {tx!r}") from None
        by = f"api ({request.remote_addr or 'unknown address'})"
        return json_response(self.admin.close_transaction(tx_id, by=by, **data))

    def on_list_meter_values(self, request: Request) -> Response:
        q = Query(request.args)
        return _items(self.admin.list_meter_values(transaction_id=q.int("transaction"),
                                                   connector_id=q.int("connector"), **q.window()))

    def on_connectors(self, request: Request) -> Response:
        return _items(self.admin.connector_status(Query(request.args).str("chargebox")))

    def on_messages(self, request: Request) -> Response:
        q = Query(request.args)
        # (the envelope log is written in batches: an exchange shows a moment after it ends)
        include = q.bool("envelope")
        return _items(self.admin.list_envelopes(action=q.str("action"),
                                                direction=q.str("direction"),
                                                include_envelope=include is not False,
                                                **q.window()))

    def on_commands(self, request: Request) -> Response:
        q = Query(request.args)
        return _items(self.admin.list_commands(operation=q.str("operation"),
                                               outcome=q.str("outcome"), **q.window()))

    def on_webhook_deliveries(self, request: Request) -> Response:
        from .outbox import list_deliveries

        q = Query(request.args)
        state = q.str("state")
        if state is not None and state not in DELIVERY_STATES:
            raise ApiError(400, f"state: one of {', '.join(DELIVERY_STATES)}", field="state")
        page = q.page()
        return _items(list_deliveries(self.central.store, webhook=q.str("webhook"),
                                      state=state, charge_box_id=q.str("chargebox"),
                                      limit=page.get("limit") or 100, offset=page["offset"]))

    def on_list_pending(self, request: Request) -> Response:
        q = Query(request.args)
        return self._pending(q, q.str("chargebox"))

    def on_box_pending(self, request: Request, box: str) -> Response:
        self.admin.get_chargebox(box)  # 404 for an unknown box
        return self._pending(Query(request.args), box)

    def _pending(self, q: Query, box: str | None) -> Response:
        state = q.str("state")
        if state is not None and state not in PENDING_STATES:
            raise ApiError(400, f"state must be one of {', '.join(PENDING_STATES)}",
                           field="state")
        return _items(self.admin.list_pending(box, state=state,
                                              include_taken=bool(q.bool("include_taken"))))

    def on_cancel_pending(self, request: Request, pending: str) -> Response:
        try:
            pending_id = int(pending)
        except ValueError:
            raise ApiError(404, f"no queued command {pending!r}") from None
        self.admin.cancel_pending(pending_id)
        return Response(status=204)

    # -- commands ------------------------------------------------------------------------------
    def on_call(self, request: Request, box: str, operation: str) -> Response:
        q = Query(request.args)
        queue = bool(q.bool("queue"))
        expires_at = q.time("expiresAt")
        known = openapi.chargepoint_operations()
        if operation not in known:
            raise ApiError(404, f"unknown operation {operation!r} (known: {', '.join(known)})")
        info = self.admin.get_chargebox(box)  # 404 for an unknown box
        version = info.get("ocpp_version") or "1.6"
        if not service_schema(version, CHARGEPOINT).has(operation):
            raise ApiError(404, f"OCPP {version} (the version of {box!r}) has no operation"
                                f" {operation}")
        payload = self.body(request, empty_ok=True)
        try:
            result = self.commander.send(box, operation, payload, queue_if_unreachable=queue,
                                         expires_at=expires_at)
        except CommandFailed as exc:
            status = {"timeout": 504, "refused": 409}.get(exc.kind, 502)
            raise ApiError(status, str(exc), kind=exc.kind) from None
        if result.outcome == "queued":
            return _queued(box, operation, result.pending_id)
        return json_response(result.reply or {})


def _has_body(request: Request) -> bool:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _host_only(value: str | None) -> str:
    """``host`` of ``host[:port]`` / ``[v6]:port``, lower case, without a trailing dot."""
    text = (value or "").strip().lower()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.rstrip(".")


def _queued(box: str, operation: str, pending_id: int | None) -> Response:
    return json_response({"status": "queued", "pending_id": pending_id, "charge_box_id": box,
                          "operation": operation}, 202,
                         {"Location": f"{PREFIX}/pending?chargebox={box}"})


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, {"WWW-Authenticate": 'Bearer realm="ocpp-soap"'})


def _text(exc: BaseException) -> str:
    # LookupError's str() quotes its argument; the message is what we want.
    return str(exc.args[0]) if exc.args else exc.__class__.__name__
