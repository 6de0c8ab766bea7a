"""Admin calls the console needs that other pieces of work provide, in one place.

Two console features stand on admin-layer calls that are being added beside the console:

- a box's endpoint events (``CentralAdmin.list_box_events``: when and how its address changed);
- the state of a queued command (a ``state`` field on ``list_pending`` rows).

Until those calls exist the console says so on the page instead of failing; once they exist it
uses them with no other change. Nothing here reads the database itself.
"""

from __future__ import annotations

from typing import Any


def endpoint_events(admin: Any, charge_box_id: str, limit: int = 20) -> list[dict[str, Any]] | None:
    """The box's endpoint events, newest first; None when the event log is not available."""
    events = getattr(type(admin), "list_box_events", None)
    if events is None:
        return None
    return events(admin, charge_box_id, limit=limit)


def pending_state(row: dict[str, Any]) -> str:
    """A queued command's state: the stored one when the queue keeps states, else waiting or
    being sent."""
    state = row.get("state")
    if state:
        return str(state)
    return "sending" if row.get("taken_at") else "waiting"
