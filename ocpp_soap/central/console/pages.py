"""The console's pages and actions: each reads or writes through the admin layer, the account
store or the Commander, and renders a template. Routing, login, CSRF and roles are ``app``'s.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from markupsafe import Markup
from werkzeug.wrappers import Request, Response

from ocpp_soap.messages.payload import PayloadError

from ..accounts import ROLES, Account, Accounts, LoginLocked
from ..closing import STOP_REASONS
from ..commander import CommandFailed
from ..errors import Conflict, NotFound
from ..idtags import STORED_STATUSES
from ..overview import PRESENCE, REGISTRATION, SORTS, online_since, presence_of
from ..timeutil import parse_time
from . import charts, commandforms, xmlview
from .context import PREFIX, ConsoleError, Ctx, redirect, safe_next
from .sessions import PRE_COOKIE, SessionCodec

if TYPE_CHECKING:
    from ..admin import CentralAdmin
    from ..commander import Commander
    from ..settings import CentralSettings

PAGE = 50
BOX_PAGE = 25
LIVE_SECONDS = 5


MAX_INT = 2**31 - 1


def _int(text: str, name: str, minimum: int = 0, default: int | None = None) -> int | None:
    if text == "":
        return default
    try:
        value = int(text) if len(text) <= 12 else MAX_INT + 1
    except ValueError:
        raise ConsoleError(400, f"{name}: expected a whole number, not {text[:40]!r}") from None
    if value < minimum:
        raise ConsoleError(400, f"{name}: must be at least {minimum}")
    if value > MAX_INT:
        raise ConsoleError(400, f"{name}: must be at most {MAX_INT}")
    return value


def _page(ctx: Ctx) -> int:
    return _int(ctx.arg("page"), "page", 1, 1) or 1


def _json(data: Any) -> Response:
    return Response(json.dumps(data, default=str), content_type="application/json")


class Console(Protocol):
    """What the pages need of the console around them (``app.ConsoleApp``: routing, sessions,
    rendering), named here so the pages do not import the router that calls them."""

    @property
    def admin(self) -> CentralAdmin: ...

    @property
    def accounts(self) -> Accounts: ...

    @property
    def commander(self) -> Commander: ...

    @property
    def settings(self) -> CentralSettings: ...

    def codec(self) -> SessionCodec: ...

    def authenticate(self, ctx: Ctx) -> None: ...

    def start_session(self, ctx: Ctx, account: Account) -> None: ...

    def end_session(self, ctx: Ctx) -> None: ...

    def login_token(self, ctx: Ctx) -> str: ...

    def client_address(self, request: Request) -> str | None: ...

    def render(self, ctx: Ctx, template: str, status: int = 200, **values: Any) -> Response: ...

    def fragment(self, ctx: Ctx, template: str, block: str, **values: Any) -> Markup: ...


class Pages:
    """Handlers by endpoint name (see ``ConsoleApp.url_map``)."""

    def __init__(self, console: Console):
        self.c = console

    # ================================================================= login
    def login(self, ctx: Ctx) -> Response:
        if ctx.account is None:
            self.c.authenticate(ctx)
        if ctx.account is not None:
            return redirect(safe_next(ctx.arg("next")))
        notice = "Your session ended after a time without activity; log in again." \
            if ctx.arg("expired") else ""
        return self.c.render(ctx, "login.html", token=self.c.login_token(ctx),
                             next=safe_next(ctx.arg("next")), error="", notice=notice, name="")

    def login_post(self, ctx: Ctx) -> Response:
        token = self.c.codec().load_login(ctx.request.cookies.get(PRE_COOKIE))
        given = ctx.form("csrf")
        name, password = ctx.form("name").strip(), ctx.form("password")
        nxt = safe_next(ctx.form("next"))

        def again(status: int, error: str) -> Response:
            return self.c.render(ctx, "login.html", status, token=self.c.login_token(ctx),
                                 next=nxt, error=error, notice="", name=name[:64])

        if not token or not given or not hmac.compare_digest(token, given):
            return again(403, "The login form expired (missing or wrong CSRF token). Try again.")
        if not name or not password:
            return again(400, "Give your user name and password.")
        try:
            account = self.c.accounts.login(name, password, self.c.client_address(ctx.request))
        except LoginLocked as exc:
            response = again(429, f"Too many failed logins. Try again in {exc.retry_after} "
                                  "seconds.")
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if account is None:
            return again(401, "Wrong user name or password.")
        self.c.start_session(ctx, account)
        return redirect(nxt)

    def logout(self, ctx: Ctx) -> Response:
        if ctx.account is not None:
            self.c.accounts.end_sessions(ctx.account.name)
        self.c.end_session(ctx)
        return redirect(PREFIX + "/login")

    # ================================================================= overview
    def _overview_values(self, ctx: Ctx) -> dict[str, Any]:
        status, version = ctx.arg("status"), ctx.arg("version")
        text, sort = ctx.arg("q")[:100], ctx.arg("sort") or "id"
        if status and status not in PRESENCE + REGISTRATION:
            raise ConsoleError(400, f"status: one of {', '.join(PRESENCE + REGISTRATION)}")
        if version and version not in ("1.5", "1.6", "unknown"):
            raise ConsoleError(400, "version: 1.5, 1.6 or unknown")
        if sort not in SORTS:
            raise ConsoleError(400, f"sort: one of {', '.join(SORTS)}")
        descending = ctx.arg("dir") == "desc"
        page = _page(ctx)
        rows, total = self.c.admin.box_page(text=text or None, status=status or None,
                                            version=version or None, sort=sort,
                                            descending=descending, limit=BOX_PAGE,
                                            offset=(page - 1) * BOX_PAGE)
        pages = max(1, -(-total // BOX_PAGE))
        return {"totals": self.c.admin.overview_totals(), "boxes": rows, "total": total,
                "page": page, "pages": pages, "sort": sort, "descending": descending,
                "filters": {"q": text, "status": status, "version": version},
                "statuses": PRESENCE + REGISTRATION, "sorts": SORTS,
                "heartbeat": self.c.settings.heartbeat_interval,
                "public_url": self.c.settings.public_url}

    def overview(self, ctx: Ctx) -> Response:
        return self.c.render(ctx, "overview.html", live=LIVE_SECONDS,
                             **self._overview_values(ctx))

    def overview_live(self, ctx: Ctx) -> Response:
        values = self._overview_values(ctx)
        return _json({"fragments": {
            name: self.c.fragment(ctx, "overview.html", name, **values)
            for name in ("totals", "boxrows", "pager")}})

    # ================================================================= one box
    def _box_values(self, ctx: Ctx, box_id: str) -> dict[str, Any]:
        admin = self.c.admin
        box = admin.get_chargebox(box_id)
        version = box.get("ocpp_version") or "1.6"
        transactions = admin.list_transactions(charge_box_id=box_id, limit=10)
        return {
            "box": box, "version": version,
            "version_known": bool(box.get("ocpp_version")),
            "presence": self._presence(box),
            "active": [t for t in transactions if not t["stop_timestamp"]],
            "recent": [t for t in transactions if t["stop_timestamp"]],
            "configuration": admin.last_configuration(box_id),
            "pending": admin.list_pending(box_id),
            "commands": admin.list_commands(charge_box_id=box_id, limit=10),
            "events": admin.list_events(box_id, limit=20),
            "operations": commandforms.operations(version),
        }

    def _presence(self, box: dict[str, Any]) -> str:
        seen = parse_time(box["last_seen_at"]) if box.get("last_seen_at") else None
        return presence_of(seen, online_since(self.c.admin.clock(),
                                              self.c.settings.heartbeat_interval))

    def box(self, ctx: Ctx, box: str, *, status: int = 200, **extra: Any) -> Response:
        values = self._box_values(ctx, box)
        op_name = extra.pop("op", None) or ctx.arg("op") or "Reset"
        op = commandforms.operation(values["version"], op_name)
        if op is None:
            op = commandforms.operation(values["version"], values["operations"][0])
        extra.setdefault("form_values", {})
        extra.setdefault("errors", {})
        extra.setdefault("result", None)
        return self.c.render(ctx, "box.html", status, live=LIVE_SECONDS, op=op,
                             fields=commandforms.form_fields(op), **values, **extra)

    def box_live(self, ctx: Ctx) -> Response:
        box_id = ctx.arg("id")
        values = self._box_values(ctx, box_id)
        return _json({"fragments": {
            name: self.c.fragment(ctx, "box.html", name, **values)
            for name in ("registration", "connectors", "transactions", "pending")}})

    def box_command(self, ctx: Ctx) -> Response:
        box_id, op_name = ctx.form("box"), ctx.form("op")
        info = self.c.admin.get_chargebox(box_id)
        version = info.get("ocpp_version") or "1.6"
        op = commandforms.operation(version, op_name)
        if op is None:
            raise ConsoleError(404, f"OCPP {version} (the version of {box_id}) has no operation "
                                    f"{op_name[:60]!r}")
        form_values = {f.name: ctx.form("f." + f.name) for f in commandforms.form_fields(op)}
        queue = ctx.form("queue") == "1"
        try:
            payload = commandforms.payload_from_form(version, op, ctx.request.form)
        except PayloadError as exc:
            top = (exc.field or "").split(".")[0].split("[")[0]
            return self.box(ctx, box_id, status=422, op=op.name, form_values=form_values,
                            errors={top or "_": str(exc)}, queue=queue)
        try:
            result = self.c.commander.send(box_id, op.name, payload,
                                           queue_if_unreachable=queue)
        except PayloadError as exc:
            top = (exc.field or "").split(".")[0].split("[")[0]
            return self.box(ctx, box_id, status=422, op=op.name, form_values=form_values,
                            errors={top or "_": str(exc)}, queue=queue)
        except (CommandFailed, Conflict) as exc:
            kind = exc.kind if isinstance(exc, CommandFailed) else "refused"
            return self.box(ctx, box_id, status=200, op=op.name, form_values=form_values,
                            result={"ok": False, "kind": kind, "message": str(exc)},
                            queue=queue)
        if result.outcome == "queued":
            outcome = {"ok": True, "kind": "queued",
                       "message": f"{box_id} cannot be reached now: {op.name} is queued as "
                                  f"#{result.pending_id} and sent when the box next talks to us."}
        else:
            outcome = {"ok": True, "kind": "reply", "reply": result.reply,
                       "latency_ms": result.latency_ms,
                       "message": f"{box_id} answered {op.name}"}
        return self.box(ctx, box_id, op=op.name, form_values=form_values, result=outcome,
                        queue=queue)

    def _back_to_box(self, ctx: Ctx, box_id: str, message: str, kind: str = "ok") -> Response:
        ctx.set_flash = (kind, message)
        return redirect(f"{PREFIX}/boxes/{quote(box_id, safe='')}")

    def box_add(self, ctx: Ctx) -> Response:
        box_id = ctx.form("box").strip()
        version = ctx.form("version") or None
        try:
            self.c.admin.add_chargebox(box_id, registration_status=ctx.form("registration")
                                       or "Accepted", ocpp_version=version,
                                       endpoint=ctx.form("endpoint").strip() or None,
                                       description=ctx.form("description").strip() or None)
        except (ValueError, Conflict) as exc:
            ctx.set_flash = ("error", f"Could not add the box: {exc}")
            return redirect(PREFIX + "/")
        return self._back_to_box(ctx, box_id, f"Added {box_id}.")

    def box_registration(self, ctx: Ctx) -> Response:
        box_id, status = ctx.form("box"), ctx.form("status")
        if status not in REGISTRATION:
            raise ConsoleError(400, f"registration: one of {', '.join(REGISTRATION)}")
        self.c.admin.update_chargebox(box_id, registration_status=status)
        return self._back_to_box(ctx, box_id, f"{box_id} is now {status}.")

    def box_edit(self, ctx: Ctx) -> Response:
        box_id = ctx.form("box")
        changes: dict[str, Any] = {"description": ctx.form("description").strip() or None}
        if ctx.form("version") in ("1.5", "1.6"):
            changes["ocpp_version"] = ctx.form("version")
        if ctx.form("clear_secret") == "1":
            changes["auth_secret"] = None
        elif ctx.form("secret"):
            changes["auth_secret"] = ctx.form("secret")
        self.c.admin.update_chargebox(box_id, **changes)
        return self._back_to_box(ctx, box_id, f"Saved {box_id}.")

    def box_endpoint(self, ctx: Ctx) -> Response:
        box_id, address = ctx.form("box"), ctx.form("endpoint").strip()
        try:
            self.c.admin.set_endpoint(box_id, None if ctx.form("clear") == "1" else address or None)
        except ValueError as exc:
            return self._back_to_box(ctx, box_id, f"Endpoint not changed: {exc}", "error")
        return self._back_to_box(ctx, box_id, "Endpoint saved.")

    def box_remove(self, ctx: Ctx) -> Response:
        box_id = ctx.form("box")
        self.c.admin.remove_chargebox(box_id)
        ctx.set_flash = ("ok", f"Removed {box_id}; its history stays.")
        return redirect(PREFIX + "/")

    def pending_cancel(self, ctx: Ctx) -> Response:
        pending = _int(ctx.form("id"), "id", 1)
        box_id = ctx.form("box")
        try:
            self.c.admin.cancel_pending(pending)
        except NotFound as exc:
            return self._back_to_box(ctx, box_id, f"Not cancelled: {exc.args[0]}", "error")
        return self._back_to_box(ctx, box_id, f"Queued command #{pending} cancelled.")

    # ================================================================= transactions
    def _tx_filters(self, ctx: Ctx) -> dict[str, Any]:
        state = ctx.arg("state")
        if state not in ("", "open", "closed"):
            raise ConsoleError(400, "state: open or closed")
        since, until = ctx.arg("since"), ctx.arg("until")
        return {"charge_box_id": ctx.arg("chargebox")[:255] or None,
                "id_tag": ctx.arg("tag")[:255] or None,
                "since": since or None, "until": until or None,
                "active": {"open": True, "closed": False}.get(state)}

    def transactions(self, ctx: Ctx) -> Response:
        page = _page(ctx)
        try:
            rows = self.c.admin.list_transactions(**self._tx_filters(ctx), limit=PAGE + 1,
                                                  offset=(page - 1) * PAGE)
        except ValueError as exc:
            raise ConsoleError(400, f"Filter not understood: {exc}") from None
        return self.c.render(ctx, "transactions.html", rows=rows[:PAGE], page=page,
                             more=len(rows) > PAGE)

    def transactions_csv(self, ctx: Ctx) -> Response:
        try:
            rows = self.c.admin.list_transactions(**self._tx_filters(ctx), limit=None)
        except ValueError as exc:
            raise ConsoleError(400, f"Filter not understood: {exc}") from None
        columns = ["id", "charge_box_id", "connector_id", "id_tag", "start_timestamp",
                   "meter_start", "stop_timestamp", "meter_stop", "stop_reason", "orphan"]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns + ["energy_wh"])
        for row in rows:
            energy = (row["meter_stop"] - row["meter_start"]) if row["meter_stop"] is not None \
                and row["meter_start"] is not None else ""
            writer.writerow([_csv_cell(row.get(c)) for c in columns] + [energy])
        return Response(out.getvalue(), content_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="transactions.csv"'})

    def _tx_values(self, tx_id: int) -> dict[str, Any]:
        tx = self.c.admin.get_transaction(tx_id)
        samples = self.c.admin.list_meter_values(transaction_id=tx_id, limit=None)
        energy, power = charts.series(samples, tx.get("meter_start"), tx.get("start_timestamp"))
        delivered = None
        if tx.get("meter_start") is not None:
            end = tx.get("meter_stop")
            if end is None and energy:
                end = energy[-1].value * 1000
            if end is not None:
                delivered = end - tx["meter_start"]
        return {"tx": tx, "samples": samples, "delivered": delivered,
                "chart": charts.render(energy, power, title=f"transaction {tx_id}"),
                "stop_reasons": STOP_REASONS}

    def transaction(self, ctx: Ctx, tx: int) -> Response:
        return self.c.render(ctx, "transaction.html", live=LIVE_SECONDS, **self._tx_values(tx))

    def tx_live(self, ctx: Ctx) -> Response:
        tx_id = _int(ctx.arg("id"), "id", 1)
        values = self._tx_values(tx_id)
        return _json({"fragments": {name: self.c.fragment(ctx, "transaction.html", name, **values)
                                    for name in ("summary", "chart", "samples")}})

    def _back_to_tx(self, ctx: Ctx, tx_id: int, message: str, kind: str = "ok") -> Response:
        ctx.set_flash = (kind, message)
        return redirect(f"{PREFIX}/transactions/{tx_id}")

    def tx_stop(self, ctx: Ctx) -> Response:
        tx_id = _int(ctx.form("id"), "id", 1)
        tx = self.c.admin.get_transaction(tx_id)
        try:
            result = self.c.commander.send(tx["charge_box_id"], "RemoteStopTransaction",
                                           {"transactionId": tx_id})
        except (CommandFailed, Conflict, PayloadError) as exc:
            return self._back_to_tx(ctx, tx_id, f"Not stopped: {exc}", "error")
        status = (result.reply or {}).get("status", "?")
        kind = "ok" if status == "Accepted" else "error"
        return self._back_to_tx(ctx, tx_id, f"{tx['charge_box_id']} answered RemoteStopTransaction:"
                                            f" {status}", kind)

    def tx_close(self, ctx: Ctx) -> Response:
        """Close by hand a transaction whose box will never stop it (as ``transactions close``
        and ``POST /api/v1/transactions/{id}/close`` do); who closed it is recorded."""
        tx_id = _int(ctx.form("id"), "id", 1)
        meter_stop = _int(ctx.form("meter_stop").strip(), "meter stop")
        try:
            self.c.admin.close_transaction(
                tx_id, by=f"console ({ctx.account.name if ctx.account else '?'})",
                meter_stop=meter_stop, reason=ctx.form("reason") or None,
                note=ctx.form("note").strip() or None)
        except (Conflict, ValueError) as exc:
            return self._back_to_tx(ctx, tx_id, f"Not closed: {_message(exc)}", "error")
        return self._back_to_tx(ctx, tx_id, f"Transaction {tx_id} closed.")

    # ================================================================= tags
    def tags(self, ctx: Ctx, **extra: Any) -> Response:
        page = _page(ctx)
        status = ctx.arg("status")
        if status and status not in STORED_STATUSES:
            raise ConsoleError(400, f"status: one of {', '.join(STORED_STATUSES)}")
        rows = self.c.admin.list_tags(status=status or None, search=ctx.arg("q") or None,
                                      limit=PAGE + 1, offset=(page - 1) * PAGE)
        extra.setdefault("errors", {})
        extra.setdefault("form_values", {})
        return self.c.render(ctx, "tags.html", extra.pop("status", 200), rows=rows[:PAGE],
                             page=page, more=len(rows) > PAGE, statuses=STORED_STATUSES, **extra)

    def tag(self, ctx: Ctx, tag: str, **extra: Any) -> Response:
        row = self.c.admin.get_tag(tag)
        transactions = self.c.admin.list_transactions(id_tag=tag, limit=10)
        extra.setdefault("errors", {})
        return self.c.render(ctx, "tag.html", extra.pop("status", 200), tag=row,
                             transactions=transactions, statuses=STORED_STATUSES, **extra)

    def _tag_fields(self, ctx: Ctx) -> dict[str, Any]:
        values: dict[str, Any] = {
            "expiry_date": ctx.form("expiry").strip() or None,
            "parent_id_tag": ctx.form("parent").strip() or None,
            "note": ctx.form("note").strip() or None,
        }
        if values["expiry_date"]:
            try:
                parse_time(values["expiry_date"])
            except ValueError:
                raise ValueError("expiry: expected an ISO 8601 date-time such as "
                                 "2030-01-01T00:00:00Z") from None
        limit = ctx.form("max_active").strip()
        if limit:
            try:
                values["max_active_transactions"] = int(limit)
            except ValueError:
                raise ValueError("max active: a whole number, or empty for no limit") from None
            if values["max_active_transactions"] < 0:
                raise ValueError("max active: must not be negative")
        else:
            values["max_active_transactions"] = None
        if values["parent_id_tag"] and len(values["parent_id_tag"]) > 255:
            raise ValueError("parent: at most 255 characters")
        return values

    def _back_to_tag(self, ctx: Ctx, tag: str, message: str, kind: str = "ok") -> Response:
        ctx.set_flash = (kind, message)
        return redirect(f"{PREFIX}/tags/{quote(tag, safe='')}")

    def tag_add(self, ctx: Ctx) -> Response:
        tag = ctx.form("tag").strip()
        form_values = {k: ctx.form(k) for k in ("tag", "expiry", "parent", "max_active", "note",
                                                "status")}
        try:
            if not tag:
                raise ValueError("id tag must not be empty")
            if len(tag) > 255 or any(ord(ch) < 32 for ch in tag):
                raise ValueError("id tag: at most 255 characters, no control characters")
            self.c.admin.add_tag(tag, status=ctx.form("status") or "Accepted",
                                 **self._tag_fields(ctx))
        except (ValueError, Conflict) as exc:
            return self.tags(ctx, status=422, errors={"tag": str(exc)}, form_values=form_values)
        return self._back_to_tag(ctx, tag, f"Added tag {tag}.")

    def tag_save(self, ctx: Ctx) -> Response:
        tag = ctx.form("tag")
        try:
            fields = self._tag_fields(ctx)
            status = ctx.form("status") or None
            self.c.admin.update_tag(tag, status=status, **fields)
        except ValueError as exc:
            return self.tag(ctx, tag, status=422, errors={"form": str(exc)})
        return self._back_to_tag(ctx, tag, f"Saved tag {tag}.")

    def tag_block(self, ctx: Ctx) -> Response:
        tag = ctx.form("tag")
        self.c.admin.block_tag(tag)
        return self._back_to_tag(ctx, tag, f"Tag {tag} is blocked: the Central System refuses it"
                                           " from now on.")

    def tag_unblock(self, ctx: Ctx) -> Response:
        tag = ctx.form("tag")
        self.c.admin.unblock_tag(tag)
        return self._back_to_tag(ctx, tag, f"Tag {tag} is accepted again.")

    def tag_remove(self, ctx: Ctx) -> Response:
        tag = ctx.form("tag")
        self.c.admin.remove_tag(tag)
        ctx.set_flash = ("ok", f"Removed tag {tag}.")
        return redirect(PREFIX + "/tags")

    # ================================================================= reservations
    def reservations(self, ctx: Ctx) -> Response:
        rows = self.c.admin.list_reservations(ctx.arg("chargebox") or None)
        rows.sort(key=lambda r: r["id"], reverse=True)
        return self.c.render(ctx, "reservations.html", rows=rows[:500])

    def reservation_cancel(self, ctx: Ctx) -> Response:
        rid = _int(ctx.form("id"), "id", 1)
        row = next((r for r in self.c.admin.list_reservations() if r["id"] == rid), None)
        if row is None:
            raise ConsoleError(404, f"no reservation {rid}")
        try:
            result = self.c.commander.send(row["charge_box_id"], "CancelReservation",
                                           {"reservationId": rid})
            status = (result.reply or {}).get("status", "?")
            ctx.set_flash = ("ok" if status == "Accepted" else "error",
                             f"{row['charge_box_id']} answered CancelReservation: {status}")
        except (CommandFailed, Conflict, PayloadError) as exc:
            ctx.set_flash = ("error", f"Not cancelled: {exc}")
        return redirect(PREFIX + "/reservations")

    # ================================================================= messages
    def messages(self, ctx: Ctx) -> Response:
        page = _page(ctx)
        direction = ctx.arg("direction")
        if direction not in ("", "in", "out"):
            raise ConsoleError(400, "direction: in or out")
        rows = self.c.admin.list_envelopes(charge_box_id=ctx.arg("chargebox")[:255] or None,
                                           action=ctx.arg("action")[:64] or None,
                                           direction=direction or None, include_envelope=False,
                                           limit=PAGE + 1, offset=(page - 1) * PAGE)
        return self.c.render(ctx, "messages.html", rows=rows[:PAGE], page=page,
                             more=len(rows) > PAGE)

    def message(self, ctx: Ctx, envelope: int) -> Response:
        row = self.c.admin.get_envelope(envelope)
        text = xmlview.pretty(row["envelope"])
        values: dict[str, Any] = {"row": row, "xml": xmlview.highlight(text)}
        if ctx.arg("compare"):
            values["comparison"] = xmlview.compare_with_sample(row["envelope"])
        if ctx.arg("validate"):
            values["violations"], values["validate_error"] = xmlview.validate(row["envelope"])
        return self.c.render(ctx, "message.html", **values)

    def message_download(self, ctx: Ctx, envelope: int) -> Response:
        row = self.c.admin.get_envelope(envelope)
        name = f"envelope-{row['id']}-{row.get('action') or 'unknown'}-{row['direction']}.xml"
        safe = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in name)
        return Response(row["envelope"], content_type="application/xml; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{safe}"'})

    # ================================================================= users
    def users(self, ctx: Ctx, **extra: Any) -> Response:
        extra.setdefault("errors", {})
        extra.setdefault("form_values", {})
        return self.c.render(ctx, "users.html", extra.pop("status", 200),
                             users=self.c.accounts.list(), roles=ROLES, **extra)

    def user_add(self, ctx: Ctx) -> Response:
        name, role = ctx.form("name").strip(), ctx.form("role")
        try:
            self.c.accounts.add(name, role, ctx.form("password"))
        except (ValueError, Conflict) as exc:
            return self.users(ctx, status=422, errors={"add": str(exc)},
                              form_values={"name": name[:64], "role": role})
        ctx.set_flash = ("ok", f"Added {name} ({role}).")
        return redirect(PREFIX + "/users")

    def _not_self(self, ctx: Ctx, name: str, what: str) -> None:
        if ctx.account is not None and name.lower() == ctx.account.name.lower():
            raise ConsoleError(409, f"You cannot {what} your own account here (another admin "
                                    "can, or use the CLI).", "Not on yourself")

    def user_role(self, ctx: Ctx) -> Response:
        name = ctx.form("name")
        self._not_self(ctx, name, "change the role of")
        self.c.accounts.set_role(name, ctx.form("role"))
        ctx.set_flash = ("ok", f"{name} is now {ctx.form('role')}; their sessions have ended.")
        return redirect(PREFIX + "/users")

    def user_password(self, ctx: Ctx) -> Response:
        name = ctx.form("name")
        try:
            self.c.accounts.set_password(name, ctx.form("password"))
        except ValueError as exc:
            return self.users(ctx, status=422, errors={name: str(exc)})
        if ctx.account is not None and name.lower() == ctx.account.name.lower():
            self.c.end_session(ctx)
            return redirect(PREFIX + "/login")
        ctx.set_flash = ("ok", f"Password of {name} changed; their sessions have ended.")
        return redirect(PREFIX + "/users")

    def user_remove(self, ctx: Ctx) -> Response:
        name = ctx.form("name")
        self._not_self(ctx, name, "remove")
        self.c.accounts.remove(name)
        ctx.set_flash = ("ok", f"Removed {name}.")
        return redirect(PREFIX + "/users")


def _message(exc: BaseException) -> str:
    return str(exc.args[0]) if isinstance(exc, LookupError) and exc.args else str(exc)


def _csv_cell(value: Any) -> Any:
    """A cell that a spreadsheet will not run as a formula (values come from charge points)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value
