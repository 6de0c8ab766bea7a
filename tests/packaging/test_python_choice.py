"""``scripts/find-python.sh``: which interpreter ``make`` builds the virtual environment with.

Run with a PATH and a pyenv root made in the test, so the answers do not depend on this machine's
Pythons: a ``python3.13`` on PATH that is a pyenv shim saying "command not found" must not be
taken, and the real interpreter under the pyenv root must.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "find-python.sh"
HERE = f"{sys.version_info.major}.{sys.version_info.minor}"


def _find(tmp_path: Path, *args: str, path: list[Path], pyenv_root: Path) -> subprocess.CompletedProcess:
    env = {"PATH": os.pathsep.join([*map(str, path), "/usr/bin", "/bin"]), "PYENV_ROOT": str(pyenv_root),
           "HOME": str(tmp_path)}
    # /usr/bin may hold a real python3.X: hide it behind broken shims of every supported version.
    return subprocess.run(["sh", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)


def _shims(folder: Path) -> Path:
    folder.mkdir()
    for version in ("3.11", "3.12", "3.13"):
        shim = folder / f"python{version}"
        shim.write_text(f"#!/bin/sh\necho 'pyenv: python{version}: command not found' >&2\nexit 127\n")
        shim.chmod(0o755)
    return folder


def _installed(pyenv_root: Path, full_version: str) -> Path:
    """A pyenv-style install whose pythonX.Y is this test's own interpreter."""
    major_minor = ".".join(full_version.split(".")[:2])
    bin_dir = pyenv_root / "versions" / full_version / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / f"python{major_minor}").symlink_to(sys.executable)
    return bin_dir / f"python{major_minor}"


def test_a_shim_that_does_not_run_falls_back_to_the_pyenv_install(tmp_path):
    shims = _shims(tmp_path / "shims")
    installed = _installed(tmp_path / "pyenv", f"{HERE}.0")
    found = _find(tmp_path, f"python{HERE}", path=[shims], pyenv_root=tmp_path / "pyenv")
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(installed)


def test_without_a_name_the_newest_working_version_is_taken(tmp_path):
    shims = _shims(tmp_path / "shims")
    _installed(tmp_path / "pyenv", f"{HERE}.0")
    found = _find(tmp_path, path=[shims], pyenv_root=tmp_path / "pyenv")
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip().endswith(f"/versions/{HERE}.0/bin/python{HERE}")


def test_a_working_name_on_path_is_used_as_an_absolute_path(tmp_path):
    good = tmp_path / "bin"
    good.mkdir()
    (good / f"python{HERE}").symlink_to(sys.executable)
    found = _find(tmp_path, f"python{HERE}", path=[good], pyenv_root=tmp_path / "none")
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).is_absolute()


def test_nothing_that_runs_gives_one_clear_line(tmp_path):
    shims = _shims(tmp_path / "shims")
    found = _find(tmp_path, path=[shims], pyenv_root=tmp_path / "none")
    assert found.returncode == 1
    assert found.stdout == ""
    lines = found.stderr.strip().splitlines()
    assert len(lines) == 1 and "3.13, 3.12 or 3.11" in lines[0]


def test_an_unsupported_version_is_refused_by_name(tmp_path):
    found = _find(tmp_path, "python3.9", path=[_shims(tmp_path / "shims")], pyenv_root=tmp_path / "none")
    assert found.returncode == 1
    assert "python3.9 does not run here" in found.stderr and "3.13, 3.12, 3.11" in found.stderr
