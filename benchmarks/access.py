"""Access-filtering benchmark: what the whole release rule in SQL costs a search, against the
filter it replaced (TLP and classification in SQL, compartments and releasability re-checked
in Python after the ``LIMIT``), in one run on the same store.

1. **Store.** ``--docs`` documents recombined from real text that ships in installed packages
   (``benchmarks/ingest.py``'s seeded corpus builder: ATT&CK, MISP galaxies, GDELT), written
   with ``write_batch`` into SQLite and PostgreSQL (a throwaway server from
   ``tests/pgserver.py``, or ``ALLSOURCE_BENCH_PG_URL``). Seeded markings: 40 % TLP:CLEAR,
   20 % TLP:AMBER, 20 % in one or two of the compartments ORCON/NOFORN/HCS, 20 % released to
   one or two of the groups NATO/EU/FVEY.
2. **Audiences.** ``owner`` (no filter), ``green`` (TLP:GREEN, no compartments or groups: the
   rule is equality tests) and ``cleared`` (TLP:RED, SECRET, compartments ORCON+NOFORN, groups
   NATO+EU: the ``replace`` chains of :mod:`allsource.store.access`).
3. **Timing.** ``--queries`` queries from the corpus vocabulary (``make_queries``) through
   ``store.search`` (the API's window of 200 hits), each audience with the rule in SQL and
   with the **baseline**: the pre-issue-10 predicate (``SqlStore._readable`` swapped for TLP +
   classification only; the store's ``can_release`` pass then drops the rest after the
   ``LIMIT``, so its totals are wrong — it is the speed to beat, not an alternative). Queries
   alternate rule/baseline so load drifts hit both alike; p50/p95 per pair and the ratio.

Run ``python benchmarks/access.py --help``; results go in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
for extra in (REPO, REPO / "benchmarks"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from ingest import PgTarget, latency_summary, load_pools, make_document, make_queries  # noqa: E402

from allsource.config import load_settings  # noqa: E402
from allsource.model.markings import TLP, Audience, Classification, Marking  # noqa: E402
from allsource.model.records import Collected, Document, Source  # noqa: E402
from allsource.store import open_store  # noqa: E402
from allsource.store.query import SearchQuery  # noqa: E402
from allsource.store.sql import SqlStore  # noqa: E402

AUDIENCES = {
    "owner": Audience.owner(),
    "green": Audience(max_tlp=TLP.GREEN, clearance=Classification.UNCLASSIFIED),
    "cleared": Audience(max_tlp=TLP.RED, clearance=Classification.SECRET,
                        compartments=frozenset({"ORCON", "NOFORN"}),
                        groups=frozenset({"NATO", "EU"})),
}
WINDOW = 200


def marking(rng: random.Random) -> Marking:
    roll = rng.random()
    if roll < 0.4:
        return Marking()
    if roll < 0.6:
        return Marking(tlp=TLP.AMBER)
    if roll < 0.8:
        return Marking(compartments=frozenset(rng.sample(["ORCON", "NOFORN", "HCS"],
                                                         rng.randint(1, 2))))
    return Marking(tlp=TLP.GREEN, releasability=frozenset(rng.sample(["NATO", "EU", "FVEY"],
                                                                     rng.randint(1, 2))))


def fill(store: SqlStore, n: int, seed: int) -> float:
    pools = load_pools()
    rng = random.Random(seed)
    source = Source("bench", "files", "/dev/null")
    store.add_source(source)
    started = time.perf_counter()
    for start in range(0, n, 1000):
        batch = []
        for i in range(start, min(n, start + 1000)):
            raw = make_document(rng, pools, i)
            batch.append(Collected(Document.build(kind="article", title=raw["title"],
                                                  text=raw["text"], url=raw["url"],
                                                  marking=marking(rng))))
        store.write_batch(source, batch, [], None)
    return time.perf_counter() - started


def _old_readable(table: Any, audience: Audience) -> sa.ColumnElement[bool]:
    """The filter before issue 10: TLP and classification only."""
    if audience.unrestricted:
        return sa.true()
    return sa.and_(table.c.tlp <= int(audience.max_tlp),
                   table.c.classification <= int(audience.clearance))


@contextmanager
def baseline() -> Iterator[None]:
    rule = SqlStore.__dict__["_readable"]
    SqlStore._readable = staticmethod(_old_readable)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        SqlStore._readable = rule  # type: ignore[method-assign]


def measure(store: SqlStore, queries: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, audience in AUDIENCES.items():
        rule_ms: list[float] = []
        base_ms: list[float] = []
        totals = [0, 0]
        for text in queries:
            for slot, timings in ((0, rule_ms), (1, base_ms)):
                query = SearchQuery(text=text, limit=WINDOW)
                if slot:
                    with baseline():
                        t0 = time.perf_counter()
                        result = store.search(query, audience)
                else:
                    t0 = time.perf_counter()
                    result = store.search(query, audience)
                timings.append((time.perf_counter() - t0) * 1000)
                totals[slot] += result.total
        rule, base = latency_summary(rule_ms), latency_summary(base_ms)
        out[name] = {"rule": rule, "baseline": base,
                     "p50_ratio": round(rule["p50_ms"] / base["p50_ms"], 3),
                     "p95_ratio": round(rule["p95_ms"] / base["p95_ms"], 3),
                     "sum_of_totals": {"rule": totals[0], "baseline": totals[1]}}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--backends", default="sqlite,postgres")
    args = ap.parse_args()
    queries = [q for _, q in make_queries(load_pools(), args.queries, args.seed)]
    print(f"machine: {platform.platform()}, nproc {os.cpu_count()}, "
          f"loadavg {Path('/proc/loadavg').read_text().strip()}")
    work = Path(tempfile.mkdtemp(prefix="access-bench-"))
    pg = None
    try:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                url = f"sqlite:///{work / 'bench.db'}"
            else:
                pg = pg or PgTarget()
                url = pg.new_database("access")
            store = open_store(load_settings(database_url=url, blob_dir=work / "blobs"))
            try:
                took = fill(store, args.docs, args.seed)
                print(f"{backend}: {args.docs} documents written in {took:.1f} s")
                for name, figures in measure(store, queries).items():
                    r, b = figures["rule"], figures["baseline"]
                    print(f"  {name:8s} rule p50 {r['p50_ms']:7.2f} p95 {r['p95_ms']:7.2f} ms | "
                          f"baseline p50 {b['p50_ms']:7.2f} p95 {b['p95_ms']:7.2f} ms | "
                          f"p95 ratio {figures['p95_ratio']:.3f} | totals "
                          f"{figures['sum_of_totals']}")
            finally:
                store.close()
    finally:
        if pg is not None:
            for name in list(pg.created):
                pg.drop(name)
            if pg.server is not None:
                pg.server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
