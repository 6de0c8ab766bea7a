"""What the console needs from work being done beside it, in one place.

The state of a queued command: the queue is gaining stored states (a ``state`` field on
``list_pending`` rows); until then a row is waiting, or being sent once taken. Nothing here reads
the database itself.
"""

from __future__ import annotations

from typing import Any


def pending_state(row: dict[str, Any]) -> str:
    """A queued command's state: the stored one when the queue keeps states, else waiting or
    being sent."""
    state = row.get("state")
    if state:
        return str(state)
    return "sending" if row.get("taken_at") else "waiting"
