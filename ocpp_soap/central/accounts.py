"""Operator accounts of the web console: who may log in, with which role, and how often they may
fail.

The CLI (``central user …``) and the console's users page both go through ``Accounts``, so a
rule (name syntax, password length, the last admin) has one place. Passwords are hashed as box
secrets are (``passwords.hash_secret``: scrypt with a per-password salt). Failed logins are
counted in the database, per account and per client address, because several worker processes
answer logins and an attacker must not get a fresh allowance from each.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import Conflict, NotFound
from .passwords import hash_secret, verify_secret
from .storage.models import ConsoleSecret, ConsoleUser, LoginFailure
from .storage.store import Store
from .timeutil import utc_now

ROLES = ("viewer", "operator", "admin")
#: What each role may do; a role may do everything of the roles before it.
RANK = {role: i for i, role in enumerate(ROLES)}
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")

#: Failed logins allowed per key within ``FAILURE_WINDOW`` before the key is locked.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
FIRST_LOCK = timedelta(seconds=60)
LONGEST_LOCK = timedelta(minutes=15)

#: Compared against when the account does not exist, so an unknown name costs as much time as a
#: wrong password (no user enumeration by timing).
_DUMMY_HASH = hash_secret(secrets.token_hex(16))


class LoginLocked(Exception):
    """Too many failed logins for this account or address; ``retry_after`` seconds to wait."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed logins: try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Account:
    """A logged-in (or listed) operator, without the password hash."""

    name: str
    role: str
    session_epoch: int

    def may(self, role: str) -> bool:
        """Whether this account has ``role``'s rights (admin ⊃ operator ⊃ viewer)."""
        return RANK[self.role] >= RANK[role]


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValueError("user name: 1 to 64 letters, digits or . _ @ -, starting with a letter"
                         " or digit")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise ValueError(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"password: at most {MAX_PASSWORD} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise ValueError("password: no control characters")
    return password


def _public(row: ConsoleUser) -> dict[str, Any]:
    return {"name": row.name, "role": row.role,
            "last_login_at": row.last_login_at.isoformat() if row.last_login_at else None,
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}


class Accounts:
    """Console accounts, login checks and the session-signing key, over the store."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = utc_now):
        self.store = store
        self.clock = clock

    # ----------------------------------------------------------------- accounts

    def add(self, name: str, role: str, password: str) -> dict[str, Any]:
        check_name(name)
        check_role(role)
        check_password(password)
        hashed = hash_secret(password)  # slow on purpose: outside the write transaction
        now = self.clock()

        def work(session: Session) -> dict[str, Any]:
            if self._find(session, name) is not None:
                raise Conflict(f"user {name!r} exists")
            row = ConsoleUser(name=name, role=role, password_hash=hashed, session_epoch=0,
                              created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            return _public(row)

        return self.store.write(work)

    def list(self) -> list[dict[str, Any]]:
        return self.store.read(lambda s: [_public(r) for r in s.execute(
            select(ConsoleUser).order_by(ConsoleUser.name)).scalars()])

    def get(self, name: str) -> Account | None:
        """The account by exact name, or None (used on every console request)."""
        def work(session: Session) -> Account | None:
            row = session.get(ConsoleUser, name)
            return Account(row.name, row.role, row.session_epoch) if row else None

        return self.store.read(work)

    def get_by_name(self, name: str) -> Account | None:
        """The account whatever the case of ``name`` (for operators typing it)."""
        found = self.store.read(lambda s: self._row(s, name))
        return found[0] if found else None

    def remove(self, name: str) -> None:
        def work(session: Session) -> None:
            row = self._find(session, name)
            if row is None:
                raise NotFound(f"unknown user {name!r}")
            session.delete(row)

        self.store.write(work)

    def set_password(self, name: str, password: str) -> None:
        check_password(password)
        hashed = hash_secret(password)
        now = self.clock()

        def work(session: Session) -> None:
            row = self._find(session, name)
            if row is None:
                raise NotFound(f"unknown user {name!r}")
            row.password_hash, row.updated_at = hashed, now
            row.session_epoch += 1

        self.store.write(work)
        self._clear(f"user:{name.lower()}")

    def set_role(self, name: str, role: str) -> dict[str, Any]:
        check_role(role)
        now = self.clock()

        def work(session: Session) -> dict[str, Any]:
            row = self._find(session, name)
            if row is None:
                raise NotFound(f"unknown user {name!r}")
            if row.role != role:
                row.role, row.updated_at = role, now
                row.session_epoch += 1
            return _public(row)

        return self.store.write(work)

    def end_sessions(self, name: str) -> None:
        """Log the account out everywhere (the console's Log out): every cookie signed for it so
        far stops working, even a copied one."""
        def work(session: Session) -> None:
            row = session.get(ConsoleUser, name)
            if row is not None:
                row.session_epoch += 1

        self.store.write(work)

    def admins(self) -> int:
        return self.store.read(lambda s: s.execute(
            select(func.count()).select_from(ConsoleUser).where(ConsoleUser.role == "admin")
        ).scalar_one())

    @staticmethod
    def _find(session: Session, name: str) -> ConsoleUser | None:
        """Names are unique regardless of case (``Alice`` and ``alice`` are one person)."""
        return session.execute(select(ConsoleUser).where(
            func.lower(ConsoleUser.name) == name.lower())).scalar_one_or_none()

    # ----------------------------------------------------------------- logging in

    def login(self, name: str, password: str, address: str | None) -> Account | None:
        """The account if ``name``/``password`` match, else None; raises LoginLocked while the
        account or the address has failed too often (even for the right password, so guessing
        cannot go on in the background)."""
        keys = [f"user:{name.lower()[:100]}"] + ([f"ip:{address[:100]}"] if address else [])
        now = self.clock()
        wait = self._locked_for(keys, now)
        if wait:
            raise LoginLocked(wait)
        row = self.store.read(lambda s: self._row(s, name)) if NAME_RE.fullmatch(name or "") \
            else None
        ok = verify_secret(password or "", row[1] if row else _DUMMY_HASH) and row is not None
        if not ok:
            self._fail(keys, now)
            return None
        self._clear(keys[0])

        def seen(session: Session) -> None:
            found = session.get(ConsoleUser, row[0].name)
            if found is not None:
                found.last_login_at = now

        self.store.write(seen)
        return row[0]

    def _row(self, session: Session, name: str) -> tuple[Account, str] | None:
        found = self._find(session, name)
        if found is None:
            return None
        return Account(found.name, found.role, found.session_epoch), found.password_hash

    def _locked_for(self, keys: list[str], now: datetime) -> int:
        def work(session: Session) -> int:
            longest = 0
            for row in session.execute(select(LoginFailure).where(LoginFailure.key.in_(keys)))\
                    .scalars():
                if row.locked_until is not None and row.locked_until > now:
                    longest = max(longest, int((row.locked_until - now).total_seconds()) + 1)
            return longest

        return self.store.read(work)

    def _fail(self, keys: list[str], now: datetime) -> None:
        def work(session: Session) -> None:
            for key in keys:
                row = session.get(LoginFailure, key)
                if row is None:
                    row = LoginFailure(key=key, failures=0, window_start=now)
                    session.add(row)
                elif now - row.window_start > FAILURE_WINDOW and (
                        row.locked_until is None or row.locked_until <= now):
                    row.failures, row.window_start, row.locked_until = 0, now, None
                row.failures += 1
                if row.failures >= MAX_FAILURES:
                    # 60 s, then doubling with each further failure, at most 15 minutes.
                    lock = min(FIRST_LOCK * 2 ** (row.failures - MAX_FAILURES), LONGEST_LOCK)
                    row.locked_until = now + lock

        try:
            self.store.write(work)
        except IntegrityError:  # two workers counted the first failure at once: count again
            self.store.write(work)

    def _clear(self, key: str) -> None:
        def work(session: Session) -> None:
            row = session.get(LoginFailure, key)
            if row is not None:
                session.delete(row)

        self.store.write(work)

    # ----------------------------------------------------------------- signing key

    def signing_key(self) -> bytes:
        """The console's session-signing key: made once, then the same in every process."""
        def read(session: Session) -> str | None:
            row = session.get(ConsoleSecret, "session-key")
            return row.value if row else None

        value = self.store.read(read)
        if value is not None:
            return bytes.fromhex(value)

        def make(session: Session) -> None:
            if session.get(ConsoleSecret, "session-key") is None:
                session.add(ConsoleSecret(name="session-key", value=secrets.token_hex(32),
                                          created_at=self.clock()))

        try:
            self.store.write(make)
        except IntegrityError:  # another worker made it first; theirs is the key
            pass
        return bytes.fromhex(self.store.read(read))
