"""Shared test fixtures: where ../shared is, free ports, and small HTTP helpers."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "reference"


def shared_reference() -> Path:
    """The official reference folder; under CI it must exist, elsewhere its absence skips."""
    if SHARED.is_dir():
        return SHARED
    if os.environ.get("CI"):
        raise RuntimeError(f"CI run without {SHARED}: the reference files are required")
    pytest.skip(f"{SHARED} not present (the official reference files sit beside the checkout)")


@pytest.fixture
def reference() -> Path:
    return shared_reference()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Shared helpers named test_*_support.py hold no tests; collecting them would import two modules
# of the same basename from different folders.
collect_ignore_glob = ["*_support.py"]
