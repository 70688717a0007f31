"""PostgreSQL prefix searches with the dense-prefix window (store/dense_scan.py) off and on,
paired query by query in one process on the same store: wall time, client CPU, and the
server CPU of the pool's backends (``/proc/PID/schedstat``, so run it on the database's
machine), p50/p95/p99 per arm, and whether both arms returned the same hits, scores and
totals (they must).

    python benchmarks/prefix_window.py postgresql://…/s100k [--kind prefix] [--audience amber]

The queries are ``benchmarks/ingest.py``'s (``make_queries``, seed 20240601), of one kind
(``all`` for every kind); the arms alternate which goes first.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest as ib

from allsource.config import load_settings
from allsource.model.markings import TLP, Audience
from allsource.store import dense_scan, open_store
from allsource.store import query as q


def pct(s: list[float], p: float) -> float:
    return s[max(1, min(len(s), math.ceil(p / 100 * len(s)))) - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("--kind", default="prefix")
    ap.add_argument("--audience", choices=["owner", "amber"], default="owner")
    ap.add_argument("--blobs", type=Path, default=Path("/tmp/allsource-search-blobs"))
    args = ap.parse_args()
    aud = Audience.owner() if args.audience == "owner" else Audience(max_tlp=TLP.AMBER)
    store = open_store(load_settings(database_url=args.url, blob_dir=args.blobs))
    pids: set[int] = set()

    def checkout(dbapi_conn: Any, *_: Any) -> None:
        pids.add(int(dbapi_conn.info.backend_pid))

    sa.event.listen(store.engine, "checkout", checkout)

    def server_ns() -> int:
        total = 0
        for pid in list(pids):
            with contextlib.suppress(FileNotFoundError):  # a backend that has gone
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        return total

    real = dense_scan.window_end

    def off(*_: Any) -> None:
        return None

    def run(text: str, on: bool) -> tuple[float, float, float, tuple[Any, ...]]:
        dense_scan.window_end = real if on else off  # type: ignore[assignment]
        s0, w0, c0 = server_ns(), time.perf_counter(), time.thread_time()
        r = store.search(q.SearchQuery(text=text, limit=20), aud)
        return ((time.perf_counter() - w0) * 1000, (time.thread_time() - c0) * 1000,
                (server_ns() - s0) / 1e6,
                ([(h.id, h.score) for h in r.hits], r.total, r.total_exact))

    queries = [t for k, t in ib.make_queries(ib.load_pools(), 1000, 20240601)
               if args.kind in ("all", k)]
    for text in queries[:10]:  # warm-up
        run(text, False)
        run(text, True)
    load0 = Path("/proc/loadavg").read_text().split()[:3]
    res: dict[bool, list[tuple[float, float, float, str]]] = {False: [], True: []}
    differing = 0
    for i, text in enumerate(queries):
        out = {on: run(text, on) for on in ((False, True) if i % 2 == 0 else (True, False))}
        differing += out[False][3] != out[True][3]
        for on in (False, True):
            res[on].append((*out[on][:3], text))
    load1 = Path("/proc/loadavg").read_text().split()[:3]
    print(f"# kind={args.kind} n={len(queries)} audience={args.audience} load {load0} → "
          f"{load1}; queries whose answers differ: {differing}")
    for on in (False, True):
        rows = res[on]
        for name, value in (("wall", lambda r: r[0]), ("client CPU", lambda r: r[1]),
                            ("server CPU", lambda r: r[2]),
                            ("client+server CPU", lambda r: r[1] + r[2])):
            v = sorted(value(r) for r in rows)
            print(f"window {'on ' if on else 'off'} {name:18s} p50 {pct(v, 50):6.1f} "
                  f"p95 {pct(v, 95):6.1f} p99 {pct(v, 99):6.1f} max {v[-1]:6.1f}")
        top = sorted(rows, key=lambda r: -(r[1] + r[2]))[:5]
        print("  slowest CPU:", [(r[3], round(r[1] + r[2], 1)) for r in top])


if __name__ == "__main__":
    main()
