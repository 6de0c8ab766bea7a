"""Admission: whether this message's sender may send it, and what the message tells about it.

Every CP→CS message passes here inside its own unit of work (see ``repositories``): the box
proves who it is (``gate``), is registered or not under the ``unknown_chargebox`` policy, must
be Accepted (or Pending, for what OCPP 1.6 4.2 lets a Pending box send), and its seen time,
version and address are recorded under the trust rules of ``_learn``. The common message of a
box in good standing takes one UPDATE (``touch_if_standing``) instead of all of that.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from ocpp_soap.soap.context import CallContext
from ocpp_soap.soap.logsafe import clean

from .addressguard import AddressRefused
from .endpoint import (
    SOURCE_FROM,
    SOURCE_REPLY_TO,
    LearnedEndpoint,
    called_address,
    client_address,
    learn_endpoint,
)
from .errors import SecurityError
from .gate import TrustGate
from .repositories import Record, Repositories, Standing
from .trust import (
    AUTH_FAILED,
    ENDPOINT_CHANGED,
    ENDPOINT_IGNORED,
    ENDPOINT_REFUSED,
    MAX_IDENTITY,  # the longest identity a box is registered under (the column's length)
    RATE_LIMITED,
    REGISTERED,
    Refused,
)

log = logging.getLogger("ocpp_soap.central.domain")

BOOT_NOTIFICATION = "BootNotification"
# Explicit statements of the box's URL outrank our guess from the peer address.
_STRONG_SOURCES = {SOURCE_FROM, SOURCE_REPLY_TO, "manual"}


class Admission(TrustGate):
    """Mixin of ``CentralSystem``: the admission of each message (see the module)."""

    def _admit(self, repos: Repositories, ctx: CallContext, now: datetime, *,
               pending_ok: bool = False, heartbeat: bool = False) -> Record | None:
        """Admit the sender; its row when it was read, None when the quick acceptance served
        (an Accepted box without credentials, same version and address: nothing to learn)."""
        standing = self._standing(ctx)
        if standing is not None and repos.boxes.touch_if_standing(standing, now,
                                                                   heartbeat=heartbeat):
            return None
        box = self._accepted_box(repos, ctx, now, pending_ok=pending_ok)
        if heartbeat:
            box.last_heartbeat_at = now
            repos.boxes.save(box)
        return box

    def _standing(self, ctx: CallContext) -> Standing | None:
        """What the box's row must still say for the quick acceptance to serve this message;
        None when it cannot (credentials to check, no address to compare, no version)."""
        self._check_identity(ctx)
        if self._must_authenticate(ctx) or not ctx.version:
            return None
        learned = self._endpoint_of(ctx)
        if learned is None:
            return None
        return Standing(ctx.charge_box_id, ctx.version, learned.address, learned.source,
                        self._called(ctx))

    def _must_authenticate(self, ctx: CallContext) -> bool:
        """The quick paths only serve boxes with nothing to check (their SQL also requires no
        stored credential): not when credentials or a certificate came, or all must prove."""
        return (ctx.basic_auth_user is not None or ctx.client_cert is not None
                or self.settings.require_auth != "none")

    def _accepted_box(self, repos: Repositories, ctx: CallContext, now: datetime, *,
                      pending_ok: bool = False) -> Record:
        """The sender's row, if it may send this message; records that it was seen.

        The box proves who it is first (``TrustGate._authenticate``). Accepted boxes may send
        anything. A Pending box (OCPP 1.6 4.2) may send what keeps it known while it waits
        (``pending_ok``: Heartbeat, StatusNotification, MeterValues without a transaction,
        status notifications, DataTransfer), not Authorize or transaction messages. An unknown
        box is registered on its first message of any kind when the ``unknown_chargebox``
        policy is ``accept`` (Accepted) or ``pending`` (Pending): chargers moved to a new
        Central System do not reboot first.
        """
        self._check_identity(ctx)
        box = repos.boxes.get(ctx.charge_box_id)
        if box is None:
            box = self._register_unknown(repos, ctx, now)
            if box is None:
                raise Refused(ctx.charge_box_id, AUTH_FAILED, "unknown charge box",
                              record=False)
        authenticated = self._authenticate(box, ctx)
        status = box.registration_status
        if status != "Accepted" and not (status == "Pending" and pending_ok):
            raise SecurityError(
                f"charge box {ctx.charge_box_id!r} is {status}, not Accepted"
                + (f": {ctx.action or 'this message'} not allowed" if status == "Pending"
                   else "")
            )
        self._record(repos, self._seen(box, ctx, now, authenticated))
        repos.boxes.save(box)
        return box

    def _register_unknown(self, repos: Repositories, ctx: CallContext,
                          now: datetime) -> Record | None:
        """A new row for an unknown box under the ``accept``/``pending`` policy, else None."""
        policy = self.settings.unknown_chargebox
        if policy == "reject":
            return None
        identity = ctx.charge_box_id
        if not identity or len(identity) > MAX_IDENTITY or not identity.isprintable():
            log.warning("unknown charge box with an unusable identity %s not registered",
                        clean(identity, 80))
            return None
        ip = self.source_ip(ctx)
        why = self.registrations.allow(ip)
        if why is not None:
            raise Refused(identity, RATE_LIMITED, f"unknown box not registered: {why}",
                          throttle_key=("registration", ip))
        box = repos.boxes.add({
            "charge_box_id": identity,
            "registration_status": "Accepted" if policy == "accept" else "Pending",
            "endpoint_override": False,
            "created_at": now,
            "updated_at": now,
        })
        self._record(repos, [self._event(identity, REGISTERED, ctx, now,
                                         detail=f"unknown_chargebox = {policy}")])
        log.warning("unknown charge box %s registered as %s (first message: %s)",
                    clean(identity), box.registration_status, ctx.action or "?")
        return box

    def _endpoint_of(self, ctx: CallContext) -> LearnedEndpoint | None:
        """Where this message says (or suggests) the box can be reached (see ``endpoint``)."""
        peer = client_address(ctx.peer, ctx.http_headers, self.settings.trusted_proxies)
        return learn_endpoint(ctx.from_address, ctx.reply_to, peer,
                              self.settings.default_endpoint_port,
                              self.settings.default_endpoint_path)

    @staticmethod
    def _called(ctx: CallContext) -> str | None:
        return called_address(ctx.to, ctx.url)

    def _seen(self, box: Record, ctx: CallContext, now: datetime,
              authenticated: bool = False) -> list[dict[str, Any]]:
        """Times, version and address from this message; returns the box events it makes."""
        box.last_seen_at = now
        box.updated_at = now
        if ctx.version:
            box.ocpp_version = ctx.version
        box.called_address = self._called(ctx)
        return self._learn(box, ctx, now, authenticated)

    def _learn(self, box: Record, ctx: CallContext, now: datetime,
               authenticated: bool = False) -> list[dict[str, Any]]:
        """Endpoint learning (see ``endpoint``) under the trust rules:

        - a box without an address takes the first one any message gives;
        - after that only a message that passed the box's authentication moves it, or, for a
          box without credentials, what ``endpoint_change`` allows (default: a BootNotification);
        - every address passes the guard; a refused one leaves the old address in place;
        - a manual address is never overwritten (learning still records what it saw), and a
          guess from the peer address never replaces an address the box stated itself.
        Each change, refusal and ignored move is returned as a box event."""
        learned = self._endpoint_of(ctx)
        if learned is None:
            return []
        same_learned = (box.learned_address, box.learned_source) == (learned.address,
                                                                     learned.source)
        in_use = box.endpoint_override or (box.endpoint_address, box.endpoint_source) == (
            learned.address, learned.source)
        if same_learned and in_use:
            return []
        weak_guess = learned.source not in _STRONG_SOURCES
        if weak_guess and box.learned_source in _STRONG_SOURCES and box.learned_address:
            return []
        box_id = box.charge_box_id
        first = not box.learned_address and not box.endpoint_address
        policy = self.settings.endpoint_change
        action = ctx.action
        if not (first or authenticated or policy == "any"
                or (policy == "boot" and action == BOOT_NOTIFICATION)):
            return [self._event(box_id, ENDPOINT_IGNORED, ctx, now, old=box.endpoint_address,
                                new=learned.address,
                                detail=f"endpoint_change = {policy}: not moved by {action} of a"
                                       " box without credentials")]
        try:
            self.guard.check_url(learned.address, unresolved_ok=True)
        except AddressRefused as exc:
            log.warning("%s: address %s refused: %s", clean(box_id), clean(learned.address),
                        exc)
            return [self._event(box_id, ENDPOINT_REFUSED, ctx, now, old=box.endpoint_address,
                                new=learned.address, detail=str(exc))]
        old_learned = box.learned_address
        box.learned_address, box.learned_source = learned.address, learned.source
        if box.endpoint_override:
            if old_learned == learned.address:
                return []
            return [self._event(box_id, ENDPOINT_CHANGED, ctx, now, old=old_learned,
                                new=learned.address,
                                detail=f"learned from {learned.source}; the manual address"
                                       " stays in use")]
        old = box.endpoint_address
        box.endpoint_address, box.endpoint_source = learned.address, learned.source
        box.endpoint_updated_at = now
        if old == learned.address:
            return []
        log.info("%s: endpoint %s (from %s)", clean(box_id), clean(learned.address),
                 learned.source)
        return [self._event(box_id, ENDPOINT_CHANGED, ctx, now, old=old, new=learned.address,
                            detail=f"learned from {learned.source}")]
