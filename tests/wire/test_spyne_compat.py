"""Spyne imports only after ``ocpp_soap.soap.spyne_compat`` has repaired it (Python 3.12+).

Each module that imports Spyne is imported first thing in a fresh interpreter, with a watcher on
``sys.meta_path`` that notes, at the moment Spyne's package ``__init__`` starts to run, whether the
repair has taken effect. A module importing Spyne ahead of the package (and so of the repair) fails.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ocpp_soap.soap import spyne_compat

ROOT = Path(__file__).resolve().parents[2]

WATCHER = r"""
import importlib.machinery, json, sys

seen = []

class SpyneWatcher:
    def find_spec(self, name, path=None, target=None):
        if name != "spyne":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module
        def exec_module(module):
            compat = sys.modules.get("ocpp_soap.soap.spyne_compat")
            seen.append(bool(compat and compat.applied()))
            run(module)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, SpyneWatcher())
error = None
try:
    TARGET
except Exception as exc:
    error = f"{type(exc).__name__}: {exc}"
print(json.dumps({"seen": seen, "error": error}))
"""


def _run_first(statement: str) -> dict:
    """Run ``statement`` as the first import of a fresh interpreter, under the watcher."""
    code = WATCHER.replace("TARGET", statement)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _imports_spyne(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "spyne" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "spyne":
            return True
    return False


def _spyne_importers() -> list[str]:
    names = []
    for folder in ("ocpp_soap", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if _imports_spyne(path):
                names.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return names


def test_the_scan_finds_the_modules_that_use_spyne():
    names = _spyne_importers()
    assert "ocpp_soap.soap.spyne_app" in names
    assert "bench.apps" in names


@pytest.mark.parametrize("module", _spyne_importers())
def test_module_imports_spyne_only_after_the_repair(module):
    result = _run_first(f"import {module}")
    assert result["error"] is None, result["error"]
    assert result["seen"] == [True], f"{module} imported spyne before spyne_compat.apply() ran"


def test_the_watcher_catches_a_bare_spyne_import():
    """The check above can fail: importing Spyne itself first is seen as unrepaired."""
    result = _run_first("import spyne.protocol.soap")
    assert result["seen"] == [False]


def test_the_repair_is_in_effect_here():
    assert spyne_compat.applied()
    from spyne.util import six as vendored_six

    importer = vendored_six._SixMetaPathImporter
    if sys.version_info >= (3, 12):
        assert hasattr(importer, "find_spec")
        from spyne.util.six.moves import http_cookies  # the import 3.12 broke

        assert http_cookies.SimpleCookie
    else:
        assert not hasattr(importer, "find_spec"), "on 3.11 the module changes nothing"

