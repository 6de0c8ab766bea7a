"""TLS both ways, with certificates made in the test.

``serve`` speaks HTTPS (``--certfile --keyfile``), asks for client certificates (``--ca-certs
--client-cert optional|required``, or the settings' environment variables) and maps a verified
certificate to the box: subject CN or a DNS SAN equal to the chargeBoxIdentity, or the SHA-256
fingerprint stored on the box. Calls to charge points use the ``chargepoint_*`` CA bundle and
client certificate, and a certificate failure is reported as such.
"""

from __future__ import annotations

import ssl
import threading

import pytest
import requests
from werkzeug.serving import make_server

from ocpp_soap.central.cli import main
from ocpp_soap.central.domain import CentralSystem
from ocpp_soap.central.settings import CentralSettings
from ocpp_soap.central.storage.models import BoxEvent
from tests.central.test_e2e_support import GunicornCS, InProcessCS, rows, sqlite_url
from tests.central.tls_support import CA
from tests.central.trust_support import Recorder, send


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ca = CA(folder)
    return {"ca": ca, "server": ca.issue("cs-server", server=True), "CB1": ca.issue("CB1"),
            "other": ca.issue("OTHER"), "device": ca.issue("fleet-device-77"),
            "san": ca.issue("vendor-x", dns=("CB5",)),
            "stranger": CA(folder / "elsewhere", "Stranger CA").issue("CB1")}


def _register(db, **boxes):
    admin = CentralSystem.open(CentralSettings(db_url=sqlite_url(db))).admin
    for box, kwargs in boxes.items():
        admin.add_chargebox(box, **kwargs)


def test_https_with_client_certificates_end_to_end(tmp_path, pki):
    ca, server = pki["ca"], pki["server"]
    db = tmp_path / "cs.db"
    _register(db, CB1={}, CB3={"cert_fingerprint": pki["device"].fingerprint},
              CB4={"auth_secret": "pw"}, CB5={})
    verify = str(ca.path)
    with GunicornCS(db, "--certfile", str(server.cert), "--keyfile", str(server.key),
                    "--ca-certs", verify, "--client-cert", "optional", "--require-auth", "any",
                    workers=1, scheme="https", verify=verify) as cs:
        url = cs.soap_url()
        assert url.startswith("https://")
        # the certificate names the box
        assert not send(url, "CB1", "BootNotification", verify=verify,
                        cert=pki["CB1"].pair).fault
        assert not send(url, "CB1", "Heartbeat", verify=verify, cert=pki["CB1"].pair).fault
        assert not send(url, "CB5", "BootNotification", verify=verify,
                        cert=pki["san"].pair).fault  # by its DNS subjectAltName
        # no certificate, or one naming another box: nothing proven (require_auth any)
        for cert in (None, pki["other"].pair):
            reply = send(url, "CB1", "Heartbeat", verify=verify, cert=cert)
            assert reply.fault and reply.subcode().endswith(":SecurityError"), cert
        # a certificate from another CA is refused in the handshake
        with pytest.raises(requests.exceptions.RequestException):
            send(url, "CB1", "Heartbeat", verify=verify, cert=pki["stranger"].pair)
        # the stored fingerprint maps a certificate whatever its names
        assert not send(url, "CB3", "BootNotification", verify=verify,
                        cert=pki["device"].pair).fault
        assert send(url, "CB3", "Heartbeat", verify=verify, cert=pki["CB1"].pair).fault
        # Basic auth, now over TLS
        assert not send(url, "CB4", "Heartbeat", verify=verify, auth=("CB4", "pw")).fault
        # plain HTTP on the TLS port gets nowhere
        with pytest.raises(requests.exceptions.RequestException):
            requests.post(url.replace("https://", "http://"), data=b"x", timeout=5)
        cs.stop()
        log = cs.log()
    assert "Central System on https://" in log
    kinds = {(e.charge_box_id, e.kind) for e in rows(cs.db_url, BoxEvent)}
    assert ("CB3", "auth_failed") in kinds and ("CB1", "auth_failed") in kinds


def test_required_client_certificate_from_the_environment(tmp_path, pki):
    ca, server = pki["ca"], pki["server"]
    db = tmp_path / "cs.db"
    _register(db, CB1={})
    verify = str(ca.path)
    env = {"OCPP_SOAP_CERTFILE": str(server.cert), "OCPP_SOAP_KEYFILE": str(server.key),
           "OCPP_SOAP_CA_CERTS": verify, "OCPP_SOAP_CLIENT_CERT": "required"}
    with GunicornCS(db, workers=1, env=env, scheme="https", verify=verify,
                    cert=pki["CB1"].pair) as cs:
        assert not send(cs.soap_url(), "CB1", "BootNotification", verify=verify,
                        cert=pki["CB1"].pair).fault
        with pytest.raises(requests.exceptions.RequestException):
            send(cs.soap_url(), "CB1", "Heartbeat", verify=verify)


def test_tls_settings_are_checked_before_start(tmp_path, pki, capsys):
    db = f"sqlite:///{tmp_path / 'cs.db'}"
    cases = [(["--client-cert", "required"], "needs TLS"),
             (["--certfile", str(pki["server"].cert), "--keyfile", str(pki["server"].key),
               "--client-cert", "optional"], "--ca-certs"),
             (["--certfile", str(tmp_path / "missing.pem")], "cannot read"),
             (["--certfile", str(pki["server"].cert), "--keyfile", str(pki["CB1"].key)],
              "unusable")]
    for args, words in cases:
        assert main(["serve", "--db", db, "--show-config", *args]) == 2
        assert words in capsys.readouterr().err, args


class TlsChargePoint:
    """A 'charge point' serving HTTPS with the test CA's server certificate; ``ca`` makes it
    require a client certificate from that CA."""

    def __init__(self, pki, require_client: bool = False):
        self.recorder = Recorder()
        self.recorder.stop()  # only its WSGI app is used, behind our own TLS server
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*pki["server"].pair)
        if require_client:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(str(pki["ca"].path))
        self.server = make_server("127.0.0.1", 0, self.recorder, threaded=True, ssl_context=ctx)
        self.url = f"https://127.0.0.1:{self.server.server_port}/ocpp/ChargePointService"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def seen(self):
        return self.recorder.seen

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _call(cs, box="CB1"):
    return requests.post(f"{cs.url}/api/v1/chargeboxes/{box}/operations/ClearCache", json={},
                         timeout=20)


def test_calls_to_charge_points_use_the_tls_settings(tmp_path, pki, capsys):
    plain = TlsChargePoint(pki)
    strict = TlsChargePoint(pki, require_client=True)
    try:
        with InProcessCS(tmp_path / "a.db") as cs:
            cs.admin.add_chargebox("CB1", endpoint=plain.url, ocpp_version="1.6")
            r = _call(cs)  # our CA is not in the system bundle
            assert r.status_code == 502 and r.json()["kind"] == "certificate", r.text
            assert "certificate" in r.json()["error"].lower()
            entry = cs.admin.list_commands(charge_box_id="CB1")[0]
            assert entry["outcome"] == "error" and "TLS certificate problem" in entry["error"]
            assert plain.seen == []
        capsys.readouterr()
        assert main(["call", "CB1", "ClearCache", "--db", cs.db_url]) == 1
        assert "certificate: " in capsys.readouterr().err
        with InProcessCS(tmp_path / "b.db", chargepoint_ca_certs=str(pki["ca"].path)) as cs:
            cs.admin.add_chargebox("CB1", endpoint=plain.url, ocpp_version="1.6")
            cs.admin.add_chargebox("CB2", endpoint=strict.url, ocpp_version="1.6")
            assert _call(cs).json().get("kind") != "certificate"
            assert len(plain.seen) == 1  # trusted now: the request arrived
            r = _call(cs, "CB2")  # the charge point wants our client certificate
            assert r.status_code == 502 and r.json()["kind"] == "certificate", r.text
            assert strict.seen == []
        with InProcessCS(tmp_path / "c.db", chargepoint_ca_certs=str(pki["ca"].path),
                         chargepoint_certfile=str(pki["other"].cert),
                         chargepoint_keyfile=str(pki["other"].key)) as cs:
            cs.admin.add_chargebox("CB2", endpoint=strict.url, ocpp_version="1.6")
            assert _call(cs, "CB2").json().get("kind") != "certificate"
            assert len(strict.seen) == 1
    finally:
        plain.stop()
        strict.stop()
