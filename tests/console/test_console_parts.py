"""The console's building blocks on their own: cookie signing, command forms from the schema, the
SVG chart, the XML view, template helpers and the login redirect guard."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from ocpp_soap.central.console import charts, commandforms, filters, xmlview
from ocpp_soap.central.console.context import safe_next
from ocpp_soap.central.console.sessions import Session, SessionCodec, Signer
from ocpp_soap.messages.payload import PayloadError

# ----------------------------------------------------------------------------- sessions

def test_signed_values_round_trip_and_refuse_tampering():
    signer = Signer(b"k" * 32, "console-session")
    value = signer.dump({"u": "alice", "e": 3})
    assert signer.load(value) == {"u": "alice", "e": 3}
    body, sig = value.split(".")
    assert signer.load(body + "." + sig[::-1]) is None
    assert signer.load(body[:-1] + "A" + "." + sig) is None
    assert Signer(b"x" * 32, "console-session").load(value) is None  # another key
    assert Signer(b"k" * 32, "console-login").load(value) is None  # another purpose
    for junk in (None, "", "a.b.c", "x" * 5000, "\x00.\x00"):
        assert signer.load(junk) is None


def test_session_codec_applies_the_idle_timeout():
    codec = SessionCodec(b"k" * 32, idle_timeout=60)
    now = time.time()
    session = Session.new("alice", 2, now=now)
    loaded, expired = codec.load(codec.dump(session), now=now + 59)
    assert loaded == Session("alice", 2, session.csrf, int(now)) and not expired
    assert codec.load(codec.dump(session), now=now + 61) == (None, True)
    assert codec.load_login(codec.dump_login("tok")) == "tok"
    assert codec.load_login(codec.dump(session)) is None


@pytest.mark.parametrize("target,expected", [
    ("/ui/tags?q=1", "/ui/tags?q=1"), ("/ui/", "/ui/"), (None, "/ui/"), ("", "/ui/"),
    ("https://evil/", "/ui/"), ("//evil/ui/", "/ui/"), ("/ui\\..", "/ui/"),
    ("/ui/\r\nSet-Cookie: x", "/ui/"), ("/api/v1/chargeboxes", "/ui/")])
def test_safe_next(target, expected):
    assert safe_next(target) == expected


# ----------------------------------------------------------------------------- command forms

@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_every_operation_gets_a_form_from_the_schema(version):
    ops = commandforms.operations(version)
    assert ("TriggerMessage" in ops) == (version == "1.6")
    for name in ops:
        op = commandforms.operation(version, name)
        fields = commandforms.form_fields(op)
        assert [f.name for f in fields] == [f.name for f in op.request.fields]
    reset = {f.name: f for f in commandforms.form_fields(commandforms.operation(version, "Reset"))}
    assert reset["type"].kind == "enum" and reset["type"].choices == ("Hard", "Soft")
    assert reset["type"].required
    start = {f.name: f for f in commandforms.form_fields(
        commandforms.operation(version, "RemoteStartTransaction"))}
    assert start["idTag"].max_length == 20 and start["idTag"].required
    assert start["connectorId"].kind == "int" and not start["connectorId"].required
    reserve = {f.name: f for f in commandforms.form_fields(
        commandforms.operation(version, "ReserveNow"))}
    assert not reserve["reservationId"].required and "numbers it" in reserve["reservationId"].hint
    assert reserve["expiryDate"].kind == "datetime"


def test_nested_fields_are_json_with_an_example():
    op = commandforms.operation("1.6", "SetChargingProfile")
    profile = {f.name: f for f in commandforms.form_fields(op)}["csChargingProfiles"]
    assert profile.kind == "json" and '"chargingProfileId": 0' in profile.example
    local = {f.name: f for f in commandforms.form_fields(
        commandforms.operation("1.5", "SendLocalList"))}
    assert local["localAuthorisationList"].kind == "json" and \
        local["localAuthorisationList"].example.startswith("[")


def test_payload_from_form_checks_and_translates():
    op = commandforms.operation("1.6", "ChangeAvailability")
    assert commandforms.payload_from_form("1.6", op, {"f.connectorId": " 2 ",
                                                      "f.type": "Inoperative"}) == \
        {"connectorId": "2", "type": "Inoperative"}
    with pytest.raises(PayloadError) as bad:
        commandforms.payload_from_form("1.6", op, {"f.connectorId": "2", "f.type": "Up"})
    assert bad.value.field == "type"
    # 1.5's list is called localAuthorisationList on the wire: the domain shape is returned.
    op = commandforms.operation("1.5", "SendLocalList")
    payload = commandforms.payload_from_form("1.5", op, {
        "f.listVersion": "3", "f.updateType": "Full",
        "f.localAuthorisationList": '[{"idTag": "A1"}]'})
    assert payload["localAuthorizationList"] == [{"idTag": "A1"}]
    with pytest.raises(PayloadError) as bad:
        commandforms.payload_from_form("1.5", op, {"f.listVersion": "3", "f.updateType": "Full",
                                                   "f.localAuthorisationList": "[{"})
    assert bad.value.field == "localAuthorisationList" and "not valid JSON" in bad.value.message
    # ReserveNow without reservationId passes: the Central System numbers it.
    op = commandforms.operation("1.6", "ReserveNow")
    payload = commandforms.payload_from_form("1.6", op, {
        "f.connectorId": "1", "f.idTag": "T", "f.expiryDate": "2030-01-01T00:00:00Z"})
    assert "reservationId" not in payload


# ----------------------------------------------------------------------------- chart

def _samples(t0: datetime, values, measurand="Energy.Active.Import.Register", unit="Wh"):
    return [{"timestamp": (t0 + timedelta(minutes=i)).isoformat(), "value": str(v),
             "measurand": measurand, "unit": unit} for i, v in enumerate(values)]


def test_chart_series_picks_energy_and_power_and_converts_units():
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    samples = (_samples(t0, [1000, 2000]) + _samples(t0, [3.5], unit="kWh")
               + _samples(t0, [7400], "Power.Active.Import", "W")
               + _samples(t0, [11], "Power.Active.Import", "kW")
               + _samples(t0, ["garbage", "nan"]) + _samples(t0, [230], "Voltage", "V")
               + [{"timestamp": None, "value": "5"},
                  {"timestamp": t0.isoformat(), "value": "9", "measurand": None, "unit": None,
                   "phase": "L1"}])
    energy, power = charts.series(samples, meter_start=500, started=t0.isoformat())
    assert [p.value for p in energy] == [0.5, 1.0, 3.5, 2.0]
    assert sorted(p.value for p in power) == [7.4, 11.0]


def test_chart_renders_valid_svg_with_both_lines():
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    energy, power = charts.series(_samples(t0, [0, 1500, 3000, 4500])
                                  + _samples(t0, [11000] * 4, "Power.Active.Import", "W"))
    svg = charts.render(energy, power, title='tx <1> & "2"')
    root = etree.fromstring(svg.encode())
    assert root.tag == "svg"
    ns = {}
    assert len(root.findall(".//polyline", ns)) == 2
    assert len(root.findall(".//circle", ns)) == 8
    assert root.get("aria-label") == 'tx <1> & "2"'
    assert "kWh" in svg and "kW" in svg and "time (UTC)" in svg


def test_chart_without_data_says_so_and_one_point_does_not_divide_by_zero():
    assert "No meter values yet" in charts.render([], [])
    t0 = datetime(2030, 1, 1, tzinfo=UTC)
    energy, power = charts.series(_samples(t0, [1000]))
    svg = charts.render(energy, power)
    etree.fromstring(svg.encode())
    assert svg.count("<circle") == 1


# ----------------------------------------------------------------------------- XML view

def test_pretty_indents_and_highlight_escapes_everything():
    text = '<a xmlns:x="urn:x"><x:b attr="1 &amp; 2">v&lt;1</x:b><!-- note --></a>'
    pretty = xmlview.pretty(text)
    assert pretty.splitlines()[1].startswith("  <x:b")
    html = xmlview.highlight(pretty)
    assert '<span class="x-tag">x:b</span>' in html
    assert '<span class="x-attr">attr</span>=<span class="x-value">&quot;1 &amp;amp; 2&quot;</span>' \
        in html
    assert '<span class="x-comment">&lt;!-- note --&gt;</span>' in html
    # Nothing of the envelope becomes markup: strip our spans and the rest is escaped text.
    assert "<" not in re.sub(r"</?span[^>]*>", "", html)


def test_pretty_leaves_unparsable_text_alone_and_refuses_entities():
    assert xmlview.pretty("not <xml") == "not <xml"
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>')
    assert "aaaaaaaaaaaaaaaaaaaa" not in xmlview.pretty(bomb)


# ----------------------------------------------------------------------------- helpers

def test_badges_carry_text_and_one_colour_per_meaning():
    assert str(filters.badge("Charging")) == '<span class="badge s-busy">Charging</span>'
    assert "s-bad" in filters.badge("Faulted") and "s-good" in filters.badge("Available")
    assert ">unknown<" in filters.badge(None)
    assert "&lt;b&gt;" in filters.badge("<b>")


def test_times_are_utc_in_the_page_with_a_machine_readable_value():
    html = str(filters.when("2030-01-02T03:04:05+00:00"))
    assert html == ('<time datetime="2030-01-02T03:04:05Z" title="2030-01-02 03:04:05 UTC">'
                    "2030-01-02 03:04:05 UTC</time>")
    assert "never" in filters.when(None, "never")


def test_query_keeps_filters_and_changes_one():
    assert filters.query({"q": "a b", "page": "2"}, page=3) == "?q=a+b&page=3"
    assert filters.query({"q": "", "page": "2"}, page=None) == "?"
