from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from tests.conftest import _samples

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(tmp_path: Path) -> Run:
    """Run ``python -m allsource …`` in a fresh working directory with its own store."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ALLSOURCE_") or k == "ALLSOURCE_CACHE_DIR"}
    env.update({"ALLSOURCE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
                "ALLSOURCE_BLOB_DIR": str(tmp_path / "blobs"), "COLUMNS": "200",
                "NO_COLOR": "1"})
    if (samples := _samples()) is not None:  # a file root, so the samples may be ingested
        env["ALLSOURCE_SAMPLES_DIR"] = str(samples)

    def run(*args: str, check: int | None = 0, timeout: float = 120,
            **kw: object) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "allsource", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]
        if check is not None:
            assert proc.returncode == check, proc.stdout + proc.stderr
        return proc  # type: ignore[no-any-return]

    return run


def as_json(proc: subprocess.CompletedProcess[str]) -> object:
    return orjson.loads(proc.stdout)
