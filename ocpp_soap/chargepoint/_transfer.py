"""File transfers of the simulator: diagnostics upload and firmware download.

A CS under test hands out ``file://`` locations as often as HTTP ones (no server needed in a test),
so both are supported; FTP, which real chargers often use, is not, and fails like an unreachable
server would.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import requests

TIMEOUT_S = 10


def _file_path(url: str) -> Path:
    parsed = urlparse(url)
    return Path(unquote(parsed.path))


def upload(location: str, file_name: str, content: bytes) -> None:
    """Put ``content`` as ``file_name`` into the directory ``location``; raise on failure."""
    scheme = urlparse(location).scheme.lower()
    if scheme == "file":
        directory = _file_path(location)
        if not directory.is_dir():
            raise OSError(f"no such directory: {directory}")
        (directory / file_name).write_bytes(content)
        return
    if scheme in ("http", "https"):
        target = location.rstrip("/") + "/" + file_name
        resp = requests.put(target, data=content, timeout=TIMEOUT_S)
        if resp.status_code in (405, 501):  # no PUT there: try a form upload to the directory URL
            resp = requests.post(location, files={"file": (file_name, content)}, timeout=TIMEOUT_S)
        resp.raise_for_status()
        return
    raise OSError(f"unsupported upload scheme: {scheme or location!r}")


def download(location: str) -> bytes:
    """Fetch the file at ``location``; raise on failure."""
    scheme = urlparse(location).scheme.lower()
    if scheme == "file":
        return _file_path(location).read_bytes()
    if scheme in ("http", "https"):
        resp = requests.get(location, timeout=TIMEOUT_S)
        resp.raise_for_status()
        return resp.content
    raise OSError(f"unsupported download scheme: {scheme or location!r}")


def firmware_version_of(location: str, content: bytes) -> str:
    """The version a downloaded image installs: a ``version=`` first line, else the file's name."""
    first = content.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    if first.lower().startswith("version="):
        return first.split("=", 1)[1].strip()[:50]
    name = Path(unquote(urlparse(location).path)).name
    return (name.rsplit(".", 1)[0] if "." in name else name)[:50] or "unknown"
