"""What a handler may know about the message it is answering.

Handlers are plain Python; they see the message as a dict and everything else through this object,
so the domain never touches lxml, Spyne or HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CallContext:
    """One incoming OCPP request, as the wire layer read it."""

    charge_box_id: str
    version: str
    service: str
    action: str
    message_id: str | None = None
    from_address: str | None = None
    reply_to: str | None = None
    to: str | None = None
    peer: str | None = None
    #: The URL the request was sent to (scheme, Host header, path), as this server saw it.
    url: str | None = None
    http_headers: dict[str, str] = field(default_factory=dict)
    basic_auth_user: str | None = None
    basic_auth_password: str | None = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list)
    #: The verified TLS client certificate, if one was presented: ``fingerprint`` (SHA-256,
    #: hex) and ``names`` (subject CN and DNS subjectAltNames).
    client_cert: dict | None = None
    #: Free room for the role (e.g. the Central System stores the box's row here).
    extra: dict = field(default_factory=dict)
