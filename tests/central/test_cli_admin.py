"""``ocpp-soap central`` admin commands through ``cli.main``: output, --json and exit codes."""

from __future__ import annotations

import json

import pytest

from ocpp_soap.central.cli import format_table, main, parse_fields
from ocpp_soap.central.testing import Ctx
from ocpp_soap.central.timeutil import parse_time


@pytest.fixture
def db(tmp_path):
    return ["--db", f"sqlite:///{tmp_path / 'cli.db'}"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_chargebox_lifecycle(capsys, db):
    assert run(capsys, "chargebox", "add", "CB1", "--endpoint", "http://10.0.0.9:8080/ocpp",
               "--version", "1.5", "--secret", "s3cret", *db)[0] == 0
    assert run(capsys, "chargebox", "add", "CB2", "--status", "Pending", *db)[0] == 0
    code, out, err = run(capsys, "chargebox", "add", "CB1", *db)
    assert code == 1 and "exists" in err

    code, out, _ = run(capsys, "chargebox", "list", *db)
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["ID", "STATUS", "OCPP", "ENDPOINT", "LEARNED",
                                              "FROM", "LAST", "SEEN"]
    assert lines[1].split()[:5] == ["CB1", "Accepted", "1.5", "http://10.0.0.9:8080/ocpp",
                                    "manual"]
    assert lines[2].split()[:3] == ["CB2", "Pending", "-"]
    # Columns line up: every row starts its second column where the heading does.
    col = lines[0].index("STATUS")
    assert all(line[col - 2:col] == "  " and line[col] != " " for line in lines[1:])

    code, out, _ = run(capsys, "chargebox", "list", "--status", "Pending", "--json", *db)
    assert [b["charge_box_id"] for b in json.loads(out)] == ["CB2"]

    code, out, _ = run(capsys, "chargebox", "show", "CB1", "--json", *db)
    box = json.loads(out)
    assert box["has_auth_secret"] is True and "auth_secret_hash" not in box
    assert box["endpoint_override"] is True and box["connectors"] == []
    code, out, _ = run(capsys, "chargebox", "show", "CB1", *db)
    assert "endpoint_address" in out and "http://10.0.0.9:8080/ocpp" in out

    code, out, _ = run(capsys, "chargebox", "set-endpoint", "CB2", "http://10.0.0.7/cp", *db)
    assert code == 0 and "http://10.0.0.7/cp, set by hand" in out
    code, _, err = run(capsys, "chargebox", "set-endpoint", "CB2", "ftp://x", *db)
    assert code == 2 and "http(s) URL" in err
    code, out, _ = run(capsys, "chargebox", "set-endpoint", "CB2", "--clear", *db)
    assert code == 0 and "unknown until it talks to us" in out

    assert run(capsys, "chargebox", "remove", "CB2", *db)[0] == 0
    code, _, err = run(capsys, "chargebox", "show", "CB2", *db)
    assert code == 2 and "unknown charge box 'CB2'" in err
    assert run(capsys, "chargebox", "remove", "CB2", *db)[0] == 2


def test_chargebox_show_lists_connectors(capsys, db, tmp_path):
    from ocpp_soap.central.domain import CentralSystem
    from ocpp_soap.central.settings import CentralSettings

    assert run(capsys, "chargebox", "add", "CB1", *db)[0] == 0
    central = CentralSystem.open(CentralSettings(db_url=db[1]))
    central.status_notification(Ctx(action="StatusNotification"),
                                {"connectorId": 2, "status": "Faulted", "errorCode": "GroundFailure",
                                 "info": "RCD"})
    code, out, _ = run(capsys, "chargebox", "show", "CB1", *db)
    assert code == 0
    table = out.split("\n\n", 1)[1].splitlines()
    assert table[0].split() == ["CONNECTOR", "STATUS", "ERROR", "INFO", "SINCE"]
    assert table[1].split()[:4] == ["2", "Faulted", "GroundFailure", "RCD"]


def test_tags(capsys, db):
    code, out, _ = run(capsys, "tag", "add", "T1", "--expiry", "2031-05-06T07:08:09Z",
                       "--max-active", "3", *db)
    assert code == 0 and "added id tag T1" in out
    assert run(capsys, "tag", "add", "T2", "--parent", "T1", "--max-active", "none", *db)[0] == 0
    assert run(capsys, "tag", "add", "T3", *db)[0] == 0
    code, _, err = run(capsys, "tag", "add", "T4", "--expiry", "next tuesday", *db)
    assert code == 2 and "invalid" in err
    code, _, err = run(capsys, "tag", "add", "T4", "--max-active", "many", *db)
    assert code == 2 and "many" in err

    code, out, _ = run(capsys, "tag", "list", "--json", *db)
    tags = {t["id_tag"]: t for t in json.loads(out)}
    assert tags["T1"]["expiry_date"] == "2031-05-06T07:08:09+00:00"
    assert tags["T1"]["max_active_transactions"] == 3
    assert tags["T2"]["parent_id_tag"] == "T1" and tags["T2"]["max_active_transactions"] is None
    assert tags["T3"]["max_active_transactions"] == 1  # the setting's default

    code, out, _ = run(capsys, "tag", "block", "T1", *db)
    assert code == 0 and "T1 is Blocked" in out
    code, out, _ = run(capsys, "tag", "list", "--status", "Blocked", *db)
    assert out.splitlines()[1].split()[:2] == ["T1", "Blocked"]
    assert len(out.splitlines()) == 2
    code, out, _ = run(capsys, "tag", "unblock", "T1", *db)
    assert code == 0 and "T1 is Accepted" in out
    assert run(capsys, "tag", "remove", "T3", *db)[0] == 0
    assert run(capsys, "tag", "remove", "T3", *db)[0] == 2
    assert run(capsys, "tag", "block", "NOPE", *db)[0] == 2


def test_transactions(capsys, db):
    from ocpp_soap.central.domain import CentralSystem
    from ocpp_soap.central.settings import CentralSettings

    code, out, _ = run(capsys, "transactions", *db)
    assert code == 0 and out == "no transactions\n"
    assert run(capsys, "chargebox", "add", "CB1", *db)[0] == 0
    assert run(capsys, "chargebox", "add", "CB2", *db)[0] == 0
    assert run(capsys, "tag", "add", "T1", "--max-active", "none", *db)[0] == 0
    central = CentralSystem.open(CentralSettings(db_url=db[1]))
    ids = []
    for box, at in (("CB1", "2024-01-01T10:00:00Z"), ("CB2", "2024-02-01T10:00:00Z"),
                    ("CB1", "2024-03-01T10:00:00Z")):
        reply = central.start_transaction(Ctx(charge_box_id=box, action="StartTransaction"),
                                          {"connectorId": 1, "idTag": "T1", "meterStart": 100,
                                           "timestamp": parse_time(at)})
        ids.append(reply["transactionId"])
    central.stop_transaction(Ctx(action="StopTransaction"),
                             {"transactionId": ids[0], "meterStop": 900,
                              "timestamp": parse_time("2024-01-01T11:00:00Z"), "reason": "Local"})

    code, out, _ = run(capsys, "transactions", *db)
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["ID", "CHARGE", "BOX", "CONN"]
    assert [int(line.split()[0]) for line in lines[1:]] == ids[::-1]
    # (the third start closed the first, open on the same connector; its late stop fixed it)
    assert lines[-1].split()[-5:] == ["2024-01-01T11:00:00+00:00", "900", "Local",
                                      "central-system", "-"]

    def ids_for(*args):
        code, out, _ = run(capsys, "transactions", "--json", *args, *db)
        assert code == 0
        return [t["id"] for t in json.loads(out)]

    assert ids_for("--chargebox", "CB1") == [ids[2], ids[0]]
    assert ids_for("--active") == [ids[2], ids[1]]
    assert ids_for("--since", "2024-01-15T00:00:00Z") == [ids[2], ids[1]]
    assert ids_for("--chargebox", "CB1", "--active", "--since", "2024-02-15T00:00:00Z") == [ids[2]]
    code, _, err = run(capsys, "transactions", "--since", "yesterday", *db)
    assert code == 2 and "invalid" in err


def test_settings_from_file_env_and_flags(capsys, tmp_path, monkeypatch):
    """Configuration: a file, then OCPP_SOAP_* variables, then flags (flags win)."""
    conf = tmp_path / "central.toml"
    conf.write_text('[central]\ndb = "sqlite:///from-file.db"\nheartbeat_interval = 111\n'
                    'unknown_chargebox = "pending"\ncommand_timeout = 5\n')
    monkeypatch.setenv("OCPP_SOAP_HEARTBEAT_INTERVAL", "222")
    monkeypatch.setenv("OCPP_SOAP_COMMAND_TIMEOUT", "7")
    monkeypatch.setenv("OCPP_SOAP_WORKERS", "3")
    code, out, _ = run(capsys, "serve", "--show-config", "--config", str(conf),
                       "--heartbeat-interval", "333", "--port", "9001")
    assert code == 0
    shown = json.loads(out)
    s = shown["settings"]
    assert s["db_url"] == "sqlite:///from-file.db"           # file
    assert s["unknown_chargebox"] == "pending"                # file
    assert s["command_timeout"] == 7.0                        # env over file
    assert s["heartbeat_interval"] == 333                     # flag over env over file
    assert (shown["port"], shown["workers"], shown["host"]) == (9001, 3, "127.0.0.1")
    assert not (tmp_path / "from-file.db").exists()           # --show-config touches nothing

    # The admin commands read the same configuration.
    monkeypatch.setenv("OCPP_SOAP_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert run(capsys, "chargebox", "add", "CBENV")[0] == 0
    assert (tmp_path / "env.db").exists()
    code, out, _ = run(capsys, "chargebox", "list", "--json")
    assert [b["charge_box_id"] for b in json.loads(out)] == ["CBENV"]

    bad = tmp_path / "bad.toml"
    bad.write_text('heartbeat_interval = "often"\n')
    code, _, err = run(capsys, "chargebox", "list", "--config", str(bad))
    assert code == 2 and "heartbeat_interval" in err
    code, _, err = run(capsys, "serve", "--config", str(bad))
    assert code == 2 and "bad configuration" in err


def test_serve_options_checked(capsys, tmp_path):
    db = ["--db", f"sqlite:///{tmp_path / 'x.db'}"]
    code, _, err = run(capsys, "serve", "--workers", "0", *db)
    assert code == 2 and "--workers" in err
    code, out, _ = run(capsys, "serve", "--host", "0.0.0.0", "--api-token", "t0ken",
                       "--show-config", *db)
    assert code == 0 and json.loads(out)["host"] == "0.0.0.0"
    code, _, err = run(capsys, "serve", "--unknown-chargebox", "maybe", *db)
    assert code == 2 and "maybe" in err


def test_usage_errors(capsys):
    assert main([]) == 2
    assert main(["--help"]) == 0
    assert "chargebox" in capsys.readouterr().out
    assert main(["chargebox"]) == 2
    assert main(["frobnicate"]) == 2


def test_parse_fields():
    assert parse_fields(["connectorId=0", "type=Inoperative"]) == \
        {"connectorId": "0", "type": "Inoperative"}
    assert parse_fields(["idTag=0700"], '{"connectorId": 1}') == {"connectorId": 1, "idTag": "0700"}
    assert parse_fields(["chargingProfile.stackLevel=2", "chargingProfile.kind=Absolute"]) == \
        {"chargingProfile": {"stackLevel": "2", "kind": "Absolute"}}
    assert parse_fields(["keys:=[\"a\", \"b\"]"]) == {"keys": ["a", "b"]}
    assert parse_fields(["value=a=b"]) == {"value": "a=b"}


def test_format_table():
    out = format_table([{"a": "x", "b": None}, {"a": "longer", "b": True}],
                       (("a", "A"), ("b", "B")))
    assert out == "A       B\nx       -\nlonger  yes\n"
