"""Where the data folders (``wsdl/``, ``samples/``) are, installed or in a checkout.

An installed package carries them in ``ocpp_soap/_data`` (see setup.py); a checkout or an editable
install has them at the repository's top level. Looking in both keeps ``pip install .`` and
``pip install -e .`` equally usable.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """Return the folder ``name`` (``"wsdl"`` or ``"samples"``)."""
    for candidate in (PACKAGE_DIR / "_data" / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"data folder {name!r} not found next to {PACKAGE_DIR}")


def wsdl_path(version: str, service: str) -> Path:
    """Path of the project's WSDL for ``version`` ("1.5"/"1.6") and ``service``
    ("CentralSystemService"/"ChargePointService")."""
    return data_dir("wsdl") / f"ocpp{version.replace('.', '')}" / f"{service}.wsdl"


def repo_root() -> Path:
    """The checkout's top folder (tests and tools that read ``../shared`` start here)."""
    return PACKAGE_DIR.parent
