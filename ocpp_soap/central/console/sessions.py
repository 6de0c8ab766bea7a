"""Signed session cookies for the console: who is logged in, since when idle, and the CSRF token.

The cookie holds a small JSON object signed with HMAC-SHA256 under the key the database keeps
(``Accounts.signing_key``), so every worker process accepts every other's cookies and nothing is
stored per session. A session ends when it is idle longer than the timeout, when the account's
``session_epoch`` moves (password or role changed, account removed) or at logout. The CSRF token
is random per login and travels inside the signed cookie; forms carry a copy, and a POST whose copy
differs is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

COOKIE = "ocpp_console"
#: Before login: carries the login form's CSRF token only.
PRE_COOKIE = "ocpp_console_login"
MAX_COOKIE = 4096


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Session:
    """What a console cookie says: account name, its epoch, the CSRF token, last activity."""

    user: str
    epoch: int
    csrf: str
    last_active: float

    @classmethod
    def new(cls, user: str, epoch: int, now: float | None = None) -> Session:
        return cls(user, epoch, secrets.token_urlsafe(24), time.time() if now is None else now)


class Signer:
    """Signs and checks cookie values; a forged, truncated or altered value reads as None."""

    def __init__(self, key: bytes, purpose: str):
        # One key, separate sub-keys per purpose: a login cookie can never pass as a session.
        self.key = hmac.new(key, purpose.encode(), hashlib.sha256).digest()

    def dump(self, data: dict[str, Any]) -> str:
        body = _b64(json.dumps(data, separators=(",", ":")).encode())
        return body + "." + _b64(hmac.new(self.key, body.encode(), hashlib.sha256).digest())

    def load(self, value: str | None) -> dict[str, Any] | None:
        if not value or len(value) > MAX_COOKIE or value.count(".") != 1:
            return None
        body, sig = value.split(".")
        expected = _b64(hmac.new(self.key, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(sig, expected):
            return None
        try:
            data = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None


class SessionCodec:
    """Session ↔ cookie value, with the idle timeout applied on reading."""

    def __init__(self, key: bytes, idle_timeout: float):
        self.sessions = Signer(key, "console-session")
        self.logins = Signer(key, "console-login")
        self.idle_timeout = idle_timeout

    def dump(self, session: Session) -> str:
        return self.sessions.dump({"u": session.user, "e": session.epoch, "c": session.csrf,
                                   "t": int(session.last_active)})

    def load(self, value: str | None, now: float | None = None) -> tuple[Session | None, bool]:
        """(the session, or None; whether a valid one just ran out of idle time)."""
        data = self.sessions.load(value)
        if data is None:
            return None, False
        try:
            session = Session(str(data["u"]), int(data["e"]), str(data["c"]), float(data["t"]))
        except (KeyError, TypeError, ValueError):
            return None, False
        now = time.time() if now is None else now
        if now - session.last_active > self.idle_timeout:
            return None, True
        return session, False

    def dump_login(self, token: str) -> str:
        return self.logins.dump({"c": token})

    def load_login(self, value: str | None) -> str | None:
        data = self.logins.load(value)
        token = data.get("c") if data else None
        return token if isinstance(token, str) else None
