"""Every request among the real envelopes in ../shared/reference/envelopes, read by the wire layer.

Each one goes over HTTP to an endpoint of its service in strict and in lenient mode. Valid ones
reach the handler with the right version, operation, chargeBoxIdentity, MessageID, From and every
field; the schema-breaking ones are listed below with what each mode does.
"""

from __future__ import annotations

from datetime import datetime

import pytest
import requests
from lxml import etree

from ocpp_soap.messages import adapters, service_schema
from ocpp_soap.messages.schema import Complex, TextWithAttributes
from ocpp_soap.soap.convert import utc
from ocpp_soap.soap.httpserver import BackgroundServer
from ocpp_soap.soap.server import EndpointOptions, OcppEndpoint
from tests.conftest import SHARED

# file → (strict outcome, lenient outcome); "ok" or the fault reason fragment.
BROKEN = {
    "ocpp15/tom/BootNotification.req.xml": ("maxLength", "ok"),         # 26/33-char serials
    "ocpp15/tom/MeterValues.req-2.xml": ("xs:int", "ok"),               # empty <transactionId/>
    "ocpp15/izivia/StartTransaction.req.xml": ("not expected", "ok"),   # children out of order
    "ocpp16/izivia/StartTransaction.req.xml": ("not expected", "ok"),
    "ocpp16/izivia/MeterValues.req.xml": ("not expected", "ok"),        # alphabetical sampledValue
    # A CP→CS message in the Cp namespace: no service has it; both modes refuse it.
    "ocpp15/izivia/DiagnosticsStatusNotification.req.xml": ("unknown operation",) * 2,
}


def _files():
    if not SHARED.is_dir():
        return []
    return sorted(str(p.relative_to(SHARED / "envelopes"))
                  for p in (SHARED / "envelopes").glob("*/*/*.req*.xml"))


FILES = _files()


class Recorder:
    def __init__(self):
        self.calls = []

    def __getitem__(self, name):
        def handler(ctx, payload):
            self.calls.append((ctx, payload))
            return {}
        return handler

    def get(self, name, default=None):
        return self[name]


@pytest.fixture(scope="module")
def endpoints():
    out = {}
    for strict in (True, False):
        for service in ("CentralSystemService", "ChargePointService"):
            rec = Recorder()
            ep = OcppEndpoint(service, rec, options=EndpointOptions(strict=strict))
            out[(strict, service)] = (BackgroundServer(ep).start(), rec)
    yield out
    for srv, _ in out.values():
        srv.stop()


def _value(text: str, t) -> object:
    base = getattr(getattr(t, "base", None), "name", None) or t.name
    if base == "int":
        return int(text)
    if base == "dateTime":
        return utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    if base == "boolean":
        return text.strip() in ("true", "1")
    if base == "decimal":
        return float(text)
    return text


def xml_fields(el: etree._Element, t: Complex) -> dict:
    """What the XML says, by the declarations, independently of Spyne."""
    out: dict = {}
    for f in t.fields:
        found = [c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == f.name]
        vals = []
        for c in found:
            if isinstance(f.type, Complex):
                vals.append(xml_fields(c, f.type))
            elif isinstance(f.type, TextWithAttributes):
                item = {"value": c.text}
                item.update({k: v for k, v in c.attrib.items()})
                vals.append(item)
            elif (c.text or "").strip() or f.type.name not in ("int", "dateTime"):
                vals.append(_value(c.text or "", f.type))
        if vals:
            out[f.name] = vals if f.repeated else vals[0]
    return out


def test_the_reference_envelopes_are_there(reference):
    """The parametrized test below would quietly run nothing without them."""
    assert len(FILES) >= 30, FILES


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("strict", [True, False], ids=["strict", "lenient"])
def test_reference_request(reference, endpoints, name, strict):
    data = (reference / "envelopes" / name).read_bytes()
    doc = etree.fromstring(data)
    body_el = doc.find("{http://www.w3.org/2003/05/soap-envelope}Body")[0]
    ns = etree.QName(body_el).namespace
    service = "CentralSystemService" if "/Cs/" in ns else "ChargePointService"
    if name.endswith("DiagnosticsStatusNotification.req.xml"):
        service = "CentralSystemService"  # it was meant for the CS
    srv, rec = endpoints[(strict, service)]
    rec.calls.clear()
    r = requests.post(srv.url + "/ocpp", data=data, timeout=10,
                      headers={"Content-Type": "application/soap+xml; charset=utf-8"})
    expected = BROKEN.get(name, ("ok", "ok"))[0 if strict else 1]
    if expected != "ok":
        assert r.status_code == 400, r.text
        assert expected in r.text
        assert not rec.calls
        return
    assert r.status_code == 200, r.text
    (ctx, payload), = rec.calls
    version = "1.5" if "2012/06" in ns else "1.6"
    op, direction = service_schema(version, service).by_element(etree.QName(body_el).localname)
    wsa = "{http://www.w3.org/2005/08/addressing}"
    assert ctx.version == version and ctx.action == op.name
    cbi = next(h for h in doc.find("{http://www.w3.org/2003/05/soap-envelope}Header")
               if etree.QName(h).localname.lower() == "chargeboxidentity")
    assert ctx.charge_box_id == cbi.text.strip()
    mid = doc.findtext(f".//{wsa}MessageID")
    assert ctx.message_id == (mid.strip() if mid else None)
    frm = doc.findtext(f".//{wsa}From/{wsa}Address")
    assert ctx.from_address == (frm.strip() if frm else None)
    wire = adapters.from_neutral(version, op.name, adapters.REQUEST, payload)
    assert _pruned(wire) == _pruned(xml_fields(body_el, op.request))


def _pruned(value):
    """Drop empty wrappers (a 1.5 ``<transactionData/>`` carries no data)."""
    if isinstance(value, dict):
        out = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [v for v in (_pruned(x) for x in value) if v not in ({}, [])]
    return value
