"""The HTTP session the Central System calls charge points with: guarded, no redirects, its TLS.

The address guard (``addressguard``) checks an address when it is stored and when a command is
sent. A name can resolve somewhere else between that check and the connection (DNS rebinding), so
this session checks again where it cannot be fooled: on the connected socket's peer address,
before the request is written. Environment proxies are ignored (they would make every peer the
proxy), and ``OcppClient`` never follows redirects.

TLS towards charge points: ``chargepoint_ca_certs`` (a CA bundle instead of the system's) and
``chargepoint_certfile``/``chargepoint_keyfile`` (our client certificate) from the settings.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ocpp_soap.soap.client import USER_AGENT

from .addressguard import AddressGuard, AddressRefused


class RefusedConnection(OSError):
    """The connected peer is an address the guard refuses (seen as "unreachable" by requests,
    with this message inside)."""


def _pools(guard: AddressGuard) -> dict[str, type]:
    def check(conn, sock) -> None:
        try:
            peer = sock.getpeername()[0]
            guard.check_ip(peer, conn.port or 0, conn.host)
        except AddressRefused as exc:
            sock.close()
            raise RefusedConnection(f"refused address: {exc}") from None

    class GuardedHTTP(HTTPConnection):
        def _new_conn(self):
            sock = super()._new_conn()
            check(self, sock)
            return sock

    class GuardedHTTPS(HTTPSConnection):
        def _new_conn(self):
            sock = super()._new_conn()
            check(self, sock)
            return sock

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTP

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPS

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


class GuardedAdapter(HTTPAdapter):
    def __init__(self, guard: AddressGuard, **kwargs):
        self.guard = guard
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pools(self.guard)


def chargepoint_session(guard: AddressGuard, settings) -> requests.Session:
    """A session for CS→CP calls under ``guard`` with the settings' TLS material."""
    s = requests.Session()
    s.trust_env = False
    adapter = GuardedAdapter(guard, pool_connections=16, pool_maxsize=64, max_retries=0)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.headers["User-Agent"] = USER_AGENT
    s.headers["Accept-Encoding"] = "gzip, deflate"
    if settings.chargepoint_ca_certs:
        s.verify = settings.chargepoint_ca_certs
    if settings.chargepoint_certfile:
        s.cert = ((settings.chargepoint_certfile, settings.chargepoint_keyfile)
                  if settings.chargepoint_keyfile else settings.chargepoint_certfile)
    return s
