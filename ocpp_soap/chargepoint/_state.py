"""The simulator's JSON state file.

A real charger keeps its configuration, availability, local list and running transactions across
power cuts; the simulator does the same through this file. Writes go to a temporary file in the same
directory that is then renamed over the old one, so a crash mid-write leaves either the old or the
new state, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class StateFile:
    """Load and atomically save one JSON document; ``path=None`` keeps nothing (pure memory)."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.path = Path(path) if path else None

    def load(self) -> dict | None:
        if self.path is None or not self.path.exists():
            return None
        with self.path.open(encoding="utf-8") as fh:
            return json.load(fh)

    def save(self, data: dict) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, default=_default, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise


def to_dt(value: Any) -> datetime | None:
    """Parse a datetime persisted as ISO text (or pass one through)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)
