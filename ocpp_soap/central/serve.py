"""``ocpp-soap central serve``: the Central System under gunicorn, started from Python.

Why gunicorn, and why sync workers: the first measurement on the 2-core reference machine (issue
"Benchmarks and load") had gunicorn's sync workers serving about twice the SOAP requests per second
that waitress did with the same application. An OCPP-S request is short, CPU-bound work (XML parse,
Spyne, one short SQLite write); a sync worker does exactly one at a time with no event loop or
thread hand-off in the way, and several processes use several cores despite the GIL. SQLite in WAL
mode with the store's retrying short transactions is safe with several worker processes.

The price of sync workers: a CS→CP command sent *from a worker* (the HTTP API) holds that worker
until the charge point answers or the command timeout passes. Measured: 20 API commands at once to
a charge point that never answers, 2 sync workers, 1 s timeout → chargers waited up to ~8.5 s.
``--threads N`` (N > 1) switches to gunicorn's threaded workers (gthread): with 2×32 threads two
waves of 50 such commands each time out together and every charger request is answered within a
second meanwhile (tests/central/test_e2e_hanging). Size N so that workers × N exceeds the commands
that may hang at once.
Use it when operators send commands through the API to boxes that may hang; the CLI's ``call``
sends from its own process and never takes a worker. The worker timeout is always set above the
command timeout so gunicorn never kills a worker that is merely waiting for a charger.

The master process checks the settings, migrates the database once, sets up logging (one line per
message on ``ocpp_soap.central.messages``: box, action, outcome, status, ms) and forks; each worker
builds its own application with ``wsgi.create_app`` (no database connection crosses a fork).
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gunicorn.app.base import BaseApplication

from ocpp_soap.soap.logsafe import EscapingFilter

from .serveenv import serve_options_from_env
from .settings import CentralSettings
from .wsgi import create_app

log = logging.getLogger("ocpp_soap.central")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8180
DEFAULT_WORKERS = 2
LOG_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"


class ServeError(Exception):
    """The server must not start (bad settings, unsafe exposure); the message says why."""


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1; a wildcard (0.0.0.0, ::, '') is not loopback."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_address(host: str, port: int) -> str:
    host = host.strip()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


@dataclass
class ServePlan:
    """Everything ``serve`` decided before forking: settings, serve options and gunicorn's."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = DEFAULT_WORKERS
    threads: int = 1
    config_file: str | None = None
    settings_overrides: dict[str, Any] = field(default_factory=dict)
    serve_overrides: dict[str, Any] = field(default_factory=dict)
    log_level: str = "info"
    #: ``module:factory`` of a user's application (``--app``), else the built-in one.
    app: str | None = None

    def settings(self, env: Mapping[str, str] | None = None) -> CentralSettings:
        return CentralSettings.load(self.config_file, env, self.settings_overrides)

    def check(self, env: Mapping[str, str] | None = None) -> CentralSettings:
        """Validate before anything starts; raises ServeError with a message for a human."""
        if self.workers < 1:
            raise ServeError("--workers must be at least 1")
        if self.threads < 1:
            raise ServeError("--threads must be at least 1")
        if not 0 < self.port < 65536:
            raise ServeError(f"--port {self.port} is not a TCP port")
        try:
            settings = self.settings(env)
            options = serve_options_from_env(env, **self.serve_overrides)
        except (OSError, ValueError) as exc:
            raise ServeError(f"bad configuration: {exc}") from None
        if not is_loopback(self.host) and not options.api_token:
            raise ServeError(
                f"refusing to listen on {self.host} without an API token: anyone who can reach "
                "it could command your charge points. Give one with --api-token-file FILE (or "
                "OCPP_SOAP_API_TOKEN_FILE, OCPP_SOAP_API_TOKEN). A reverse proxy in front does "
                "not replace it: the proxy forwards everyone's requests."
            )
        check_tls(settings)
        if self.app:
            from .appfactory import load_factory

            try:
                load_factory(self.app)
            except ValueError as exc:
                raise ServeError(str(exc)) from None
        return settings

    def app_kwargs(self) -> dict[str, Any]:
        kwargs = dict(self.settings_overrides)
        kwargs.update(self.serve_overrides)
        kwargs["listen_host"] = self.host
        kwargs["listen_port"] = self.port
        return kwargs


def check_tls(settings: CentralSettings) -> None:
    """TLS settings that fit together and name readable files (``ServeError`` otherwise)."""
    if settings.client_cert != "none" and not settings.certfile:
        raise ServeError("--client-cert needs TLS: give --certfile (and --keyfile)")
    if settings.client_cert != "none" and not settings.ca_certs:
        raise ServeError("--client-cert needs --ca-certs: the CAs (or the boxes' own "
                         "certificates) that client certificates are checked against")
    if settings.keyfile and not settings.certfile:
        raise ServeError("--keyfile without --certfile")
    for name in ("certfile", "keyfile", "ca_certs", "chargepoint_ca_certs",
                 "chargepoint_certfile", "chargepoint_keyfile"):
        path = getattr(settings, name)
        if path:
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                raise ServeError(f"{name}: cannot read {path}: {exc.strerror}") from None
    if settings.certfile:
        import ssl

        try:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(settings.certfile, settings.keyfile)
            if settings.ca_certs:
                context.load_verify_locations(settings.ca_certs)
        except (ssl.SSLError, OSError) as exc:
            raise ServeError(f"TLS certificate or key unusable: {exc}") from None


def startup_warnings(plan: ServePlan, settings: CentralSettings) -> list[str]:
    """What an operator exposing the Central System should hear about (logged at start)."""
    if is_loopback(plan.host):
        return []
    out = []
    if plan.threads == 1:
        out.append(f"listening on {plan.host} with sync workers: a slow client (or a slow-loris"
                   " attack) holds a worker while its request trickles in. Face the field"
                   " through a buffering reverse proxy (README: 'Behind nginx').")
    bare, secrets = _boxes_without_credentials(settings)
    if bare and settings.require_auth == "none":
        out.append(f"{bare} charge box(es) have no password, certificate or allow_from: anyone"
                   " who knows their identity can act as them. Give them credentials, or set"
                   " require_auth = any (README: 'Security').")
    if secrets and not settings.certfile:
        out.append(f"{secrets} charge box(es) authenticate with HTTP Basic, and this server"
                   " speaks plain HTTP: unless a TLS proxy is in front, their passwords cross"
                   " the network in clear text (--certfile/--keyfile).")
    return out


def _boxes_without_credentials(settings: CentralSettings) -> tuple[int, int]:
    from sqlalchemy import func, select

    from .storage.models import ChargeBox
    from .storage.store import Store

    store = Store.open(settings.db_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        def count(session) -> tuple[int, int]:
            bare = session.execute(select(func.count()).select_from(ChargeBox).where(
                ChargeBox.auth_secret_hash.is_(None), ChargeBox.allow_from.is_(None),
                ChargeBox.cert_fingerprint.is_(None))).scalar_one()
            secrets = session.execute(select(func.count()).select_from(ChargeBox).where(
                ChargeBox.auth_secret_hash.is_not(None))).scalar_one()
            return bare, secrets

        return store.read(count)
    finally:
        store.dispose()


def configure_logging(level: str = "info") -> None:
    """One handler on the root logger (stderr); workers inherit it through fork."""
    numeric = getattr(logging, level.upper(), None)
    if not isinstance(numeric, int):
        raise ServeError(f"unknown log level {level!r}")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_ocpp_soap", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    # Whatever a call site forgot: charger-supplied arguments never break a line (logsafe).
    handler.addFilter(EscapingFilter())
    handler._ocpp_soap = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(numeric)
    # The per-message lines are INFO; keep them even when the rest is quieter than that.
    logging.getLogger("ocpp_soap.central.messages").setLevel(min(numeric, logging.INFO))


def migrate_database(settings: CentralSettings) -> None:
    """Create or upgrade the schema once, in the master, and close the connection before fork."""
    from .storage.store import Store

    try:
        store = Store.open(settings.db_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms,
                           max_wait=settings.storage_wait)
    except Exception as exc:
        raise ServeError(f"cannot open the database {settings.db_url}: {exc}") from None
    store.engine.dispose()


def _worker_exit(server, worker) -> None:
    app = getattr(worker, "wsgi", None)
    close = getattr(app, "close", None)
    if close is not None:
        try:
            close()  # flush the envelope log
        except Exception:
            log.exception("closing the application failed")


class CentralServer(BaseApplication):
    """gunicorn driven programmatically (no gunicorn command line is parsed)."""

    def __init__(self, plan: ServePlan, settings: CentralSettings):
        self.plan = plan
        self.central_settings = settings
        super().__init__()

    def load_config(self) -> None:
        plan = self.plan
        cfg = {
            "bind": [bind_address(plan.host, plan.port)],
            "workers": plan.workers,
            # gunicorn's sync/gthread workers, minus the wait for the client's close (workers.py).
            "worker_class": ("ocpp_soap.central.workers.PromptThreadWorker" if plan.threads > 1
                             else "ocpp_soap.central.workers.PromptSyncWorker"),
            "threads": plan.threads,
            # A worker waiting for a charge point's answer is busy, not hung.
            # … and one waiting for the database gives up (storage_wait) well before this.
            "timeout": int(max(30, self.central_settings.command_timeout + 30,
                               self.central_settings.storage_wait + 15)),
            "graceful_timeout": 10,
            "keepalive": 5,
            "preload_app": False,
            "proc_name": "ocpp-soap-central",
            "loglevel": plan.log_level,
            "accesslog": None,
            "errorlog": "-",
            "worker_exit": _worker_exit,
        }
        settings = self.central_settings
        if settings.certfile:
            import ssl

            cfg["certfile"] = settings.certfile
            if settings.keyfile:
                cfg["keyfile"] = settings.keyfile
            if settings.ca_certs:
                cfg["ca_certs"] = settings.ca_certs
            cfg["cert_reqs"] = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL,
                                "required": ssl.CERT_REQUIRED}[settings.client_cert]
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn ≥ 24's control socket sits at one fixed path per user: two servers on
            # one machine would fight over it, and the operator CLI is ours.
            cfg["control_socket_disable"] = True
        for key, value in cfg.items():
            self.cfg.set(key, value)

    def load(self):
        if self.plan.app:
            from . import embedding
            from .appfactory import load_factory

            # the factory's create_app() takes serve's flags (they win over its code)
            embedding.served(self.plan.config_file, self.plan.app_kwargs())
            return load_factory(self.plan.app)()
        return create_app(self.plan.config_file, **self.plan.app_kwargs())


#: Said once at start when ``public_url`` is not set.
PUBLIC_URL_ADVICE = (
    "public_url is not set: commands carry as WS-A From the address each charge box used to"
    " reach us (its last request's To, else the Host it called); set public_url (--public-url,"
    " OCPP_SOAP_PUBLIC_URL) so that every command names the Central System's real address")


def serve(plan: ServePlan, env: Mapping[str, str] | None = None) -> int:
    """Check, migrate, log the plan, then run gunicorn until it is stopped (SIGTERM/SIGINT)."""
    configure_logging(plan.log_level)
    settings = plan.check(env)
    migrate_database(settings)
    for warning in startup_warnings(plan, settings):
        log.warning("%s", warning)
    log.info(
        "Central System on %s://%s:%d (SOAP /ocpp/{1.5,1.6}/CentralSystemService, API /api/v1,"
        " console /ui/):"
        " %d %s worker(s), database %s, unknown charge boxes: %s",
        "https" if settings.certfile else "http", plan.host, plan.port, plan.workers,
        "sync" if plan.threads == 1 else f"gthread×{plan.threads}",
        _redact(settings.db_url), settings.unknown_chargebox,
    )
    if not settings.public_url:
        log.warning(PUBLIC_URL_ADVICE)
    CentralServer(plan, settings).run()
    return 0


def _redact(url: str) -> str:
    """A database URL without its password, for logs."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url
