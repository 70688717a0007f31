"""``allsource serve --workers N``: several processes over one store. Whatever a request
leaves for a later one (a web session, the audit chain) lives in the store, so any worker
answers any request; concurrent searches from several processes keep one unbroken audit
chain. Slow: it starts real uvicorn workers."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Run, as_json
from tests.conftest import child_env

pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def test_two_workers_share_sessions_and_one_audit_chain(cli: Run, tmp_path: Path) -> None:
    token = re.search(r"^(\S{30,})$", cli("init").stdout, re.M)
    assert token is not None
    secret = token.group(1)
    port = _port()
    env = child_env(tmp_path / "cli.db", tmp_path / "blobs")
    server = subprocess.Popen(
        [sys.executable, "-m", "allsource", "serve", "--port", str(port), "--workers", "2",
         "--no-access-log"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if server.poll() is not None:
                pytest.fail(server.stdout.read().decode() if server.stdout else "exited")
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        # uvicorn's parent supervises two worker processes
        assert len(_children(server.pid)) >= 2

        # a web session made on one connection works on thirty fresh ones
        login = httpx.post(f"{base}/login", data={"token": secret}, follow_redirects=False)
        assert login.status_code == 303
        cookies = dict(login.cookies)
        for _ in range(30):
            with httpx.Client(base_url=base, cookies=cookies) as c:
                assert c.get("/search", params={"q": "ransomware"}).status_code == 200

        # concurrent API searches from both processes: one chain, every event in it
        headers = {"Authorization": f"Bearer {secret}"}

        def search(i: int) -> int:
            with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
                return c.get("/api/v1/search", params={"q": f"attack {i}"}).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(search, range(40))) == {200}
    finally:
        server.terminate()
        server.wait(timeout=60)
    verified = as_json(cli("audit", "verify", "--json"))
    assert isinstance(verified, dict) and verified["ok"] is True, verified
    searches = as_json(cli("audit", "log", "-n", "500", "--action", "search", "--json"))
    assert isinstance(searches, list) and len(searches) == 40 + 30
