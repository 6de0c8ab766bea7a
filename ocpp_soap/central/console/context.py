"""What every console page works with: one request (``Ctx``), the console's URL prefix, and the
answers a page gives besides a rendered template (``ConsoleError``, ``redirect``).

Routing (``app``) and the pages (``pages``) both use these; they live here so that the pages do
not import the router that calls them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.wrappers import Request, Response

from ..accounts import Account
from .sessions import Session

PREFIX = "/ui"


class ConsoleError(Exception):
    """A page that says what went wrong, with an HTTP status."""

    def __init__(self, status: int, message: str, title: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.title = title


@dataclass
class Ctx:
    """One console request: the request, who is logged in and what to tell them."""

    request: Request
    account: Account | None = None
    session: Session | None = None
    flash: list[tuple[str, str]] = field(default_factory=list)
    set_flash: tuple[str, str] | None = None
    #: A valid session ran out of idle time (the login page says so).
    expired: bool = False
    #: The cookie must be written now (login) or removed (logout).
    session_changed: bool = False
    session_ended: bool = False
    new_login_token: str | None = None

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session else ""

    def form(self, name: str, default: str = "") -> str:
        value = self.request.form.get(name, default)
        return value if isinstance(value, str) else default

    def arg(self, name: str, default: str = "") -> str:
        value = self.request.args.get(name, default)
        return value.strip() if isinstance(value, str) else default


def redirect(location: str, status: int = 303) -> Response:
    return Response("", status=status, headers={"Location": location})


def safe_next(value: str | None) -> str:
    """Where to go after login: only a console path of this server (no open redirect)."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//") and \
            "\\" not in value and not any(ord(c) < 32 for c in value):
        return value
    return PREFIX + "/"
