"""``ocpp-soap central …``: run the Central System and operate it from a shell.

Every command but ``serve`` works directly on the database named by ``--db URL``, ``--config FILE``
or the ``OCPP_SOAP_*`` environment (flags win), so it works whether or not a server is running.
Humans get aligned tables, scripts ``--json``.

Exit codes: 0 done; 1 the command failed (SOAP fault, timeout, unreachable, conflict);
2 the request itself is wrong (unknown charge box, tag or operation, invalid field or option).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from ocpp_soap.soap.logsafe import clean

from .errors import Conflict, NotFound, StorageUnavailable
from .trust import EVENT_KINDS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
ROLE_CHOICES = ("viewer", "operator", "admin")


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


# ----------------------------------------------------------------------------- argument parsing

def _common(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    # SUPPRESS: the same options may be given before or after the sub-command.
    parser.add_argument("--db", metavar="URL", default=argparse.SUPPRESS,
                        help="database URL (default: settings, OCPP_SOAP_DB, "
                             "sqlite:///ocpp-soap-central.db)")
    parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="settings file, TOML or YAML (default: OCPP_SOAP_CONFIG)")
    if json_flag:
        parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                            help="print JSON instead of a table")


def _max_active(text: str) -> int | None:
    if text.lower() in ("none", "unlimited", "-"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ocpp-soap central",
        description="Run and operate the OCPP-S 1.5/1.6 Central System.",
        epilog="Exit codes: 0 ok, 1 command failed (fault, timeout, conflict), "
               "2 bad request (unknown box/tag/operation, invalid field).",
    )
    _common(p)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # serve ----------------------------------------------------------------------------------
    s = sub.add_parser("serve", help="run the Central System under gunicorn",
                       description="Serve SOAP at /ocpp/{1.5,1.6}/CentralSystemService and "
                                   "/ocpp/CentralSystemService, the JSON API at /api/v1 and the web "
                                   "console at /ui/.")
    _common(s, json_flag=False)
    s.add_argument("--host", default=None,
                   help="address to listen on (default 127.0.0.1; OCPP_SOAP_LISTEN_HOST)")
    s.add_argument("--port", type=int, default=None, help="TCP port (default 8180; OCPP_SOAP_PORT)")
    s.add_argument("--workers", type=int, default=None,
                   help="gunicorn worker processes (default 2; OCPP_SOAP_WORKERS)")
    s.add_argument("--threads", type=int, default=None,
                   help="threads per worker; more than 1 uses gunicorn's gthread workers, so "
                        "API commands waiting for slow charge points do not hold whole workers "
                        "(default 1: sync workers, the fastest for SOAP traffic)")
    s.add_argument("--unknown-chargebox", choices=("reject", "pending", "accept"), default=None,
                   help="answer to a BootNotification from an unregistered box (default reject)")
    s.add_argument("--heartbeat-interval", type=int, metavar="S", default=None,
                   help="heartbeat interval given to accepted boxes, seconds (default 300)")
    s.add_argument("--public-url", metavar="URL", default=None,
                   help="our own base URL as charge points reach it (sent as From on commands)")
    s.add_argument("--command-timeout", type=float, metavar="S", default=None,
                   help="seconds to wait for a charge point's answer (default 30)")
    s.add_argument("--strict", action="store_true", default=None,
                   help="refuse envelopes that break the schema (default: lenient, as real "
                        "chargers need)")
    s.add_argument("--max-body", type=int, metavar="BYTES", default=None,
                   help="largest request body accepted, after decompression (default 1 MiB)")
    s.add_argument("--capture", metavar="DIR", default=None,
                   help="also write every envelope to DIR (by time, box, action, direction)")
    s.add_argument("--api-token", metavar="TOKEN", default=None,
                   help="bearer token for /api/v1 (OCPP_SOAP_API_TOKEN); required unless "
                        "listening on loopback. Visible in ps: prefer --api-token-file")
    s.add_argument("--api-token-file", metavar="FILE", default=None,
                   help="read the API token from FILE (OCPP_SOAP_API_TOKEN_FILE)")
    s.add_argument("--certfile", metavar="PEM", default=None,
                   help="serve HTTPS with this certificate (chain) (OCPP_SOAP_CERTFILE)")
    s.add_argument("--keyfile", metavar="PEM", default=None,
                   help="its private key (OCPP_SOAP_KEYFILE)")
    s.add_argument("--ca-certs", metavar="PEM", default=None,
                   help="CAs (or boxes' own certificates) client certificates are checked "
                        "against (OCPP_SOAP_CA_CERTS)")
    s.add_argument("--client-cert", choices=("none", "optional", "required"), default=None,
                   help="ask charge points for a TLS client certificate (default none; "
                        "OCPP_SOAP_CLIENT_CERT)")
    s.add_argument("--require-auth", choices=("none", "any"), default=None,
                   help="'any' refuses boxes without a password, certificate or allow_from "
                        "(default none, for compatibility)")
    s.add_argument("--endpoint-change", choices=("boot", "any", "manual"), default=None,
                   help="which message may move the address of a box without credentials "
                        "(default boot)")
    s.add_argument("--app", metavar="MODULE:FACTORY", default=None,
                   help="run your own application factory (a function returning"
                        " ocpp_soap.central.create_app(...)); MODULE may be a .py file")
    s.add_argument("--log-level", default="info",
                   choices=("debug", "info", "warning", "error", "critical"))
    s.add_argument("--show-config", action="store_true",
                   help="print the effective settings as JSON and exit")

    # chargebox ------------------------------------------------------------------------------
    cb = sub.add_parser("chargebox", help="register, list, show and remove charge boxes")
    _common(cb)
    cbs = cb.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = cbs.add_parser("add", help="register a charge box")
    _common(a)
    a.add_argument("id", metavar="ID")
    a.add_argument("--status", default="Accepted", choices=("Accepted", "Pending", "Rejected"),
                   help="registration status (default Accepted)")
    a.add_argument("--endpoint", metavar="URL",
                   help="the box's ChargePointService URL, set by hand (wins over learning)")
    a.add_argument("--version", choices=("1.5", "1.6"),
                   help="OCPP version to command it with before it has talked to us")
    a.add_argument("--secret", metavar="S", help="HTTP Basic-auth password the box must send")
    a.add_argument("--allow-from", metavar="CIDR[,CIDR…]",
                   help="source networks the box may talk from (refused elsewhere)")
    a.add_argument("--cert-fingerprint", metavar="SHA256",
                   help="SHA-256 fingerprint of the box's TLS client certificate")
    a.add_argument("--description", help="free text")
    x = cbs.add_parser("update", help="change a charge box: accept a Pending box, and more",
                       description="Change what `add` set: registration status (accept a "
                                   "Pending box with --status Accepted), address, version, "
                                   "Basic-auth secret, source networks, certificate "
                                   "fingerprint, description.")
    _common(x)
    x.add_argument("id", metavar="ID")
    x.add_argument("--status", choices=("Accepted", "Pending", "Rejected"),
                   help="registration status")
    x.add_argument("--endpoint", metavar="URL",
                   help="the box's ChargePointService URL, set by hand (wins over learning)")
    x.add_argument("--version", choices=("1.5", "1.6"), help="OCPP version to command it with")
    x.add_argument("--secret", metavar="S",
                   help="HTTP Basic-auth password the box must send ('' clears it)")
    x.add_argument("--allow-from", metavar="CIDR[,CIDR…]",
                   help="source networks the box may talk from ('' clears the pin)")
    x.add_argument("--cert-fingerprint", metavar="SHA256",
                   help="SHA-256 fingerprint of its TLS client certificate ('' clears it)")
    x.add_argument("--description", help="free text ('' clears it)")
    x = cbs.add_parser("events", help="the box's trust events: address changes, refused "
                                      "addresses, failed authentications, rate limits")
    _common(x)
    x.add_argument("id", metavar="ID")
    x.add_argument("--kind", choices=EVENT_KINDS)
    x.add_argument("--since", metavar="ISO")
    x.add_argument("--limit", type=int, default=100)
    x = cbs.add_parser("list", help="list charge boxes")
    _common(x)
    x.add_argument("--status", choices=("Accepted", "Pending", "Rejected"),
                   help="only boxes with this registration status (Pending: what waits)")
    x = cbs.add_parser("show", help="one charge box with its connectors")
    _common(x)
    x.add_argument("id", metavar="ID")
    x = cbs.add_parser("set-endpoint", help="set the box's address by hand, or --clear it")
    _common(x)
    x.add_argument("id", metavar="ID")
    g = x.add_mutually_exclusive_group(required=True)
    g.add_argument("url", metavar="URL", nargs="?")
    g.add_argument("--clear", action="store_true",
                   help="forget the manual address and use what is learned from its messages")
    x = cbs.add_parser("remove", help="forget a charge box (its history stays)")
    _common(x)
    x.add_argument("id", metavar="ID")

    # tag ------------------------------------------------------------------------------------
    tg = sub.add_parser("tag", help="manage id tags")
    _common(tg)
    tgs = tg.add_subparsers(dest="action", metavar="ACTION", required=True)
    x = tgs.add_parser("add", help="add an id tag")
    _common(x)
    x.add_argument("tag", metavar="TAG")
    x.add_argument("--expiry", metavar="ISO", help="expiry date-time, e.g. 2030-01-01T00:00:00Z")
    x.add_argument("--parent", metavar="TAG", help="parent id tag (groups)")
    x.add_argument("--max-active", metavar="N", type=_max_active, default=argparse.SUPPRESS,
                   help="most concurrent transactions ('none' for no limit; default: setting)")
    x.add_argument("--status", default="Accepted",
                   choices=("Accepted", "Blocked", "Expired", "Invalid"))
    x = tgs.add_parser("list", help="list id tags")
    _common(x)
    x.add_argument("--status", choices=("Accepted", "Blocked", "Expired", "Invalid"))
    for name, help_ in (("show", "one id tag"), ("block", "block a tag"),
                        ("unblock", "accept a blocked tag again"), ("remove", "delete a tag")):
        x = tgs.add_parser(name, help=help_)
        _common(x)
        x.add_argument("tag", metavar="TAG")

    # transactions ---------------------------------------------------------------------------
    t = sub.add_parser("transactions", help="list transactions, newest first; or close one",
                       description="Without an action: list transactions, newest first. "
                                   "`transactions close ID` closes an open transaction its box "
                                   "never stopped (who and when are recorded).")
    _common(t)
    t.add_argument("action", nargs="?", choices=("close",), metavar="close",
                   help="close the transaction ID")
    t.add_argument("id", nargs="?", type=int, metavar="ID", help="transactionId (with close)")
    t.add_argument("--meter-stop", type=int, metavar="N",
                   help="with close: stop value in Wh (default: the last energy reading known)")
    t.add_argument("--reason", metavar="REASON",
                   help="with close: a StopTransaction reason (default Other)")
    t.add_argument("--note", metavar="TEXT", help="with close: why (kept with the transaction)")
    t.add_argument("--chargebox", metavar="ID")
    t.add_argument("--tag", metavar="TAG")
    t.add_argument("--since", metavar="ISO", help="started at or after this time")
    t.add_argument("--until", metavar="ISO", help="started before this time")
    t.add_argument("--active", action="store_true", help="only transactions not yet stopped")
    t.add_argument("--limit", type=int, default=100)

    # user -----------------------------------------------------------------------------------
    us = sub.add_parser("user", help="web console accounts (viewer, operator, admin)",
                        description="Accounts of the web console at /ui/. Create the first admin "
                                    "with `user add NAME --role admin`.")
    _common(us)
    uss = us.add_subparsers(dest="action", metavar="ACTION", required=True)
    x = uss.add_parser("add", help="create an account (asks for the password)")
    _common(x)
    x.add_argument("name", metavar="NAME")
    x.add_argument("--role", required=True, choices=ROLE_CHOICES,
                   help="viewer reads; operator also sends commands and manages tags and "
                        "reservations; admin also manages boxes and users")
    x.add_argument("--password-file", metavar="FILE",
                   help="read the password from the first line of FILE ('-': stdin) instead "
                        "of asking")
    x = uss.add_parser("list", help="list accounts")
    _common(x)
    x = uss.add_parser("remove", help="delete an account (its sessions end)")
    _common(x)
    x.add_argument("name", metavar="NAME")
    x = uss.add_parser("passwd", help="set an account's password (its sessions end)")
    _common(x)
    x.add_argument("name", metavar="NAME")
    x.add_argument("--password-file", metavar="FILE",
                   help="read the password from the first line of FILE ('-': stdin)")

    # call -----------------------------------------------------------------------------------
    c = sub.add_parser(
        "call", help="send a command to a charge point and print its reply as JSON",
        description="Fields use the message's own names: `call CB1 ChangeAvailability "
                    "connectorId=0 type=Inoperative`. a.b=v sets a nested field, name:=JSON a "
                    "raw JSON value; --data gives the whole payload as JSON.")
    _common(c, json_flag=False)
    c.add_argument("charge_box_id", metavar="chargeBoxId")
    c.add_argument("operation", metavar="Operation")
    c.add_argument("fields", metavar="field=value", nargs="*")
    c.add_argument("--data", metavar="JSON", help="the request payload as a JSON object")
    c.add_argument("--queue", action="store_true",
                   help="if the box cannot be reached, queue the command for its next message")
    c.add_argument("--timeout", type=float, metavar="S",
                   help="seconds to wait for the answer (default: command_timeout setting)")
    c.add_argument("--expires", metavar="ISO",
                   help="with --queue: the queued command is dropped unsent after this time "
                        "(default: pending_expiry setting, 24 h)")

    # pending --------------------------------------------------------------------------------
    from .commands import PENDING_STATES

    q = sub.add_parser("pending", help="list queued commands and their states")
    _common(q)
    q.add_argument("--chargebox", metavar="ID")
    q.add_argument("--state", choices=PENDING_STATES,
                   help="only this state (default: queued and sending)")
    q.add_argument("--all", action="store_true", help="every state")
    return p


# ----------------------------------------------------------------------------- helpers

def _settings(args: argparse.Namespace, **overrides: Any):
    from .settings import CentralSettings

    overrides["db_url"] = getattr(args, "db", None)
    try:
        return CentralSettings.load(getattr(args, "config", None), overrides=overrides)
    except (OSError, ValueError) as exc:
        raise CliError(f"bad configuration: {exc}") from None


def _central(args: argparse.Namespace):
    from .domain import CentralSystem

    settings = _settings(args)
    try:
        return CentralSystem.open(settings)
    except Exception as exc:
        raise CliError(f"cannot open the database {settings.db_url}: {exc}", EXIT_FAILED) from None


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return clean("; ".join(str(v) for v in value), 300) or "-"
    return clean(value, 300)  # charger-supplied text: no control characters on a terminal


def format_table(rows: Iterable[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """Rows as aligned columns under a header; ``columns`` is (key, heading)."""
    cells = [[heading for _, heading in columns]]
    cells += [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in cells]
    return "\n".join(lines) + "\n"


def _print_rows(args, rows: list[dict[str, Any]], columns, empty: str) -> None:
    if getattr(args, "json", False):
        _print_json(rows)
    elif not rows:
        sys.stdout.write(empty + "\n")
    else:
        sys.stdout.write(format_table(rows, columns))


def _print_record(args, record: dict[str, Any], skip: Iterable[str] = ()) -> None:
    if getattr(args, "json", False):
        _print_json(record)
        return
    skip = set(skip)
    keys = [k for k in record if k not in skip]
    width = max((len(k) for k in keys), default=0)
    for key in keys:
        sys.stdout.write(f"{key.ljust(width)}  {_cell(record[key])}\n")


BOX_COLUMNS = (("charge_box_id", "ID"), ("registration_status", "STATUS"),
               ("ocpp_version", "OCPP"), ("endpoint_address", "ENDPOINT"),
               ("endpoint_source", "LEARNED FROM"), ("last_seen_at", "LAST SEEN"))
CONNECTOR_COLUMNS = (("connector_id", "CONNECTOR"), ("status", "STATUS"),
                     ("error_code", "ERROR"), ("info", "INFO"), ("timestamp", "SINCE"))
TAG_COLUMNS = (("id_tag", "TAG"), ("status", "STATUS"), ("expiry_date", "EXPIRES"),
               ("parent_id_tag", "PARENT"), ("max_active_transactions", "MAX ACTIVE"))
EVENT_COLUMNS = (("at", "AT"), ("kind", "KIND"), ("message", "MESSAGE"),
                 ("source_ip", "SOURCE"), ("old_address", "OLD"), ("new_address", "NEW"),
                 ("detail", "DETAIL"))
PENDING_COLUMNS = (("id", "ID"), ("charge_box_id", "CHARGE BOX"), ("operation", "OPERATION"),
                   ("state", "STATE"), ("created_at", "QUEUED AT"), ("expires_at", "EXPIRES"),
                   ("attempts", "ATTEMPTS"), ("finished_at", "FINISHED"))
TX_COLUMNS = (("id", "ID"), ("charge_box_id", "CHARGE BOX"), ("connector_id", "CONN"),
              ("id_tag", "TAG"), ("start_timestamp", "STARTED"), ("meter_start", "METER START"),
              ("stop_timestamp", "STOPPED"), ("meter_stop", "METER STOP"),
              ("stop_reason", "REASON"), ("closed_by", "CLOSED BY"), ("warnings", "WARNINGS"))


# ----------------------------------------------------------------------------- commands

def cmd_serve(args: argparse.Namespace) -> int:
    import os

    from .serve import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_WORKERS, ServeError, ServePlan, serve

    env = os.environ

    def env_int(name: str, default: int) -> int:
        raw = env.get(name)
        if not raw:
            return default
        try:
            return int(raw)
        except ValueError:
            raise CliError(f"{name}={raw!r} is not a number") from None

    plan = ServePlan(
        host=args.host or env.get("OCPP_SOAP_LISTEN_HOST") or DEFAULT_HOST,
        port=args.port if args.port is not None else env_int("OCPP_SOAP_PORT", DEFAULT_PORT),
        workers=(args.workers if args.workers is not None
                 else env_int("OCPP_SOAP_WORKERS", DEFAULT_WORKERS)),
        threads=args.threads if args.threads is not None else env_int("OCPP_SOAP_THREADS", 1),
        config_file=getattr(args, "config", None),
        settings_overrides={
            "db_url": getattr(args, "db", None),
            "unknown_chargebox": args.unknown_chargebox,
            "heartbeat_interval": args.heartbeat_interval,
            "public_url": args.public_url,
            "command_timeout": args.command_timeout,
            "certfile": args.certfile,
            "keyfile": args.keyfile,
            "ca_certs": args.ca_certs,
            "client_cert": args.client_cert,
            "require_auth": args.require_auth,
            "endpoint_change": args.endpoint_change,
        },
        serve_overrides={k: v for k, v in {
            "strict": args.strict,
            "max_body": args.max_body,
            "capture_dir": args.capture,
            "api_token": args.api_token,
            "api_token_file": args.api_token_file,
        }.items() if v is not None},
        log_level=args.log_level,
        app=args.app,
    )
    try:
        if args.show_config:
            settings = plan.check()
            _print_json({"settings": settings.as_dict(), "host": plan.host, "port": plan.port,
                         "workers": plan.workers, "threads": plan.threads})
            return EXIT_OK
        return serve(plan)
    except ServeError as exc:
        raise CliError(str(exc)) from None


def cmd_chargebox(args: argparse.Namespace) -> int:
    admin = _central(args).admin
    if args.action == "add":
        box = admin.add_chargebox(args.id, registration_status=args.status,
                                  description=args.description, endpoint=args.endpoint,
                                  auth_secret=args.secret, ocpp_version=args.version,
                                  allow_from=args.allow_from,
                                  cert_fingerprint=args.cert_fingerprint)
        if getattr(args, "json", False):
            _print_json(box)
        else:
            sys.stdout.write(f"added charge box {args.id} ({args.status})\n")
    elif args.action == "update":
        changes: dict[str, Any] = {}
        if args.status is not None:
            changes["registration_status"] = args.status
        if args.version is not None:
            changes["ocpp_version"] = args.version
        for name, key in (("secret", "auth_secret"), ("allow_from", "allow_from"),
                          ("cert_fingerprint", "cert_fingerprint"),
                          ("description", "description")):
            if getattr(args, name) is not None:
                changes[key] = getattr(args, name) or None
        if not changes and args.endpoint is None:
            raise CliError("nothing to change: give --status, --endpoint, --version, --secret, "
                           "--allow-from, --cert-fingerprint or --description")
        admin.get_chargebox(args.id)  # unknown box: exit 2 before anything changes
        if args.endpoint is not None:
            try:
                box = admin.set_endpoint(args.id, args.endpoint)
            except ValueError as exc:
                raise CliError(str(exc)) from None
        if changes:
            box = admin.update_chargebox(args.id, **changes)
        if getattr(args, "json", False):
            _print_json(box)
        else:
            sys.stdout.write(f"updated charge box {args.id} ({box['registration_status']})\n")
    elif args.action == "events":
        try:
            rows = admin.list_events(args.id, kind=args.kind, since=args.since, limit=args.limit)
        except ValueError as exc:
            raise CliError(f"invalid filter: {exc}") from None
        _print_rows(args, rows, EVENT_COLUMNS, f"no events for {args.id}")
    elif args.action == "list":
        _print_rows(args, admin.list_chargeboxes(args.status), BOX_COLUMNS, "no charge boxes")
    elif args.action == "show":
        box = admin.get_chargebox(args.id)
        if getattr(args, "json", False):
            _print_json(box)
        else:
            _print_record(args, box, skip=("connectors",))
            if box["connectors"]:
                sys.stdout.write("\n" + format_table(box["connectors"], CONNECTOR_COLUMNS))
    elif args.action == "set-endpoint":
        box = admin.set_endpoint(args.id, None if args.clear else args.url)
        if getattr(args, "json", False):
            _print_json(box)
        else:
            where = box["endpoint_address"] or "unknown until it talks to us"
            how = "set by hand" if box["endpoint_override"] else \
                f"learned ({box['endpoint_source'] or 'nothing yet'})"
            sys.stdout.write(f"{args.id}: endpoint {where}, {how}\n")
    elif args.action == "remove":
        admin.remove_chargebox(args.id)
        sys.stdout.write(f"removed charge box {args.id}\n")
    return EXIT_OK


def cmd_tag(args: argparse.Namespace) -> int:
    admin = _central(args).admin
    if args.action == "add":
        kwargs: dict[str, Any] = {}
        if hasattr(args, "max_active"):
            kwargs["max_active_transactions"] = args.max_active
        try:
            tag = admin.add_tag(args.tag, status=args.status, expiry_date=args.expiry,
                                parent_id_tag=args.parent, **kwargs)
        except ValueError as exc:
            raise CliError(f"invalid tag: {exc}") from None
        if getattr(args, "json", False):
            _print_json(tag)
        else:
            sys.stdout.write(f"added id tag {args.tag} ({args.status})\n")
    elif args.action == "list":
        _print_rows(args, admin.list_tags(args.status), TAG_COLUMNS, "no id tags")
    elif args.action == "show":
        _print_record(args, admin.get_tag(args.tag))
    elif args.action in ("block", "unblock"):
        tag = getattr(admin, f"{args.action}_tag")(args.tag)
        if getattr(args, "json", False):
            _print_json(tag)
        else:
            sys.stdout.write(f"id tag {args.tag} is {tag['status']}\n")
    elif args.action == "remove":
        admin.remove_tag(args.tag)
        sys.stdout.write(f"removed id tag {args.tag}\n")
    return EXIT_OK


def _operator() -> str:
    import getpass

    try:
        return f"cli ({getpass.getuser()})"
    except Exception:  # no user name to be found (containers)
        return "cli"


def cmd_transactions(args: argparse.Namespace) -> int:
    if args.action is None and (args.id is not None or args.meter_stop is not None
                                or args.reason or args.note):
        raise CliError("ID, --meter-stop, --reason and --note go with `transactions close ID`")
    if args.action == "close":
        if args.id is None:
            raise CliError("transactions close needs the transaction's ID")
        admin = _central(args).admin
        try:
            tx = admin.close_transaction(args.id, by=_operator(), meter_stop=args.meter_stop,
                                         reason=args.reason, note=args.note)
        except ValueError as exc:
            raise CliError(f"cannot close: {exc}") from None
        if getattr(args, "json", False):
            _print_json(tx)
        else:
            sys.stdout.write(f"closed transaction {tx['id']} at meter {tx['meter_stop']} "
                             f"({tx['stop_reason']}, by {tx['closed_by']})\n")
        return EXIT_OK
    admin = _central(args).admin
    try:
        rows = admin.list_transactions(charge_box_id=args.chargebox, id_tag=args.tag,
                                       since=args.since, until=args.until,
                                       active=True if args.active else None, limit=args.limit)
    except ValueError as exc:
        raise CliError(f"invalid filter: {exc}") from None
    _print_rows(args, rows, TX_COLUMNS, "no transactions")
    return EXIT_OK


USER_COLUMNS = (("name", "USER"), ("role", "ROLE"), ("last_login_at", "LAST LOGIN"),
                ("created_at", "CREATED"))


def _read_password(args: argparse.Namespace) -> str:
    """From ``--password-file`` (first line; ``-`` is stdin), else asked twice at the terminal."""
    path = getattr(args, "password_file", None)
    if path:
        try:
            if path == "-":
                line = sys.stdin.readline()
            else:
                with open(path, encoding="utf-8") as handle:
                    line = handle.readline()
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read the password file {path}: {exc}") from None
        password = line.rstrip("\r\n")
        if not password:
            raise CliError(f"the password file {path} is empty")
        return password
    import getpass

    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password: give --password-file FILE")
    try:
        first = getpass.getpass("password: ")
        second = getpass.getpass("again: ")
    except (EOFError, KeyboardInterrupt):
        raise CliError("no password given") from None
    if first != second:
        raise CliError("the two passwords differ")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    accounts = _central(args).accounts
    if args.action == "add":
        password = _read_password(args)
        try:
            user = accounts.add(args.name, args.role, password)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        if getattr(args, "json", False):
            _print_json(user)
        else:
            sys.stdout.write(f"added user {user['name']} ({user['role']})\n")
    elif args.action == "list":
        _print_rows(args, accounts.list(), USER_COLUMNS,
                    "no users (create the first admin: ocpp-soap central user add NAME"
                    " --role admin)")
    elif args.action == "remove":
        accounts.remove(args.name)
        sys.stdout.write(f"removed user {args.name}\n")
    elif args.action == "passwd":
        if accounts.get_by_name(args.name) is None:
            raise CliError(f"unknown user {args.name!r}")
        password = _read_password(args)
        try:
            accounts.set_password(args.name, password)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        sys.stdout.write(f"password of {args.name} changed; its sessions have ended\n")
    return EXIT_OK


def cmd_pending(args: argparse.Namespace) -> int:
    rows = _central(args).admin.list_pending(args.chargebox, state=args.state,
                                             include_taken=args.all)
    _print_rows(args, rows, PENDING_COLUMNS, "no queued commands")
    return EXIT_OK


def parse_fields(pairs: Sequence[str], data: str | None = None) -> dict[str, Any]:
    """``--data`` JSON, then ``a=b`` (string; the schema converts it), ``a.b=c`` (nested) and
    ``a:=JSON`` (a raw JSON value) on top."""
    payload: dict[str, Any] = {}
    if data:
        try:
            payload = json.loads(data)
        except json.JSONDecodeError as exc:
            raise CliError(f"--data is not valid JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise CliError("--data must be a JSON object")
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"expected field=value, not {pair!r}")
        parsed: Any = value
        if key.endswith(":"):
            key = key[:-1]
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError as exc:
                raise CliError(f"{key}: not valid JSON: {exc}") from None
        target = payload
        *parents, leaf = key.split(".")
        for part in parents:
            nxt = target.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise CliError(f"{key}: {part} is not an object")
            target = nxt
        target[leaf] = parsed
    return payload


def cmd_call(args: argparse.Namespace) -> int:
    from ocpp_soap.messages.payload import PayloadError

    from .app import CentralApp, ServeOptions
    from .commander import CommandFailed, check_command

    payload = parse_fields(args.fields, args.data)
    expires_at = None
    if args.expires is not None:
        if not args.queue:
            raise CliError("--expires needs --queue")
        from .timeutil import parse_time

        try:
            expires_at = parse_time(args.expires)
        except ValueError:
            raise CliError(f"--expires: expected an ISO 8601 date-time, got {args.expires!r}") \
                from None
    settings = _settings(args)
    try:
        app = CentralApp(settings, ServeOptions())
    except Exception as exc:
        raise CliError(f"cannot open the database {settings.db_url}: {exc}", EXIT_FAILED) from None
    try:
        # Check the fields before the box's state, so a typo is reported as such (exit 2).
        box = app.central.admin.get_chargebox(args.charge_box_id)
        check_command(box.get("ocpp_version") or "1.6", args.operation, payload)
        result = app.commander.send(args.charge_box_id, args.operation, payload,
                                    queue_if_unreachable=args.queue, timeout=args.timeout,
                                    expires_at=expires_at)
    except NotFound as exc:
        raise CliError(str(exc)) from None
    except PayloadError as exc:
        what = f"invalid field {exc.field}: {exc.message}" if exc.field else exc.message
        raise CliError(f"{args.operation}: {what}") from None
    except Conflict as exc:
        raise CliError(f"cannot send: {exc}", EXIT_FAILED) from None
    except CommandFailed as exc:
        hint = " (use --queue to send it when the box next talks to us)" \
            if exc.kind in ("timeout", "unreachable") and not args.queue else ""
        raise CliError(f"{exc.kind}: {exc}{hint}", EXIT_FAILED) from None
    finally:
        app.close()
    if result.outcome == "queued":
        sys.stderr.write(f"{args.charge_box_id} cannot be reached now; {args.operation} queued "
                         f"as #{result.pending_id}, sent when the box next talks to us\n")
        _print_json({"queued": True, "pendingId": result.pending_id})
    else:
        _print_json(result.reply)
    return EXIT_OK


COMMANDS = {"serve": cmd_serve, "chargebox": cmd_chargebox, "tag": cmd_tag,
            "transactions": cmd_transactions, "call": cmd_call, "user": cmd_user,
            "pending": cmd_pending}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        return COMMANDS[args.command](args)
    except CliError as exc:
        sys.stderr.write(f"ocpp-soap central: {exc}\n")
        return exc.code
    except NotFound as exc:
        sys.stderr.write(f"ocpp-soap central: {exc}\n")
        return EXIT_USAGE
    except Conflict as exc:
        sys.stderr.write(f"ocpp-soap central: {exc}\n")
        return EXIT_FAILED
    except StorageUnavailable as exc:
        sys.stderr.write(f"ocpp-soap central: {exc}\n")
        return EXIT_FAILED
    except ValueError as exc:
        sys.stderr.write(f"ocpp-soap central: invalid value: {exc}\n")
        return EXIT_USAGE
