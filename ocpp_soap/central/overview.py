"""The fleet at a glance: totals and one page of the box list, for the console's overview.

Read-only views of the admin layer (``CentralAdmin.overview_totals`` / ``box_page`` call these),
written for a thousand boxes: a handful of aggregate queries and one page of rows, never a row per
box in Python. "Online" means heard from (any message) within two heartbeat intervals, the same
rule for the totals, the filter and each row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from .records import to_dict
from .storage.models import ChargeBox, ConnectorStatus, Transaction
from .storage.store import Store

PRESENCE = ("online", "offline", "never")
REGISTRATION = ("Accepted", "Pending", "Rejected")
SORTS = {
    "id": ChargeBox.charge_box_id,
    "registration": ChargeBox.registration_status,
    "version": ChargeBox.ocpp_version,
    "seen": ChargeBox.last_seen_at,
    "vendor": ChargeBox.charge_point_vendor,
    "model": ChargeBox.charge_point_model,
}


def online_since(now: datetime, heartbeat_interval: int) -> datetime:
    return now - timedelta(seconds=2 * heartbeat_interval)


def presence_of(last_seen: datetime | None, since: datetime) -> str:
    if last_seen is None:
        return "never"
    return "online" if last_seen >= since else "offline"


def totals(store: Store, now: datetime, heartbeat_interval: int) -> dict[str, Any]:
    """Boxes online/offline/never seen, connectors by status, active transactions and the
    energy of transactions finished since 00:00 UTC today."""
    since = online_since(now, heartbeat_interval)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    seen = ChargeBox.last_seen_at

    def work(session: Session) -> dict[str, Any]:
        online, offline, never = session.execute(select(
            func.count(case((seen >= since, 1))),
            func.count(case((and_(seen.is_not(None), seen < since), 1))),
            func.count(case((seen.is_(None), 1))),
        )).one()
        connectors = {
            status or "Unknown": n for status, n in session.execute(
                select(ConnectorStatus.status, func.count())
                .where(ConnectorStatus.connector_id > 0)
                .group_by(ConnectorStatus.status)).all()}
        active = session.execute(select(func.count()).select_from(Transaction).where(
            Transaction.stop_timestamp.is_(None), Transaction.orphan.is_(False))).scalar_one()
        energy = session.execute(select(func.coalesce(func.sum(
            Transaction.meter_stop - Transaction.meter_start), 0)).where(
            Transaction.stop_timestamp >= midnight, Transaction.meter_stop.is_not(None),
            Transaction.meter_start.is_not(None),
            Transaction.meter_stop >= Transaction.meter_start)).scalar_one()
        return {"boxes": {"online": online, "offline": offline, "never": never,
                          "total": online + offline + never},
                "connectors": dict(sorted(connectors.items())),
                "active_transactions": active, "energy_today_wh": int(energy or 0)}

    return store.read(work)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(query: Select[Any], *, text: str | None, status: str | None,
              version: str | None, since: datetime) -> Select[Any]:
    seen = ChargeBox.last_seen_at
    if status == "online":
        query = query.where(seen >= since)
    elif status == "offline":
        query = query.where(seen.is_not(None), seen < since)
    elif status == "never":
        query = query.where(seen.is_(None))
    elif status in REGISTRATION:
        query = query.where(ChargeBox.registration_status == status)
    elif status:
        raise ValueError(f"status must be one of {', '.join(PRESENCE + REGISTRATION)}")
    if version == "unknown":
        query = query.where(ChargeBox.ocpp_version.is_(None))
    elif version in ("1.5", "1.6"):
        query = query.where(ChargeBox.ocpp_version == version)
    elif version:
        raise ValueError("version must be 1.5, 1.6 or unknown")
    if text:
        pattern = f"%{_escape_like(text.lower()[:100])}%"
        query = query.where(or_(*(
            func.lower(column).like(pattern, escape="\\") for column in (
                ChargeBox.charge_box_id, ChargeBox.description, ChargeBox.charge_point_vendor,
                ChargeBox.charge_point_model, ChargeBox.charge_point_serial_number,
                ChargeBox.endpoint_address))))
    return query


def box_page(store: Store, now: datetime, heartbeat_interval: int, *, text: str | None = None,
             status: str | None = None, version: str | None = None, sort: str = "id",
             descending: bool = False, limit: int = 50, offset: int = 0
             ) -> tuple[list[dict[str, Any]], int]:
    """One page of boxes (with presence and their connectors' states) and how many match."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    if limit < 1 or offset < 0:
        raise ValueError("limit must be at least 1 and offset not negative")
    since = online_since(now, heartbeat_interval)
    column = SORTS[sort]
    # Boxes without the value (never seen, no vendor yet) come last either way, on both
    # databases (SQLite and PostgreSQL disagree on where NULL sorts by default).
    order = [(column.desc() if descending else column.asc()).nulls_last()]
    if sort != "id":
        order.append(ChargeBox.charge_box_id)

    def work(session: Session) -> tuple[list[dict[str, Any]], int]:
        total = session.execute(_filtered(select(func.count()).select_from(ChargeBox), text=text,
                                          status=status, version=version, since=since)
                                ).scalar_one()
        boxes = list(session.execute(_filtered(select(ChargeBox), text=text, status=status,
                                               version=version, since=since)
                                     .order_by(*order).limit(limit).offset(offset)).scalars())
        ids = [b.charge_box_id for b in boxes]
        connectors: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            for c in session.execute(select(ConnectorStatus).where(
                    ConnectorStatus.charge_box_id.in_(ids)).order_by(
                    ConnectorStatus.charge_box_id, ConnectorStatus.connector_id)).scalars():
                connectors[c.charge_box_id].append(
                    {"connector_id": c.connector_id, "status": c.status,
                     "error_code": c.error_code})
        rows = []
        for box in boxes:
            row = to_dict(box)
            row["presence"] = presence_of(box.last_seen_at, since)
            row["connectors"] = connectors[box.charge_box_id]
            rows.append(row)
        return rows, total

    return store.read(work)
