"""Central System settings: one dataclass, filled from a file, then the environment, then flags.

Operators deploy with a config file, containers with ``OCPP_SOAP_*`` variables and humans with
flags; the later source wins so a one-off flag can override a shared file without editing it.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

UNKNOWN_CHARGEBOX_POLICIES = ("reject", "pending", "accept")
ENV_PREFIX = "OCPP_SOAP_"
# Environment names that do not follow OCPP_SOAP_<FIELD NAME>.
ENV_ALIASES = {"db_url": "OCPP_SOAP_DB"}
FILE_ALIASES = {"db": "db_url", "database": "db_url"}


@dataclass
class CentralSettings:
    """Everything the Central System's domain and storage need to know about their deployment."""

    db_url: str = "sqlite:///ocpp-soap-central.db"
    heartbeat_interval: int = 300
    unknown_chargebox: str = "reject"
    default_endpoint_port: int = 8080
    default_endpoint_path: str = "/ocpp/ChargePointService"
    trusted_proxies: list[str] = field(default_factory=list)
    envelope_log_retention_days: int = 30
    public_url: str | None = None
    command_timeout: float = 30.0
    default_max_active_transactions: int = 1
    #: Seconds a box's timestamp may run ahead of our clock before we call it implausible
    #: (boxes set their clocks from our currentTime, so clocks jump).
    clock_skew: int = 300
    sqlite_busy_timeout_ms: int = 10000

    def __post_init__(self) -> None:
        if self.unknown_chargebox not in UNKNOWN_CHARGEBOX_POLICIES:
            raise ValueError(
                f"unknown_chargebox must be one of {', '.join(UNKNOWN_CHARGEBOX_POLICIES)},"
                f" not {self.unknown_chargebox!r}"
            )
        if self.clock_skew < 0:
            raise ValueError("clock_skew must not be negative")
        if self.heartbeat_interval <= 0:
            raise ValueError("heartbeat_interval must be positive")
        if not self.default_endpoint_path.startswith("/"):
            self.default_endpoint_path = "/" + self.default_endpoint_path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, base: CentralSettings | None = None):
        """Settings from ``OCPP_SOAP_<FIELD>`` variables (``OCPP_SOAP_DB`` for the URL) over ``base``."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = ENV_ALIASES.get(f.name, ENV_PREFIX + f.name.upper())
            if name in env and env[name] != "":
                values[f.name] = env[name]
        return (base or cls()).merged(values)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], base: CentralSettings | None = None):
        """Settings from a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file over ``base``.

        The keys are the field names; they may sit at the top level or under a ``central`` table,
        so one file can also hold settings of other roles.
        """
        p = Path(path)
        text = p.read_text(encoding="utf-8")
        data = tomllib.loads(text) if p.suffix.lower() == ".toml" else yaml.safe_load(text)
        data = data or {}
        if not isinstance(data, dict):
            raise ValueError(f"{p}: expected a mapping at the top level")
        if isinstance(data.get("central"), dict):
            data = data["central"]
        return (base or cls()).merged(data)

    @classmethod
    def load(
        cls,
        config_file: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> CentralSettings:
        """File, then environment, then flags (``overrides``; ``None`` values mean "not given").

        Without ``config_file`` the file named by ``OCPP_SOAP_CONFIG`` is read, if set.
        """
        env = os.environ if env is None else env
        config_file = config_file or env.get(ENV_PREFIX + "CONFIG") or None
        settings = cls.from_file(config_file) if config_file else cls()
        settings = cls.from_env(env, base=settings)
        flags = {k: v for k, v in (overrides or {}).items() if v is not None}
        return settings.merged(flags)

    def merged(self, values: Mapping[str, Any]) -> CentralSettings:
        """A copy with ``values`` applied, each converted to its field's type."""
        known = {f.name: f for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for key, raw in values.items():
            name = FILE_ALIASES.get(key, key).replace("-", "_")
            if name not in known:
                raise ValueError(f"unknown setting {key!r}")
            changes[name] = _coerce(name, known[name].type, raw)
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view (for ``serve --show-config`` and the API)."""
        return dataclasses.asdict(self)


def _coerce(name: str, type_name: Any, raw: Any) -> Any:
    """Convert a file or environment value to the field's declared type."""
    t = str(type_name)
    try:
        if t.startswith("list"):
            if isinstance(raw, str):
                return [part.strip() for part in raw.split(",") if part.strip()]
            return [str(item) for item in raw]
        if raw is None:
            return None
        if t == "int":
            return int(raw)
        if t == "float":
            return float(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"setting {name}: cannot use {raw!r} ({exc})") from exc
