"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no timezone-aware timestamp, so times are stored as naive UTC and handed back aware;
the domain therefore never sees a naive datetime whatever the backend.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, Text
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the database."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_DT_TAG = "$datetime"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_DT_TAG: value.isoformat()}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _DT_TAG in value:
            return datetime.fromisoformat(value[_DT_TAG])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def dumps_payload(value: Any) -> str:
    """JSON that keeps datetimes as datetimes on the way back (queued commands are re-sent)."""
    return json.dumps(_encode(value), separators=(",", ":"), ensure_ascii=False)


def loads_payload(text: str | None) -> Any:
    """Inverse of ``dumps_payload``."""
    return None if text is None else _decode(json.loads(text))


def plain_json(value: Any) -> Any:
    """Payload as plain JSON data (datetimes as ISO strings) for logs and the HTTP API."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


class JSONPayload(TypeDecorator[Any]):
    """A message payload kept as JSON text (portable: no JSON/JSONB column needed)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else dumps_payload(value)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return loads_payload(value)
