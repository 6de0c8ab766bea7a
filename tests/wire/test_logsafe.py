"""Charger-supplied text in log lines: escaped and capped (``ocpp_soap.soap.logsafe``)."""

from __future__ import annotations

import logging

from ocpp_soap.soap.logsafe import EscapingFilter, clean


def test_clean_escapes_control_characters_and_caps():
    assert clean("CB1") == "CB1"
    assert clean(None) == "-"
    assert clean("a\nb\rc\td\x1b[2K\x00\u2028") == "a\\nb\\rc\\td\\x1b[2K\\x00\\u2028"
    cut = clean("x" * 1000, 50)
    assert cut.startswith("x" * 50) and cut.endswith("…(1000 chars)") and "\n" not in cut


def test_filter_cleans_every_string_argument():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "%s %s %d",
                               ("CB1\nforged", "ok", 3), None)
    assert EscapingFilter().filter(record)
    assert record.getMessage() == "CB1\\nforged ok 3"
