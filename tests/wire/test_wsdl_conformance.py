"""The project's wsdl/ is generated, fresh, and wire-equivalent to the official OCA files."""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from ocpp_soap import paths
from ocpp_soap.messages import service_schema
from ocpp_soap.soap import wsdlgen
from ocpp_soap.soap.contract import contract, differences

OFFICIAL = {
    ("1.5", "CentralSystemService"): "wsdl/ocpp15/ocpp_centralsystemservice_1.5_final.wsdl",
    ("1.5", "ChargePointService"): "wsdl/ocpp15/ocpp_chargepointservice_1.5_final.wsdl",
    ("1.6", "CentralSystemService"): "wsdl/ocpp16/OCPP_CentralSystemService_1.6.wsdl",
    ("1.6", "ChargePointService"): "wsdl/ocpp16/OCPP_ChargePointService_1.6.wsdl",
}
PAIRS = sorted(OFFICIAL)
XS = "{http://www.w3.org/2001/XMLSchema}"
WSDL = "{http://schemas.xmlsoap.org/wsdl/}"
SOAP12 = "{http://schemas.xmlsoap.org/wsdl/soap12/}"


@pytest.mark.parametrize("version,service", PAIRS)
def test_wsdl_files_are_fresh(version: str, service: str) -> None:
    """wsdl/ must be what `make wsdl` writes now from the declarations."""
    on_disk = paths.wsdl_path(version, service).read_bytes()
    assert on_disk == wsdlgen.render(service_schema(version, service)), (
        f"{paths.wsdl_path(version, service)} is stale: run `make wsdl`"
    )


@pytest.mark.parametrize("version,service", PAIRS)
def test_wire_equivalent_to_official(reference, version: str, service: str) -> None:
    ours = contract(paths.wsdl_path(version, service))
    theirs = contract(reference / OFFICIAL[(version, service)])
    assert differences(ours, theirs) == []
    # The comparison covers every operation the spec counts.
    expected = {"CentralSystemService": 10, "ChargePointService": 15 if version == "1.5" else 19}
    (port_type,) = theirs["portTypes"].values()
    assert len(port_type) == expected[service]


def _mutations(doc: etree._Element):
    """Yield (description, mutated copy) for each kind of difference the contract must catch."""

    def mutate(desc, fn):
        clone = copy.deepcopy(doc)
        fn(clone)
        return desc, clone

    def first(root, path):
        found = root.find(path)
        assert found is not None, path
        return found

    yield mutate("maxLength", lambda r: first(r, f".//{XS}maxLength").set("value", "21"))
    yield mutate("enum value dropped", lambda r: (lambda e: e.getparent().remove(e))(
        first(r, f".//{XS}enumeration")))
    yield mutate("enum value renamed", lambda r: first(r, f".//{XS}enumeration").set("value", "X"))
    yield mutate("minOccurs", lambda r: first(r, f".//{XS}sequence/{XS}element[@minOccurs='1']")
                 .set("minOccurs", "0"))
    yield mutate("maxOccurs", lambda r: first(r, f".//{XS}sequence/{XS}element[@maxOccurs='1']")
                 .set("maxOccurs", "unbounded"))

    def swap(r):
        seq = next(s for s in r.iter(f"{XS}sequence") if len(s) >= 2)
        a = seq[0]
        seq.remove(a)
        seq.insert(1, a)

    yield mutate("field order", swap)
    yield mutate("field renamed", lambda r: first(r, f".//{XS}sequence/{XS}element").set("name", "x"))
    yield mutate("field type", lambda r: first(r, f".//{XS}sequence/{XS}element[@type='s:int']")
                 .set("type", "s:string"))
    yield mutate("soapAction", lambda r: first(r, f".//{SOAP12}operation").set("soapAction", "X"))
    yield mutate("wsaw:Action", lambda r: first(r, f"{WSDL}portType/{WSDL}operation/{WSDL}input")
                 .set("{http://www.w3.org/2006/05/addressing/wsdl}Action", "Heartbeat"))
    yield mutate("header dropped", lambda r: (lambda e: e.getparent().remove(e))(
        first(r, f".//{SOAP12}header")))
    yield mutate("port renamed", lambda r: first(r, f"{WSDL}service/{WSDL}port").set("name", "P"))
    yield mutate("binding renamed", lambda r: first(r, f"{WSDL}binding").set("name", "B"))
    yield mutate("element renamed", lambda r: first(r, f"{WSDL}message/{WSDL}part[@name='parameters']")
                 .set("element", "tns:somethingElse") or _add_element(r, "somethingElse"))
    yield mutate("namespace", lambda r: _rename_namespace(r))


def _add_element(root, name):
    schema = root.find(f"{WSDL}types/{XS}schema")
    etree.SubElement(schema, f"{XS}element", name=name, type="s:string")


def _rename_namespace(root):
    root.set("targetNamespace", "urn://Ocpp/Cs/2099/01/")
    root.find(f"{WSDL}types/{XS}schema").set("targetNamespace", "urn://Ocpp/Cs/2099/01/")


@pytest.mark.parametrize("version,service", PAIRS)
def test_comparison_fails_on_any_difference(reference, version: str, service: str) -> None:
    """Mutate a copy of our WSDL in every way that matters on the wire; each must be caught."""
    theirs = contract(reference / OFFICIAL[(version, service)])
    doc = wsdlgen.build_wsdl(service_schema(version, service)).getroot()
    seen = 0
    for desc, mutated in _mutations(doc):
        try:
            ours = contract(etree.tostring(mutated))
        except (KeyError, ValueError):
            seen += 1  # a dangling reference is a difference too
            continue
        assert differences(ours, theirs), f"mutation not detected: {desc}"
        seen += 1
    assert seen == 15
