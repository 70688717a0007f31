"""The CLI tests' child processes run the code under test, not another checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import allsource
from tests.conftest import child_env


def test_a_child_imports_the_package_this_test_imported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a worktree's tests run with a relative PYTHONPATH; the child runs in another folder
    monkeypatch.setenv("PYTHONPATH", "src")
    env = child_env(tmp_path / "x.db", tmp_path / "blobs")
    first, *rest = env["PYTHONPATH"].split(os.pathsep)
    assert Path(first) == Path(allsource.__file__).resolve().parent.parent
    assert all(Path(p).is_absolute() for p in rest)
    out = subprocess.run([sys.executable, "-c", "import allsource; print(allsource.__file__)"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert Path(out.stdout.strip()).resolve() == Path(allsource.__file__).resolve()
    assert env["ALLSOURCE_DATABASE_URL"] == f"sqlite:///{tmp_path / 'x.db'}"
