"""Charger-supplied text made safe for a log line: escaped and capped.

A chargeBoxIdentity (or action, address, vendor string) may hold a newline, carriage return or an
ANSI escape: written as is, it forges log lines or rewrites a terminal. Every such value passes
``clean`` before it reaches a log call, and ``EscapingFilter`` cleans every record's arguments on
the handlers ``serve`` installs, so a forgotten call site cannot reintroduce the hole there.
"""

from __future__ import annotations

import logging
from typing import Any

DEFAULT_LIMIT = 200


def clean(value: Any, limit: int = DEFAULT_LIMIT) -> str:
    """``value`` as one printable line: control characters as ``\\xNN``/``\\n``, at most
    ``limit`` characters (with an ellipsis and the original length when cut)."""
    if value is None:
        return "-"
    text = value if isinstance(value, str) else str(value)
    if text.isprintable() and len(text) <= limit:
        return text
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
                       if code < 0x10000 else f"\\U{code:08x}")
    escaped = "".join(out)
    if len(escaped) > limit:
        return f"{escaped[:limit]}…({len(text)} chars)"
    return escaped


class EscapingFilter(logging.Filter):
    """Cleans the string arguments of every record (the format string is ours and trusted)."""

    def __init__(self, limit: int = 1000):
        super().__init__()
        self.limit = limit

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(clean(a, self.limit) if isinstance(a, str) else a for a in args)
        elif isinstance(args, dict) and args:
            record.args = {k: clean(v, self.limit) if isinstance(v, str) else v
                           for k, v in args.items()}
        return True
