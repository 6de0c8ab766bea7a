"""Envelopes built in the tests, so each diff and validate rule is proven on a known input."""

from __future__ import annotations

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
CS15 = "urn://Ocpp/Cs/2012/06/"
CS16 = "urn://Ocpp/Cs/2015/10/"
CP16 = "urn://Ocpp/Cp/2015/10/"
ANON = "http://www.w3.org/2005/08/addressing/anonymous"

REQUEST_HEADERS = [
    "<o:chargeBoxIdentity>CP-1</o:chargeBoxIdentity>",
    '<a:Action s:mustUnderstand="true">/StartTransaction</a:Action>',
    "<a:MessageID>urn:uuid:0f0e7d7a-1111-4c0b-9d55-6a1c2f0e9a01</a:MessageID>",
    "<a:From><a:Address>http://10.0.0.7:8080/ocpp</a:Address></a:From>",
    f"<a:ReplyTo><a:Address>{ANON}</a:Address></a:ReplyTo>",
    '<a:To s:mustUnderstand="true">http://cs.example.org/ocpp</a:To>',
]

START_FIELDS = [
    "<o:connectorId>1</o:connectorId>",
    "<o:idTag>TAG-0001</o:idTag>",
    "<o:timestamp>2024-03-01T10:00:00Z</o:timestamp>",
    "<o:meterStart>1000</o:meterStart>",
]


def envelope(
    fields: list[str] | None = None,
    headers: list[str] | None = None,
    body: str = "startTransactionRequest",
    ocpp: str = CS16,
    soap: str = SOAP12,
    separator: str = "\n",
) -> bytes:
    """One envelope, one element per line (so line numbers are predictable): line 1 Envelope,
    line 2 Header, then one line per header, Body, the body element, one line per field."""
    fields = START_FIELDS if fields is None else fields
    headers = REQUEST_HEADERS if headers is None else headers
    lines = [
        f'<s:Envelope xmlns:s="{soap}" xmlns:a="{WSA}" xmlns:o="{ocpp}">',
        "<s:Header>",
        *headers,
        "</s:Header>",
        "<s:Body>",
        f"<o:{body}>",
        *fields,
        f"</o:{body}>",
        "</s:Body>",
        "</s:Envelope>",
    ]
    return separator.join(lines).encode()


def response(fields: list[str], body: str, action: str, relates_to: bool = True) -> bytes:
    headers = [
        f"<a:Action>{action}</a:Action>",
        "<a:MessageID>urn:uuid:5d0c3e52-2222-4a55-8c1e-2b8f6d0e7c10</a:MessageID>",
        f"<a:To>{ANON}</a:To>",
    ]
    if relates_to:
        headers.append("<a:RelatesTo>urn:uuid:0f0e7d7a-1111-4c0b-9d55-6a1c2f0e9a01</a:RelatesTo>")
    return envelope(fields, headers, body=body)
