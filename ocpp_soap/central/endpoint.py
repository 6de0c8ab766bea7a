"""Where a charge box can be reached: learned from each message it sends us.

The rules, in order (SteVe users lose most time here — steve #58, #463, #514, #1017, #1114):
1. WS-Addressing ``From/Address``, the charge point's own statement of its URL (the OCPP-S
   wake-up rule relies on it). Real boxes send ``http://:8082/`` or ``http://0.0.0.0:8082/``;
   an empty or wildcard host is replaced by the peer address we saw. So is a loopback host
   (a Schneider EVlink sends ``http://localhost:8080/``) unless the peer is loopback too.
2. ``ReplyTo/Address`` unless it is the WS-A anonymous (or none) address.
3. ``http://<peer>:<default port><default path>`` from the settings.
The peer is the TCP peer, or the client named by ``X-Forwarded-For`` when — and only when — the
TCP peer is one of our trusted proxies (anyone else could forge the header).
An operator's manual address always wins; applying that is the caller's job (see domain), as are
the trust rules (who may move an address: ``CentralSystem._learn``) and the address guard
(``addressguard``) every learned address passes before it is stored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

WSA_ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
WSA_NONE = "http://www.w3.org/2005/08/addressing/none"
_NOT_AN_ENDPOINT = {WSA_ANONYMOUS, WSA_NONE}
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "*", "[::]"}

SOURCE_FROM = "from"
SOURCE_REPLY_TO = "replyto"
SOURCE_PEER = "peer"
SOURCE_MANUAL = "manual"


@dataclass(frozen=True)
class LearnedEndpoint:
    address: str
    source: str  # one of the SOURCE_* names


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup (WSGI servers and proxies disagree on case)."""
    if not headers:
        return None
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip("[]")
    if text.count(":") == 1 and "." in text:  # "1.2.3.4:5678" from some proxies
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_trusted(ip: str, trusted: Iterable[str]) -> bool:
    addr = _parse_ip(ip)
    if addr is None:
        return False
    for entry in trusted:
        try:
            if addr in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def is_trusted_proxy(peer: str, trusted_proxies: Iterable[str]) -> bool:
    """Whether ``peer`` is one of the configured trusted proxies (addresses or networks)."""
    trusted = list(trusted_proxies)
    return bool(trusted) and _is_trusted(peer, trusted)


def client_address(
    peer: str | None, headers: Mapping[str, str] | None, trusted_proxies: Iterable[str]
) -> str | None:
    """The charge box's IP: the TCP peer, or the nearest untrusted hop of X-Forwarded-For
    when the TCP peer is a trusted proxy (walking right to left through trusted hops)."""
    trusted = list(trusted_proxies)
    if not peer or not trusted or not _is_trusted(peer, trusted):
        return peer
    forwarded = header(headers, "X-Forwarded-For")
    if not forwarded:
        return peer
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if _parse_ip(hop) is None:
            return peer  # garbage in the header: trust what we saw ourselves
        if not _is_trusted(hop, trusted):
            return str(_parse_ip(hop))
    return str(_parse_ip(hops[0])) if hops else peer


def _host_for_url(ip: str) -> str:
    addr = _parse_ip(ip)
    if isinstance(addr, ipaddress.IPv6Address):
        return f"[{addr}]"
    return str(addr) if addr is not None else ip


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    addr = _parse_ip(host)
    return addr is not None and addr.is_loopback


def _complete_host(address: str, peer: str | None) -> str | None:
    """Fill an empty or wildcard host with the peer; None when that is impossible."""
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https"):
        return None
    host = parts.hostname or ""
    if host not in _WILDCARD_HOSTS and not (_is_loopback(host) and peer and not _is_loopback(peer)):
        return address
    if not peer:
        return None
    netloc = _host_for_url(peer) + (f":{port}" if port else "")
    if parts.username:
        netloc = parts.username + (f":{parts.password}" if parts.password else "") + "@" + netloc
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, parts.fragment))


@lru_cache(maxsize=8192)
def learn_endpoint(
    from_address: str | None,
    reply_to: str | None,
    peer: str | None,
    default_port: int,
    default_path: str,
) -> LearnedEndpoint | None:
    """Apply rules 1–3 to one message; ``peer`` is already proxy-resolved (``client_address``).

    A pure function of its arguments, asked on every message with the same ones by each box:
    the answers are cached (URL and IP parsing cost more than the rest of a Heartbeat's domain
    work)."""
    candidate = (from_address or "").strip()
    if candidate and candidate not in _NOT_AN_ENDPOINT:
        completed = _complete_host(candidate, peer)
        if completed:
            return LearnedEndpoint(completed, SOURCE_FROM)
    candidate = (reply_to or "").strip()
    if candidate and candidate not in _NOT_AN_ENDPOINT:
        completed = _complete_host(candidate, peer)
        if completed:
            return LearnedEndpoint(completed, SOURCE_REPLY_TO)
    if peer and _parse_ip(peer) is not None:
        path = default_path if default_path.startswith("/") else "/" + default_path
        return LearnedEndpoint(f"http://{_host_for_url(peer)}:{default_port}{path}", SOURCE_PEER)
    return None


_MAX_CALLED = 2048


def _usable_url(text: str | None) -> str | None:
    """An http(s) URL with a host, short and free of spaces and control characters."""
    if not text:
        return None
    text = text.strip()
    if (len(text) > _MAX_CALLED or not text.isprintable() or " " in text
            or text in _NOT_AN_ENDPOINT):
        return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        return None
    return text


@lru_cache(maxsize=8192)
def called_address(to: str | None, url: str | None) -> str | None:
    """The address a box used to reach us (OCPP-S 3.7 wants it as From on our commands when no
    ``public_url`` is set): the WS-A To of its request, else the URL it called (Host header and
    path). Whatever the box sends is only ever sent back to that same box."""
    return _usable_url(to) or _usable_url(url)
