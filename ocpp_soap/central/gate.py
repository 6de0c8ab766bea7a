"""Who is talking: the checks every CP→CS message passes, as a mixin for ``CentralSystem``.

The rules themselves are in ``trust`` (credentials, limits, events) and ``addressguard``; this
is where the domain applies them to a message: the identity length before anything else, the
password verified before the message's transaction (scrypt never holds the write lock), each
credential the box has, and refusals logged and recorded as box events once their transaction
has rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ocpp_soap.soap.context import CallContext
from ocpp_soap.soap.logsafe import clean

from .addressguard import AddressGuard
from .endpoint import LearnedEndpoint, client_address
from .repositories import Record, Repositories, Units
from .settings import CentralSettings
from .trust import (
    AUTH_FAILED,
    ENDPOINT_CHANGED,
    RATE_LIMITED,
    EventThrottle,
    FailureLimiter,
    Refused,
    RegistrationLimiter,
    VerifiedSecrets,
    cert_fingerprint_matches,
    cert_names_match,
    check_identity,
    in_networks,
)

log = logging.getLogger("ocpp_soap.central.domain")


class TrustGate:
    """Mixin: needs ``units``, ``settings``, ``clock`` and ``_endpoint_of``; ``open_gate``
    makes the per-process state (address guard, password cache, limits, event throttle)."""

    units: Units
    settings: CentralSettings
    clock: Callable[[], datetime]
    _endpoint_of: Callable[[Any], LearnedEndpoint | None]

    def open_gate(self, s: CentralSettings) -> None:
        #: Every address this Central System will call passes it (``CentralApp`` tells it
        #: where the process listens).
        self.guard = AddressGuard.from_settings(s)
        self.secrets = VerifiedSecrets()
        self.failures = FailureLimiter()
        self.registrations = RegistrationLimiter(s.registration_limit_per_ip,
                                                 s.registration_limit, s.registration_window)
        self.throttle = EventThrottle()

    def guarded(self, handler: Callable[[Any, dict[str, Any]], dict[str, Any]]):
        """``handler`` behind the checks every message passes first (identity length), with
        refusals logged and recorded as box events after their transaction rolled back."""

        def run(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
            check_identity(ctx.charge_box_id)
            learned = self._endpoint_of(ctx)
            if learned is not None:  # DNS before the transaction, not inside it
                self.guard.prefetch(learned.address)
            try:
                self._verify_before(ctx)
                return handler(ctx, payload)
            except Refused as exc:
                self._refused(ctx, exc)
                raise

        run.__name__ = getattr(handler, "__name__", "handler")
        run.__doc__ = handler.__doc__
        return run

    def _refused(self, ctx: CallContext, exc: Refused) -> None:
        log.warning("%s %s refused from %s: %s", clean(exc.charge_box_id),
                    clean(ctx.action), clean(self.source_ip(ctx)),
                    clean(exc.detail, 500))
        if not exc.record:
            return
        values = self._event(exc.charge_box_id, exc.kind, ctx, self.clock(), detail=exc.detail)
        if not self.throttle.admit(exc.throttle_key or (exc.charge_box_id, exc.kind)):
            return
        try:
            self.units.write(lambda repos: repos.boxes.add_events([values]))
        except Exception:  # the refusal itself must still reach the box
            log.exception("could not record a box event")

    def source_ip(self, ctx: CallContext) -> str | None:
        """The sender's IP, through ``trusted_proxies`` (what every rate limit counts by)."""
        return client_address(ctx.peer, ctx.http_headers, self.settings.trusted_proxies)

    def _event(self, charge_box_id: str, kind: str, ctx: CallContext | None, now: datetime,
               *, old: str | None = None, new: str | None = None,
               detail: str | None = None) -> dict[str, Any]:
        """The column values of one box event (the row is built inside its transaction)."""
        return {"at": now, "charge_box_id": charge_box_id[:255], "kind": kind,
                "source_ip": self.source_ip(ctx) if ctx is not None else None,
                "message": (ctx.action or None) if ctx is not None else None,
                "old_address": old, "new_address": new,
                "detail": detail[:2000] if detail else None}

    def admitted(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The events to write: every change, and refusals not written a moment ago."""
        return [values for values in events
                if values["kind"] == ENDPOINT_CHANGED or self.throttle.admit(
                    (values["charge_box_id"], values["kind"], values["new_address"]))]

    def _record(self, repos: Repositories, events: list[dict[str, Any]]) -> None:
        """Add events to the message's unit of work (see ``admitted``)."""
        admitted = self.admitted(events)
        if admitted:
            repos.boxes.add_events(admitted)

    def _verify_before(self, ctx: CallContext) -> None:
        """scrypt (~75 ms) before the message's write transaction, never inside it: a guess
        must not hold SQLite's write lock. The transaction checks again, from the cache."""
        if ctx.basic_auth_password is None or ctx.basic_auth_user != ctx.charge_box_id:
            return
        stored = self.units.read(lambda repos: repos.boxes.secret_hash(ctx.charge_box_id))
        if stored is not None:
            self._check_password(ctx.charge_box_id, stored, ctx, self.source_ip(ctx))

    def _check_identity(self, ctx: CallContext) -> None:
        user = ctx.basic_auth_user
        if user is not None and user != ctx.charge_box_id:
            raise Refused(ctx.charge_box_id, AUTH_FAILED,
                          f"Basic-auth user {user!r} does not match the chargeBoxIdentity")

    def _authenticate(self, box: Record, ctx: CallContext) -> bool:
        """Check every credential the box has; True when it proved who it is, False when it
        has nothing to prove with (allowed unless ``require_auth = any``). Raises Refused."""
        box_id = box.charge_box_id
        ip = self.source_ip(ctx)
        cert = ctx.client_cert
        proven = False
        if box.allow_from:
            if not in_networks(ip, box.allow_from):
                raise Refused(box_id, AUTH_FAILED,
                              f"source address {ip} is outside allow_from {box.allow_from}")
            proven = True
        if box.cert_fingerprint:
            if not cert_fingerprint_matches(cert, box.cert_fingerprint):
                raise Refused(box_id, AUTH_FAILED,
                              "no TLS client certificate, or not the one stored for the box")
            proven = True
        elif cert_names_match(cert, box_id):
            proven = True
        if box.auth_secret_hash is not None:
            self._check_password(box.charge_box_id, box.auth_secret_hash, ctx, ip)
            proven = True
        if not proven and self.settings.require_auth == "any":
            raise Refused(box_id, AUTH_FAILED, "the box has no password, certificate or network"
                                               " pin (require_auth = any)")
        return proven

    def _check_password(self, box_id: str, stored: str, ctx: CallContext,
                        ip: str | None) -> None:
        password = ctx.basic_auth_password
        if ctx.basic_auth_user is None or password is None:
            raise Refused(box_id, AUTH_FAILED, "HTTP Basic credentials missing")
        if self.secrets.known(password, stored):
            return  # verified before in this process: no scrypt, no rate limit
        box_key, ip_key = "box:" + box_id, "ip:" + (ip or "-")
        wait = max(self.failures.closed_for(box_key), self.failures.closed_for(ip_key))
        if wait > 0:
            raise Refused(box_id, RATE_LIMITED,
                          f"password checks closed for {wait:.0f} s after failures")
        if not self.secrets.verify(password, stored):
            self.failures.failed(box_key)
            self.failures.failed(ip_key)
            raise Refused(box_id, AUTH_FAILED, "wrong Basic-auth password")
        self.failures.succeeded(box_key)
