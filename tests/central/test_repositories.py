"""The repositories' seams: records write back what changed, and the modules that hold the
message and command rules reach storage only through the repository protocols (no ORM session,
no SQL of their own). No database needed; the one path itself is ``test_domain_one_path``."""

from __future__ import annotations

import ast
from pathlib import Path

from ocpp_soap.central.repositories import Record

CENTRAL = Path(__file__).resolve().parents[2] / "ocpp_soap" / "central"


def test_a_record_writes_back_only_what_changed():
    row = Record(id=1, status="Accepted", note=None)
    assert row.changes() == {}
    row.status, row.note = "Blocked", "lost"
    assert row.changes() == {"status": "Blocked", "note": "lost"}
    row.mark_saved()
    assert row.changes() == {}


def _imports_and_attributes(name: str) -> tuple[set[str], set[str]]:
    tree = ast.parse((CENTRAL / name).read_text())
    imported = {node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
    imported |= {f"{node.module}.{alias.name}" for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module for alias in node.names}
    attributes = {ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    return imported, attributes


def test_the_domain_reaches_storage_only_through_the_repositories():
    """No ORM session or SQL in the modules that hold the message rules."""
    for name in ("domain.py", "admission.py", "gate.py"):
        imported, _ = _imports_and_attributes(name)
        assert not {m for m in imported if m.startswith("sqlalchemy")}, name
        assert "storage.models" not in imported, name


def test_the_outbound_rules_reach_storage_only_through_the_repositories():
    """``commands`` keeps the SQL conditions of its states (admin and the repositories build
    their statements from them) but opens no ORM session and no store unit of its own."""
    imported, attributes = _imports_and_attributes("commands.py")
    assert not {m for m in imported if m.startswith("sqlalchemy.orm")}
    assert not {m for m in imported if m.endswith(("Session", "storage.store", "store.Store"))}
    assert not {a for a in attributes
                if a.endswith(("store.read", "store.write", "store._read", "store._write"))}
    assert {"self.units.write", "self.units.read"} <= attributes
