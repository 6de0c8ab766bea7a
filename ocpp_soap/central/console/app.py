"""The operator console at ``/ui/``: routing, login, sessions, CSRF, roles and page rendering.

It is one more WSGI face of the Central System beside SOAP and ``/api/v1``, in the same process.
Pages are rendered on the server with Jinja2 (readable without JavaScript); the console's own
small script only refreshes parts of a page from ``/ui/live/…`` JSON with the session cookie.
Reading and writing go through the admin layer (``CentralAdmin``, ``Accounts``) and the
``Commander``, exactly as the API and the CLI do.

Every request but the login page and the static files needs a session; without one a page
redirects to the login page and a live endpoint answers 401. Every POST must carry the session's
CSRF token and, when the browser sends an ``Origin``, come from this server's own origin. Roles:
viewer reads, operator also commands boxes and manages tags and reservations, admin also manages
boxes and users.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode, urlsplit

import jinja2
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..accounts import Account, Accounts
from ..endpoint import client_address, is_trusted_proxy
from ..errors import Conflict, NotFound
from . import filters
from .context import PREFIX, ConsoleError, Ctx, redirect
from .pages import Pages
from .sessions import COOKIE, PRE_COOKIE, Session, SessionCodec, Signer

if TYPE_CHECKING:
    from ..admin import CentralAdmin
    from ..commander import Commander
    from ..settings import CentralSettings

log = logging.getLogger("ocpp_soap.central.console")

FLASH_COOKIE = "ocpp_console_flash"
#: A session's idle clock is written back at most this often (seconds).
TOUCH_EVERY = 30
MAX_FORM = 256 * 1024
STATIC = {"console.css": "text/css; charset=utf-8",
          "console.js": "text/javascript; charset=utf-8"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _rule(path: str, endpoint: str, methods: tuple[str, ...] = ("GET",)) -> Rule:
    return Rule(path, endpoint=endpoint, methods=list(methods))


#: Endpoint → least role needed (reading needs a login, i.e. viewer).
ROLE_NEEDED = {
    "box_command": "operator", "pending_cancel": "operator",
    "tx_stop": "operator", "tx_close": "operator",
    "tag_add": "operator", "tag_save": "operator", "tag_block": "operator",
    "tag_unblock": "operator", "tag_remove": "operator",
    "reservation_cancel": "operator",
    "box_add": "admin", "box_registration": "admin", "box_edit": "admin",
    "box_endpoint": "admin", "box_remove": "admin",
    "users": "admin", "user_add": "admin", "user_role": "admin", "user_password": "admin",
    "user_remove": "admin",
}
PUBLIC = {"login", "login_post", "static"}
LIVE = {"overview_live", "box_live", "tx_live"}


class _Central(Protocol):
    """The domain (``domain.CentralSystem``), as far as the console reads it."""

    @property
    def admin(self) -> CentralAdmin: ...

    @property
    def accounts(self) -> Accounts: ...


class Host(Protocol):
    """What the console needs of the application it is part of (``app.CentralApp``), named
    here so the console does not import that application, which builds the console."""

    central: _Central
    commander: Commander
    settings: CentralSettings


class ConsoleApp:
    """WSGI app for ``/ui/…`` on a ``CentralApp``."""

    def __init__(self, central_app: Host):
        self.app = central_app
        self.pages = Pages(self)
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("ocpp_soap.central.console", "templates"),
            autoescape=jinja2.select_autoescape(["html"], default=True),
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        filters.install(self.env)
        self.env.globals["prefix"] = PREFIX  # macros see it without the page's context
        self.url_map = Map([
            _rule("/", "overview"),
            _rule("/login", "login"),
            _rule("/login", "login_post", ("POST",)),
            _rule("/logout", "logout", ("POST",)),
            _rule("/static/<name>", "static"),
            _rule("/live/overview", "overview_live"),
            _rule("/live/box", "box_live"),
            _rule("/live/transaction", "tx_live"),
            _rule("/boxes/<path:box>", "box"),
            _rule("/do/box/add", "box_add", ("POST",)),
            _rule("/do/box/command", "box_command", ("POST",)),
            _rule("/do/box/registration", "box_registration", ("POST",)),
            _rule("/do/box/edit", "box_edit", ("POST",)),
            _rule("/do/box/endpoint", "box_endpoint", ("POST",)),
            _rule("/do/box/remove", "box_remove", ("POST",)),
            _rule("/do/pending/cancel", "pending_cancel", ("POST",)),
            _rule("/transactions", "transactions"),
            _rule("/transactions.csv", "transactions_csv"),
            _rule("/transactions/<int(max=2147483647):tx>", "transaction"),
            _rule("/do/transaction/stop", "tx_stop", ("POST",)),
            _rule("/do/transaction/close", "tx_close", ("POST",)),
            _rule("/tags", "tags"),
            _rule("/tags/<path:tag>", "tag"),
            _rule("/do/tag/add", "tag_add", ("POST",)),
            _rule("/do/tag/save", "tag_save", ("POST",)),
            _rule("/do/tag/block", "tag_block", ("POST",)),
            _rule("/do/tag/unblock", "tag_unblock", ("POST",)),
            _rule("/do/tag/remove", "tag_remove", ("POST",)),
            _rule("/reservations", "reservations"),
            _rule("/do/reservation/cancel", "reservation_cancel", ("POST",)),
            _rule("/messages", "messages"),
            _rule("/messages/<int(max=9223372036854775807):envelope>", "message"),
            _rule("/messages/<int(max=9223372036854775807):envelope>/download",
                  "message_download"),
            _rule("/users", "users"),
            _rule("/do/user/add", "user_add", ("POST",)),
            _rule("/do/user/role", "user_role", ("POST",)),
            _rule("/do/user/password", "user_password", ("POST",)),
            _rule("/do/user/remove", "user_remove", ("POST",)),
        ], strict_slashes=False)
        self._codec: SessionCodec | None = None
        self._flash: Signer | None = None

    # -- collaborators -------------------------------------------------------------------------
    @property
    def admin(self) -> CentralAdmin:
        return self.app.central.admin

    @property
    def accounts(self) -> Accounts:
        return self.app.central.accounts

    @property
    def commander(self) -> Commander:
        return self.app.commander

    @property
    def settings(self) -> CentralSettings:
        return self.app.settings

    def codec(self) -> SessionCodec:
        """Built on first use: the key comes from the database, made there once."""
        if self._codec is None:
            key = self.accounts.signing_key()
            self._codec = SessionCodec(key, self.settings.console_idle_timeout)
            self._flash = Signer(key, "console-flash")
        return self._codec

    # -- WSGI ----------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = MAX_FORM
        request.max_form_memory_size = MAX_FORM
        ctx = Ctx(request)
        try:
            response = self.dispatch(ctx)
        except ConsoleError as exc:
            response = self.error_page(ctx, exc.status, exc.message, exc.title)
        except HTTPException as exc:  # werkzeug's own (a form body too large, …)
            response = self.error_page(ctx, exc.code or 400, exc.description or str(exc))
        except Exception:
            log.exception("console %s %s failed", request.method, request.path)
            response = self.error_page(ctx, 500, "Something went wrong on the server; the "
                                                 "details are in the server log.")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        self._write_cookies(ctx, response)
        return response(environ, start_response)

    def dispatch(self, ctx: Ctx) -> Response:
        request = ctx.request
        path = request.path
        if path == PREFIX:
            return redirect(PREFIX + "/")
        sub = path[len(PREFIX):] or "/"
        adapter = self.url_map.bind("console", path_info=sub)
        try:
            endpoint, args = adapter.match(sub, method=request.method)
        except MethodNotAllowed as exc:
            allowed = ", ".join(sorted(exc.valid_methods or ()))
            raise ConsoleError(405, f"{request.method} is not allowed here (allowed: {allowed})"
                               ) from None
        except RouteNotFound:
            endpoint, args = None, {}
        except HTTPException as exc:  # a redirect for a missing slash, …
            return exc.get_response()
        if endpoint == "static":
            return self.static(args["name"])
        if endpoint not in PUBLIC:
            self.authenticate(ctx)
            if ctx.account is None:
                return self._to_login(ctx, endpoint)
        if endpoint is None:
            raise ConsoleError(404, f"There is no page at {path}.", "Not found")
        if request.method == "POST":
            self._check_origin(request)
            if endpoint != "login_post":
                self._check_csrf(ctx)
        needed = ROLE_NEEDED.get(endpoint, "viewer")
        if ctx.account is not None and not ctx.account.may(needed):
            raise ConsoleError(403, f"Your role ({ctx.account.role}) cannot do this: it needs "
                                    f"the {needed} role. Ask an admin.", "Not allowed")
        if endpoint not in LIVE:
            self._read_flash(ctx)
        handler = getattr(self.pages, endpoint)
        try:
            return handler(ctx, **args)
        except NotFound as exc:
            raise ConsoleError(404, _text(exc), "Not found") from None
        except Conflict as exc:
            raise ConsoleError(409, _text(exc), "Conflict") from None
        except ValueError as exc:
            raise ConsoleError(422, str(exc), "Invalid input") from None

    # -- sessions ------------------------------------------------------------------------------
    def authenticate(self, ctx: Ctx) -> None:
        """Sets who is logged in (``ctx.account``) from a valid session cookie, if any."""
        session, expired = self.codec().load(ctx.request.cookies.get(COOKIE))
        ctx.expired = expired
        if session is None:
            return
        account = self.accounts.get(session.user)
        if account is None or account.session_epoch != session.epoch:
            return
        ctx.account, ctx.session = account, session

    def _to_login(self, ctx: Ctx, endpoint: str | None) -> Response:
        if endpoint in LIVE:
            return Response(json.dumps({"error": "not logged in", "login": PREFIX + "/login"}),
                            401, content_type="application/json")
        query = {}
        if ctx.request.method == "GET":
            query["next"] = ctx.request.full_path.rstrip("?")
        if ctx.expired:
            query["expired"] = "1"
        return redirect(PREFIX + "/login" + ("?" + urlencode(query) if query else ""))

    def start_session(self, ctx: Ctx, account: Account) -> None:
        ctx.account, ctx.session = account, Session.new(account.name, account.session_epoch)
        ctx.session_changed = True

    def end_session(self, ctx: Ctx) -> None:
        ctx.account, ctx.session = None, None
        ctx.session_ended = True

    def login_token(self, ctx: Ctx) -> str:
        """The login form's CSRF token (kept in a signed pre-login cookie)."""
        token = self.codec().load_login(ctx.request.cookies.get(PRE_COOKIE))
        if token is None:
            token = secrets.token_urlsafe(24)
            ctx.new_login_token = token
        return token

    def _cookie_args(self, ctx: Ctx) -> dict[str, Any]:
        return {"path": PREFIX + "/", "httponly": True, "samesite": "Strict",
                "secure": self._is_tls(ctx.request)}

    def _is_tls(self, request: Request) -> bool:
        if request.scheme == "https":
            return True
        # Behind a TLS-terminating proxy we trust: its X-Forwarded-Proto says so.
        peer = request.remote_addr
        proto = (request.headers.get("X-Forwarded-Proto") or "").split(",")[0].strip().lower()
        trusted = self.settings.trusted_proxies
        return bool(proto == "https" and peer and is_trusted_proxy(peer, trusted))

    def _write_cookies(self, ctx: Ctx, response: Response) -> None:
        if self._codec is None:
            return
        args = self._cookie_args(ctx)
        if ctx.session_ended:
            response.delete_cookie(COOKIE, path=args["path"], httponly=True, samesite="Strict",
                                   secure=args["secure"])
        elif ctx.session is not None:
            now = time.time()
            if ctx.session_changed or now - ctx.session.last_active > \
                    TOUCH_EVERY:
                ctx.session.last_active = now
                response.set_cookie(COOKIE, self._codec.dump(ctx.session), **args)
        token = ctx.new_login_token
        if token:
            response.set_cookie(PRE_COOKIE, self._codec.dump_login(token), max_age=3600,
                                **args)
        if ctx.set_flash is not None and self._flash is not None:
            response.set_cookie(FLASH_COOKIE, self._flash.dump({"k": ctx.set_flash[0],
                                                                "m": ctx.set_flash[1]}),
                                max_age=60, **args)
        elif ctx.flash:
            response.delete_cookie(FLASH_COOKIE, path=args["path"], httponly=True,
                                   samesite="Strict", secure=args["secure"])

    def _read_flash(self, ctx: Ctx) -> None:
        if ctx.request.method != "GET" or self._flash is None:
            return
        data = self._flash.load(ctx.request.cookies.get(FLASH_COOKIE))
        if data and isinstance(data.get("m"), str) and data.get("k") in ("ok", "error"):
            ctx.flash.append((data["k"], data["m"]))

    def _check_csrf(self, ctx: Ctx) -> None:
        given = ctx.form("csrf")
        if not ctx.session or not given or not hmac.compare_digest(given, ctx.session.csrf):
            raise ConsoleError(403, "This form has expired or did not come from this console "
                                    "(missing or wrong CSRF token). Reload the page and try "
                                    "again.", "Form refused")

    def _check_origin(self, request: Request) -> None:
        """A browser names the page a POST came from; it must be this server (as the browser
        reached it: the Host, or a trusted proxy's X-Forwarded-Host)."""
        origin = request.headers.get("Origin")
        if not origin:
            return
        hosts = {request.host.lower()}
        forwarded = request.headers.get("X-Forwarded-Host")
        if forwarded and request.remote_addr and is_trusted_proxy(
                request.remote_addr, self.settings.trusted_proxies):
            hosts.add(forwarded.split(",")[0].strip().lower())
        if origin == "null" or urlsplit(origin).netloc.lower() not in hosts:
            raise ConsoleError(403, "This form was sent from another site; it is refused.",
                               "Form refused")

    def client_address(self, request: Request) -> str | None:
        """The browser's address (behind trusted proxies, from X-Forwarded-For), for limits."""
        return client_address(request.remote_addr, request.headers,
                              self.settings.trusted_proxies)

    # -- rendering -----------------------------------------------------------------------------
    def render(self, ctx: Ctx, template: str, status: int = 200, **values: Any) -> Response:
        body = self.render_text(ctx, template, **values)
        return Response(body, status=status, content_type="text/html; charset=utf-8")

    def render_text(self, ctx: Ctx, template: str, **values: Any) -> str:
        base = {"account": ctx.account, "csrf": ctx.csrf, "flash": ctx.flash, "prefix": PREFIX,
                "request": ctx.request, "settings": self.settings}
        return self.env.get_template(template).render(**base, **values)

    def fragment(self, ctx: Ctx, template: str, block: str, **values: Any) -> Markup:
        """One block of a template, for live refresh (same markup as the full page)."""
        tpl = self.env.get_template(template)
        base = {"account": ctx.account, "csrf": ctx.csrf, "flash": [], "prefix": PREFIX,
                "request": ctx.request, "settings": self.settings}
        context = tpl.new_context({**base, **values})
        return Markup("".join(tpl.blocks[block](context)))

    def error_page(self, ctx: Ctx, status: int, message: str, title: str | None = None
                   ) -> Response:
        title = title or {400: "Bad request", 403: "Not allowed", 404: "Not found",
                          405: "Not allowed", 413: "Too large", 429: "Too many attempts",
                          500: "Server error"}.get(status, "Error")
        try:
            return self.render(ctx, "error.html", status, title=title, message=message)
        except Exception:  # the error page itself must never fail
            log.exception("rendering the error page failed")
            return Response(f"{title}: {message}\n", status, content_type="text/plain")

    def static(self, name: str) -> Response:
        if name not in STATIC:
            raise ConsoleError(404, f"no static file {name}")
        data = resources.files("ocpp_soap.central.console").joinpath("static", name).read_bytes()
        response = Response(data, content_type=STATIC[name])
        response.headers["Cache-Control"] = "max-age=300"
        return response


def _text(exc: BaseException) -> str:
    return str(exc.args[0]) if exc.args else exc.__class__.__name__
