"""In-process cost per message: the project's Central System against bare Spyne and a raw lxml floor.

For Heartbeat, BootNotification, MeterValues (10 samples) and StopTransaction (with transactionData),
each request is pushed through a WSGI call (no HTTP) three ways:

- ``project``: the whole Central System (guards, lenient reading, WS-Addressing, the domain and its
  SQLite write, the envelope log);
- ``spyne``: a bare Spyne SOAP 1.2 service of the same message built in this script (no
  validation, no headers, no database) — the practical floor while Spyne is part of the brief;
- ``lxml``: parse → dispatch → serialize written here with lxml alone — the physical floor.

It also times the zeep client: building a request, parsing a reply, and building a client from
``wsdl/`` cold. Run: ``python bench/wire.py [--json FILE]``.
"""

from __future__ import annotations

import os
import sys

# This folder holds ``http.py``; as sys.path[0] it would hide the standard library's ``http``.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import io  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench._common import interleaved_medians_us, machine, median_us, table, write_json  # noqa: E402
from bench.apps import bare_spyne, lxml_floor  # noqa: E402
from ocpp_soap.messages.examples import example  # noqa: E402
from ocpp_soap.soap import client as client_mod  # noqa: E402
from ocpp_soap.soap.client import OcppClient  # noqa: E402
from ocpp_soap.soap.context import CallContext  # noqa: E402

VERSION, SERVICE = "1.6", "CentralSystemService"


def requests_for(box: str) -> dict[str, bytes]:
    """Request envelopes as our client writes them (the CS sees the same bytes from a charger)."""
    c = OcppClient(VERSION, SERVICE, box, "http://127.0.0.1/ocpp/1.6/CentralSystemService",
                   from_address="http://127.0.0.1:8280/ocpp/ChargePointService")
    out = {}
    out["Heartbeat"] = c.build("Heartbeat", {})[0]
    out["BootNotification"] = c.build("BootNotification",
                                      example(VERSION, SERVICE, "BootNotification")[0])[0]
    mv = example(VERSION, SERVICE, "MeterValues")[0]
    sample = mv["meterValue"][0]["sampledValue"][0]
    mv["meterValue"][0]["sampledValue"] = [dict(sample, value=str(1000 + i)) for i in range(10)]
    mv["transactionId"] = 1
    out["MeterValues"] = c.build("MeterValues", mv)[0]
    stop = example(VERSION, SERVICE, "StopTransaction")[0]
    stop["transactionId"] = 999999  # replaced by a fresh open transaction per call
    stop["transactionData"] = [{"timestamp": datetime.now(UTC), "sampledValue": [sample]}
                               for _ in range(5)]
    out["StopTransaction"] = c.build("StopTransaction", stop)[0]
    return out


def environ(body: bytes, path: str) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "",
            "CONTENT_TYPE": "application/soap+xml; charset=utf-8",
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8180",
            "HTTP_HOST": "127.0.0.1:8180", "REMOTE_ADDR": "127.0.0.1", "SCRIPT_NAME": ""}


def call(app, body: bytes, path: str = "/ocpp/1.6/CentralSystemService") -> bytes:
    status = []
    out = b"".join(app(environ(body, path), lambda s, h, e=None: status.append(s)))
    if not status[0].startswith("200"):
        raise RuntimeError(f"{status[0]}: {out[:300]!r}")
    return out


def project_app(tmp: str, stops: int) -> tuple[Any, Callable[[str], bytes]]:
    """The Central System on a SQLite file in ``tmp``, booted box BENCH-1, and ``body_for(name)``
    giving the next request of each message to send it.

    Each StopTransaction closes a transaction of its own, as on a real system (stopping the same
    one again takes the "repeated stop" path, which compares against what is stored): ``stops``
    transactions are opened beforehand, one per StopTransaction the caller will send.
    """
    from ocpp_soap.central.wsgi import create_app

    app = create_app(db_url=f"sqlite:///{tmp}/cs.db", unknown_chargebox="accept")
    reqs = requests_for("BENCH-1")
    call(app, reqs["BootNotification"])
    app.central.admin.add_tag("BENCHTAG", max_active_transactions=10**9)
    ctx = CallContext("BENCH-1", VERSION, SERVICE, "StartTransaction",
                      from_address="http://127.0.0.1:8280/ocpp/ChargePointService",
                      peer="127.0.0.1")
    open_tx = [app.central.start_transaction(ctx, {
        "connectorId": 1, "idTag": "BENCHTAG", "meterStart": i,
        "timestamp": datetime.now(UTC)})["transactionId"] for i in range(stops)]

    def body_for(name: str) -> bytes:
        if name == "StopTransaction":
            return reqs[name].replace(b">999999<", f">{open_tx.pop()}<".encode())
        return reqs[name]

    return app, body_for


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--number", type=int, default=200)
    args = ap.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="ocpp-bench-")
    app, body_for = project_app(tmp, 10 * (args.number + 1) + 2)
    reqs = requests_for("BENCH-1")
    spyne_app, floor = bare_spyne(), lxml_floor()

    rows = []
    for name, body in reqs.items():
        m = interleaved_medians_us({
            "project": lambda name=name: call(app, body_for(name)),
            "spyne": lambda body=body: call(spyne_app, body, "/"),
            "lxml": lambda body=body: call(floor, body, "/")}, number=args.number)
        project, spyne, lx = m["project"], m["spyne"], m["lxml"]
        rows.append({"message": name, "project_us": project, "spyne_us": spyne, "lxml_us": lx,
                     "project/spyne": project / spyne, "project/lxml": project / lx})

    # zeep: build a request, parse a reply, build a client cold
    c = OcppClient(VERSION, SERVICE, "BENCH-1", "http://127.0.0.1/x")
    boot = example(VERSION, SERVICE, "BootNotification")[0]
    build_us = median_us(lambda: c.build("BootNotification", boot), number=args.number)

    class Reply:
        status_code = 200
        headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
        encoding = "utf-8"

        def __init__(self, content):
            self.content = content

    boot_reply = Reply(call(app, reqs["BootNotification"]))
    parse_us = median_us(lambda: c._read_reply("BootNotification", "x", boot_reply),
                         number=args.number)
    cold = []
    for service in ("CentralSystemService", "ChargePointService"):
        client_mod._clients.clear()
        t0 = time.perf_counter()
        client_mod.zeep_client(VERSION, service)
        cold.append({"client": f"zeep {VERSION} {service}",
                     "cold_build_ms": (time.perf_counter() - t0) * 1000})

    print(f"In-process cost per message, OCPP {VERSION}, medians (µs)\n")
    print(table(rows, ["message", "project_us", "spyne_us", "lxml_us", "project/spyne",
                       "project/lxml"]))
    print(f"\nzeep client: build a BootNotification request {build_us:.0f} µs, "
          f"read its reply {parse_us:.0f} µs")
    for row in cold:
        print(f"{row['client']}: cold build {row['cold_build_ms']:.0f} ms (once per process)")
    app.close()
    write_json(args.json, {"machine": machine(), "messages": rows,
                           "zeep": {"build_request_us": build_us, "parse_reply_us": parse_us,
                                    "cold": cold}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
