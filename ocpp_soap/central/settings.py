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
ENDPOINT_CHANGE_POLICIES = ("boot", "any", "manual")
REQUIRE_AUTH_POLICIES = ("none", "any")
CLIENT_CERT_POLICIES = ("none", "optional", "required")
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
    # -- trust (see the README's security section) ----------------------------------------
    #: Who may move the address of a box without credentials: only a BootNotification
    #: (``boot``), any message (``any``) or nobody but the operator (``manual``).
    endpoint_change: str = "boot"
    #: CIDRs the Central System may call; when set, nothing outside them is called.
    endpoint_networks: list[str] = field(default_factory=list)
    #: CIDRs never called, whatever else allows them.
    endpoint_deny: list[str] = field(default_factory=list)
    #: ``any``: boxes without a secret, certificate or source-network pin are refused.
    require_auth: str = "none"
    #: Unknown boxes registered by the ``pending``/``accept`` policy per source IP and in all,
    #: per ``registration_window`` seconds (per process).
    registration_limit_per_ip: int = 60
    registration_limit: int = 600
    registration_window: float = 3600.0
    #: TLS on ``serve``: our certificate and key, the CAs client certificates must chain to, and
    #: whether a client certificate is asked for.
    certfile: str | None = None
    keyfile: str | None = None
    ca_certs: str | None = None
    client_cert: str = "none"
    #: TLS towards charge points: a CA bundle instead of the system's, our client certificate.
    chargepoint_ca_certs: str | None = None
    chargepoint_certfile: str | None = None
    chargepoint_keyfile: str | None = None
    #: Seconds a web console session may stay idle before it must log in again.
    console_idle_timeout: int = 1800
    #: Seconds a request may wait for the database (locks, retries) before the charger gets the
    #: storage-outage fault; the worker timeout is kept above it.
    storage_wait: float = 15.0
    #: Seconds a queued command lives before it expires unsent (per command: ``--expires``).
    pending_expiry: float = 86400.0
    #: Seconds a worker holds a queued command it delivers; after that (the worker died) the
    #: command is queued again. Never shorter than ``command_timeout`` + 5.
    pending_lease: float = 90.0
    # -- events (see the README's Embedding section) --------------------------------------
    #: HTTP webhooks: a list of ``{url, secret, kinds, name}`` (``webhooks`` module); from the
    #: environment as JSON text.
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    #: Seconds before the first retry of a failed delivery; each retry waits twice as long,
    #: up to ``webhook_retry_max``. A delivery is given up after ``webhook_max_attempts``.
    webhook_retry_min: float = 1.0
    webhook_retry_max: float = 300.0
    webhook_max_attempts: int = 50
    webhook_timeout: float = 10.0
    #: Days delivered and failed deliveries (and their events) are kept for the API.
    webhook_retention_days: int = 7

    def __post_init__(self) -> None:
        if self.unknown_chargebox not in UNKNOWN_CHARGEBOX_POLICIES:
            raise ValueError(
                f"unknown_chargebox must be one of {', '.join(UNKNOWN_CHARGEBOX_POLICIES)},"
                f" not {self.unknown_chargebox!r}"
            )
        if self.clock_skew < 0:
            raise ValueError("clock_skew must not be negative")
        for name, allowed in (("endpoint_change", ENDPOINT_CHANGE_POLICIES),
                              ("require_auth", REQUIRE_AUTH_POLICIES),
                              ("client_cert", CLIENT_CERT_POLICIES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)},"
                                 f" not {getattr(self, name)!r}")
        from .addressguard import parse_networks

        parse_networks(self.endpoint_networks, "endpoint_networks")
        parse_networks(self.endpoint_deny, "endpoint_deny")
        if self.console_idle_timeout <= 0:
            raise ValueError("console_idle_timeout must be positive")
        if self.storage_wait <= 0:
            raise ValueError("storage_wait must be positive")
        from .webhooks import parse_webhooks

        self.webhooks = parse_webhooks(self.webhooks)
        if not 0 < self.webhook_retry_min <= self.webhook_retry_max:
            raise ValueError("webhook_retry_min must be positive and at most webhook_retry_max")
        if (self.webhook_max_attempts < 1 or self.webhook_timeout <= 0
                or self.webhook_retention_days < 1):
            raise ValueError("webhook_max_attempts, webhook_timeout and webhook_retention_days"
                             " must be positive")
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
        out = dataclasses.asdict(self)
        out["webhooks"] = [{**w, "secret": "***" if w.get("secret") else None}
                           for w in self.webhooks]
        return out


def _coerce(name: str, type_name: Any, raw: Any) -> Any:
    """Convert a file or environment value to the field's declared type."""
    t = str(type_name)
    try:
        if name == "webhooks":
            from .webhooks import parse_webhooks

            return parse_webhooks(raw)
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
