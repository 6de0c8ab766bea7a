"""`ocpp-soap validate`: SOAP 1.2, the OCPP-S headers, the schema, and what lenient reading forgives.

The schema comes from the official WSDLs in ../shared for now (``wsdl_dir``); the project's own
``wsdl/`` is checked once where it exists.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from ocpp_soap import paths
from ocpp_soap.tools import validate as v
from ocpp_soap.tools.commands import validate_main
from ocpp_soap.tools.envelope import EnvelopeError
from tests.conftest import SHARED, shared_reference
from tests.tools.build import (
    ANON,
    CP16,
    CS15,
    REQUEST_HEADERS,
    SOAP11,
    START_FIELDS,
    envelope,
    response,
)

OFFICIAL = SHARED / "wsdl"
ENVELOPES = SHARED / "envelopes"

# What each schema-breaking reference envelope must report: (line, code). Every one of these is
# a deviation lenient reading accepts.
INVALID = {
    "ocpp15/tom/BootNotification.req.xml": [(1, v.SERIAL_LENGTH), (1, v.SERIAL_LENGTH)],
    "ocpp15/tom/MeterValues.req-2.xml": [(1, v.EMPTY_TRANSACTION_ID)],
    "ocpp15/izivia/StartTransaction.req.xml": [(19, v.ORDER)],
    "ocpp16/izivia/StartTransaction.req.xml": [(19, v.ORDER)],
    "ocpp16/izivia/MeterValues.req.xml": [(22, v.SAMPLED_VALUE_ORDER)],
}
# A CP->CS message in the Cp namespace: no lenient reading can make sense of it.
NON_CONFORMANT = {"ocpp15/izivia/DiagnosticsStatusNotification.req.xml": [(13, v.SCHEMA)]}


def _sources_table() -> dict[str, str]:
    """File -> "Schema check" column of SOURCES.md."""
    table = {}
    for line in (ENVELOPES / "SOURCES.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0].endswith(".xml"):
            table[cells[0]] = cells[4]
    return table


def _listed(status: str) -> list[str | None]:
    if not (ENVELOPES / "SOURCES.md").is_file():
        return [None]
    return sorted(f for f, check in _sources_table().items() if check.startswith(status))


def _need_reference(name: str | None) -> Path:
    shared_reference()  # fails under CI, skips elsewhere
    if name is None:
        pytest.fail(f"{ENVELOPES / 'SOURCES.md'} missing")
    return ENVELOPES / name


def _codes(found: list[v.Violation]) -> list[tuple[int | None, str]]:
    return [(x.line, x.code) for x in found if not x.warning]


def check(data: bytes, lenient: bool = False) -> list[v.Violation]:
    shared_reference()
    return v.validate_envelope(data, lenient=lenient, wsdl_dir=OFFICIAL)


# --- the reference envelopes ---------------------------------------------------------------------


def test_sources_lists_exactly_the_invalid_envelopes_we_expect() -> None:
    _need_reference("SOURCES.md")
    assert sorted(_listed("schema-INVALID")) == sorted(INVALID)
    assert sorted(_listed("non-conformant")) == sorted(NON_CONFORMANT)


@pytest.mark.parametrize("name", _listed("valid"))
def test_valid_reference_envelopes_validate_clean(name: str | None) -> None:
    path = _need_reference(name)
    found = v.validate_envelope(path, wsdl_dir=OFFICIAL)
    assert [x for x in found if x.fatal] == []
    assert validate_main([str(path), "--wsdl-dir", str(OFFICIAL)]) == 0


@pytest.mark.parametrize("name", sorted(INVALID) + sorted(NON_CONFORMANT))
def test_invalid_reference_envelopes_report_the_right_violation(name: str) -> None:
    path = _need_reference(name)
    strict = v.validate_envelope(path, wsdl_dir=OFFICIAL)
    assert _codes(strict) == (INVALID | NON_CONFORMANT)[name]
    assert all(x.fatal and x.label == "error" for x in strict if not x.warning)
    lenient = v.validate_envelope(path, lenient=True, wsdl_dir=OFFICIAL)
    accepted = name in INVALID
    assert all(x.label == ("accepted" if accepted else "fatal") for x in lenient if not x.warning)
    assert validate_main([str(path), "--wsdl-dir", str(OFFICIAL)]) == 1
    assert validate_main([str(path), "--wsdl-dir", str(OFFICIAL), "--lenient"]) == (0 if accepted else 1)


def test_messages_name_the_problem() -> None:
    path = _need_reference("ocpp15/tom/BootNotification.req.xml")
    messages = [x.message for x in v.validate_envelope(path, wsdl_dir=OFFICIAL)]
    assert "chargeBoxSerialNumber is 33 characters, over the schema's maxLength 25" in messages
    path = _need_reference("ocpp16/izivia/StartTransaction.req.xml")
    (order,) = v.validate_envelope(path, wsdl_dir=OFFICIAL)
    assert "meterStart, timestamp; schema order is connectorId, idTag, timestamp, meterStart" in (
        order.message
    )


def test_the_projects_own_wsdl_is_the_default() -> None:
    shared_reference()
    paths.wsdl_path("1.6", "CentralSystemService").resolve(strict=True)
    assert v.validate_envelope(envelope()) == []
    found = v.validate_envelope(ENVELOPES / "ocpp16/izivia/MeterValues.req.xml", lenient=True)
    assert _codes(found) == [(22, v.SAMPLED_VALUE_ORDER)]


# --- rules, on envelopes built here (lines: 3-8 headers, 11 body element, 12.. fields) ----------


def test_a_complete_request_is_clean() -> None:
    assert check(envelope()) == []


def test_unknown_element_is_fatal_with_its_line() -> None:
    data = envelope(START_FIELDS[:2] + ["<o:colour>red</o:colour>"] + START_FIELDS[2:])
    (found,) = check(data, lenient=True)
    assert (found.line, found.code, found.label) == (14, v.SCHEMA, "fatal")
    assert "colour" in found.message and "{" not in found.message


def test_missing_required_field_is_fatal() -> None:
    data = envelope([f for f in START_FIELDS if "idTag" not in f])
    assert [(x.code, x.fatal) for x in check(data, lenient=True)] == [(v.SCHEMA, True)]


def test_children_out_of_order_are_accepted_when_lenient() -> None:
    data = envelope(START_FIELDS[:2] + [START_FIELDS[3], START_FIELDS[2]])
    (found,) = check(data, lenient=True)
    assert (found.line, found.code, found.label, found.fatal) == (14, v.ORDER, "accepted", False)
    assert check(data)[0].fatal


def test_order_and_a_hidden_error_behind_it() -> None:
    # timestamp too early *and* an unknown element: lenient accepts the order, not the stranger.
    data = envelope([START_FIELDS[0], START_FIELDS[3], START_FIELDS[1], START_FIELDS[2],
                     "<o:colour>red</o:colour>"])
    codes = sorted((x.code, x.fatal) for x in check(data, lenient=True))
    assert codes == [(v.ORDER, False), (v.SCHEMA, True)]


def test_older_namespace_inside_a_newer_body_is_accepted_when_lenient() -> None:
    fields = list(START_FIELDS)
    fields[1] = f'<p:idTag xmlns:p="{CS15}">TAG-0001</p:idTag>'
    (found,) = check(envelope(fields), lenient=True)
    assert (found.line, found.code, found.label) == (13, v.NAMESPACE_VERSION, "accepted")


def test_identity_header_in_the_older_namespace_is_accepted_when_lenient() -> None:
    headers = [f'<p:chargeBoxIdentity xmlns:p="{CS15}">CP-1</p:chargeBoxIdentity>']
    found = check(envelope(headers=headers + REQUEST_HEADERS[1:]), lenient=True)
    assert [(x.line, x.code, x.label) for x in found] == [(3, v.NAMESPACE_VERSION, "accepted")]


def test_identity_header_is_required_and_case_insensitive() -> None:
    found = check(envelope(headers=REQUEST_HEADERS[1:]), lenient=True)
    assert [(x.code, x.fatal) for x in found] == [(v.HEADER_MISSING, True)]
    assert "chargeBoxIdentity" in found[0].message
    upper = ["<o:ChargeBoxIdentity>CP-1</o:ChargeBoxIdentity>"] + REQUEST_HEADERS[1:]
    assert check(envelope(headers=upper)) == []


@pytest.mark.parametrize("action", ["/Heartbeat", "StartTransaction", "/StartTransactionResponse"])
def test_action_must_name_the_body_operation(action: str) -> None:
    headers = list(REQUEST_HEADERS)
    headers[1] = f"<a:Action>{action}</a:Action>"
    found = check(envelope(headers=headers), lenient=True)
    assert [(x.line, x.code, x.fatal) for x in found] == [(4, v.ACTION, True)]


def test_missing_message_id_is_accepted_when_lenient() -> None:
    headers = [h for h in REQUEST_HEADERS if "MessageID" not in h]
    (found,) = check(envelope(headers=headers), lenient=True)
    assert (found.code, found.label) == (v.MESSAGE_ID, "accepted")


def test_from_is_required_on_requests_to_the_central_system_only() -> None:
    headers = [h for h in REQUEST_HEADERS if "From" not in h]
    assert [(x.code, x.fatal) for x in check(envelope(headers=headers), lenient=True)] == [
        (v.HEADER_MISSING, True)
    ]
    reset = envelope(["<o:type>Hard</o:type>"], headers=[h.replace("/StartTransaction", "/Reset")
                     for h in headers], body="resetRequest", ocpp=CP16)
    assert check(reset) == []


def test_to_is_required_and_reply_to_must_be_anonymous() -> None:
    no_to = [h for h in REQUEST_HEADERS if "<a:To" not in h]
    assert [x.code for x in check(envelope(headers=no_to))] == [v.HEADER_MISSING]
    no_reply_to = [h for h in REQUEST_HEADERS if "ReplyTo" not in h]
    (warning,) = check(envelope(headers=no_reply_to))
    assert warning.warning and not warning.fatal
    elsewhere = [h.replace(ANON, "http://10.0.0.7/replies") for h in REQUEST_HEADERS]
    assert [x.code for x in check(envelope(headers=elsewhere))] == [v.HEADER_VALUE]


def test_responses_need_action_and_relates_to() -> None:
    fields = ["<o:currentTime>2024-03-01T10:00:00Z</o:currentTime>"]
    assert check(response(fields, "heartbeatResponse", "/HeartbeatResponse")) == []
    found = check(response(fields, "heartbeatResponse", "/HeartbeatResponse", relates_to=False))
    assert [(x.code, x.fatal) for x in found] == [(v.HEADER_MISSING, True)]
    found = check(response(fields, "heartbeatResponse", "/Heartbeat"))
    assert [x.code for x in found] == [v.ACTION]


def test_soap_11_is_a_violation() -> None:
    found = check(envelope(soap=SOAP11))
    assert [(x.line, x.code, x.fatal) for x in found] == [(1, v.SOAP_VERSION, True)]


def test_bodies_that_are_not_ocpp() -> None:
    assert [x.code for x in check(envelope([], body="x", ocpp="urn:other"))] == [v.BODY]
    assert [x.code for x in check(envelope(fields=[], body="startTransaction"))] == [v.BODY]
    empty = envelope().split(b"<s:Body>")[0] + b"<s:Body/></s:Envelope>"
    assert [x.code for x in check(empty)] == [v.BODY]


# --- CLI and hostile input -----------------------------------------------------------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE s:Envelope ['
    + b'<!ENTITY l0 "lol">'
    + b"".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">'.encode() for i in range(1, 10))
    + b']><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&l9;</s:Body>'
    + b"</s:Envelope>"
)
HOSTILE = {
    "xxe": b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&x;</s:Body>'
    b"</s:Envelope>",
    "billion-laughs": BILLION_LAUGHS,
    "malformed": b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>',
    "empty": b"",
    "blank": b"  \n",
    "not-an-envelope": b"<bootNotificationRequest/>",
    "binary": bytes(range(256)),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_input_is_refused_with_one_line(tmp_path: Path, capsys, kind: str) -> None:
    path = tmp_path / f"{kind}.xml"
    path.write_bytes(HOSTILE[kind])
    with pytest.raises(EnvelopeError):
        v.validate_envelope(HOSTILE[kind])
    assert validate_main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{kind}.xml" in err and "Traceback" not in err
    assert "root:x:" not in err  # nothing of /etc/passwd


def test_doctype_message_is_clear(capsys, tmp_path: Path) -> None:
    path = tmp_path / "laughs.xml"
    path.write_bytes(BILLION_LAUGHS)
    assert validate_main([str(path)]) == 2
    assert "DOCTYPE refused" in capsys.readouterr().err


def test_cli_checks_every_file_and_reports_the_worst(tmp_path: Path, capsys) -> None:
    shared_reference()
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_bytes(envelope())
    bad.write_bytes(envelope(START_FIELDS[:2] + [START_FIELDS[3], START_FIELDS[2]]))
    wsdl = ["--wsdl-dir", str(OFFICIAL), "--color", "never"]
    assert validate_main([str(good), *wsdl]) == 0
    assert validate_main([str(good), str(bad), *wsdl]) == 1
    out = capsys.readouterr().out
    assert f"{good}: valid" in out and f"{bad}:14: error: children of" in out
    assert validate_main([str(good), str(bad), *wsdl, "--lenient"]) == 0
    assert f"{bad}:14: accepted:" in capsys.readouterr().out
    assert validate_main([str(good), str(tmp_path / "missing.xml"), *wsdl]) == 2


def test_cli_reads_stdin(monkeypatch) -> None:
    shared_reference()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(envelope())))
    assert validate_main(["-", "--wsdl-dir", str(OFFICIAL)]) == 0


def test_cli_without_a_schema_is_an_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "e.xml"
    path.write_bytes(envelope())
    assert validate_main([str(path), "--wsdl-dir", str(tmp_path)]) == 2
    assert "no WSDL for OCPP 1.6 CentralSystemService" in capsys.readouterr().err


def test_cli_usage_error() -> None:
    assert validate_main([]) == 2
