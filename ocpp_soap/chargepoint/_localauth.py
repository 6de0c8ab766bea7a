"""Local authorization: the Local Authorization List and the Authorization Cache.

Both let a charger decide on an idTag without asking the Central System (faster when online, the
only way when offline). They are separate on purpose: the list is managed by the CS with versions
(SendLocalList), the cache fills itself from every IdTagInfo the CS sends back. The list has
priority, and tags on the list never enter the cache.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocpp_soap.chargepoint._state import to_dt


def _norm(tag: str) -> str:
    return tag.lower()  # idTags are case-insensitive


def _info_out(info: dict) -> dict:
    out = {"status": info["status"]}
    if info.get("expiryDate") is not None:
        out["expiryDate"] = to_dt(info["expiryDate"])
    if info.get("parentIdTag"):
        out["parentIdTag"] = info["parentIdTag"]
    return out


def _effective(info: dict, now: datetime) -> dict:
    expiry = to_dt(info.get("expiryDate"))
    if info["status"] == "Accepted" and expiry is not None and expiry <= now:
        info = dict(info, status="Expired")
    return _info_out(info)


class LocalAuth:
    """Local list + cache, and the rules that combine them."""

    def __init__(self, cache_size: int = 1000) -> None:
        self.list_version = 0
        self.local_list: dict[str, dict] = {}
        self.cache: dict[str, dict] = {}
        self.cache_size = cache_size

    # --- lookups -------------------------------------------------------------------------------
    def lookup(self, tag: str, now: datetime, use_list: bool, use_cache: bool) -> tuple[dict | None, str]:
        """The IdTagInfo known locally for ``tag`` and where it came from ("list", "cache" or "")."""
        key = _norm(tag)
        if use_list and key in self.local_list:
            return _effective(self.local_list[key]["info"], now), "list"
        if use_cache and key in self.cache:
            return _effective(self.cache[key]["info"], now), "cache"
        return None, ""

    def remember(self, tag: str, info: dict | None, now: datetime) -> None:
        """Put a CS answer into the cache (unless the tag is on the local list)."""
        if not info or _norm(tag) in self.local_list:
            return
        key = _norm(tag)
        self.cache.pop(key, None)
        if len(self.cache) >= self.cache_size:
            invalid = [k for k, v in self.cache.items() if v["info"]["status"] != "Accepted"]
            victim = invalid[0] if invalid else next(iter(self.cache))
            del self.cache[victim]
        self.cache[key] = {"idTag": tag, "info": _info_out(info)}

    def clear_cache(self) -> None:
        self.cache.clear()

    # --- SendLocalList -----------------------------------------------------------------------
    def update(self, update_type: str, version: int, entries: list[dict] | None,
               send_max: int, list_max: int, require_info_on_full: bool) -> str:
        """Apply a SendLocalList and return the UpdateStatus."""
        entries = entries or []
        if update_type not in ("Full", "Differential") or not isinstance(version, int):
            return "Failed"
        if len(entries) > send_max:
            return "Failed"
        tags = [_norm(e.get("idTag", "")) for e in entries]
        if any(not t for t in tags) or len(set(tags)) != len(tags):
            return "Failed"
        if update_type == "Full":
            if require_info_on_full and any(not e.get("idTagInfo") for e in entries):
                return "Failed"
            new = {_norm(e["idTag"]): {"idTag": e["idTag"], "info": _info_out(e["idTagInfo"])}
                   for e in entries if e.get("idTagInfo")}
        else:
            if version <= self.list_version:
                return "VersionMismatch"
            new = dict(self.local_list)
            for e in entries:
                if e.get("idTagInfo"):
                    new[_norm(e["idTag"])] = {"idTag": e["idTag"], "info": _info_out(e["idTagInfo"])}
                else:
                    new.pop(_norm(e["idTag"]), None)
        if len(new) > list_max:
            return "Failed"
        self.local_list = new
        self.list_version = version
        for key in new:  # list entries have priority and must not linger in the cache
            self.cache.pop(key, None)
        return "Accepted"

    # --- persistence -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {"list_version": self.list_version, "local_list": self.local_list, "cache": self.cache}

    def restore(self, data: dict[str, Any] | None) -> None:
        if not data:
            return
        self.list_version = int(data.get("list_version", 0))
        self.local_list = dict(data.get("local_list", {}))
        self.cache = dict(data.get("cache", {}))
