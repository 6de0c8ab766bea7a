"""Packaging shim: metadata lives in setup.cfg.

The repository keeps ``wsdl/`` and ``samples/`` at its top level (operators look for them there), but an
installed package must carry them too, so the build copies both into ``ocpp_soap/_data/``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent


class BuildWithData(build_py):
    """build_py that also places the top-level data folders inside the package."""

    def run(self) -> None:
        super().run()
        for folder in ("wsdl", "samples"):
            src = HERE / folder
            if src.is_dir():
                dst = Path(self.build_lib) / "ocpp_soap" / "_data" / folder
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(src, dst)


setup(cmdclass={"build_py": BuildWithData})
