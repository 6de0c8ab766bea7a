"""The domain works with the wire layer's real CallContext (not only the test look-alike)."""

from __future__ import annotations

import pytest

from ocpp_soap.central.errors import SecurityError
from ocpp_soap.central.handlers import build_handlers
from ocpp_soap.central.testing import central_on_file
from ocpp_soap.soap import context


def make(**kw):
    base = dict(
        charge_box_id="CB1",
        version="1.6",
        service="CentralSystemService",
        action="Heartbeat",
        peer="192.0.2.10",
    )
    base.update(kw)
    return context.CallContext(**base)


def test_real_call_context_drives_handlers(tmp_path):
    central = central_on_file(tmp_path)
    central.admin.add_chargebox("CB1", auth_secret="pw")
    handlers = build_handlers(central)
    ok = make(from_address="http://:8082/", basic_auth_user="CB1", basic_auth_password="pw")
    assert "currentTime" in handlers["Heartbeat"](ok, {})
    assert central.admin.get_chargebox("CB1")["endpoint_address"] == "http://192.0.2.10:8082/"
    with pytest.raises(SecurityError):
        handlers["Heartbeat"](make(basic_auth_user="CB1", basic_auth_password="bad"), {})
