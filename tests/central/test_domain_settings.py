"""Settings: file, then environment, then flags."""

from __future__ import annotations

import pytest

from ocpp_soap.central.settings import CentralSettings


def test_defaults():
    s = CentralSettings()
    assert (s.heartbeat_interval, s.unknown_chargebox, s.command_timeout) == (300, "reject", 30.0)
    assert s.default_endpoint_path == "/ocpp/ChargePointService"
    assert s.trusted_proxies == []


def test_from_env():
    env = {
        "OCPP_SOAP_DB": "postgresql+psycopg://u@h/db",
        "OCPP_SOAP_HEARTBEAT_INTERVAL": "60",
        "OCPP_SOAP_UNKNOWN_CHARGEBOX": "pending",
        "OCPP_SOAP_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
        "OCPP_SOAP_COMMAND_TIMEOUT": "12.5",
        "OCPP_SOAP_PUBLIC_URL": "https://cs.example/ocpp/CentralSystemService",
    }
    s = CentralSettings.from_env(env)
    assert s.db_url == "postgresql+psycopg://u@h/db"
    assert s.heartbeat_interval == 60 and s.unknown_chargebox == "pending"
    assert s.trusted_proxies == ["127.0.0.1", "10.0.0.0/8"]
    assert s.command_timeout == 12.5 and s.public_url.startswith("https://")


def test_from_toml_and_yaml(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text(
        '[central]\ndb = "sqlite:///x.db"\nheartbeat_interval = 90\ntrusted_proxies = ["10.0.0.1"]\n'
    )
    s = CentralSettings.from_file(toml)
    assert (s.db_url, s.heartbeat_interval, s.trusted_proxies) == (
        "sqlite:///x.db",
        90,
        ["10.0.0.1"],
    )
    yml = tmp_path / "c.yaml"
    yml.write_text("unknown_chargebox: accept\ndefault_endpoint_port: 8082\n")
    s = CentralSettings.from_file(yml)
    assert (s.unknown_chargebox, s.default_endpoint_port) == ("accept", 8082)


def test_flags_over_env_over_file(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("heartbeat_interval = 90\nunknown_chargebox = 'accept'\ncommand_timeout = 5\n")
    env = {"OCPP_SOAP_HEARTBEAT_INTERVAL": "60", "OCPP_SOAP_UNKNOWN_CHARGEBOX": "pending"}
    s = CentralSettings.load(f, env=env, overrides={"heartbeat_interval": 30, "db_url": None})
    assert (s.heartbeat_interval, s.unknown_chargebox, s.command_timeout) == (30, "pending", 5.0)
    assert s.db_url == CentralSettings().db_url
    s = CentralSettings.load(env={"OCPP_SOAP_CONFIG": str(f)})
    assert s.heartbeat_interval == 90


@pytest.mark.parametrize(
    "values",
    [
        {"unknown_chargebox": "maybe"},
        {"heartbeat_interval": "x"},
        {"nonsense": 1},
        {"heartbeat_interval": 0},
    ],
)
def test_bad_values_refused(values):
    with pytest.raises(ValueError):
        CentralSettings().merged(values)
