"""Is this idTag allowed to charge? The answer every Authorize/Start/Stop carries (IdTagInfo).

Kept apart from the message handlers because three operations share it and the rules (stored
status, expiry, parent group, concurrent-transaction limit) are easier to prove on their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func

ACCEPTED = "Accepted"
BLOCKED = "Blocked"
EXPIRED = "Expired"
INVALID = "Invalid"
CONCURRENT_TX = "ConcurrentTx"
STORED_STATUSES = (ACCEPTED, BLOCKED, EXPIRED, INVALID)
_MAX_PARENT_DEPTH = 16


def _own_status(tag: Any, now: datetime) -> str:
    status = tag.status if tag.status in STORED_STATUSES else INVALID
    if status == ACCEPTED and tag.expiry_date is not None and tag.expiry_date <= now:
        return EXPIRED
    return status


def folded_equals(column: Any, id_tag: str) -> Any:
    """``column`` equals ``id_tag`` ignoring case. IdToken is case-insensitive (OCPP 1.5 and 1.6
    types); both sides are folded by the database, so SQLite and PostgreSQL each agree with
    themselves (and with the unique index on ``lower(id_tag)``)."""
    return func.lower(column) == func.lower(id_tag)


class TagSource(Protocol):
    """Where the rules read tags from: a unit of work's tags (``storage.sqlrepos.SqlTags``)."""

    def tag(self, id_tag: str) -> Any:
        """The stored tag with exactly this key (attributes as on ``IdTag``), or None."""

    def folded(self, id_tag: str) -> Any:
        """A stored tag equal to ``id_tag`` ignoring case, or None."""

    def active(self, id_tag: str, exclude_id: int | None) -> int:
        """Open, accepted transactions of ``id_tag``."""


def _group_status(tags: TagSource, tag: Any, now: datetime) -> str:
    """The tag's own status, overruled by any ancestor that is blocked or expired.

    A parent that is not stored is only a group label and does not block its children; a cycle
    in the parent chain (operator error) stops the walk instead of looping.
    """
    status = _own_status(tag, now)
    seen = {tag.id_tag}
    parent_id = tag.parent_id_tag
    while (
        status == ACCEPTED and parent_id and parent_id not in seen and len(seen) < _MAX_PARENT_DEPTH
    ):
        seen.add(parent_id)
        parent = tags.tag(parent_id) or tags.folded(parent_id)
        if parent is None:
            break
        parent_status = _own_status(parent, now)
        if parent_status in (BLOCKED, INVALID):
            return BLOCKED
        if parent_status == EXPIRED:
            return EXPIRED
        parent_id = parent.parent_id_tag
    return status


def id_tag_info(
    tags: TagSource,
    id_tag: str | None,
    now: datetime,
    *,
    for_start: bool = False,
    exclude_transaction: int | None = None,
) -> dict[str, Any]:
    """IdTagInfo (neutral shape) for ``id_tag``, read from ``tags`` (a unit of work's
    ``TagSource``; for a start, its ``locked_tags``, so the count holds under the row lock).

    ConcurrentTx is only given for StartTransaction (``for_start``), as the 1.6 type table says;
    ``exclude_transaction`` keeps a retried StartTransaction from counting itself.
    """
    if not id_tag:
        return {"status": INVALID}
    tag = tags.tag(id_tag)
    if tag is None:
        # IdToken is case-insensitive (OCPP 1.5 and 1.6 types): readers differ in the hex case
        # they print, so the exact key is tried first and the folded one after.
        tag = tags.folded(id_tag)
    if tag is None:
        return {"status": INVALID}
    id_tag = tag.id_tag
    status = _group_status(tags, tag, now)
    if status == ACCEPTED and for_start and tag.max_active_transactions is not None:
        if tags.active(id_tag, exclude_transaction) >= tag.max_active_transactions:
            status = CONCURRENT_TX
    info: dict[str, Any] = {"status": status}
    if tag.expiry_date is not None:
        info["expiryDate"] = tag.expiry_date
    if tag.parent_id_tag:
        info["parentIdTag"] = tag.parent_id_tag
    return info
