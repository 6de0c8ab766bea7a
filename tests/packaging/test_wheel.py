"""``pip install .`` (not editable) must carry the WSDLs and samples, and find them at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_carries_data_and_finds_it(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("ocpp_soap-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for v in ("15", "16"):
        for s in ("CentralSystemService", "ChargePointService"):
            assert f"ocpp_soap/_data/wsdl/ocpp{v}/{s}.wsdl" in names
    assert any(n.startswith("ocpp_soap/_data/samples/ocpp16/") for n in names) or not (
        ROOT / "samples" / "ocpp16").is_dir()
    # The web console's templates and its own CSS/JS.
    console = ROOT / "ocpp_soap" / "central" / "console"
    shipped = {f"ocpp_soap/central/console/{p.relative_to(console).as_posix()}"
               for pattern in ("templates/*.html", "static/*") for p in console.glob(pattern)}
    assert shipped and shipped <= names, shipped - names
    # Unpacked on its own (no checkout around it), the package finds its WSDLs.
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = ("from ocpp_soap import paths; p = paths.wsdl_path('1.6', 'ChargePointService');"
            "assert '_data' in str(p) and p.is_file(), p; print(p);"
            "from importlib import resources as r;"
            "t = r.files('ocpp_soap.central.console').joinpath('templates', 'base.html');"
            "assert 'doctype' in t.read_text()")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
                         timeout=60)
    assert out.returncode == 0, out.stderr
