"""ORM rows → JSON-friendly dicts for the CLI and the HTTP API.

Datetimes become ISO 8601 strings, secrets never leave the store (only whether one is set).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import inspect

from .storage.types import plain_json

_HIDDEN = {"auth_secret_hash"}


def to_dict(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr in inspect(row).mapper.column_attrs:
        if attr.key in _HIDDEN:
            continue
        value = getattr(row, attr.key)
        out[attr.key] = value.isoformat() if isinstance(value, datetime) else plain_json(value)
    if hasattr(row, "auth_secret_hash"):
        out["has_auth_secret"] = row.auth_secret_hash is not None
    return out
