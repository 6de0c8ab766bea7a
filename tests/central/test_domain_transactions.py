"""Transactions and meter values: nothing the box sends is lost, even under concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from ocpp_soap.central.domain import CentralSystem
from ocpp_soap.central.testing import Ctx, central_on_file

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def mv(ts, value, **attrs):
    return {"timestamp": ts, "sampledValue": [{"value": str(value), **attrs}]}


@pytest.fixture
def central(tmp_path):
    c = central_on_file(tmp_path)
    c.admin.add_chargebox("CB1")
    c.admin.add_tag("TAG", max_active_transactions=None)
    return c


def start(central, connector=1):
    return central.start_transaction(
        Ctx(), {"connectorId": connector, "idTag": "TAG", "meterStart": 1000, "timestamp": T0}
    )["transactionId"]


def test_full_session_stored_field_by_field(central):
    tx = start(central)
    central.meter_values(
        Ctx(),
        {
            "connectorId": 1,
            "transactionId": tx,
            "meterValue": [
                {
                    "timestamp": T0 + timedelta(minutes=1),
                    "sampledValue": [
                        {
                            "value": "1500",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                            "context": "Sample.Periodic",
                            "format": "Raw",
                            "location": "Outlet",
                        },
                        {
                            "value": "16.1",
                            "measurand": "Current.Import",
                            "unit": "A",
                            "phase": "L1",
                        },
                    ],
                }
            ],
        },
    )
    reply = central.stop_transaction(
        Ctx(),
        {
            "transactionId": tx,
            "idTag": "TAG",
            "meterStop": 2500,
            "timestamp": T0 + timedelta(hours=1),
            "reason": "EVDisconnected",
            "transactionData": [mv(T0 + timedelta(hours=1), 2500, context="Transaction.End")],
        },
    )
    assert reply["idTagInfo"]["status"] == "Accepted"
    row = central.admin.get_transaction(tx)
    assert row["connector_id"] == 1 and row["meter_start"] == 1000 and row["meter_stop"] == 2500
    assert row["start_timestamp"] == T0.isoformat()
    assert row["stop_timestamp"] == (T0 + timedelta(hours=1)).isoformat()
    assert row["stop_reason"] == "EVDisconnected" and row["stop_id_tag"] == "TAG"
    assert row["orphan"] is False and row["stop_count"] == 1
    samples = central.admin.list_meter_values(transaction_id=tx)
    assert [(s["value"], s["source"]) for s in samples] == [
        ("1500", "MeterValues"),
        ("16.1", "MeterValues"),
        ("2500", "StopTransaction"),
    ]
    first, second, end = samples
    assert (
        first["measurand"],
        first["unit"],
        first["context"],
        first["format"],
        first["location"],
        first["phase"],
    ) == ("Energy.Active.Import.Register", "Wh", "Sample.Periodic", "Raw", "Outlet", None)
    assert second["phase"] == "L1" and second["connector_id"] == 1
    assert end["context"] == "Transaction.End" and end["connector_id"] == 1
    assert central.admin.list_transactions(active=True) == []


def test_absent_attributes_stay_absent(central):
    tx = start(central)
    central.meter_values(Ctx(), {"connectorId": 1, "transactionId": tx, "meterValue": [mv(T0, 7)]})
    (sample,) = central.admin.list_meter_values(charge_box_id="CB1")
    assert sample["measurand"] is None and sample["unit"] is None


def test_repeated_stop_keeps_first_and_adds_only_new_samples(central):
    tx = start(central)
    stop = {
        "transactionId": tx,
        "meterStop": 2000,
        "timestamp": T0 + timedelta(hours=1),
        "transactionData": [mv(T0 + timedelta(minutes=30), 1500)],
    }
    central.stop_transaction(Ctx(), stop)
    again = dict(
        stop,
        meterStop=9999,
        transactionData=[
            mv(T0 + timedelta(minutes=30), 1500),
            mv(T0 + timedelta(minutes=45), 1800),
        ],
    )
    assert central.stop_transaction(Ctx(), again) == {}
    row = central.admin.get_transaction(tx)
    assert row["meter_stop"] == 2000 and row["stop_count"] == 2
    assert [s["value"] for s in central.admin.list_meter_values(transaction_id=tx)] == [
        "1500",
        "1800",
    ]


def test_stop_for_unknown_transaction_keeps_data_in_orphan(central):
    reply = central.stop_transaction(
        Ctx(),
        {
            "transactionId": 4242,
            "idTag": "TAG",
            "meterStop": 77,
            "timestamp": T0,
            "transactionData": [mv(T0, 77)],
        },
    )
    assert reply["idTagInfo"]["status"] == "Accepted"
    (orphan,) = central.admin.list_transactions(charge_box_id="CB1")
    assert orphan["orphan"] is True and orphan["reported_transaction_id"] == 4242
    assert orphan["meter_stop"] == 77
    samples = central.admin.list_meter_values(transaction_id=orphan["id"])
    assert [(s["value"], s["reported_transaction_id"]) for s in samples] == [("77", 4242)]


def test_stop_for_another_boxs_transaction_is_treated_as_unknown(central):
    central.admin.add_chargebox("CB2")
    tx = start(central)
    central.stop_transaction(Ctx(charge_box_id="CB2"), {"transactionId": tx, "meterStop": 1})
    assert central.admin.get_transaction(tx)["stop_timestamp"] is None
    assert central.admin.list_transactions(charge_box_id="CB2")[0]["orphan"] is True


def test_meter_values_for_unknown_transaction_are_kept(central):
    central.meter_values(Ctx(), {"connectorId": 2, "transactionId": 999, "meterValue": [mv(T0, 5)]})
    (sample,) = central.admin.list_meter_values(transaction_id=999)
    assert sample["transaction_id"] is None and sample["reported_transaction_id"] == 999


def test_meter_values_without_transaction(central):
    central.meter_values(Ctx(), {"connectorId": 0, "meterValue": [mv(T0, 5), mv(T0, 6)]})
    assert (
        len(
            central.admin.list_meter_values(
                charge_box_id="CB1", since=T0, until=T0 + timedelta(seconds=1)
            )
        )
        == 2
    )
    assert (
        central.admin.list_meter_values(charge_box_id="CB1", since=T0 + timedelta(seconds=1)) == []
    )


def test_transaction_filters(central):
    central.admin.add_chargebox("CB2")
    a = start(central)
    central.start_transaction(
        Ctx(charge_box_id="CB2"),
        {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": T0 + timedelta(days=1)},
    )
    assert [t["id"] for t in central.admin.list_transactions(charge_box_id="CB1")] == [a]
    assert len(central.admin.list_transactions(since=T0 + timedelta(hours=1))) == 1
    assert len(central.admin.list_transactions(until=T0 + timedelta(hours=1))) == 1
    assert len(central.admin.list_transactions(limit=1)) == 1


@pytest.mark.parametrize("separate_engines", [False, True], ids=["one-engine", "two-engines"])
def test_meter_values_and_stop_at_once_both_succeed(central, separate_engines):
    """SteVe #72 deadlocked here: MeterValues and StopTransaction of one transaction at once.
    Two engines on one file stand in for two gunicorn worker processes."""
    stopper = CentralSystem.open(central.settings) if separate_engines else central
    rounds, per_round = 15, 4
    txs = [start(central, connector=c) for c in range(1, rounds + 1)]
    errors: list[BaseException] = []

    def run(fn):
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = []
    for i, tx in enumerate(txs):
        values = [mv(T0 + timedelta(seconds=k), i * 100 + k) for k in range(per_round)]
        threads.append(
            threading.Thread(
                target=run,
                args=(
                    lambda tx=tx, values=values: central.meter_values(
                        Ctx(), {"connectorId": 1, "transactionId": tx, "meterValue": values}
                    ),
                ),
            )
        )
        threads.append(
            threading.Thread(
                target=run,
                args=(
                    lambda tx=tx, i=i: stopper.stop_transaction(
                        Ctx(),
                        {
                            "transactionId": tx,
                            "meterStop": 9,
                            "timestamp": T0 + timedelta(hours=1),
                            "transactionData": [mv(T0 + timedelta(hours=1), f"end{i}")],
                        },
                    ),
                ),
            )
        )
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for tx in txs:
        assert central.admin.get_transaction(tx)["stop_timestamp"] is not None
        assert len(central.admin.list_meter_values(transaction_id=tx)) == per_round + 1


def test_resent_meter_values_are_stored_once(tmp_path):
    """A box re-sends a MeterValues whose reply it never got; the reading counts once."""
    from datetime import UTC, datetime

    from ocpp_soap.central.testing import Ctx, central_on_file

    central = central_on_file(tmp_path)
    central.admin.add_chargebox("CB1", registration_status="Accepted")
    at = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    payload = {"connectorId": 1, "transactionId": 77, "meterValue": [{"timestamp": at, "sampledValue": [
        {"value": "100", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "7000", "measurand": "Power.Active.Import", "unit": "W"}]}]}
    central.meter_values(Ctx(action="MeterValues"), payload)
    central.meter_values(Ctx(action="MeterValues"), payload)
    later = dict(payload, meterValue=[{"timestamp": at, "sampledValue": [
        {"value": "100", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "230", "measurand": "Voltage", "unit": "V"}]}])
    central.meter_values(Ctx(action="MeterValues"), later)
    values = sorted(r["value"] for r in central.admin.list_meter_values(charge_box_id="CB1"))
    # the re-sent message is dropped whole; another message that shares a reading is kept whole
    assert values == ["100", "100", "230", "7000"]
