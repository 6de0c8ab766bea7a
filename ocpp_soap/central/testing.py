"""Helpers for tests of the Central System (here and in later API/CLI tests).

``Ctx`` stands in for the wire layer's ``CallContext`` where a test drives the domain directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .domain import CentralSystem
from .settings import CentralSettings


@dataclass
class Ctx:
    """Minimal ``CallContext`` look-alike (same attribute names)."""

    charge_box_id: str = "CB1"
    version: str = "1.6"
    action: str = "Heartbeat"
    message_id: str | None = "urn:uuid:test"
    from_address: str | None = None
    reply_to: str | None = None
    to: str | None = None
    peer: str | None = "192.0.2.10"
    http_headers: dict[str, str] = field(default_factory=dict)
    basic_auth_user: str | None = None


def central_on_file(tmp_path: Path, **settings: Any) -> CentralSystem:
    """A Central System on a fresh SQLite file in ``tmp_path``."""
    db = tmp_path / "central.db"
    return CentralSystem.open(CentralSettings(db_url=f"sqlite:///{db}", **settings))
