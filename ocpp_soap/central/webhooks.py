"""Webhook settings and signatures (standard library and ``events`` only: settings import this
module, so it stays light).

A webhook is ``{url, secret, kinds, name}``: ``url`` (http/https, called through the address
guard like every address the Central System calls), ``secret`` (optional: with it each request
carries ``X-OCPP-SOAP-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body>`` and the
timestamp in ``X-OCPP-SOAP-Timestamp``, so a receiver can check origin and refuse replays),
``kinds`` (event kinds to send; all when left out) and ``name`` (how deliveries are filed; the
URL when left out; keep it when the URL moves and waiting deliveries follow).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .events import EVENT_KINDS

SIGNATURE_HEADER = "X-OCPP-SOAP-Signature"
TIMESTAMP_HEADER = "X-OCPP-SOAP-Timestamp"
EVENT_HEADER = "X-OCPP-SOAP-Event"
DELIVERY_HEADER = "X-OCPP-SOAP-Delivery"
MAX_URL = 2000


@dataclass(frozen=True)
class Webhook:
    name: str
    url: str
    secret: str | None
    kinds: tuple[str, ...] | None  # None: every kind

    def wants(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    def public(self) -> dict[str, Any]:
        """For logs and the API: never the secret."""
        return {"name": self.name, "url": self.url, "kinds": list(self.kinds or ()) or None,
                "signed": self.secret is not None}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (used by the tests and the example)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def parse_webhooks(raw: Any) -> list[dict[str, Any]]:
    """The ``webhooks`` setting checked: a list of mappings (or its JSON text, from the
    environment). Raises ValueError naming what is wrong."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"webhooks: not JSON ({exc})") from None
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise ValueError("webhooks: expected a list of {url, secret, kinds}")
    out, names = [], set()
    for i, item in enumerate(raw):
        where = f"webhooks[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: expected a mapping with url, secret, kinds")
        unknown = set(item) - {"url", "secret", "kinds", "name"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        url = item.get("url")
        if not isinstance(url, str) or not url or len(url) > MAX_URL:
            raise ValueError(f"{where}.url: a URL of at most {MAX_URL} characters is needed")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{where}.url: http:// or https:// with a host, not {url!r}")
        if parts.username or parts.password:
            raise ValueError(f"{where}.url: no credentials in the URL (use secret)")
        if not url.isprintable():
            raise ValueError(f"{where}.url: control characters")
        secret = item.get("secret")
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ValueError(f"{where}.secret: a non-empty string")
        kinds = item.get("kinds")
        if kinds is not None:
            if isinstance(kinds, str):
                kinds = [k.strip() for k in kinds.split(",") if k.strip()]
            if not isinstance(kinds, list) or not kinds:
                raise ValueError(f"{where}.kinds: a non-empty list of event kinds")
            bad = [k for k in kinds if k not in EVENT_KINDS]
            if bad:
                raise ValueError(f"{where}.kinds: unknown {', '.join(map(str, bad))}"
                                 f" (known: {', '.join(EVENT_KINDS)})")
        name = item.get("name") or url
        if not isinstance(name, str) or len(name) > MAX_URL or not name.isprintable():
            raise ValueError(f"{where}.name: printable text")
        if name in names:
            raise ValueError(f"{where}: a second webhook named {name!r}")
        names.add(name)
        out.append({"name": name, "url": url, "secret": secret,
                    "kinds": None if kinds is None else list(kinds)})
    return out


def webhooks_of(settings: Any) -> list[Webhook]:
    return [Webhook(w["name"], w["url"], w.get("secret"),
                    None if w.get("kinds") is None else tuple(w["kinds"]))
            for w in parse_webhooks(settings.webhooks)]
