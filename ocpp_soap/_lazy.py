"""Public names of a package that load on first use (PEP 562).

Every module of ocpp_soap imports its package first, and ``ocpp_soap.soap`` is imported by
``ocpp_soap`` itself before Spyne is patched. A package ``__init__`` that imported its public
classes eagerly would pull zeep, Spyne and lxml into every ``import ocpp_soap…`` (the CLI's
``--version`` included) and could run them before the patch. So the ``__init__`` declares
``name → module`` and this helper resolves a name the first time it is read.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(namespace: dict[str, Any],
                 exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the package whose ``globals()`` is ``namespace``.

    ``exports`` maps each public name to the submodule (relative to the package) defining it.
    A resolved name is stored in the package, so the lookup happens once. Reading any other
    missing name raises ``AttributeError`` as usual, which also lets ``from package import
    submodule`` fall back to importing the submodule.
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
