"""The one gate every address the Central System will call passes (SSRF guard).

A charge box tells us where to send commands (WS-A From), and an operator may type an address.
Either may point inside: at the cloud metadata service (169.254.169.254), at our own JSON API, at
a database on loopback. So before an address is stored, and again on the connected socket before
a byte is sent (a name may resolve elsewhere by then: DNS rebinding), it is checked here:

- ``http``/``https`` only, no userinfo (credentials in a URL end up in logs and in ``wsa:To``);
- the host is resolved and *every* address checked, after unwrapping IPv4-mapped and
  IPv4-compatible IPv6 forms, so ``127.1``, ``2130706433``, ``[::ffff:127.0.0.1]`` and
  ``localhost.`` are all loopback;
- loopback, link-local, unspecified, multicast, reserved and this machine's own listening
  addresses are refused, unless ``endpoint_networks`` (an allowlist: when set, only its networks
  may be called) names them;
- ``endpoint_deny`` always wins, over the allowlist and the loopback relaxation;
- the loopback relaxation: when the Central System itself listens on loopback (development,
  tests), loopback addresses are allowed, but never our own host:port;
- redirects are never followed (the caller's job: ``allow_redirects=False``).
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

_CACHE_SECONDS = 30.0
_CACHE_SIZE = 4096


class AddressRefused(ValueError):
    """The address may not be called; the message says why (for the operator and the log)."""


class _Unresolved(AddressRefused):
    """The name does not resolve (now)."""


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def unwrap(addr: IPAddress) -> IPAddress:
    """The IPv4 address hidden in an IPv4-mapped (``::ffff:a.b.c.d``), IPv4-compatible
    (``::a.b.c.d``) or 6to4 address; the address itself otherwise."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.sixtofour is not None:
            return addr.sixtofour
        packed = int(addr)
        if 1 < packed < 2**32:  # ::a.b.c.d (deprecated compatible form), not :: or ::1
            return ipaddress.IPv4Address(packed)
    return addr


def parse_networks(entries: Iterable[str], setting: str) -> list[Network]:
    out = []
    for entry in entries:
        try:
            out.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            raise ValueError(f"{setting}: {entry!r} is not an IP network (CIDR)") from None
    return out


def _inside(addr: IPAddress, networks: Iterable[Network]) -> bool:
    return any(addr.version == n.version and addr in n for n in networks)


def is_local_address(addr: IPAddress) -> bool:
    """Whether ``addr`` belongs to this machine (binding to it works)."""
    family = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((str(addr), 0))
        return True
    except OSError:
        return False


@dataclass
class AddressGuard:
    """Checks addresses against the settings; one per Central System process."""

    networks: list[Network] = field(default_factory=list)  # endpoint_networks (allowlist)
    deny: list[Network] = field(default_factory=list)  # endpoint_deny
    listen_host: str = "127.0.0.1"
    listen_port: int | None = None
    resolver: Resolver = _resolve
    #: Behind a reverse proxy (``trusted_proxies`` set) listening on loopback is production,
    #: not development: no loopback relaxation.
    behind_proxy: bool = False
    #: Our own public host:port (from ``public_url``): never called, whatever it resolves to.
    public: tuple[str, int] | None = None
    _cache: dict[tuple[str, int], tuple[float, list[str] | str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings, listen_host: str | None = None,
                      listen_port: int | None = None) -> AddressGuard:
        """The guard for ``settings``; where we listen defaults to what ``serve`` would use
        (``OCPP_SOAP_LISTEN_HOST``/``OCPP_SOAP_PORT``, else 127.0.0.1:8180), so a CLI process
        refuses the server's own address too. The server tells the real one (``listening``)."""
        if listen_host is None:
            listen_host = os.environ.get("OCPP_SOAP_LISTEN_HOST") or "127.0.0.1"
        if listen_port is None:
            try:
                listen_port = int(os.environ.get("OCPP_SOAP_PORT") or 8180)
            except ValueError:
                listen_port = 8180
        public = None
        if settings.public_url:
            try:
                public = split_url(settings.public_url)
                public = (public[0].lower().rstrip("."), public[1])
            except AddressRefused:
                public = None
        return cls(parse_networks(settings.endpoint_networks, "endpoint_networks"),
                   parse_networks(settings.endpoint_deny, "endpoint_deny"),
                   listen_host, listen_port, behind_proxy=bool(settings.trusted_proxies),
                   public=public)

    def listening(self, host: str, port: int | None) -> None:
        """Tell the guard where this process serves (its own host:port is never called)."""
        self.listen_host, self.listen_port = host, port

    @property
    def relaxed(self) -> bool:
        """Development mode: we listen on loopback (not behind a proxy), so loopback charge
        points are expected."""
        if self.behind_proxy:
            return False
        host = (self.listen_host or "").strip().strip("[]").lower()
        if host in ("localhost", "localhost."):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    # -- the checks --------------------------------------------------------------------------
    def check_url(self, url: str, *, unresolved_ok: bool = False) -> str:
        """``url`` if it may be called, else ``AddressRefused``. Resolves its host.

        ``unresolved_ok``: a name that does not resolve now passes (storing an address is not
        calling it; every call checks again, and the connected peer is checked too)."""
        host, port = split_url(url)
        if self.public is not None and (host.lower().rstrip("."), port) == self.public:
            raise AddressRefused(f"{host}:{port} is this Central System's public address")
        try:
            addresses = self._lookup(host, port)
        except _Unresolved:
            if unresolved_ok:
                return url
            raise
        if not addresses:
            raise AddressRefused(f"{host!r} does not resolve to any address")
        for text in addresses:
            self.check_ip(text, port, host)
        return url

    def check_ip(self, text: str, port: int, name: str | None = None) -> None:
        """One resolved (or connected) address; ``name`` only for the message."""
        try:
            raw = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            raise AddressRefused(f"{text!r} is not an IP address") from None
        addr = unwrap(raw)
        shown = f"{name} ({addr})" if name and name != str(addr) else str(addr)
        if _inside(addr, self.deny) or _inside(raw, self.deny):
            raise AddressRefused(f"{shown} is in endpoint_deny")
        if self._is_own(addr, port):
            raise AddressRefused(f"{shown}:{port} is this Central System's own address")
        if self.networks:
            if _inside(addr, self.networks) or _inside(raw, self.networks):
                return
            raise AddressRefused(f"{shown} is outside endpoint_networks")
        if addr.is_loopback:
            if self.relaxed:
                return
            raise AddressRefused(f"{shown} is a loopback address")
        for test, what in ((addr.is_unspecified, "an unspecified"),
                           (addr.is_link_local, "a link-local"),
                           (addr.is_multicast, "a multicast"),
                           (addr.is_reserved, "a reserved")):
            if test:
                raise AddressRefused(f"{shown} is {what} address")
        if self._is_listening_address(addr):
            raise AddressRefused(f"{shown} is an address this Central System listens on")

    def _is_own(self, addr: IPAddress, port: int) -> bool:
        if self.listen_port is None or port != self.listen_port:
            return False
        host = (self.listen_host or "").strip().strip("[]")
        try:
            listen = unwrap(ipaddress.ip_address(host))
        except ValueError:
            return addr.is_loopback or is_local_address(addr)  # a name: assume any of ours
        if listen.is_unspecified:  # 0.0.0.0 / :: listen on every address of this machine
            return addr.is_loopback or is_local_address(addr)
        return addr == listen or (listen.is_loopback and addr.is_loopback)

    def _is_listening_address(self, addr: IPAddress) -> bool:
        """Beyond loopback we listen on a wildcard or one address: those are ours (any port:
        other services of this machine are as much "inside" as our own API)."""
        host = (self.listen_host or "").strip().strip("[]")
        try:
            listen = unwrap(ipaddress.ip_address(host))
        except ValueError:
            return False
        if listen.is_unspecified:
            return is_local_address(addr)
        return addr == listen

    def _lookup(self, host: str, port: int) -> list[str]:
        literal = host.strip("[]").split("%", 1)[0]  # an IPv6 zone id is not part of it
        try:
            return [str(ipaddress.ip_address(literal))]
        except ValueError:
            if ":" in literal:
                raise AddressRefused(f"{host!r} is not a usable IPv6 address") from None
        name = host.rstrip(".").lower()
        if name == "localhost" or name.endswith(".localhost"):
            return ["127.0.0.1", "::1"]  # RFC 6761: loopback, whatever a resolver says
        key, now = (host.lower(), port), time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is None or now - hit[0] >= _CACHE_SECONDS:
            try:
                found: list[str] | str = list(dict.fromkeys(self.resolver(host, port)))
            except (OSError, UnicodeError) as exc:
                found = f"{host!r} cannot be resolved: {exc}"  # remembered too
            hit = (now, found)
            with self._lock:
                if len(self._cache) >= _CACHE_SIZE:
                    self._cache.clear()
                self._cache[key] = hit
        if isinstance(hit[1], str):
            raise _Unresolved(hit[1])
        return hit[1]

    def prefetch(self, url: str | None) -> None:
        """Resolve ``url``'s host name into the cache now, so a check made later inside a
        database transaction does not wait for DNS while holding the write lock. Cheap for
        IP literals (nothing to do) and silent on any error (the check will say it)."""
        if not url:
            return
        try:
            host, port = split_url(url)
            self._lookup(host, port)
        except AddressRefused:
            pass


#: Spaces and control characters (every message's address passes ``split_url``: a regex, not a
#: Python loop over each character).
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def split_url(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL without userinfo, else ``AddressRefused``."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise AddressRefused(f"{text!r} is not a usable URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise AddressRefused(f"{text!r}: only http and https addresses are called")
    if "@" in parts.netloc:
        raise AddressRefused("addresses with credentials (user@host) are refused")
    host = parts.hostname
    if not host:
        raise AddressRefused(f"{text!r} has no host")
    if _SPACE_OR_CONTROL.search(text):
        raise AddressRefused("the address holds spaces or control characters")
    return host, port or (443 if parts.scheme == "https" else 80)
