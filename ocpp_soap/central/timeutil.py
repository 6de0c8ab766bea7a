"""One notion of "now" and of a valid timestamp: timezone-aware UTC everywhere.

Charge points send naive, offset and UTC times; comparing them mixed raises or, worse, silently
shifts by hours. Everything crossing into the domain goes through ``as_utc``.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Current time, aware UTC, truncated to milliseconds (what databases and xsd keep)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def as_utc(value: datetime | None) -> datetime | None:
    """Return ``value`` as aware UTC; a naive value is taken to be UTC already."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_time(value: str | datetime | None) -> datetime | None:
    """Accept an ISO 8601 string (``Z`` allowed) or a datetime from admin input."""
    if value is None or isinstance(value, datetime):
        return as_utc(value)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return as_utc(datetime.fromisoformat(text))
