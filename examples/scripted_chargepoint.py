"""A scripted charge point: the simulator with three answers of its own.

An odd charger, as a firmware team might want to reproduce it against a Central System:

- it refuses a Hard reset, but does a Soft reset as the simulator always does;
- it answers a DataTransfer from vendor "ACME" (message "Ping" → "Pong"), and refuses messages
  it does not know with a SOAP fault;
- it cannot unlock connector 2 (stuck latch).

Everything else (boot, heartbeats, status, transactions, every other operation) is the simulator's
own behaviour. Run it against a Central System and send it commands::

    python examples/scripted_chargepoint.py --central http://127.0.0.1:8180/ocpp/CentralSystemService \\
        --id ODD1 --version 1.6 --listen 127.0.0.1:8281
    ocpp-soap central call ODD1 Reset type=Hard        # → {"status": "Rejected"}
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from ocpp_soap.chargepoint import ChargePoint, HandlerContext, NotSupported


def build(identity: str, central: str, version: str) -> ChargePoint:
    """The charge point with its overrides registered (not yet serving)."""
    cp = ChargePoint(identity, central, version, connectors=2,
                     config={"vendor": "ACME", "model": "Odd-1", "firmware_version": "0.9.3"})

    @cp.on("Reset")
    def reset(context: HandlerContext, type: str) -> dict:
        if type == "Hard":
            return {"status": "Rejected"}
        return context.default()  # a Soft reset reboots, as the simulator does

    @cp.on("DataTransfer")
    def data_transfer(context: HandlerContext, vendor_id: str, message_id: str | None = None,
                      data: str | None = None) -> dict:
        if vendor_id != "ACME":
            return {"status": "UnknownVendorId"}
        if message_id == "Ping":
            return {"status": "Accepted", "data": "Pong"}
        raise NotSupported(f"ACME message {message_id!r} is not implemented by this charger")

    @cp.on("UnlockConnector")
    def unlock(context: HandlerContext, connector_id: int) -> dict:
        if connector_id == 2:
            return {"status": "UnlockFailed" if context.version == "1.6" else "Rejected"}
        return context.default()

    return cp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--central", required=True, help="the Central System's service URL")
    parser.add_argument("--id", default="ODD1", help="chargeBoxIdentity (default ODD1)")
    parser.add_argument("--version", choices=("1.5", "1.6"), default="1.6")
    parser.add_argument("--listen", default="127.0.0.1:8281", help="HOST:PORT to serve on")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")

    cp = build(args.id, args.central, args.version)
    cp.serve(host, int(port))
    print(f"{cp.identity} (OCPP {cp.version}) serving {cp.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    cp.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        cp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
