"""Template helpers: times (UTC in the page, the browser's zone by script, UTC on hover), status
badges with one colour per meaning and the status as text, energy, and query strings.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup, escape

from ..timeutil import parse_time

#: Status text → colour class. Same meaning, same colour, on every page.
GOOD = {"Available", "Accepted", "online", "reply", "Operative", "Unlocked", "Cancelled", "sent"}
BUSY = {"Charging", "Preparing", "Occupied", "open", "sending", "Requested"}
WAIT = {"SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved", "Pending", "offline",
        "waiting", "queued", "Scheduled", "Used"}
BAD = {"Faulted", "Rejected", "Unavailable", "Blocked", "Expired", "Invalid", "fault",
       "timeout", "error", "unreachable", "bad_reply", "Failed", "ConcurrentTx", "Inoperative",
       "failed", "expired"}


def status_class(value: Any) -> str:
    text = str(value) if value is not None else ""
    if text in GOOD:
        return "s-good"
    if text in BUSY:
        return "s-busy"
    if text in WAIT:
        return "s-wait"
    if text in BAD:
        return "s-bad"
    return "s-none"


def badge(value: Any, label: str | None = None) -> Markup:
    text = label if label is not None else ("unknown" if value in (None, "") else str(value))
    return Markup('<span class="badge {}">{}</span>').format(status_class(value), text)


def when(value: Any, empty: str = "–") -> Markup:
    """A ``<time>``: UTC as text (readable without script), turned into the browser's zone by the
    console script, with UTC kept in the tooltip."""
    if not value:
        return Markup('<span class="muted">{}</span>').format(empty)
    try:
        at = parse_time(value)
    except (TypeError, ValueError):
        return Markup("{}").format(value)
    iso = at.isoformat().replace("+00:00", "Z")
    shown = at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(iso, shown, shown)


def kwh(wh: Any) -> str:
    if wh is None:
        return "–"
    return f"{float(wh) / 1000:,.2f} kWh"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def query(args: Any, **changes: Any) -> str:
    """The current query string with ``changes`` applied (None removes a key)."""
    values = {k: v for k, v in (args.items() if hasattr(args, "items") else args) if v != ""}
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return "?" + urlencode(values) if values else "?"


def install(env: jinja2.Environment) -> None:
    env.filters.update(badge=badge, when=when, kwh=kwh, pretty_json=pretty_json,
                       status_class=status_class)
    env.globals.update(query=query, escape=escape)
