"""``allsource serve`` hands uvicorn the options a busy API needs (in-process, uvicorn itself
replaced: nothing listens)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from allsource.api.app import OVERRIDES_ENV
from allsource.cli import app
from allsource.cli.serve import KEEP_ALIVE_SECONDS


@pytest.mark.parametrize("workers", ["1", "2"])
def test_idle_connections_outlive_the_clients_own_expiry(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workers: str) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **kw: calls.append(kw))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALLSOURCE_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.setenv(OVERRIDES_ENV, "{}")  # serve sets it for its workers: restored after
    result = CliRunner().invoke(app, ["serve", "--port", "8799", "--workers", workers])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1
    # httpx (and many clients) drop idle connections after 5 s: the server must not close
    # them at that same moment, or a request sent then fails with a read error
    assert calls[0]["timeout_keep_alive"] == KEEP_ALIVE_SECONDS > 5
