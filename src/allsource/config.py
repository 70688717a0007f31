"""Typed settings, from environment variables (``ALLSOURCE_*``) and an optional TOML file.

Precedence: explicit arguments > environment > config file (``allsource.toml`` in the working
directory, or the file named by ``ALLSOURCE_CONFIG``) > defaults. The default store is a SQLite
file in the working directory, so nothing has to be started.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from allsource.errors import ConfigError

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
    http_timeout: float = Field(default=30.0, gt=0)
    http_max_redirects: int = Field(default=5, ge=0, le=20)
    user_agent: str = "allsource/0.1 (+https://github.com/allsource)"
    samples_dir: Path | None = Field(default=None,
                                     description="Optional folder of shared real samples.")

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
