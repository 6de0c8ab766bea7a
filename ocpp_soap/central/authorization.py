"""Who decides whether an idTag may charge: the ``Authorizer`` seam.

Authorize, StartTransaction and StopTransaction all carry an IdTagInfo, and all three ask one
authorizer, inside the message's unit of work (see ``repositories``), so a tag blocked by it is
blocked for all three alike.

The default, ``TagTableAuthorizer``, is the database's ``id_tags`` table with the rules of
``idtags`` (stored status, expiry, parent group, ConcurrentTx for a start). The domain runs it
inside the message's own transaction, where the ConcurrentTx count is taken under a row lock;
``TagTableAuthorizer.authorize`` gives the same answer from a read of its own, for authorizers
that fall back to the table.

Any other authorizer (an object with ``authorize(request) -> Authorization``, a subclass of
``TagTableAuthorizer`` that overrides ``authorize`` included) is asked instead. It is asked inside
the message's write transaction, so it must answer quickly: cache what a remote service says.
An authorizer that raises answers Invalid (logged): the box gets a reply either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .idtags import ACCEPTED, BLOCKED, CONCURRENT_TX, EXPIRED, INVALID, id_tag_info
from .storage.sqlrepos import SqlUnits

if TYPE_CHECKING:
    from .storage.store import Store

log = logging.getLogger(__name__)

__all__ = ["ACCEPTED", "BLOCKED", "CONCURRENT_TX", "EXPIRED", "INVALID", "STATUSES",
           "Authorization", "AuthorizationRequest", "Authorizer", "TagTableAuthorizer",
           "tag_info"]

STATUSES = (ACCEPTED, BLOCKED, EXPIRED, INVALID, CONCURRENT_TX)


@dataclass(frozen=True)
class AuthorizationRequest:
    """What an authorizer is asked: this idTag, presented at this box, for this operation."""

    id_tag: str
    charge_box_id: str
    #: ``Authorize``, ``StartTransaction`` or ``StopTransaction``.
    operation: str
    #: ``1.5`` or ``1.6`` (the answer is the same for both; given for logging and policy).
    version: str | None
    at: datetime


@dataclass(frozen=True)
class Authorization:
    """An authorizer's answer: the IdTagInfo of the reply (status, expiry, parent)."""

    status: str
    expiry_date: datetime | None = None
    parent_id_tag: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"authorization status must be one of {', '.join(STATUSES)},"
                             f" not {self.status!r}")

    def info(self) -> dict[str, Any]:
        """The neutral IdTagInfo the adapters turn into either version's wire type."""
        out: dict[str, Any] = {"status": self.status}
        if self.expiry_date is not None:
            out["expiryDate"] = self.expiry_date
        if self.parent_id_tag:
            out["parentIdTag"] = self.parent_id_tag[:20]
        return out

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> Authorization:
        return cls(info["status"], info.get("expiryDate"), info.get("parentIdTag"))


@runtime_checkable
class Authorizer(Protocol):
    """Decides an idTag for a box (see the module's docstring)."""

    def authorize(self, request: AuthorizationRequest) -> Authorization:
        ...


class TagTableAuthorizer:
    """The database's tag table (the default): today's rules from ``idtags``."""

    def __init__(self, store: Store):
        self.store = store
        self._units = SqlUnits(store.fast)

    def authorize(self, request: AuthorizationRequest) -> Authorization:
        """The table's answer from a read of the repositories (a subclass calls this inside
        the message's own unit of work: on this thread's connection, the read sees it)."""
        start = request.operation == "StartTransaction"
        info = self._units.read(lambda repos: id_tag_info(repos.tags, request.id_tag,
                                                          request.at, for_start=start))
        return Authorization.from_info(info)


def _is_tag_table(authorizer: Any) -> bool:
    """The plain default (not a subclass that may override ``authorize``)."""
    return type(authorizer) is TagTableAuthorizer


def tag_info(authorizer: Any, tags: Any, ctx: Any, id_tag: str | None, now: datetime,
             operation: str, *, for_start: bool = False,
             exclude_transaction: int | None = None) -> dict[str, Any]:
    """The IdTagInfo for one message: the tag table's rules on ``tags`` (the message's
    ``TagSource``) for the default authorizer, else the authorizer's answer."""
    if authorizer is None or _is_tag_table(authorizer):
        return id_tag_info(tags, id_tag, now, for_start=for_start,
                           exclude_transaction=exclude_transaction)
    if not id_tag:
        return {"status": INVALID}
    request = AuthorizationRequest(id_tag=id_tag, charge_box_id=ctx.charge_box_id,
                                   operation=operation, version=ctx.version,
                                   at=now)
    try:
        answer = authorizer.authorize(request)
        if isinstance(answer, dict):
            answer = Authorization(**answer)
        if not isinstance(answer, Authorization):
            raise TypeError(f"authorize() returned {type(answer).__name__}, not Authorization")
        return answer.info()
    except Exception:
        log.exception("the authorizer failed for %s at %s; answered Invalid", operation,
                      request.charge_box_id)
        return {"status": INVALID}
