"""gunicorn workers that close a finished connection at once instead of waiting for the client.

Since gunicorn 26 a worker ends every connection with a graceful close (RFC 9112 9.6): it
half-closes, then reads until the client closes too, for up to 2 s. That protects a reply from
being cut short by a TCP reset when unread request bytes are still arriving. But a sync worker does
nothing else while it waits, and a charger on a cellular link closes one round trip (often
200-600 ms) after the reply reaches it: measured here, two clients that close 300 ms after their
reply took a prompt client from ~600 requests/s to 3, on 2 sync workers.

An OCPP-S request has been read whole (by its Content-Length) before it is answered, so normally
nothing is left to drain. These workers look without waiting: nothing buffered, or the client has
already closed → close now; bytes still arriving (a body we refused unread, say) → gunicorn's own
graceful close, so such a client still gets its fault reply intact.

``ocpp-soap central serve`` uses them; behind your own gunicorn pass ``-k
ocpp_soap.central.workers.PromptSyncWorker`` (or ``PromptThreadWorker`` with ``--threads``).
"""

from __future__ import annotations

import socket
import ssl

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

#: gunicorn's own graceful close (absent before 26, whose workers simply closed).
_graceful = getattr(util, "close_graceful", None)


def close_promptly(sock: socket.socket, timeout: float = 2.0, max_drain: int = 65536) -> None:
    """Close ``sock`` now unless request bytes are still arriving; then close it gracefully."""
    if isinstance(sock, ssl.SSLSocket) and _graceful is not None:
        # TLS records cannot be peeked at; gunicorn's own close knows how to end a TLS session.
        _graceful(sock, timeout, max_drain)
        return
    try:
        sock.setblocking(False)
        pending = sock.recv(1, socket.MSG_PEEK)
    except (BlockingIOError, InterruptedError):
        pending = b""  # nothing buffered: the request was read whole
    except OSError:
        pending = b""  # reset or not connected: nothing to protect
    if pending and _graceful is not None:
        sock.setblocking(True)
        _graceful(sock, timeout, max_drain)
        return
    try:
        sock.close()
    except OSError:
        pass


def _install() -> None:
    """Route this worker process's connection closes through ``close_promptly``.

    gunicorn's workers call ``util.close_graceful`` by module lookup; the attribute is replaced
    in the worker process only (after the fork), never in the master.
    """
    if _graceful is not None:
        util.close_graceful = close_promptly


class PromptSyncWorker(SyncWorker):
    """gunicorn's sync worker, closing finished connections without waiting for the client."""

    def init_process(self) -> None:
        _install()
        super().init_process()


class PromptThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, closing finished connections without waiting for the client."""

    def init_process(self) -> None:
        _install()
        super().init_process()
