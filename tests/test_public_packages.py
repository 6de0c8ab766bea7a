"""Each public package says what is public in ``__all__``, and every name listed there is real.

``ocpp_soap.soap``, ``ocpp_soap.messages`` and ``ocpp_soap.tools`` load their names on first use
(``ocpp_soap/_lazy.py``): ``import ocpp_soap`` imports ``ocpp_soap.soap`` before Spyne is
patched, so these packages must not pull in zeep, Spyne or lxml when imported. That is checked
in a fresh interpreter, where nothing else has loaded them yet.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PACKAGES = ["ocpp_soap", "ocpp_soap.central", "ocpp_soap.chargepoint", "ocpp_soap.messages",
            "ocpp_soap.soap", "ocpp_soap.tools"]
#: where a lazily exported name is defined (a sample per package: the name is that module's own)
DEFINED_IN = {
    "ocpp_soap.soap": {"OcppClient": "client", "OcppEndpoint": "server", "CallContext": "context",
                       "ProtocolError": "faults", "VERSIONS": "versions"},
    "ocpp_soap.messages": {"service_schema": "catalog", "example": "examples",
                           "parse_xsd_datetime": "xsdtime"},
    "ocpp_soap.tools": {"diff_envelopes": "diff", "validate_envelope": "validate",
                        "read_envelope": "envelope", "CaptureWriter": "capture"},
}


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_names_that_exist(name):
    package = importlib.import_module(name)
    public = package.__all__
    assert isinstance(public, list) and public, name
    assert len(set(public)) == len(public), name
    for attr in public:
        assert getattr(package, attr) is not None, f"{name}.{attr}"
        assert attr in dir(package), f"{name}.{attr}"
    if name != "ocpp_soap.central":  # that one's order is its own business
        assert public == sorted(public), name


@pytest.mark.parametrize("name", sorted(DEFINED_IN))
def test_a_lazy_name_is_the_defining_module_own_object(name):
    package = importlib.import_module(name)
    for attr, module in DEFINED_IN[name].items():
        assert getattr(package, attr) is getattr(importlib.import_module(f"{name}.{module}"), attr)
    with pytest.raises(AttributeError, match=f"module '{name}' has no attribute 'NoSuchName'"):
        package.NoSuchName  # noqa: B018 - the lookup is what is tested
    # a name that is neither exported nor present is still an import error, not a crash
    with pytest.raises(ImportError):
        exec(f"from {name} import NoSuchName", {})


def test_submodules_still_import_by_name():
    """``from package import module`` falls back to the submodule when no export has its name."""
    from ocpp_soap.messages import types
    from ocpp_soap.soap import faults
    from ocpp_soap.tools import diff

    assert faults.__name__ == "ocpp_soap.soap.faults"
    assert types.__name__ == "ocpp_soap.messages.types"
    assert diff.__name__ == "ocpp_soap.tools.diff"


def test_star_import_gives_exactly_the_public_names():
    for name in ("ocpp_soap.soap", "ocpp_soap.messages", "ocpp_soap.tools"):
        namespace: dict = {}
        exec(f"from {name} import *", namespace)
        assert set(namespace) - {"__builtins__"} == set(importlib.import_module(name).__all__), name


def test_importing_the_packages_loads_no_heavy_dependency():
    code = (
        "import json, sys\n"
        "import ocpp_soap, ocpp_soap.soap, ocpp_soap.messages, ocpp_soap.tools\n"
        "heavy = ('zeep', 'lxml', 'sqlalchemy', 'requests', 'spyne')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    # the one Spyne module ocpp_soap touches on import is the vendored six it repairs, and only
    # on the Pythons that need the repair (``soap.spyne_compat``: 3.12 and later)
    repaired = ["spyne.util.six"] if sys.version_info >= (3, 12) else []
    assert json.loads(out) == repaired
