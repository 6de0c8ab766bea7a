"""The Central System as one WSGI application: SOAP endpoints, the JSON API, logging and capture.

URLs (a contract with chargers and operators):

- ``/ocpp/1.5/CentralSystemService`` and ``/ocpp/1.6/CentralSystemService``: one version each
  (``?wsdl`` gives the WSDL with this URL as its address);
- ``/ocpp/CentralSystemService``: both versions, picked by the body namespace;
- ``/api/v1/…``: the operators' JSON API (see ``api``), ``/healthz``: liveness;
- ``/ui/…``: the operators' web console (see ``console``); ``/`` redirects there.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ocpp_soap.soap import faults
from ocpp_soap.soap.logsafe import clean
from ocpp_soap.soap.server import EndpointOptions, Exchange, OcppEndpoint
from ocpp_soap.soap.spyne_app import build_application
from ocpp_soap.soap.versions import CENTRAL, VERSIONS

from .api import ApiApp
from .commander import Commander
from .commands import QUEUED, state_condition
from .domain import CentralSystem
from .envelopelog import EnvelopeLogWriter
from .errors import ProtocolViolation, SecurityError, StorageUnavailable
from .handlers import build_handlers
from .routes import PREFIX
from .settings import CentralSettings
from .storage.models import PendingCommand
from .storage.outage import OUTAGE_TEXT
from .trust import MAX_IDENTITY

log = logging.getLogger("ocpp_soap.central")
msglog = logging.getLogger("ocpp_soap.central.messages")

SOAP_PATHS = {
    "/ocpp/1.5/CentralSystemService": ("1.5",),
    "/ocpp/1.6/CentralSystemService": ("1.6",),
    "/ocpp/CentralSystemService": VERSIONS,
}


@dataclass
class ServeOptions:
    """How this process serves: wire strictness, body cap, capture, API token, envelope log."""

    strict: bool = False
    max_body: int = 1024 * 1024
    capture_dir: str | None = None
    api_token: str | None = None
    envelope_log: bool = True
    listen_host: str = "127.0.0.1"
    #: Where this process serves; None until known (the first request tells an in-process
    #: server's port). The address guard never calls it.
    listen_port: int | None = None
    #: Host names (with or without port) the JSON API answers to without a token, beside the
    #: listen address and loopback names: the public host, taken from ``public_url`` too.
    api_hosts: tuple[str, ...] = ()


def _translate(exc: BaseException) -> faults.OcppFault | None:
    if isinstance(exc, SecurityError):
        return faults.SecurityError(str(exc))
    if isinstance(exc, ProtocolViolation):
        return faults.ProtocolError(str(exc))
    if isinstance(exc, StorageUnavailable):
        log.warning("storage outage: %s", exc.detail or exc)
        return faults.InternalError(OUTAGE_TEXT)
    return None


class CentralApp:
    """One process's Central System: the domain, its endpoints, its commander and its API."""

    PENDING_REFRESH = 1.0

    def __init__(self, settings: CentralSettings | None = None,
                 options: ServeOptions | None = None, central: CentralSystem | None = None):
        self.settings = settings or CentralSettings()
        self.options = options or ServeOptions()
        self.central = central or CentralSystem.open(self.settings)
        self.central.guard.listening(self.options.listen_host, self.options.listen_port)
        self.central.write_presence_behind()
        self.capture = None
        if self.options.capture_dir:
            from ocpp_soap.tools.capture import CaptureWriter

            self.capture = CaptureWriter(self.options.capture_dir)
        self.envelopes = (EnvelopeLogWriter(self.central.store, prune=self.central.prune_envelopes)
                          if self.options.envelope_log else None)
        self.commander = Commander(self.central, self.cs_url, on_exchange=self._outgoing,
                                   on_queued=self.note_pending)
        self._pending_boxes: set[str] = set()
        self._pending_read_at = float("-inf")
        #: Operation name → handler; the Spyne methods look theirs up here on every call.
        self.handlers = handlers = build_handlers(self.central, strict=self.options.strict,
                                                  commands_waiting=self.note_pending)
        wire = EndpointOptions(strict=self.options.strict, max_body=self.options.max_body,
                               tolerate_values=True)
        apps = {v: build_application(v, CENTRAL, handlers, _translate) for v in VERSIONS}
        self.endpoints = {
            path: OcppEndpoint(CENTRAL, handlers, versions=versions, options=wire,
                               translator=_translate, on_exchange=self._incoming, apps=apps)
            for path, versions in SOAP_PATHS.items()
        }
        self.api = ApiApp(self.central, self.commander, self.settings, self.options)
        from .console import ConsoleApp

        self.console = ConsoleApp(self)

    # -- addresses -----------------------------------------------------------------------------
    def cs_url(self, version: str) -> str | None:
        """The SOAP address we give charge points as From: public_url + the versioned path."""
        base = self.settings.public_url
        if not base:
            return None
        return base.rstrip("/") + f"/ocpp/{version}/CentralSystemService"

    # -- WSGI ----------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        if self.central.guard.listen_port is None:
            self._note_listen_port(environ)
        path = (environ.get("PATH_INFO") or "/").rstrip("/") or "/"
        endpoint = self.endpoints.get(path)
        if endpoint is not None:
            return endpoint(environ, start_response)
        if path == PREFIX or path.startswith(PREFIX + "/"):
            return self.api(environ, start_response)
        if path == "/ui" or path.startswith("/ui/"):
            return self.console(environ, start_response)
        if path == "/":
            start_response("303 See Other", [("Location", "/ui/"), ("Content-Length", "0")])
            return [b""]
        if path == "/healthz":
            body = b"ocpp-soap Central System: SOAP at /ocpp/{1.5,1.6}/CentralSystemService, API at /api/v1\n"
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        body = b"not found\n"
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                         ("Content-Length", str(len(body)))])
        return [body]

    def _note_listen_port(self, environ) -> None:
        """The port we serve on, from the listening socket (gunicorn) or the server's own
        record (werkzeug's SERVER_PORT); never from the client's Host header."""
        sock = environ.get("gunicorn.socket")
        port = None
        try:
            if sock is not None:
                port = sock.getsockname()[1]
            elif "werkzeug.socket" in environ:
                port = environ["werkzeug.socket"].getsockname()[1]
        except (OSError, IndexError):
            port = None
        if port:
            self.central.guard.listening(self.options.listen_host, int(port))

    # -- hooks ---------------------------------------------------------------------------------
    def _incoming(self, ex: Exchange) -> None:
        outcome = "ok" if ex.status == 200 else (ex.fault or str(ex.status))
        msglog.info("%s %s %s %d %.1fms", clean(ex.charge_box_id), clean(ex.action), clean(outcome),
                    ex.status, ex.elapsed_ms)
        if self.capture is not None:
            self.capture.incoming(ex)
        if self.envelopes is not None:
            now = datetime.now(UTC)
            # an over-long identity was refused (ProtocolError); its envelope is kept, the
            # identity column holds what fits
            box = ex.charge_box_id[:MAX_IDENTITY] if ex.charge_box_id else None
            self.envelopes.add("in", ex.request, at=now, charge_box_id=box,
                               action=ex.action, message_id=ex.message_id, version=ex.version,
                               peer=ex.peer)
            self.envelopes.add("out", ex.response, at=now, charge_box_id=box,
                               action=(ex.action + "Response") if ex.action else None,
                               message_id=None, relates_to=ex.message_id, version=ex.version,
                               peer=ex.peer)
        if ex.status == 200 and ex.charge_box_id:
            self._maybe_wake(ex.charge_box_id)

    def _outgoing(self, ex: Any) -> None:
        if self.capture is not None:
            self.capture.outgoing(ex)
        if self.envelopes is not None:
            now = datetime.now(UTC)
            self.envelopes.add("out", ex.request, at=now, charge_box_id=ex.charge_box_id,
                               action=ex.operation, message_id=ex.message_id, version=ex.version)
            self.envelopes.add("in", ex.response, at=now, charge_box_id=ex.charge_box_id,
                               action=ex.operation + "Response", message_id=None,
                               relates_to=ex.message_id, version=ex.version)
        msglog.info("%s %s → %s %s %.1fms", clean(ex.charge_box_id), ex.operation,
                    clean(ex.endpoint), clean(ex.error or ex.status, 300), ex.elapsed_ms)

    def _maybe_wake(self, charge_box_id: str) -> None:
        """OCPP-S 5: a box that talks to us is reachable now; send what waits for it.

        For a Heartbeat or BootNotification (the wake-up messages) the domain asks the database
        inside the message's own transaction, and its reply says so (``Reply.commands_waiting``
        → ``note_pending``). For the other messages, asking on each would cost a query per
        message; the set of boxes with queued commands is read at most once per
        ``PENDING_REFRESH`` seconds instead.
        """
        try:
            now = time.monotonic()
            if (charge_box_id not in self._pending_boxes
                    and now - self._pending_read_at > self.PENDING_REFRESH):
                self._pending_boxes = self._boxes_with_pending()
                self._pending_read_at = now
            if charge_box_id in self._pending_boxes:
                self._pending_boxes.discard(charge_box_id)
                self.commander.wake_up(charge_box_id)
        except StorageUnavailable as exc:  # the message itself was answered; next time
            log.warning("pending-command check for %s: %s", charge_box_id, exc)
        except Exception:
            log.exception("pending-command check failed for %s", charge_box_id)

    def _boxes_with_pending(self) -> set[str]:
        now = self.central.clock()

        def work(session) -> set[str]:
            rows = session.execute(
                select(PendingCommand.charge_box_id).where(state_condition(QUEUED, now))
                .distinct())
            return {r[0] for r in rows}

        return self.central.store.read(work)

    def note_pending(self, charge_box_id: str) -> None:
        """A command was queued in this process: wake the box on its very next message."""
        self._pending_boxes.add(charge_box_id)

    def close(self) -> None:
        if self.envelopes is not None:
            self.envelopes.flush()
        self.central.close()
