"""Typed settings, from environment variables (``ALLSOURCE_*``) and an optional TOML file.

Precedence: explicit arguments > environment > config file (``allsource.toml`` in the working
directory, or the file named by ``ALLSOURCE_CONFIG``) > defaults. The default store is a SQLite
file in the working directory, so nothing has to be started.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from allsource.errors import ConfigError
from allsource.model.markings import TLP

DEFAULT_CONFIG_FILE = "allsource.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALLSOURCE_", extra="ignore")

    database_url: str = Field(default="sqlite:///allsource.db",
                              description="SQLAlchemy URL: sqlite:///file.db or postgresql://…")
    blob_dir: Path = Field(default=Path("allsource-blobs"),
                           description="Where raw inputs are kept, addressed by SHA-256.")
    batch_size: int = Field(default=1000, ge=1, le=100_000,
                            description="Items written per transaction.")
    max_input_bytes: int = Field(default=200 * 1024 * 1024, ge=1024,
                                 description="Largest single input (file or download) accepted.")
    max_item_bytes: int = Field(default=20 * 1024 * 1024, ge=1024,
                                description="Largest single item inside an input.")
    http_timeout: float = Field(default=30.0, gt=0, description=(
        "Seconds allowed for a connection and for each gap between bytes."))
    http_deadline: float = Field(default=300.0, gt=0, description=(
        "Seconds allowed for one whole download, every redirect, header and byte included."))
    http_max_redirects: int = Field(default=5, ge=0, le=20)
    user_agent: str = "allsource/0.1 (+https://github.com/allsource)"
    file_roots: list[Path] | None = Field(default=None, description=(
        "Folders local sources (files, feed files, bundles …) may read (environment: a JSON "
        "list, or folders separated by the path separator, ':' on POSIX); default: the "
        "user's home, the working directory, the system temp folder, the installed Python "
        "packages and samples_dir."))
    samples_dir: Path | None = Field(default=None,
                                     description="Optional folder of shared real samples.")
    # ner stage (opt-in: `allsource process --stage ner`)
    ner_model: str | None = Field(default=None, description=(
        "spaCy model (installed package or folder) for the ner stage; default: the small "
        "English model from the `ner` extra."))
    ner_public_figures: list[str] = Field(default_factory=list, description=(
        "People the ner stage may name (public figures); any other person is only counted."))

    # encryption at rest (store/keys.py)
    encryption_key_file: Path = Field(
        default=Path("allsource.key"),
        description="Key-encryption key file (mode 0600), used when it exists; "
                    "`allsource init` creates it. Keep it off the store's disk.")
    encryption_key: SecretStr | None = Field(
        default=None, description="The key-encryption key itself (base64 of 32 bytes), "
                                  "instead of a file (environment: ALLSOURCE_ENCRYPTION_KEY).")
    encryption_kms: str | None = Field(
        default=None, description="Name of a key provider plugin (KMS) that wraps the "
                                  "store's data keys; overrides the key and key file.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    # alerts
    alert_webhooks: list[str] = Field(
        default_factory=list,
        description="URLs that receive each new or escalated alert as a JSON POST "
                    "(environment: a JSON list).")
    alert_webhook_allow_private: bool = Field(
        default=False, description="Allow webhooks on private or loopback addresses.")
    alert_webhook_secret_env: str | None = Field(
        default=None, description="Name of the environment variable holding the key that "
                                  "signs webhook bodies (X-Allsource-Signature, HMAC-SHA256).")
    alert_smtp_host: str | None = Field(default=None, description="SMTP server for alert mail.")
    alert_smtp_port: int = Field(default=25, ge=1, le=65535)
    alert_smtp_security: Literal["none", "starttls", "tls"] = "none"
    alert_smtp_username: str | None = None
    alert_smtp_password_env: str | None = Field(
        default=None, description="Name of the environment variable holding the SMTP password.")
    alert_email_from: str = "allsource@localhost"
    alert_email_to: list[str] = Field(
        default_factory=list, description="Recipients of alert mail (environment: a JSON list).")
    alert_timeout: float = Field(default=10.0, gt=0,
                                 description="Seconds allowed for one webhook or SMTP delivery.")
    alert_max_attempts: int = Field(default=8, ge=1, le=100,
                                    description="Attempts before a delivery is dead-lettered.")
    alert_retry_base_seconds: float = Field(
        default=30.0, gt=0, description="Wait after the first failure; doubled after each.")
    alert_retry_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    alert_min_severity: Literal["low", "medium", "high", "critical"] = Field(
        default="low", description="Alerts below this severity are kept but not sent.")
    alert_max_tlp: str = Field(
        default="TLP:AMBER+STRICT",
        description="Highest TLP sent to alert channels; above it, only a notice is sent.")

    @field_validator("file_roots", mode="before")
    @classmethod
    def _folders(cls, value: object) -> object:
        # the store's refusal says "add its folder to ALLSOURCE_FILE_ROOTS": a bare folder
        # (or several, PATH-style) must work there, not only a JSON list
        if isinstance(value, str):
            return [part for part in value.split(os.pathsep) if part.strip()]
        return value

    @field_validator("alert_min_severity", "alert_smtp_security", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("alert_webhooks")
    @classmethod
    def _webhooks(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"alert webhook {url!r} is not an http(s) URL")
        return value

    @field_validator("alert_max_tlp")
    @classmethod
    def _tlp(cls, value: str) -> str:
        return TLP.parse(value).label

    # risk
    risk_priority_sectors: list[str] = Field(
        default_factory=list,
        description="Sectors that matter here: topics of the classifier (cyber, economic …) "
                    "or MISP sectors (Energy, Finance …); what documents about them report "
                    "scores a higher impact (environment: a JSON list).")
    risk_expire_threshold: float = Field(
        default=20.0, ge=0, le=100,
        description="MISP decaying-model threshold (0-100) of the decay entries that set "
                    "none: an indicator expires once 100 × base likelihood × decay is below.")
    risk_decay: dict[str, dict[str, float]] = Field(
        # lifetime τ (days), speed δ of score = base × (1 − (t/τ)^(1/δ)); δ > 1 drops fast
        # early (addresses change hands), δ < 1 holds then drops (a hash stays what it is).
        # "indicator" is MISP's NIDS Simple Decaying Model (τ 120, δ 2).
        default_factory=lambda: {
            "ipv4": {"lifetime_days": 30.0, "speed": 2.0},
            "ipv6": {"lifetime_days": 30.0, "speed": 2.0},
            "cidr": {"lifetime_days": 60.0, "speed": 2.0},
            "domain": {"lifetime_days": 90.0, "speed": 1.5},
            "url": {"lifetime_days": 45.0, "speed": 2.0},
            "email": {"lifetime_days": 180.0, "speed": 1.0},
            "md5": {"lifetime_days": 730.0, "speed": 0.3},
            "sha1": {"lifetime_days": 730.0, "speed": 0.3},
            "sha256": {"lifetime_days": 730.0, "speed": 0.3},
            "sha512": {"lifetime_days": 730.0, "speed": 0.3},
            "filename": {"lifetime_days": 180.0, "speed": 1.0},
            "regkey": {"lifetime_days": 365.0, "speed": 0.5},
            "btc": {"lifetime_days": 365.0, "speed": 0.5},
            "asn": {"lifetime_days": 365.0, "speed": 0.5},
            "indicator": {"lifetime_days": 120.0, "speed": 2.0},
            "default": {"lifetime_days": 120.0, "speed": 1.0},
            "entity": {"lifetime_days": 730.0, "speed": 0.5, "threshold": 0.0, "floor": 0.1},
            "story": {"lifetime_days": 30.0, "speed": 1.0, "threshold": 0.0},
        },
        description="Decay per type (value types ipv4, domain, sha256 …, and indicator, "
                    "entity, story, default): lifetime_days, speed, optional threshold "
                    "(0-100) and floor (0-1). Entries given are merged over the defaults.")
    risk_type_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "intrusion-set": 1.0, "threat-actor": 1.0, "campaign": 0.9, "malware": 0.9,
            "indicator": 0.8, "file": 0.8, "vulnerability": 0.7, "url": 0.7,
            "domain-name": 0.7, "tool": 0.6, "ipv4-addr": 0.6, "ipv6-addr": 0.6,
            "email-addr": 0.5, "windows-registry-key": 0.5, "cryptocurrency-wallet": 0.5,
            "x-allsource-cryptocurrency-wallet": 0.5, "autonomous-system": 0.4, "story": 0.5,
            "default": 0.5,
        },
        description="Impact weight (0-1) per STIX type; entries given are merged over the "
                    "defaults.")

    @field_validator("risk_decay")
    @classmethod
    def _risk_decay(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        defaults = cls.model_fields["risk_decay"].get_default(call_default_factory=True)
        merged = {key: {**defaults.get(key, defaults["default"]), **entry}
                  for key, entry in value.items()}
        merged = {**defaults, **merged}
        for key, entry in merged.items():
            unknown = set(entry) - {"lifetime_days", "speed", "threshold", "floor"}
            if unknown:
                raise ValueError(f"risk_decay.{key}: unknown {', '.join(sorted(unknown))}")
            if not (entry["lifetime_days"] > 0 and entry["speed"] > 0
                    and 0 <= entry.get("threshold", 0) <= 100
                    and 0 <= entry.get("floor", 0) < 1):
                raise ValueError(f"risk_decay.{key}: lifetime_days and speed must be > 0, "
                                 "threshold 0-100, floor in [0, 1)")
        return merged

    @field_validator("risk_type_weights")
    @classmethod
    def _risk_weights(cls, value: dict[str, float]) -> dict[str, float]:
        if any(not 0 <= w <= 1 for w in value.values()):
            raise ValueError("risk_type_weights: weights are 0-1")
        return {**cls.model_fields["risk_type_weights"].get_default(call_default_factory=True),
                **value}

    # audit (see allsource.store.audit)
    audit_key_file: Path = Field(
        default=Path("allsource-audit.key"),
        description="Ed25519 key that signs audit checkpoints (created 0600 by `allsource "
                    "init` or `allsource audit keygen`); ALLSOURCE_AUDIT_KEY overrides it.")
    audit_checkpoint_every: int = Field(
        default=1000, ge=1, le=10_000_000,
        description="Sign a checkpoint of the audit chain every this many events.")
    audit_public_keys: list[str] = Field(
        default_factory=list,
        description="Further trusted public keys (hex) for `allsource audit verify`, e.g. "
                    "keys used before a rotation (environment: a JSON list).")

    # api
    api_read_only_anonymous: bool = Field(
        default=False, description="Let requests without a token read (GET) what TLP:CLEAR "
                                    "allows; every write still needs a token.")
    api_docs: bool = Field(
        default=False, description="Serve Swagger UI at /docs. Off by default: the page loads "
                                   "its script from a CDN (it gets a CSP that allows only that "
                                   "CDN and its own inline script).")


class _TomlSource(PydanticBaseSettingsSource):
    """Reads ``[allsource]`` (or top-level keys) from the TOML config file, if any."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = Path(os.environ.get("ALLSOURCE_CONFIG", DEFAULT_CONFIG_FILE))
        if not path.is_file():
            if "ALLSOURCE_CONFIG" in os.environ:
                raise ConfigError(f"config file {path} does not exist")
            return {}
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        section = data.get("allsource", data)
        return {k: v for k, v in section.items() if k in self.settings_cls.model_fields}


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"invalid settings: {exc}") from exc
