"""Where one message's time goes inside the Central System, per stage (in-process, no HTTP).

``bench/wire.py`` says how the whole compares with bare Spyne and with lxml; this script says what
dominates. It wraps the stages of the request path with wall-clock timers and sends each message
``--number`` times through the application ``bench/wire.py`` measures:

- ``front``: body read, safe parse, envelope and header rules, the schema check (``OcppEndpoint``);
- ``spyne``: Spyne's own work — its contexts, events and dispatch — i.e. the Spyne application's
  time less the three stages below that run inside it;
- ``mapping``: the request element read into a dict, and the 1.5/1.6 adapters both ways;
- ``domain``: the handler (the domain's logic and its database work);
- ``reply``: writing the reply document (envelope, body, WS-Addressing headers);
- ``after``: the exchange hook (message log line, envelope log queue, wake-up check) and the rest
  of the WSGI call (serializing the document to bytes included).

Timers cost ~1 µs each; the ``total`` column is the same calls without them.
Run: ``python bench/profile.py [--number 300] [--json FILE]``.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine, median_us, table, write_json  # noqa: E402
from bench.wire import call, project_app, requests_for  # noqa: E402
from ocpp_soap.soap import spyne_app as spyne_mod  # noqa: E402

STAGES = ("front", "spyne", "mapping", "domain", "reply", "after")


class Stages:
    """Accumulates wall time per stage for the current call."""

    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)

    def timed(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        current = self.current

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                current[stage] += time.perf_counter() - t0

        return wrapper


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=300)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="ocpp-profile-")
    app, body_for = project_app(tmp, 3 * args.number + 10)
    names = list(requests_for("BENCH-1"))

    # Untimed totals first, then the same calls with the stage timers in place.
    totals = {}
    for name in names:
        for _ in range(20):
            call(app, body_for(name))
        runs = []
        for _ in range(args.number):
            t0 = time.perf_counter()
            call(app, body_for(name))
            runs.append(time.perf_counter() - t0)
        totals[name] = statistics.median(runs) * 1e6

    stages = Stages()
    apps = {}
    for endpoint in app.endpoints.values():
        endpoint._read_envelope = stages.timed("front", endpoint._read_envelope)
        endpoint._admit = stages.timed("front", endpoint._admit)
        endpoint._read_body = stages.timed("front", endpoint._read_body)
        for v, spyne_wsgi in endpoint.apps.items():
            apps[v] = spyne_wsgi
        endpoint.apps = {v: stages.timed("spyne_total", a) for v, a in endpoint.apps.items()}
    for spyne_wsgi in apps.values():
        protocol = spyne_wsgi.app.out_protocol
        protocol.serialize = stages.timed("reply", protocol.serialize)
    spyne_mod.element_to_dict = stages.timed("mapping", spyne_mod.element_to_dict)
    for fn_name in ("to_neutral", "from_neutral"):
        setattr(spyne_mod.adapters, fn_name,
                stages.timed("mapping", getattr(spyne_mod.adapters, fn_name)))
    # Spyne's methods look their handler up by name in the table the app was built with.
    for op_name, fn in list(app.handlers.items()):
        app.handlers[op_name] = stages.timed("domain", fn)

    rows = []
    for name in names:
        samples: dict[str, list[float]] = defaultdict(list)
        for _ in range(args.number):
            stages.current.clear()
            t0 = time.perf_counter()
            call(app, body_for(name))
            whole = time.perf_counter() - t0
            cur = dict(stages.current)
            spyne_own = cur.get("spyne_total", 0) - sum(
                cur.get(k, 0) for k in ("mapping", "domain", "reply"))
            samples["front"].append(cur.get("front", 0))
            samples["spyne"].append(spyne_own)
            samples["mapping"].append(cur.get("mapping", 0))
            samples["domain"].append(cur.get("domain", 0))
            samples["reply"].append(cur.get("reply", 0))
            samples["after"].append(whole - cur.get("front", 0) - cur.get("spyne_total", 0))
        row: dict[str, Any] = {"message": name, "total_us": totals[name]}
        for stage in STAGES:
            row[f"{stage}_us"] = statistics.median(samples[stage]) * 1e6
        biggest = max(STAGES, key=lambda s: row[f"{s}_us"])
        row["dominant"] = biggest
        rows.append(row)
    app.close()

    mapping = mapping_costs(args.number)
    print("Central System, in-process, OCPP 1.6: median µs per stage "
          f"({args.number} calls per message)\n")
    print(table(rows, ["message", "total_us", *[f"{s}_us" for s in STAGES], "dominant"]))
    print("\nfront: read, parse, headers, schema check; spyne: Spyne's own work; mapping: "
          "request dict and adapters;\ndomain: the handler and its database work; reply: the "
          "reply document; after: exchange hook, bytes out, WSGI glue")
    print("\nReading each request into the handler's dict: Spyne's object mapping against the "
          "lean reader the CS uses (xmlmap), median µs\n")
    print(table(mapping, ["message", "spyne_mapping_us", "xmlmap_us", "spyne/xmlmap"]))
    write_json(args.json, {"machine": machine(), "number": args.number, "rows": rows,
                           "request_mapping": mapping})
    return 0


def mapping_costs(number: int) -> list[dict[str, Any]]:
    """Spyne's ``from_element`` (model instances, then a dict) against ``xmlmap`` for each
    request: does Spyne's object mapping of nested samples cost, and does the lean one pay?"""
    from lxml import etree

    from bench.apps import bare_spyne
    from ocpp_soap.messages import service_schema
    from ocpp_soap.soap.spyne_models import models
    from ocpp_soap.soap.versions import SOAP12_NS
    from ocpp_soap.soap.xmlmap import element_to_dict

    protocol = bare_spyne().app.in_protocol
    ms = models("1.6", "CentralSystemService")
    schema = service_schema("1.6", "CentralSystemService")
    rows = []
    for name, body in requests_for("BENCH-1").items():
        element = etree.fromstring(body).find(f"{{{SOAP12_NS}}}Body")[0]
        cls, declared = ms.requests[name], schema.operation(name).request
        spyne_us = median_us(lambda cls=cls, e=element: protocol.from_element(None, cls, e),
                             number=number)
        lean_us = median_us(lambda e=element, d=declared: element_to_dict(e, d), number=number)
        rows.append({"message": name, "spyne_mapping_us": spyne_us, "xmlmap_us": lean_us,
                     "spyne/xmlmap": spyne_us / lean_us})
    return rows


if __name__ == "__main__":
    sys.exit(main())
