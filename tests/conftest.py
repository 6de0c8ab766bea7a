"""Shared test fixtures: where ../shared is, free ports, and small HTTP helpers."""

from __future__ import annotations

import logging
import os
import random
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


@pytest.fixture(autouse=True)
def root_logging_restored():
    """Commands run in-process (the demo, ``chargepoint run``) set up logging as a program does:
    a root handler on the stderr of that moment, which is the test's captured stream, and the
    root level. Put both back, so later tests do not log into a closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def reference() -> Path:
    return shared_reference()


def free_port() -> int:
    """A port nothing listens on, for a server a test starts as another process.

    Port 0 would hand out the kernel's ephemeral ports, which outgoing connections also use and
    which a just-stopped server of an earlier test may still hold: a random port below the
    ephemeral range that binds now avoids both.
    """
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Shared helpers named test_*_support.py hold no tests; collecting them would import two modules
# of the same basename from different folders.
collect_ignore_glob = ["*_support.py"]
