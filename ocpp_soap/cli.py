"""``ocpp-soap``: one command for the Central System, the charge point simulator and the tools.

Each sub-command lives with the code it drives; this module only routes, so ``ocpp-soap diff`` does
not pay for importing SQLAlchemy and ``ocpp-soap central`` does not import the simulator.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

COMMANDS = {
    "central": ("ocpp_soap.central.cli", "main", "run and operate the Central System"),
    "chargepoint": ("ocpp_soap.chargepoint.cli", "main", "run the simulated charge point(s)"),
    "diff": ("ocpp_soap.tools.commands", "diff_main", "compare two envelopes by meaning"),
    "validate": ("ocpp_soap.tools.commands", "validate_main",
                 "check envelopes against OCPP-S and the schema"),
    "demo": ("ocpp_soap.demo", "main", "run the demo session (what `make demo` does)"),
}

USAGE = "usage: ocpp-soap {" + ",".join(COMMANDS) + "} ...\n\n" + "\n".join(
    f"  {name:<12} {help_}" for name, (_, _, help_) in COMMANDS.items()
) + "\n\nRun `ocpp-soap COMMAND --help` for the options of each.\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0
    if args[0] in ("-V", "--version"):
        from ocpp_soap import __version__

        print(f"ocpp-soap {__version__}")
        return 0
    entry = COMMANDS.get(args[0])
    if entry is None:
        sys.stderr.write(f"ocpp-soap: unknown command {args[0]!r}\n\n{USAGE}")
        return 2
    module, func, _ = entry
    try:
        return int(getattr(importlib.import_module(module), func)(args[1:]) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
