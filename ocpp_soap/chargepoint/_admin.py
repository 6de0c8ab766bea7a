"""A small JSON API to drive simulated charge points over HTTP (tests, tools, a demo page).

Served by the host of the simulated charge points under ``/admin/``. Every route
exists twice: ``/admin/<route>`` acts on the host's lone (default) charge point, and
``/admin/cp/<id>/<route>`` on any charge point of a fleet.

=======  =========================  ===============================================================
GET      ``state``                  the charge point's state (connectors, transactions, queue …)
GET      ``fleet``                  ``{id: {registration, status, charging}}`` for every hosted CP
GET      ``config``                 every configuration key and value
POST     ``config``                 ``{"key": K, "value": V}`` → the ChangeConfiguration status
POST     ``plug/{n}``               the cable goes in
POST     ``unplug/{n}``             the cable comes out
POST     ``swipe``                  ``{"tag": T, "connector": n}`` → ``{"result": started|…}``
POST     ``fault/{n}``              ``{"code": "GroundFailure"}`` (n = 0: the whole box)
POST     ``clear/{n}``              clears the fault
POST     ``stop/{n}``               the local stop button (``{"reason": "Local"}``)
POST     ``send/{Action}``          ``{"payload": {...}}`` → the Central System's reply
POST     ``power/on`` | ``off``     boot / switch off
=======  =========================  ===============================================================

Answers are JSON; a bad request gives 400 with ``{"error": ...}``, an unreachable Central System or
a fault from it 502.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from ocpp_soap.chargepoint._render import to_json


class Simulator(Protocol):
    """What the admin API asks of a charge point (``ChargePoint`` has it; this module does not
    import that class, which serves this API: the two would import each other)."""

    def state(self) -> dict: ...
    def summary(self) -> dict: ...
    def configure(self, key: str, value: Any) -> str: ...
    def configuration(self, keys: list[str] | None = None) -> tuple[list[dict], list[str]]: ...
    def plug(self, n: int = 1) -> None: ...
    def unplug(self, n: int = 1) -> None: ...
    def swipe(self, tag: str, n: int | None = None) -> str: ...
    def fault(self, n: int, code: str = "OtherError") -> None: ...
    def clear_fault(self, n: int) -> None: ...
    def stop_transaction(self, n: int, reason: str = "Local") -> bool: ...
    def send(self, action: str, payload: dict | None = None) -> dict: ...
    def start(self) -> Any: ...
    def stop(self) -> None: ...


class Host(Protocol):
    """The charge points the API reaches: every member by id, and the lone default one."""

    members: Mapping[str, Simulator]
    default: Simulator | None


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            502: "Bad Gateway"}


class AdminApi:
    """WSGI app for ``/admin/…`` of a host of charge points."""

    max_body = 256 * 1024

    def __init__(self, host: Host) -> None:
        self.host = host

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        parts = [p for p in environ.get("PATH_INFO", "").split("/") if p][1:]  # drop "admin"
        try:
            body = self._body(environ) if method == "POST" else {}
            status, result = 200, self.route(method, parts, body)
        except AdminError as exc:
            status, result = exc.status, {"error": str(exc)}
        except (ValueError, KeyError, TypeError) as exc:
            status, result = 400, {"error": str(exc)}
        except (ConnectionError, TimeoutError) as exc:
            status, result = 502, {"error": f"central system unreachable: {exc}"}
        except Exception as exc:  # a fault from the CS, a bad reply
            status, result = 502, {"error": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(to_json(result), indent=1).encode() + b"\n"
        start_response(f"{status} {_REASONS.get(status, '')}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def _body(self, environ) -> dict:
        try:
            n = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise AdminError(400, "bad Content-Length") from None
        if n > self.max_body:
            raise AdminError(400, "request body too large")
        raw = environ["wsgi.input"].read(n) if n else b""
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise AdminError(400, f"body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise AdminError(400, "body must be a JSON object")
        return data

    def route(self, method: str, parts: list[str], body: dict) -> Any:
        if parts[:1] == ["fleet"]:
            return {ident: sim.summary() for ident, sim in self.host.members.items()}
        if parts[:1] == ["cp"]:
            if len(parts) < 3:
                raise AdminError(404, "use /admin/cp/<id>/<route>")
            sim = self.host.members.get(parts[1])
            if sim is None:
                raise AdminError(404, f"no charge point {parts[1]!r}")
            parts = parts[2:]
        else:
            sim = self.host.default
            if sim is None:
                raise AdminError(404, "no default charge point here: use /admin/cp/<id>/<route>")
        if not parts:
            raise AdminError(404, "routes: state, config, plug/N, unplug/N, swipe, fault/N, clear/N, "
                                  "stop/N, send/Action, power/on|off, fleet")
        return self._act(sim, method, parts[0], parts[1:], body)

    def _act(self, sim: Simulator, method: str, name: str, args: list[str], body: dict) -> Any:
        if name == "state":
            return sim.state()
        if name == "config":
            if method == "POST":
                return {"status": sim.configure(str(body["key"]), str(body["value"]))}
            known, unknown = sim.configuration(args or None)
            return {"configurationKey": known, "unknownKey": unknown}
        if method != "POST":
            raise AdminError(405, f"{name}: use POST")
        n = int(args[0]) if args and args[0].isdigit() else body.get("connector")
        if name == "plug":
            sim.plug(n or 1)
        elif name == "unplug":
            sim.unplug(n or 1)
        elif name == "swipe":
            tag = body.get("tag") or (args[0] if args else None)
            if not tag:
                raise AdminError(400, "swipe needs {\"tag\": ...}")
            return {"result": sim.swipe(tag, body.get("connector"))}
        elif name == "fault":
            sim.fault(n or 0, body.get("code", "OtherError"))
        elif name == "clear":
            sim.clear_fault(n or 0)
        elif name == "stop":
            return {"stopped": sim.stop_transaction(n or 1, body.get("reason", "Local"))}
        elif name == "send":
            if not args:
                raise AdminError(400, "send/<Action>")
            return sim.send(args[0], body.get("payload", {}))
        elif name == "power":
            (sim.start if args[:1] == ["on"] else sim.stop)()
        else:
            raise AdminError(404, f"unknown route {name!r}")
        return sim.state()
