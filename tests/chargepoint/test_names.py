"""``idTag`` ↔ ``id_tag``: the names an override sees and returns (``chargepoint/_names.py``).

A unit test of that private module: every field name of both versions and both services survives
the round trip, and a reply with a wrong or missing key is refused naming it.
"""

from __future__ import annotations

import pytest

from ocpp_soap.chargepoint._names import camel, snake, to_snake, to_wire
from ocpp_soap.messages import Complex, TextWithAttributes, service_schema
from ocpp_soap.soap import CENTRAL, CHARGEPOINT


def _all_field_names() -> set[str]:
    names: set[str] = set()

    def visit(t) -> None:
        if isinstance(t, Complex):
            for f in t.fields:
                names.add(f.name)
                visit(f.type)
        elif isinstance(t, TextWithAttributes):
            names.update(a.name for a in t.attributes)

    for version in ("1.5", "1.6"):
        for service in (CENTRAL, CHARGEPOINT):
            for op in service_schema(version, service).operations:
                visit(op.request)
                visit(op.response)
    return names


def test_every_ocpp_field_name_survives_the_round_trip():
    names = _all_field_names()
    assert len(names) > 70
    for name in names:
        assert camel(snake(name)) == name, name
        assert snake(name).isidentifier() and snake(name) == snake(name).lower()
    assert snake("csChargingProfiles") == "cs_charging_profiles"
    assert snake("iccid") == "iccid"


def test_to_wire_names_the_wrong_key_and_the_missing_one():
    reply = service_schema("1.6", CHARGEPOINT).operation("GetConfiguration").response
    wire = to_wire({"configuration_key": [{"key": "K", "readonly": True, "value": "1"}],
                    "unknown_key": ["X"]}, reply, "GetConfiguration reply")
    assert wire == {"configurationKey": [{"key": "K", "readonly": True, "value": "1"}],
                    "unknownKey": ["X"]}
    assert to_snake(wire) == {"configuration_key": [{"key": "K", "readonly": True, "value": "1"}],
                              "unknown_key": ["X"]}
    with pytest.raises(ValueError, match=r"configuration_key\[0\] has no field 'read_only'"):
        to_wire({"configuration_key": [{"key": "K", "read_only": True}]}, reply, "reply")
    with pytest.raises(ValueError, match=r"configuration_key\[0\] lacks required readonly"):
        to_wire({"configuration_key": [{"key": "K"}]}, reply, "reply")
    with pytest.raises(ValueError, match="must be a dict, not str"):
        to_wire("Accepted", reply, "reply")
