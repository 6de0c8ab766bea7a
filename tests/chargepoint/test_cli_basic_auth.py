"""The simulator authenticates with HTTP Basic (``--basic-auth``, ``--basic-auth-file``,
``OCPP_SOAP_CP_PASSWORD``, or credentials in the ``--central`` URL), against a real Central
System, and the password appears in no log line, no capture file and no WS-A header."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocpp_soap.central.storage.models import EnvelopeLog
from ocpp_soap.chargepoint.cli import main
from tests.central.test_e2e_support import InProcessCS, rows

PASSWORD = "Zq8-very-secret-77"
SCENARIO = "id: CB1\nversion: '1.6'\nsteps:\n  - send: {action: Heartbeat}\n"


@pytest.fixture
def cs(tmp_path):
    with InProcessCS(tmp_path / "cs.db") as central:
        central.admin.add_chargebox("CB1", auth_secret=PASSWORD)
        yield central


def _run(tmp_path, *args: str) -> int:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    return main(["scenario", str(scenario), "--capture", str(tmp_path / "cap"), *args])


def _no_leak(cs, tmp_path, capsys, caplog) -> None:
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    assert PASSWORD not in caplog.text
    for f in Path(tmp_path / "cap").rglob("*"):
        if f.is_file():
            assert PASSWORD not in f.read_text(errors="replace"), f
    cs.app.envelopes.flush()
    envelopes = [r.envelope for r in rows(cs.db_url, EnvelopeLog)]
    assert envelopes and not any(PASSWORD in e for e in envelopes)
    assert not any("CB1:" in e for e in envelopes)  # no user:password@ in wsa:To


def test_basic_auth_flag(cs, tmp_path, capsys, caplog):
    assert _run(tmp_path, "--central", cs.soap_url(), "--basic-auth", f"CB1:{PASSWORD}") == 0
    _no_leak(cs, tmp_path, capsys, caplog)


def test_password_file_and_environment(cs, tmp_path, capsys, caplog, monkeypatch):
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    assert _run(tmp_path, "--central", cs.soap_url(), "--basic-auth-file", str(secret)) == 0
    monkeypatch.setenv("OCPP_SOAP_CP_PASSWORD", PASSWORD)
    assert _run(tmp_path, "--central", cs.soap_url()) == 0
    _no_leak(cs, tmp_path, capsys, caplog)


def test_credentials_in_the_url_are_taken_out_of_it(cs, tmp_path, capsys, caplog):
    url = cs.soap_url().replace("http://", f"http://CB1:{PASSWORD}@")
    assert _run(tmp_path, "--central", url) == 0
    _no_leak(cs, tmp_path, capsys, caplog)


def test_wrong_or_missing_password_fails(cs, tmp_path, capsys):
    assert _run(tmp_path, "--central", cs.soap_url(), "--basic-auth", "CB1:nope") != 0
    assert _run(tmp_path, "--central", cs.soap_url()) != 0
    assert _run(tmp_path, "--central", cs.soap_url(), "--basic-auth", "no-colon") == 2
    assert "ID:PASSWORD" in capsys.readouterr().err
