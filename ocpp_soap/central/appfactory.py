"""``serve --app module:factory``: find a user's application factory.

``module`` is a dotted module name (looked up from the current directory too, as gunicorn does)
or a path to a ``.py`` file; ``factory`` is a callable taking no arguments that returns the WSGI
application, normally built with ``ocpp_soap.central.create_app``. Errors are ``ValueError``
with a sentence for the operator (the CLI exits 2 with it).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def load_factory(spec: str) -> Callable[[], Any]:
    module_name, sep, attr = spec.rpartition(":")
    attr = attr.strip().removesuffix("()")
    if not sep or not module_name or not attr.isidentifier():
        raise ValueError(f"--app {spec!r}: expected MODULE:FACTORY (e.g. myapp:make_app)")
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = Path(module_name).resolve()
            if not path.is_file():
                raise ValueError(f"--app: no file {module_name}")
            name = "_ocpp_soap_app_" + path.stem
            loaded = importlib.util.spec_from_file_location(name, path)
            if loaded is None or loaded.loader is None:
                raise ValueError(f"--app: cannot load {module_name}")
            module = importlib.util.module_from_spec(loaded)
            sys.modules[name] = module
            loaded.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except ValueError:
        raise
    except ImportError as exc:
        raise ValueError(f"--app: cannot import {module_name}: {exc}") from None
    except Exception as exc:  # the user's module failed while importing
        raise ValueError(f"--app: importing {module_name} failed: {type(exc).__name__}: "
                         f"{exc}") from None
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise ValueError(f"--app: {module_name} has no callable {attr}")
    return factory
