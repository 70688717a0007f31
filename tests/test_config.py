from __future__ import annotations

from pathlib import Path

import pytest

from allsource.config import load_settings
from allsource.errors import ConfigError


def test_defaults_put_the_store_in_the_working_directory(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for key in ("ALLSOURCE_DATABASE_URL", "ALLSOURCE_CONFIG", "ALLSOURCE_BLOB_DIR"):
        monkeypatch.delenv(key, raising=False)
    s = load_settings()
    assert s.database_url == "sqlite:///allsource.db" and s.is_sqlite
    assert s.blob_dir == Path("allsource-blobs")


def test_config_file_then_environment_then_arguments(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ALLSOURCE_DATABASE_URL", raising=False)
    monkeypatch.delenv("ALLSOURCE_CONFIG", raising=False)
    (tmp_path / "allsource.toml").write_text(
        '[allsource]\nbatch_size = 42\ndatabase_url = "sqlite:///from-file.db"\n')
    assert load_settings().batch_size == 42
    assert load_settings().database_url == "sqlite:///from-file.db"
    monkeypatch.setenv("ALLSOURCE_BATCH_SIZE", "7")
    assert load_settings().batch_size == 7
    assert load_settings(batch_size=9).batch_size == 9


def test_bad_settings_are_clear_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALLSOURCE_BATCH_SIZE", "lots")
    with pytest.raises(ConfigError, match="batch_size"):
        load_settings()
    monkeypatch.delenv("ALLSOURCE_BATCH_SIZE")
    monkeypatch.setenv("ALLSOURCE_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = = not toml")
    monkeypatch.setenv("ALLSOURCE_CONFIG", str(bad))
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings()
