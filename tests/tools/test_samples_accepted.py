"""Every request in ``samples/`` is accepted by the project's own receivers (issue 14, item 13),
over real HTTP: the CS→CP samples by the simulator, the CP→CS samples by the Central System.

"Accepted" means read and answered with a reply, not a fault. A reply may still say no where the
receiver's state explains it (RemoteStop of a transaction the simulator is not running); the
RemoteStartTransaction sample, whose TxProfile once carried a transactionId (OCPP 1.6 5.16 forbids
it), must be started.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from lxml import etree

from ocpp_soap.messages.examples import TAG
from ocpp_soap.soap.versions import SOAP12_NS
from ocpp_soap.tools import samplegen
from ocpp_soap.tools.envelope import read_envelope
from tests.central.test_e2e_support import InProcessCS
from tests.chargepoint.test_e2e_support import TestCentral, close_cp, start_cp
from tests.conftest import ROOT

SAMPLES = ROOT / "samples"
REQUESTS = sorted(SAMPLES.glob("ocpp1*/*.req.xml"))
CT = "application/soap+xml; charset=utf-8"


@pytest.fixture(scope="module")
def receivers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("samples")
    central = TestCentral().start()
    sims = {v: start_cp(central, v, identity=samplegen.CHARGE_BOX) for v in ("1.5", "1.6")}
    cs = InProcessCS(tmp / "cs.db")
    cs.admin.add_chargebox(samplegen.CHARGE_BOX)
    cs.admin.add_tag(TAG, max_active_transactions=None)
    cs.admin.add_tag("FLEET01")
    try:
        yield cs, sims
    finally:
        cs.stop()
        for sim in sims.values():
            close_cp(sim)
        central.stop()


def _reply(path: Path, url: str) -> etree._Element:
    r = requests.post(url, data=path.read_bytes(), headers={"Content-Type": CT}, timeout=15)
    doc = etree.fromstring(r.content)
    fault = doc.find(f".//{{{SOAP12_NS}}}Fault")
    assert r.status_code == 200 and fault is None, (path.name, r.status_code, r.text)
    return doc


def test_every_request_sample_is_covered():
    assert len(REQUESTS) == 54


@pytest.mark.parametrize("path", REQUESTS, ids=lambda p: p.relative_to(SAMPLES).as_posix())
def test_request_sample_is_accepted(receivers, path):
    cs, sims = receivers
    env = read_envelope(path)
    if env.service == "ChargePointService":
        doc = _reply(path, sims[env.ocpp_version].url)
    else:
        doc = _reply(path, cs.soap_url(env.ocpp_version))
    assert doc is not None


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_remote_start_sample_starts_charging(version):
    """On a fresh simulator (the other samples change its state: ChangeAvailability, Reset …)."""
    central = TestCentral().start()
    sim = start_cp(central, version, identity=samplegen.CHARGE_BOX)
    try:
        path = SAMPLES / f"ocpp{version.replace('.', '')}" / "RemoteStartTransaction.req.xml"
        doc = _reply(path, sim.url)
        status = [el.text for el in doc.iter() if isinstance(el.tag, str)
                  and etree.QName(el).localname == "status"]
        assert status == ["Accepted"], etree.tostring(doc)
    finally:
        close_cp(sim)
        central.stop()
