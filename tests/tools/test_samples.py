"""samples/: complete, current, valid against the official schema, and what the project writes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ocpp_soap.messages.examples import example
from ocpp_soap.soap.client import OcppClient
from ocpp_soap.soap.xsd import schema_from_wsdl
from ocpp_soap.tools import samplegen
from ocpp_soap.tools.commands import diff_main
from ocpp_soap.tools.diff import diff_envelopes, find_sample, sample_volatile
from ocpp_soap.tools.envelope import read_envelope
from ocpp_soap.tools.validate import validate_envelope, wsdl_file
from tests.conftest import ROOT, shared_reference

SAMPLES = ROOT / "samples"
OPERATIONS = list(samplegen.operations())
FILES = sorted(SAMPLES.glob("ocpp1*/*.xml"))


def _id(path: Path) -> str:
    return path.relative_to(SAMPLES).as_posix()


def test_there_is_a_request_and_a_reply_for_every_operation() -> None:
    assert len(OPERATIONS) == 25 + 29
    assert len(FILES) == 108
    assert len(list(SAMPLES.glob("ocpp15/*.xml"))) == 50
    assert len(list(SAMPLES.glob("ocpp16/*.xml"))) == 58
    assert (SAMPLES / "README.md").is_file()


def test_samples_are_what_the_generator_writes() -> None:
    stale = samplegen.stale_samples(SAMPLES)
    assert stale == [], f"samples/ is stale, run `make samples`: {stale}"


def test_regenerating_gives_identical_bytes() -> None:
    assert samplegen.render_samples() == samplegen.render_samples()


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_sample_is_valid_against_the_official_schema(path: Path) -> None:
    official = shared_reference() / "wsdl"
    env = read_envelope(path)
    schema = schema_from_wsdl(wsdl_file(env.ocpp_version, env.service, official))
    assert schema.validate(env.payload), schema.error_log.filter_from_errors()
    violations = validate_envelope(env, wsdl_dir=official)
    assert [str(v) for v in violations if v.fatal] == []
    assert [str(v) for v in validate_envelope(env)] == []  # the project's own WSDLs agree


@pytest.mark.parametrize("path", FILES, ids=_id)
def test_sample_has_the_full_header_and_the_readable_layout(path: Path) -> None:
    text = path.read_bytes()
    assert text.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope ')
    assert b"\n    <wsa:Action " in text
    env = read_envelope(text)
    assert env.charge_box_identity == samplegen.CHARGE_BOX
    assert env.action == f"/{env.operation}" + ("Response" if path.name.endswith(".conf.xml") else "")
    assert env.message_id.startswith("urn:uuid:")
    if env.direction == "request":
        to, sender = samplegen.addresses(env.ocpp_version, env.service)
        assert (env.from_address, env.to) == (sender, to)
        assert env.reply_to == "http://www.w3.org/2005/08/addressing/anonymous"
        assert env.relates_to is None
    else:
        request = read_envelope(path.with_name(path.name.replace(".conf.", ".req.")))
        assert env.relates_to == request.message_id
        assert env.to == "http://www.w3.org/2005/08/addressing/anonymous"
    prefix = "cs" if env.service == "CentralSystemService" else "cp"
    assert env.payload.prefix == prefix and env.root.prefix == "soap"


def _now(value: Any, now: datetime) -> Any:
    """``value`` with every datetime replaced by ``now``."""
    if isinstance(value, datetime):
        return now
    if isinstance(value, dict):
        return {k: _now(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [_now(v, now) for v in value]
    return value


@pytest.fixture(scope="module")
def writer() -> samplegen.Writer:
    return samplegen.Writer()


@pytest.mark.parametrize("version,service,operation", OPERATIONS,
                         ids=["/".join(case) for case in OPERATIONS])
def test_what_the_project_writes_diffs_equal_to_its_sample(writer, version, service, operation):
    now = datetime.now(UTC)
    request, reply = (_now(part, now) for part in example(version, service, operation))
    fresh = writer.exchange(version, service, operation, request, reply)  # fresh MessageIDs
    for data, suffix in ((fresh.request, "req"), (fresh.reply, "conf")):
        sample = find_sample(data, SAMPLES)
        assert sample.parent.name == "ocpp" + version.replace(".", "")
        assert sample.name.startswith(operation + ".") and sample.name.endswith(f".{suffix}.xml")
        assert diff_envelopes(sample, data) == []
        # ...and the comparison is not blind: the MessageIDs really are new.
        strict = {d.path for d in diff_envelopes(sample, data, strict_values=True)}
        assert "Header/MessageID" in strict


def test_data_transfer_samples_name_their_service(writer) -> None:
    to_cs = writer.exchange("1.6", "CentralSystemService", "DataTransfer")
    to_cp = writer.exchange("1.6", "ChargePointService", "DataTransfer")
    assert find_sample(to_cs.request, SAMPLES) == SAMPLES / "ocpp16" / "DataTransfer.cs.req.xml"
    assert find_sample(to_cp.reply, SAMPLES) == SAMPLES / "ocpp16" / "DataTransfer.cp.conf.xml"


def test_diff_cli_finds_the_sample(writer, tmp_path: Path, capsys) -> None:
    fresh = writer.exchange("1.6", "CentralSystemService", "StartTransaction",
                            {**example("1.6", "CentralSystemService", "StartTransaction")[0],
                             "meterStart": 1200})
    mine = tmp_path / "mine.xml"
    mine.write_bytes(fresh.request)
    assert diff_main(["--sample", str(mine), "--samples", str(SAMPLES), "--color", "never"]) == 1
    out = capsys.readouterr().out
    assert "Body/startTransactionRequest/meterStart: " in out and "!= 1200" in out


def test_sample_comparison_ignores_the_deployment_but_not_its_absence(writer, tmp_path, capsys):
    """A live capture has its own box and addresses: --sample ignores those values (not the
    headers' presence, nor a reply's To); a plain A B diff and --strict-values compare them."""
    request, _ = example("1.6", "CentralSystemService", "Authorize")
    live = OcppClient("1.6", "CentralSystemService", "CB-7700", "http://10.1.2.3/ocpp",
                      from_address="http://10.9.8.7:8080/ocpp").build("Authorize", request)[0]
    sample = SAMPLES / "ocpp16" / "Authorize.req.xml"
    assert diff_envelopes(sample, live, volatile=sample_volatile(live)) == []
    assert {d.path for d in diff_envelopes(sample, live)} == {
        "Header/chargeBoxIdentity", "Header/From/Address", "Header/To"}
    path = tmp_path / "live.xml"
    path.write_bytes(live)
    assert diff_main(["--sample", str(path), "--samples", str(SAMPLES)]) == 0
    assert diff_main(["--sample", str(path), "--samples", str(SAMPLES), "--strict-values"]) == 1
    assert diff_main([str(sample), str(path)]) == 1
    no_from = live.replace(b"<wsa:From><wsa:Address>http://10.9.8.7:8080/ocpp</wsa:Address>"
                           b"</wsa:From>", b"")
    assert no_from != live
    assert [(d.kind, d.path) for d in diff_envelopes(sample, no_from, volatile=sample_volatile(
        no_from))] == [("missing element", "Header/From")]
    reply = (SAMPLES / "ocpp16" / "Authorize.conf.xml").read_bytes()
    wrong_to = reply.replace(b">http://www.w3.org/2005/08/addressing/anonymous</wsa:To>",
                             b">http://10.9.8.7:8080/ocpp</wsa:To>")
    assert wrong_to != reply
    assert [d.path for d in diff_envelopes(reply, wrong_to, volatile=sample_volatile(wrong_to))] \
        == ["Header/To"]
    capsys.readouterr()
