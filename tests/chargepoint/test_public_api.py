"""``ocpp_soap.chargepoint``'s public face: what it exports, what stays private, and how an
override is registered and called (the snake_case conversion itself: ``test_names.py``).
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

import pytest

import ocpp_soap.chargepoint as public
from ocpp_soap.chargepoint import ChargePoint, HandlerContext, NotSupported, Scheduler
from ocpp_soap.chargepoint import cli as cp_cli
from ocpp_soap.messages import service_schema
from ocpp_soap.soap import faults
from ocpp_soap.soap.versions import CHARGEPOINT

PACKAGE = Path(public.__file__).parent


def test_all_lists_importable_public_names():
    assert sorted(public.__all__) == public.__all__
    for name in public.__all__:
        assert getattr(public, name) is not None
    assert public.ChargePoint.__module__ == "ocpp_soap.chargepoint._simulator"
    # the documented faults are the wire layer's own classes, not copies
    for name in ("OcppFault", "ProtocolError", "SecurityError", "NotSupported", "InternalError"):
        assert getattr(public, name) is getattr(faults, name)


def test_every_other_module_is_private_by_name():
    modules = sorted(p.stem for p in PACKAGE.glob("*.py"))
    public_modules = {m for m in modules if not m.startswith("_")}
    # cli: the command's entry point (ocpp_soap.cli loads it by name)
    assert public_modules == {"cli"}
    for m in modules:
        importlib.import_module(f"ocpp_soap.chargepoint.{m}")
    # the old names are gone, not kept as aliases
    assert not hasattr(ChargePoint, "cp")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("ocpp_soap.chargepoint.server")


def test_a_charge_point_runs_on_the_scheduler_it_is_given():
    own = Scheduler(workers=1)
    try:
        cp = ChargePoint("SCHED1", "http://127.0.0.1:9/cs", "1.6", scheduler=own)
        cp.close()
        assert cp.scheduler is own
        # close() leaves a scheduler it was given running: others may share it
        fired = threading.Event()
        own.call_later(0, fired.set)
        assert fired.wait(5)
    finally:
        own.shutdown()
    shared = ChargePoint("SCHED2", "http://127.0.0.1:9/cs", "1.6")
    shared.close()
    assert shared.scheduler is Scheduler.shared()


def test_the_cli_runs_the_public_class():
    args = cp_cli.build_parser().parse_args(["run", "--central", "http://127.0.0.1:9/cs"])
    sim = cp_cli._make_sim(args, {}, cp_cli._resolve(args, {}, "CB1"))
    try:
        assert type(sim) is ChargePoint
    finally:
        sim.close()


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_registration_refuses_what_the_version_lacks(version):
    operations = tuple(sorted(op.name for op in service_schema(version, CHARGEPOINT).operations))
    cp = ChargePoint("REG1", "http://127.0.0.1:9/cs", version)
    try:
        for action in operations:
            cp.on(action)(lambda context, **fields: context.default())
        assert cp.router.overridden() == operations
        with pytest.raises(ValueError, match="not a Central System → charge point operation"):
            cp.on("BootNotification")
        with pytest.raises(ValueError, match="not a Central System"):
            cp.on("Reset\r\nX-Injected: 1")
        with pytest.raises(TypeError, match="must be callable"):
            cp.on("Reset")("not a function")
        if version == "1.5":
            with pytest.raises(ValueError, match="SetChargingProfile does not exist in OCPP 1.5"):
                cp.on("SetChargingProfile")
    finally:
        cp.close()
    assert len(operations) == {"1.5": 15, "1.6": 19}[version]


def test_an_override_is_called_with_snake_case_fields_and_a_context():
    """In process, without the wire: the router calls the override as documented."""
    cp = ChargePoint("CTX1", "http://127.0.0.1:9/cs", "1.6")
    seen: list = []

    @cp.on("ReserveNow")
    def reserve(context: HandlerContext, **fields):
        seen.append((context, fields))
        if fields["connector_id"] == 9:
            raise NotSupported("no connector 9 here")
        return {"status": "Occupied"}

    try:
        payload = {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "T",
                   "reservationId": 3, "parentIdTag": "P"}
        assert cp.handle("ReserveNow", None, payload) == {"status": "Occupied"}
        context, fields = seen[0]
        assert fields == {"connector_id": 1, "expiry_date": "2030-01-01T00:00:00Z", "id_tag": "T",
                          "reservation_id": 3, "parent_id_tag": "P"}
        assert (context.action, context.version, context.identity) == ("ReserveNow", "1.6", "CTX1")
        assert context.charge_point is cp and context.peer is None
        with pytest.raises(NotSupported):
            cp.handle("ReserveNow", None, {**payload, "connectorId": 9})
        # the request the override was given is untouched for the built-in behaviour
        assert payload["connectorId"] == 1 and "connector_id" not in payload
    finally:
        cp.close()
