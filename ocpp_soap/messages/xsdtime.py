"""Reading ``xsd:dateTime`` text as the XML Schema defines it, not as Python's ISO parser does.

Two forms that are valid xsd:dateTime make ``datetime.fromisoformat`` fail: ``24:00:00`` (the
end of a day, i.e. 00:00 of the next day) and fractions longer than microseconds. A box that
sends either must not lose its transaction to a parse error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_FRACTION = re.compile(r"(\.\d{6})\d+")
_END_OF_DAY = re.compile(r"T24:00:00(\.0+)?(?=$|[Zz+-])")


def parse_xsd_datetime(text: str) -> datetime:
    """xs:dateTime → aware UTC datetime (no zone means UTC on the OCPP wire).

    Raises ValueError for text that is not a dateTime."""
    text = _FRACTION.sub(r"\1", text.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    next_day = False
    if _END_OF_DAY.search(text):
        text, next_day = _END_OF_DAY.sub("T00:00:00", text), True
    value = datetime.fromisoformat(text)
    if next_day:
        value += timedelta(days=1)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
