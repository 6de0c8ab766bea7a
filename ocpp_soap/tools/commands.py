"""Command-line faces of the envelope tools: ``ocpp-soap diff`` and ``ocpp-soap validate``.

``ocpp_soap/cli.py`` hands each sub-command's arguments to ``diff_main``/``validate_main`` and exits
with what they return. Both print a one-line message on stderr for bad input and never a traceback:
the users are operators looking at a capture, not developers.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from ocpp_soap.tools import diff as diffmod
from ocpp_soap.tools.envelope import EnvelopeError, read_envelope
from ocpp_soap.tools.validate import SchemaSourceError, validate_envelope

EXIT_SAME = EXIT_VALID = 0
EXIT_DIFFERENT = EXIT_INVALID = 1
EXIT_ERROR = 2

_COLOURS = {
    diffmod.CHANGED: "\033[33m",  # yellow
    diffmod.MISSING: "\033[31m",  # red
    diffmod.EXTRA: "\033[32m",  # green
    diffmod.NAMESPACE: "\033[35m",  # magenta
    diffmod.VERSION: "\033[1;35m",
    diffmod.ORDER: "\033[36m",  # cyan
    "error": "\033[31m",
    "warning": "\033[33m",
    "accepted": "\033[36m",
}
_RESET = "\033[0m"


class _Parser(argparse.ArgumentParser):
    """argparse exits on bad usage; the entry functions return codes instead."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def _use_colour(choice: str, stream: TextIO) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _paint(text: str, key: str, colour: bool) -> str:
    return f"{_COLOURS.get(key, '')}{text}{_RESET}" if colour else text


def _run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace | int:
    try:
        return parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_ERROR
    except SystemExit as exc:  # --help
        return int(exc.code or 0)


def diff_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ocpp-soap diff",
        description="Compare two SOAP envelopes by meaning (prefixes, whitespace, header order and "
        "attribute order do not matter; body order does). Exit 0 same, 1 different, 2 error.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="two envelopes; '-' reads stdin")
    parser.add_argument("--sample", metavar="ENVELOPE",
                        help="compare ENVELOPE with the sample of its version, operation, direction "
                        "(chargeBoxIdentity, the From address and a request's To are ignored too)")
    parser.add_argument("--samples", metavar="DIR", help="samples folder (default: samples/)")
    parser.add_argument("--strict-values", action="store_true",
                        help="also compare MessageID, RelatesTo, timestamps, transaction ids")
    parser.add_argument("--ignore", action="append", default=[], metavar="NAME",
                        help="ignore the value of elements with this local name (repeatable)")
    parser.add_argument("--color", "--colour", choices=("auto", "always", "never"), default="auto")
    return parser


def diff_main(argv: Sequence[str] | None = None) -> int:
    """``ocpp-soap diff A B`` / ``ocpp-soap diff --sample ENVELOPE``; returns the exit code."""
    args = _run(diff_parser(), argv)
    if isinstance(args, int):
        return args
    if args.sample is not None and args.files:
        print("ocpp-soap diff: give either --sample ENVELOPE or two files, not both", file=sys.stderr)
        return EXIT_ERROR
    if args.sample is None and len(args.files) != 2:
        print("ocpp-soap diff: need two envelopes (A B) or --sample ENVELOPE", file=sys.stderr)
        return EXIT_ERROR
    try:
        if args.sample is not None:
            b = read_envelope(args.sample)
            a = read_envelope(diffmod.find_sample(b, args.samples))
            volatile = diffmod.sample_volatile(b) | set(args.ignore)
        else:
            a, b = read_envelope(args.files[0]), read_envelope(args.files[1])
            volatile = diffmod.VOLATILE_NAMES | set(args.ignore)
        differences = diffmod.diff_envelopes(a, b, args.strict_values, volatile)
    except EnvelopeError as exc:
        print(f"ocpp-soap diff: {exc}", file=sys.stderr)
        return EXIT_ERROR
    colour = _use_colour(args.color, sys.stdout)
    print(f"A: {a.name}\nB: {b.name}")
    for difference in differences:
        print(_paint(str(difference), difference.kind, colour))
    if not differences:
        print("same" + ("" if args.strict_values else " (volatile values ignored)"))
        return EXIT_SAME
    print(f"{len(differences)} difference{'s' if len(differences) != 1 else ''}")
    return EXIT_DIFFERENT


def validate_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ocpp-soap validate",
        description="Check envelopes: SOAP 1.2, the headers OCPP-S requires, the body against the "
        "schema. Exit 0 all valid, 1 violations, 2 error.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="envelopes; '-' reads stdin")
    parser.add_argument("--lenient", action="store_true",
                        help="say which violations lenient reading accepts; only the others fail")
    parser.add_argument("--wsdl-dir", metavar="DIR",
                        help="folder with ocpp15/ and ocpp16/ WSDLs (default: the project's wsdl/)")
    parser.add_argument("--color", "--colour", choices=("auto", "always", "never"), default="auto")
    return parser


def validate_main(argv: Sequence[str] | None = None) -> int:
    """``ocpp-soap validate FILE… [--lenient] [--wsdl-dir DIR]``; returns the exit code."""
    args = _run(validate_parser(), argv)
    if isinstance(args, int):
        return args
    colour = _use_colour(args.color, sys.stdout)
    status = EXIT_VALID
    for name in args.files:
        try:
            envelope = read_envelope(name)
            violations = validate_envelope(envelope, lenient=args.lenient, wsdl_dir=args.wsdl_dir)
        except (EnvelopeError, SchemaSourceError) as exc:
            print(f"ocpp-soap validate: {exc}", file=sys.stderr)
            status = EXIT_ERROR
            continue
        for violation in violations:
            line = f"{envelope.name}:{violation.line or '?'}: {violation.label}: {violation.message}"
            print(_paint(line, violation.label.split()[0], colour))
        fatal = [v for v in violations if v.fatal]
        if fatal:
            status = max(status, EXIT_INVALID)
        else:
            print(f"{envelope.name}: valid" + (" (lenient)" if violations and args.lenient else ""))
    return status
