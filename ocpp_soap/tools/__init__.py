"""Envelope tools: read, diff and validate OCPP-S envelopes, and capture them from live traffic.

Public names (``__all__``), the Python side of ``ocpp-soap diff``, ``ocpp-soap validate`` and
``--capture DIR``:

- ``read_envelope`` (a path, bytes, ``-`` for stdin) → ``Envelope``, or ``EnvelopeError``;
- ``diff_envelopes(expected, actual)`` → ``Difference`` list, compared by meaning; ``find_sample``
  names the sample in ``samples/`` an envelope should look like, ``sample_volatile`` the values
  that differ between sessions anyway;
- ``validate_envelope`` → ``Violation`` list, each saying whether lenient reading forgives it
  (``SchemaSourceError`` when the WSDL cannot be found);
- ``CaptureWriter``, whose ``incoming``/``outgoing`` hooks write every envelope to a folder.

``commands`` is the command line's entry point; the other modules serve these and may change.
The names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocpp_soap._lazy import lazy_exports

_EXPORTS = {
    "CaptureWriter": "capture",
    "Difference": "diff",
    "diff_envelopes": "diff",
    "find_sample": "diff",
    "sample_volatile": "diff",
    "Envelope": "envelope",
    "EnvelopeError": "envelope",
    "read_envelope": "envelope",
    "SchemaSourceError": "validate",
    "Violation": "validate",
    "validate_envelope": "validate",
}

__all__ = [
    "CaptureWriter",
    "Difference",
    "Envelope",
    "EnvelopeError",
    "SchemaSourceError",
    "Violation",
    "diff_envelopes",
    "find_sample",
    "read_envelope",
    "sample_volatile",
    "validate_envelope",
]

if TYPE_CHECKING:
    from .capture import CaptureWriter
    from .diff import Difference, diff_envelopes, find_sample, sample_volatile
    from .envelope import Envelope, EnvelopeError, read_envelope
    from .validate import SchemaSourceError, Violation, validate_envelope

__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
