"""A lean HTTP/1.1 client for the load processes of ``bench/http.py``.

The load generator shares the machine's cores with the server it measures, so every microsecond it
spends per request is taken from the server. ``http.client`` costs a few hundred microseconds of CPU
per request (header objects, ``email`` parsing of the reply, buffered file reads, a poll per read of
a socket with a timeout); this client sends a request built once as bytes with one ``sendall`` and
reads the reply by hand: status line, the three headers that matter (Content-Length,
Transfer-Encoding, Connection), then the body by its length.

A reply that says ``Connection: close`` (gunicorn's sync workers say it after every reply), an
HTTP/1.0 reply without keep-alive, or one without a length closes the connection; the next request
opens a new one, inside its own timing as ``http.client`` did. Any failure closes the connection and
raises ``OSError`` or ``ProtocolError``.

By default the socket blocks without a timeout: a timeout, as a poll before each read (Python's
``settimeout``) or as a kernel timer per blocking read (``SO_RCVTIMEO``), cost ~15 µs of CPU per
request in a measurement here; the caller bounds the whole run instead (``bench/http.py`` arms one
alarm). No
``TCP_NODELAY``: each request leaves in one ``sendall`` after the previous reply (which acknowledges
it) has come, so Nagle's algorithm has nothing to hold back.
"""

from __future__ import annotations

import socket

_BUFSIZE = 65536
_NO_BODY = frozenset((204, 304))


class ProtocolError(Exception):
    """The server's reply is not HTTP/1.x as this client reads it."""


def build_request(host: str, port: int, path: str, body: bytes, content_type: str,
                  method: str = "POST") -> bytes:
    """The whole request (request line, headers, body) as the bytes to send."""
    head = (f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


class Client:
    """One keep-alive connection to ``host:port``, reopened when the server closes it."""

    def __init__(self, host: str, port: int, timeout: float | None = None) -> None:
        self.host, self.port = host, port
        family, type_, proto, _, addr = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
        self._family, self._type, self._proto, self._addr = family, type_, proto, addr
        self._timeout = timeout  # None: blocking, no timeout (see the module's docstring)
        self.sock: socket.socket | None = None
        self.connects = 0

    def request(self, path: str, body: bytes, content_type: str) -> bytes:
        """A POST of ``body`` to ``path`` on this client's server, ready for :meth:`exchange`."""
        return build_request(self.host, self.port, path, body, content_type)

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send ``request`` (from :meth:`request`) and return the reply's status and body."""
        sock = self.sock
        if sock is None:
            sock = self._connect()
        try:
            sock.sendall(request)
            status, body, close = self._read(sock.recv)
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _connect(self) -> socket.socket:
        sock = socket.socket(self._family, self._type, self._proto)
        try:
            if self._timeout is not None:
                sock.settimeout(self._timeout)
            sock.connect(self._addr)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.connects += 1
        return sock

    @staticmethod
    def _read(recv) -> tuple[int, bytes, bool]:
        """Status, body and whether the server closes the connection, read with ``recv``."""
        buf = recv(_BUFSIZE)
        if not buf:
            raise ConnectionResetError("connection closed before a reply")
        end = buf.find(b"\r\n\r\n")
        while end < 0:
            more = recv(_BUFSIZE)
            if not more:
                raise ProtocolError("connection closed inside the reply's headers")
            seen = len(buf)
            buf += more
            end = buf.find(b"\r\n\r\n", max(0, seen - 3))
        line_end = buf.find(b"\r\n")
        try:
            version, code = buf[:line_end].split(None, 2)[:2]
            status = int(code)
        except ValueError:
            raise ProtocolError(f"bad status line {buf[:line_end]!r}") from None
        if not version.startswith(b"HTTP/1."):
            raise ProtocolError(f"bad status line {buf[:line_end]!r}")
        http10 = version == b"HTTP/1.0"
        close = http10
        length = None
        chunked = False
        if line_end < end:
            for line in buf[line_end + 2:end].lower().split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name == b"content-length":
                    try:
                        length = int(value)
                    except ValueError:
                        raise ProtocolError(f"bad Content-Length {value!r}") from None
                elif name == b"connection":
                    close = b"close" in value or (http10 and b"keep-alive" not in value)
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value
        body = buf[end + 4:]
        if status in _NO_BODY or 100 <= status < 200:
            return status, b"", close
        if chunked:
            return status, _read_chunked(recv, body), close
        if length is None:  # the body runs to the end of the connection
            parts = [body]
            while more := recv(_BUFSIZE):
                parts.append(more)
            return status, b"".join(parts), True
        if len(body) < length:
            parts = [body]
            have = len(body)
            while have < length:
                more = recv(_BUFSIZE)
                if not more:
                    raise ProtocolError(f"connection closed after {have} of {length} body bytes")
                parts.append(more)
                have += len(more)
            body = b"".join(parts)
        return status, body[:length], close


def _read_chunked(recv, buf: bytes) -> bytes:
    """The body of a chunked reply whose first bytes are ``buf``, read up to its last chunk."""
    parts = []
    pos = 0
    while True:
        line_end = buf.find(b"\r\n", pos)
        while line_end < 0:
            buf = _more(recv, buf)
            line_end = buf.find(b"\r\n", pos)
        try:
            size = int(buf[pos:line_end].split(b";", 1)[0], 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {buf[pos:line_end]!r}") from None
        pos = line_end + 2
        if size == 0:  # trailers, then an empty line
            while True:
                line_end = buf.find(b"\r\n", pos)
                while line_end < 0:
                    buf = _more(recv, buf)
                    line_end = buf.find(b"\r\n", pos)
                if line_end == pos:
                    return b"".join(parts)
                pos = line_end + 2
        while len(buf) < pos + size + 2:
            buf = _more(recv, buf)
        parts.append(buf[pos:pos + size])
        pos += size + 2


def _more(recv, buf: bytes) -> bytes:
    more = recv(_BUFSIZE)
    if not more:
        raise ProtocolError("connection closed inside a chunked body")
    return buf + more
