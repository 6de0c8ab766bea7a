"""Let Spyne 2.14 import on Python 3.12 and 3.13.

What it repairs: Spyne 2.14 ships its own old copy of ``six`` (``spyne/util/six.py``). That copy
installs a meta-path importer for ``spyne.util.six.moves`` that has only the PEP 302 methods
``find_module``/``load_module``. Python 3.12 no longer calls them, so ``spyne.util.six.moves`` and
with it Spyne cannot be imported. Here that one file is loaded before Spyne's package ``__init__``
runs, and its importer class gets the PEP 451 methods (``find_spec``, ``create_module``,
``exec_module``) that newer ``six`` releases have.

The other 3.13 break, ``import cgi`` in ``spyne.protocol.soap.soap11`` (the module was removed
from the standard library), is met by the ``legacy-cgi`` dependency, not by code here.

On Python 3.11 this does nothing: the old methods still work there.

When to drop it: when Spyne is replaced, or a Spyne release newer than 2.14 ships a current ``six``
(check that ``spyne/util/six.py``'s ``_SixMetaPathImporter`` has ``find_spec``).

It is applied once, by ``ocpp_soap/__init__.py``, so it has taken effect before any module of the
package can import Spyne; ``tests/wire/test_spyne_compat.py`` fails if that ever stops holding.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

__all__ = ["apply", "applied"]

_SIX = "spyne.util.six"
_applied = False


def applied() -> bool:
    """True once :func:`apply` has run in this process (on any Python)."""
    return _applied


def _find_spec(self: Any, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
    if fullname in self.known_modules:
        return importlib.util.spec_from_loader(fullname, self)
    return None


def _create_module(self: Any, spec: ModuleSpec) -> ModuleType:
    return self.load_module(spec.name)


def _exec_module(self: Any, module: ModuleType) -> None:
    """The module was complete when :func:`_create_module` returned it."""


def _load_vendored_six() -> ModuleType | None:
    """Import ``spyne/util/six.py`` under its own name without running Spyne's ``__init__``."""
    if _SIX in sys.modules:
        return sys.modules[_SIX]
    spyne_spec = importlib.util.find_spec("spyne")
    if spyne_spec is None or not spyne_spec.submodule_search_locations:
        return None
    for folder in spyne_spec.submodule_search_locations:
        spec = importlib.util.spec_from_file_location(_SIX, f"{folder}/util/six.py")
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[_SIX] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[_SIX]
            raise
        return module
    return None


def apply() -> None:
    """Repair Spyne's vendored ``six`` importer on Python 3.12 and newer; idempotent."""
    global _applied
    if _applied:
        return
    if sys.version_info >= (3, 12):
        if "spyne" in sys.modules and _SIX not in sys.modules:
            raise ImportError("spyne was imported before ocpp_soap.soap.spyne_compat could repair it")
        six = _load_vendored_six()
        if six is not None:
            importer = six._SixMetaPathImporter
            if not hasattr(importer, "find_spec"):
                importer.find_spec = _find_spec
                importer.create_module = _create_module
                importer.exec_module = _exec_module
    _applied = True
