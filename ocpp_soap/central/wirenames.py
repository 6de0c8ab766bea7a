"""Payload keys between the wire's camelCase and Python's snake_case, at any depth.

Users' handlers (``userhandlers``) and events (``events``) both show a payload with snake_case
keys and turn a handler's reply back into wire names. The conversion lives here, apart from
both, so neither imports the other for it. Values are left as they are.
"""

from __future__ import annotations

import re
from typing import Any

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z][a-z])")


def snake(name: str) -> str:
    """``idTagInfo`` → ``id_tag_info``."""
    return _CAMEL.sub(lambda m: "_" + (m.group(1) or m.group(2)), name).lower()


def camel(name: str) -> str:
    """``id_tag_info`` → ``idTagInfo`` (a name without underscores is left as it is)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def to_snake(value: Any) -> Any:
    """``value`` with every mapping key, nested ones too, in snake_case."""
    if isinstance(value, dict):
        return {snake(str(k)): to_snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_snake(v) for v in value]
    return value


def to_wire(value: Any) -> Any:
    """``value`` with every mapping key, nested ones too, in the wire's camelCase."""
    if isinstance(value, dict):
        return {camel(str(k)): to_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    return value
