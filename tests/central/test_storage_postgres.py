"""The same behaviour on PostgreSQL, when a server is given.

Each test gets its own throw-away database (the ``pg_url`` fixture) on the session's server: a
private cluster the suite starts, or the one ``OCPP_SOAP_TEST_PG_URL`` names.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from ocpp_soap.central.domain import CentralSystem
from ocpp_soap.central.settings import CentralSettings
from ocpp_soap.central.testing import Ctx

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def test_migrate_concurrently_and_run_a_session(pg_url):
    settings = CentralSettings(db_url=pg_url)
    centrals: list[CentralSystem] = []
    errors: list[BaseException] = []

    def open_one():
        try:
            centrals.append(CentralSystem.open(settings))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    central = centrals[0]
    central.admin.add_chargebox("CB1")
    central.admin.add_tag("TAG")
    central.boot(
        Ctx(from_address="http://:8082/"), {"chargePointVendor": "V", "chargePointModel": "M"}
    )
    central.status_notification(
        Ctx(), {"connectorId": 1, "status": "Charging", "errorCode": "NoError", "timestamp": T0}
    )
    central.status_notification(
        Ctx(),
        {
            "connectorId": 1,
            "status": "Preparing",
            "errorCode": "NoError",
            "timestamp": T0 - timedelta(minutes=1),
        },
    )
    # the last received wins (issue 14)
    assert central.admin.connector_status("CB1")[0]["status"] == "Preparing"
    start = central.start_transaction(
        Ctx(), {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": T0}
    )
    assert start["idTagInfo"]["status"] == "Accepted"
    again = central.start_transaction(
        Ctx(), {"connectorId": 2, "idTag": "TAG", "meterStart": 0, "timestamp": T0}
    )
    assert again["idTagInfo"]["status"] == "ConcurrentTx"
    central.queue_command("CB1", "Reset", {"type": "Soft"})
    assert central.claim_pending("CB1").operation == "Reset"
    tx = start["transactionId"]
    value = {"timestamp": T0, "sampledValue": [{"value": "5"}]}
    others = [c for c in centrals[1:]]
    workers = [
        threading.Thread(
            target=lambda: central.meter_values(
                Ctx(), {"connectorId": 1, "transactionId": tx, "meterValue": [value] * 3}
            )
        ),
        threading.Thread(
            target=lambda: others[0].stop_transaction(
                Ctx(), {"transactionId": tx, "meterStop": 5, "transactionData": [value]}
            )
        ),
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert central.admin.get_transaction(tx)["meter_stop"] == 5
    assert len(central.admin.list_meter_values(transaction_id=tx)) == 4
    central.log_envelope("in", "<x/>", at=T0)
    assert central.prune_envelopes() == 1
    for c in centrals:
        c.store.dispose()
