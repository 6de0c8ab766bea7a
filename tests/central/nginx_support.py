"""Debian's nginx running the shipped site file (no tests here).

The site file in ``deploy/nginx/`` is used as shipped, with only what must differ in a test put
in: the upstream port, the listen address and the certificate paths. A minimal main
configuration around it keeps pid, logs and temporary files in the test's folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.conftest import ROOT, free_port, missing

SITE = ROOT / "deploy" / "nginx" / "ocpp-soap.conf"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if found is None:
        missing("Debian's nginx is not installed (apt-get install nginx)")
    return found


class Nginx:
    """nginx in front of ``upstream_port`` on 127.0.0.1:``port`` with TLS, until ``stop()``."""

    def __init__(self, folder: Path, upstream_port: int, cert: Path, key: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = free_port()
        site = SITE.read_text()
        for old, new in (("server 127.0.0.1:8180;", f"server 127.0.0.1:{upstream_port};"),
                         ("listen 443 ssl;", f"listen 127.0.0.1:{self.port} ssl;"),
                         ("listen [::]:443 ssl;\n", ""),
                         ("/etc/ssl/ocpp-soap/cs.example.com.crt", str(cert)),
                         ("/etc/ssl/ocpp-soap/cs.example.com.key", str(key))):
            assert old in site, f"the site file no longer has {old!r}"
            site = site.replace(old, new)
        (folder / "site.conf").write_text(site)
        temp = " ".join(f"{kind}_temp_path {folder / kind};"
                        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        user = "user root;\n" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\n"
            f"error_log {folder / 'error.log'} info;\n"
            "events { worker_connections 512; }\n"
            f"http {{\n  access_log {folder / 'access.log'};\n  {temp}\n"
            f"  include {folder / 'site.conf'};\n}}\n")
        binary = nginx_binary()
        args = [binary, "-p", str(folder), "-e", str(folder / "error.log"),
                "-c", str(folder / "nginx.conf")]
        check = subprocess.run([*args, "-t"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen([*args, "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        self.url = f"https://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.1)

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> Nginx:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
