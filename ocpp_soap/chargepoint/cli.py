"""``ocpp-soap chargepoint run|shell|scenario|fleet``: the simulator's command line.

    ocpp-soap chargepoint run --central URL --id CB1 [--version 1.5|1.6] [--listen 127.0.0.1:8280]
        [--public-url URL] [--connectors 2] [--config FILE] [--state FILE] [--capture DIR]
        [--shell] [--strict] [--basic-auth ID:PASSWORD | --basic-auth-file FILE]
    ocpp-soap chargepoint shell (the options of run)
    ocpp-soap chargepoint scenario FILE [--central URL] [--id ID] [--version V] [--listen H:P] ...
    ocpp-soap chargepoint fleet --central URL --count N --prefix SIM [--version V]
        [--listen 127.0.0.1:8300] [--connectors 1] [--charge] [--duration S] [--interval S]
        [--heartbeat S] [--ramp S] [--late-after S] [--no-summary]   (last line on stdout: JSON summary)

The config file (YAML or TOML) describes the hardware: vendor, model, serials, firmware, power and
the configuration keys; it may also give defaults for id, central, version, connectors, listen and
public_url (the command line wins)::

    vendor = "DBT"
    model = "CX-22"
    serial = "DBT-0042"          # chargePointSerialNumber
    firmware = "2.4.1"
    power_kw = 22
    [keys]
    MeterValueSampleInterval = 60
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

DEFAULT_LISTEN = "127.0.0.1:8280"
DEFAULT_FLEET_LISTEN = "127.0.0.1:8300"

#: friendly names in the config file → SimConfig fields
ALIASES = {
    "serial": "charge_point_serial", "charge_point_serial_number": "charge_point_serial",
    "chargepointserialnumber": "charge_point_serial", "box_serial": "charge_box_serial",
    "chargeboxserialnumber": "charge_box_serial", "firmware": "firmware_version",
    "chargepointvendor": "vendor", "chargepointmodel": "model", "power": "power_w",
    "meter_serial_number": "meter_serial", "metertype": "meter_type", "configuration": "keys",
}
RUN_DEFAULTS = ("id", "central", "version", "connectors", "listen", "public_url")


class UsageError(Exception):
    pass


# ==================================================================== configuration
def load_config(path: str | None) -> tuple[dict, dict]:
    """(SimConfig dict, run defaults) from a YAML or TOML file."""
    if not path:
        return {}, {}
    from ocpp_soap.chargepoint._scenario import load_file

    try:
        raw = load_file(path)
    except FileNotFoundError:
        raise UsageError(f"config file not found: {path}") from None
    except Exception as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from None
    return normalise_config(raw)


def normalise_config(raw: dict) -> tuple[dict, dict]:
    from ocpp_soap.chargepoint._config import SimConfig

    sim: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        name = str(key).replace("-", "_")
        if name in RUN_DEFAULTS:
            defaults[name] = value
            continue
        name = ALIASES.get(name.lower(), ALIASES.get(name, name))
        if name == "power_kw":
            name, value = "power_w", float(value) * 1000
        sim[name] = value
    try:
        SimConfig.from_dict(sim)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"config: {exc}") from None
    return sim, defaults


def parse_listen(text: str) -> tuple[str, int]:
    host, _, port = str(text).rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--listen wants HOST:PORT, not {text!r}")
    return host, int(port)


# ==================================================================== arguments
def _common(p: argparse.ArgumentParser, listen_default: str | None = DEFAULT_LISTEN) -> None:
    p.add_argument("--central", help="the Central System's CentralSystemService URL")
    p.add_argument("--version", choices=("1.5", "1.6"), help="OCPP version (default 1.6)")
    p.add_argument("--listen", help=f"HOST:PORT of the ChargePointService (default {listen_default})")
    p.add_argument("--public-url", help="the URL the CS should call (our WS-A From)")
    p.add_argument("--connectors", type=int, help="number of connectors (default 1)")
    p.add_argument("--config", help="hardware and configuration keys (YAML or TOML)")
    p.add_argument("--strict", action="store_true", help="refuse envelopes that bend the schema")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the CS (default 10)")
    p.add_argument("--compress", choices=("gzip", "deflate"), help="compress requests to the CS")
    p.add_argument("--capture", metavar="DIR", help="write every envelope to DIR")
    p.add_argument("--basic-auth", metavar="ID:PASSWORD",
                   help="HTTP Basic credentials for the CS (visible in ps: prefer "
                        "--basic-auth-file or OCPP_SOAP_CP_PASSWORD)")
    p.add_argument("--basic-auth-file", metavar="FILE",
                   help="file holding the Basic-auth password (user: the identity)")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-message log lines")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocpp-soap chargepoint",
                                     description="Simulated OCPP-S 1.5/1.6 charge points.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_ in (("run", "run one charge point until Ctrl-C"),
                        ("shell", "run one charge point with an interactive prompt")):
        p = sub.add_parser(name, help=help_)
        _common(p)
        p.add_argument("--id", help="chargeBoxIdentity (default CB1)")
        p.add_argument("--state", help="state file (configuration, availability, local list, queue)")
        p.add_argument("--history-file", default=None, help="shell history file")
        p.add_argument("--manual", action="store_true",
                       help="do not power on: no automatic boot, heartbeat or status (shell: power on)")
        if name == "run":
            p.add_argument("--shell", action="store_true", help="open the interactive prompt")
    p = sub.add_parser("scenario", help="run the steps of a scenario file")
    p.add_argument("file", help="scenario file (YAML or TOML)")
    _common(p, "127.0.0.1:0")
    p.add_argument("--id", help="chargeBoxIdentity (default: the file's, else SCENARIO)")
    p.add_argument("--state", help="state file")
    p = sub.add_parser("fleet", help="run many charge points in one process")
    _common(p, DEFAULT_FLEET_LISTEN)
    p.add_argument("--count", type=int, default=10, help="how many (default 10)")
    p.add_argument("--prefix", default="SIM", help="identity prefix (default SIM → SIM001 …)")
    p.add_argument("--charge", action="store_true", help="plug in and swipe at each after boot")
    p.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl-C)")
    p.add_argument("--interval", type=int, default=10,
                   help="MeterValueSampleInterval while charging, seconds (default 10)")
    p.add_argument("--heartbeat", type=int, help="HeartbeatInterval until the CS sets one")
    p.add_argument("--ramp", type=float, default=0.0, help="spread the boots over S seconds")
    p.add_argument("--workers", type=int, help="scheduler worker threads")
    p.add_argument("--late-after", type=float, default=1.0, metavar="S",
                   help="a message sent more than S seconds after its scheduled time counts as late "
                        "(default 1)")
    p.add_argument("--no-summary", action="store_true",
                   help="do not print the final JSON summary line on stdout")
    return parser


def _logging(args: argparse.Namespace) -> None:
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr)
    logging.getLogger("ocpp_soap.chargepoint.messages").setLevel(
        logging.WARNING if args.quiet else logging.INFO)


def _capture(args: argparse.Namespace):
    if not args.capture:
        return None
    try:
        from ocpp_soap.tools.capture import CaptureWriter
    except ImportError as exc:
        raise UsageError(f"--capture is not available: {exc}") from None
    return CaptureWriter(args.capture)


def _resolve(args: argparse.Namespace, file_defaults: dict, fallback_id: str) -> dict:
    def pick(name: str, default: Any = None) -> Any:
        value = getattr(args, name, None)
        return value if value is not None else file_defaults.get(name, default)

    central = pick("central")
    if not central:
        raise UsageError("--central URL is required (the Central System's CentralSystemService)")
    identity = str(pick("id", fallback_id))
    central, in_url = split_credentials(central)
    return {"central": central, "id": identity, "version": str(pick("version", "1.6")),
            "connectors": int(pick("connectors", 1)), "listen": pick("listen"),
            "public_url": pick("public_url"), "auth": basic_auth(args, identity, in_url)}


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without ``user:password@`` (which would be logged and sent in wsa:To), and
    those credentials."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username), unquote(parts.password or ""))


def basic_auth(args: argparse.Namespace, identity: str,
               in_url: tuple[str, str] | None) -> tuple[str, str] | None:
    """Credentials for the CS: --basic-auth, else --basic-auth-file or OCPP_SOAP_CP_PASSWORD
    (user: the identity), else those found in the --central URL."""
    given = getattr(args, "basic_auth", None)
    if given:
        user, sep, password = given.partition(":")
        if not sep or not user:
            raise UsageError("--basic-auth wants ID:PASSWORD")
        return user, password
    path = getattr(args, "basic_auth_file", None)
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                password = fh.readline().rstrip("\r\n")
        except OSError as exc:
            raise UsageError(f"cannot read --basic-auth-file {path}: {exc.strerror}") from None
        return identity, password
    env = os.environ.get("OCPP_SOAP_CP_PASSWORD")
    if env:
        return identity, env
    return in_url


def _make_sim(args: argparse.Namespace, sim_config: dict, opts: dict, scheduler=None):
    from ocpp_soap.chargepoint import ChargePoint

    if opts["version"] not in ("1.5", "1.6"):
        raise UsageError(f"unsupported version {opts['version']!r}")
    return ChargePoint(opts["id"], opts["central"], opts["version"], opts["connectors"],
                       sim_config, getattr(args, "state", None), public_url=opts["public_url"],
                       timeout=args.timeout, compress=args.compress, capture=_capture(args),
                       strict=args.strict, scheduler=scheduler, auth=opts.get("auth"))


def _on_sigterm(*_: Any) -> None:
    raise KeyboardInterrupt


# ==================================================================== commands
def cmd_run(args: argparse.Namespace, shell: bool) -> int:
    sim_config, file_defaults = load_config(args.config)
    opts = _resolve(args, file_defaults, "CB1")
    host, port = parse_listen(opts["listen"] or DEFAULT_LISTEN)
    _logging(args)
    sim = _make_sim(args, sim_config, opts)
    try:
        sim.serve(host, port, opts["public_url"])
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc}") from None
    sys.stderr.write(f"charge point {sim.identity} (OCPP {sim.version}) serving {sim.url}\n"
                     f"  admin API {sim.admin_url}/state; Central System {sim.central_url}\n")
    previous = _install_sigterm()
    status = 0
    try:
        if not args.manual:
            sim.start()
        if shell:
            from ocpp_soap.chargepoint._shell import HISTORY_FILE, ChargePointShell

            sh = ChargePointShell(sim, history=args.history_file or HISTORY_FILE)
            sh.cmdloop()
            status = 1 if sh.failures else 0
        else:
            threading.Event().wait()
    except KeyboardInterrupt:
        sys.stderr.write("\nstopping\n")
    finally:
        sim.close()
        _restore_sigterm(previous)
    return status


def _install_sigterm():
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _on_sigterm)


def _restore_sigterm(previous) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def cmd_scenario(args: argparse.Namespace) -> int:
    from ocpp_soap.chargepoint import Scheduler
    from ocpp_soap.chargepoint import _scenario as sc

    try:
        data = sc.load_file(args.file)
    except FileNotFoundError:
        raise UsageError(f"scenario file not found: {args.file}") from None
    except sc.ScenarioError as exc:
        raise UsageError(str(exc)) from None
    except Exception as exc:
        raise UsageError(f"cannot read {args.file}: {exc}") from None
    file_sim, file_defaults = load_config(args.config)
    inline = data.get("config") or {}
    inline_sim, _ = normalise_config(inline)
    sim_config = {**inline_sim, **file_sim}
    defaults = {k: data[k] for k in RUN_DEFAULTS if k in data}
    defaults.update(file_defaults)
    opts = _resolve(args, defaults, "SCENARIO")
    host, port = parse_listen(opts["listen"] or "127.0.0.1:0")
    _logging(args)
    scheduler = Scheduler(workers=8)
    sim = _make_sim(args, sim_config, opts, scheduler=scheduler)
    out = _printer(sys.stdout)
    try:
        sim.serve(host, port, opts["public_url"])
        runner = sc.ScenarioRunner(sim, data.get("steps"), out=out)
        if data.get("boot", True):
            sc.boot(sim, float(data.get("boot_timeout", sc.DEFAULT_TIMEOUT)))
            out("✓ boot — BootNotification Accepted")
        runner.run()
    except sc.ScenarioError as exc:
        sys.stderr.write(f"scenario {args.file} failed: {exc}\n")
        return 1
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc}") from None
    finally:
        sim.close()
        scheduler.shutdown()
    out(f"scenario {args.file}: all {len(data['steps'])} steps passed")
    return 0


def _printer(stream):
    def out(text: str) -> None:
        stream.write(text + "\n")
        stream.flush()

    return out


def cmd_fleet(args: argparse.Namespace) -> int:
    from ocpp_soap.chargepoint._fleet import Fleet, run_fleet

    sim_config, file_defaults = load_config(args.config)
    opts = _resolve(args, file_defaults, "")
    host, port = parse_listen(opts["listen"] or DEFAULT_FLEET_LISTEN)
    if opts["auth"] is not None:
        raise UsageError("Basic auth is per charge point (user = identity): use run, shell or "
                         "scenario, not fleet")
    if args.count < 1:
        raise UsageError("--count must be at least 1")
    _logging(args)
    if not args.verbose:  # a fleet's per-message lines would drown the progress line
        logging.getLogger("ocpp_soap.chargepoint.messages").setLevel(logging.WARNING)
        logging.getLogger("ocpp_soap.chargepoint").setLevel(logging.WARNING)
    keys = dict(sim_config.get("keys") or {})
    if args.charge:
        keys.setdefault("MeterValueSampleInterval", args.interval)
    if args.heartbeat:
        keys["HeartbeatInterval"] = args.heartbeat
    sim_config["keys"] = keys
    sim_config.setdefault("boot_retry_s", 5.0)
    try:
        fleet = Fleet(opts["central"], args.count, args.prefix, opts["version"], opts["connectors"],
                      sim_config, host, port, opts["public_url"], workers=args.workers,
                      timeout=args.timeout, strict=args.strict, capture=_capture(args))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc}") from None
    sys.stderr.write(f"fleet of {args.count} (OCPP {opts['version']}) at {fleet.url}/ocpp/ChargePointService/<id>"
                     f"; Central System {opts['central']}\n")
    previous = _install_sigterm()
    try:
        fleet.scheduler.lateness.late_after = args.late_after
        final = run_fleet(fleet, charge=args.charge, duration=args.duration, ramp=args.ramp,
                          summary=None if args.no_summary else sys.stdout)
    finally:
        _restore_sigterm(previous)
    if final.booted < final.total:
        return 1
    if args.charge and final.transactions < final.total:
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        if args.command == "run":
            return cmd_run(args, shell=args.shell)
        if args.command == "shell":
            return cmd_run(args, shell=True)
        if args.command == "scenario":
            return cmd_scenario(args)
        if args.command == "fleet":
            return cmd_fleet(args)
    except UsageError as exc:
        sys.stderr.write(f"ocpp-soap chargepoint {args.command}: {exc}\n")
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())

