from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from tests.conftest import _samples, child_env

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(tmp_path: Path) -> Run:
    """Run ``python -m allsource …`` in a fresh working directory with its own store."""
    env = child_env(tmp_path / "cli.db", tmp_path / "blobs", COLUMNS="200", NO_COLOR="1")
    if (samples := _samples()) is not None:  # a file root, so the samples may be ingested
        env["ALLSOURCE_SAMPLES_DIR"] = str(samples)

    def run(*args: str, check: int | None = 0, timeout: float = 600, columns: int = 200,
            **kw: object) -> subprocess.CompletedProcess[str]:
        """``columns``: the terminal width the command sees (Rich reads ``COLUMNS``);
        ``timeout`` only catches a hang (a retrain took over 120 s on a loaded CI machine)."""
        proc = subprocess.run([sys.executable, "-m", "allsource", *args], cwd=tmp_path,
                              env={**env, "COLUMNS": str(columns)}, capture_output=True,
                              text=True, timeout=timeout, **kw)  # type: ignore[call-overload]
        if check is not None:
            assert proc.returncode == check, proc.stdout + proc.stderr
        return proc  # type: ignore[no-any-return]

    return run


def as_json(proc: subprocess.CompletedProcess[str]) -> object:
    return orjson.loads(proc.stdout)


@dataclass
class Shown:
    """What a person sees after one command: exit code, standard output and error."""

    code: int
    out: str
    err: str


Term = Callable[..., Shown]


@pytest.fixture
def term(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Iterator[Term]:
    """Run ``allsource …`` in this process (``allsource.cli.main``, so errors print as they do
    for a user) at a fixed terminal width: much cheaper than a subprocess per command, for
    tests that read what a command prints at 80 or 120 columns. Same store as ``cli``."""
    from allsource.cli import main
    from allsource.cli.common import console, err_console, state

    for key in [k for k in os.environ if k.startswith("ALLSOURCE_")]:
        if key != "ALLSOURCE_CACHE_DIR":
            monkeypatch.delenv(key)
    monkeypatch.setenv("ALLSOURCE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("ALLSOURCE_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.chdir(tmp_path)
    widths = (console._width, err_console._width)

    def run(*args: str, columns: int = 80, check: int | None = 0) -> Shown:
        state.debug, state._settings, state._store = False, None, None
        state.overrides.clear()
        console._width = err_console._width = columns
        monkeypatch.setattr(sys, "argv", ["allsource", *args])
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            state._store = None  # main closed it
        seen = capsys.readouterr()
        shown = Shown(code, seen.out, seen.err)
        if check is not None:
            assert code == check, shown
        return shown

    yield run
    console._width, err_console._width = widths
