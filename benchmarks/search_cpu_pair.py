"""API search: server CPU per request of two versions of the code, paired and alternating.

Two ``allsource serve`` processes over the same store (``STORE``: a folder holding an
``allsource init`` store and its admin token in ``admin.token``), one running ``BASE_SRC``
and one ``BRANCH_SRC`` (folders holding the ``allsource`` package, e.g. a ``git archive`` of
the parent commit and the worktree's ``src``). Each round sends the same 28 queries (words,
phrases, ``OR``, a lower-case ``or``) to one server then the other, the order alternating by
round, and reads each server's CPU time from ``/proc/PID/stat``::

    python benchmarks/search_cpu_pair.py ROUNDS STORE BASE_SRC BRANCH_SRC

Results: benchmarks/RESULTS.md, section "Search page, search hints and the similarity
cut-off (wt-search)".
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

QUERIES = ["phishing", "ransomware", "credential dumping", '"spearphishing attachment"',
           "apt28 OR sofacy", "lateral movement", "powershell", "ukraine", "cobalt strike",
           "mimikatz", "exfiltration", "persistence registry", "supply chain", "wiper",
           "botnet", "vulnerability exploit", "dns tunneling", "china", "apt28 or sofacy",
           "remote desktop", "keylogger", "backdoor", "trojan", "espionage",
           "defense evasion", "scheduled task", "web shell", "brute force"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(store: Path, src: str, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=src,
               ALLSOURCE_CACHE_DIR=os.environ.get("ALLSOURCE_CACHE_DIR", "/tmp/cache-pair"))
    proc = subprocess.Popen(["nice", "-n", "15", sys.executable, "-m", "allsource", "serve",
                             "--port", str(port), "--no-access-log"], cwd=store, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/search", params={"q": "x"}, timeout=5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.5)
    raise RuntimeError("the server did not start")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    rounds, store = int(sys.argv[1]), Path(sys.argv[2])
    token = (store / "admin.token").read_text().strip()
    ports = {"base": _port(), "branch": _port()}
    servers = {name: _start(store, src, ports[name])
               for name, src in (("base", sys.argv[3]), ("branch", sys.argv[4]))}
    clients = {name: httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                  headers={"Authorization": f"Bearer {token}"})
               for name, port in ports.items()}
    for client in clients.values():  # warm up
        for q in QUERIES:
            client.get("/api/v1/search", params={"q": q})
    cpu: dict[str, list[float]] = {name: [] for name in servers}
    wall: dict[str, list[float]] = {name: [] for name in servers}
    print("loadavg before", Path("/proc/loadavg").read_text().strip())
    for r in range(rounds):
        for name in (["base", "branch"] if r % 2 == 0 else ["branch", "base"]):
            queries = QUERIES[:]
            random.Random(r).shuffle(queries)
            before = _cpu(servers[name].pid)
            for q in queries:
                started = time.perf_counter()
                resp = clients[name].get("/api/v1/search", params={"q": q})
                wall[name].append((time.perf_counter() - started) * 1000)
                resp.raise_for_status()
            cpu[name].append((_cpu(servers[name].pid) - before) * 1000 / len(queries))
    print("loadavg after", Path("/proc/loadavg").read_text().strip())
    for name in servers:
        w = sorted(wall[name])
        print(f"{name:7} server CPU ms/request: median {statistics.median(cpu[name]):.2f} "
              f"(rounds {', '.join(f'{x:.1f}' for x in cpu[name])}); "
              f"wall p50 {w[len(w) // 2]:.1f} p99 {w[int(len(w) * 0.99) - 1]:.1f} ms")
    ratios = [b / a for a, b in zip(cpu["base"], cpu["branch"], strict=True)]
    print(f"branch/base CPU per request by round: {', '.join(f'{x:.2f}' for x in ratios)}; "
          f"median {statistics.median(ratios):.2f}")
    for proc in servers.values():
        proc.terminate()


if __name__ == "__main__":
    main()
