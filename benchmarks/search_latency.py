"""Search latency per query kind: allsource ``store.search`` against the raw engine baseline,
interleaved query by query on the same store (so both see the same machine load), wall-clock
and CPU time, p50/p95/p99 per kind.

The queries are ``benchmarks/ingest.py``'s (``make_queries``: ATT&CK technique names, words,
two-word phrases, ``a OR b`` and prefixes from the real-text corpus vocabulary, seed 20240601);
the baselines are ingest.py's statements run on the store's own tables (SQLite: FTS5 bm25 top
20 joined to ``documents`` + ``snippet``; PostgreSQL: ``tsv @@ q`` + ``ts_rank_cd`` top 20 +
``ts_headline``). The store must already hold the corpus, e.g. the one ``benchmarks/api.py
--workdir DIR`` keeps (``sqlite:///DIR/api.db``) or one filled by ``allsource ingest``.

    python benchmarks/search_latency.py sqlite:///tmp/api/api.db [--audience amber] [--queries N]

``--statements`` also times every SQL statement allsource's searches send (SQLAlchemy cursor
events) and prints the milliseconds per query each statement shape costs, largest first.
"""

from __future__ import annotations

import argparse
import collections
import math
import re
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest as ib

from allsource.config import load_settings
from allsource.model.markings import TLP, Audience
from allsource.store import open_store
from allsource.store import query as q

SQLITE_BASELINE = (
    "SELECT d.id, d.title, d.url, snippet(documents_fts, -1, '<b>', '</b>', '…', 24), "
    "bm25(documents_fts, 10.0, 1.0) AS score FROM documents_fts JOIN documents d "
    "ON d.seq = documents_fts.rowid WHERE documents_fts MATCH ? ORDER BY score LIMIT 20")
PG_BASELINE = (
    "WITH query AS (SELECT {tsq} AS tq), page AS ("
    "SELECT d.id, d.title, d.text, d.url, ts_rank_cd(d.tsv, query.tq) AS rank "
    "FROM documents d, query WHERE d.tsv @@ query.tq ORDER BY rank DESC LIMIT 20) "
    "SELECT page.id, page.title, page.url, ts_headline('english', page.title "
    "|| ' — ' || left(page.text, 20000), query.tq, %(opts)s), page.rank "
    "FROM page, query ORDER BY page.rank DESC")


def pct(s: list[float], p: float) -> float:
    return s[max(1, min(len(s), math.ceil(p / 100 * len(s)))) - 1]


def baseline(url: str) -> Callable[[str], int]:
    if url.startswith("sqlite"):
        raw = sqlite3.connect(url.removeprefix("sqlite:///"))
        return lambda text: len(raw.execute(SQLITE_BASELINE,
                                            (q.to_fts5(q.parse(text)),)).fetchall())
    import psycopg

    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                           autocommit=True)

    def run(text: str) -> int:
        tsq, params = q.to_tsquery_sql(q.parse(text))
        sql = PG_BASELINE.format(tsq=re.sub(r":(q\d+)", r"%(\1)s", tsq))
        return len(conn.execute(sql, {**params, "opts": ib.PG_HEADLINE_OPTS}).fetchall())

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url", help="the store's database URL")
    ap.add_argument("--blobs", type=Path, default=Path("/tmp/allsource-search-blobs"))
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--audience", choices=["owner", "amber"], default="owner",
                    help="amber: a TLP:AMBER reader, so marking conditions are in the SQL")
    ap.add_argument("--statements", action="store_true",
                    help="also print the SQL time per query of each statement shape")
    args = ap.parse_args()
    aud = Audience.owner() if args.audience == "owner" else Audience(max_tlp=TLP.AMBER)
    store = open_store(load_settings(database_url=args.url, blob_dir=args.blobs))
    base = baseline(args.url)

    def ours(text: str) -> int:
        return len(store.search(q.SearchQuery(text=text, limit=20), aud).hits)

    queries = ib.make_queries(ib.load_pools(), args.queries, args.seed)
    for _, text in queries[:20]:  # warm-up
        ours(text)
        base(text)
    res: dict[str, list[tuple[str, str, float, float]]] = {"allsource": [], "baseline": []}
    load0 = Path("/proc/loadavg").read_text().split()[:3]
    for kind, text in queries:
        for name, fn in (("allsource", ours), ("baseline", base)):
            w0, c0 = time.perf_counter(), time.thread_time()
            fn(text)
            res[name].append((kind, text, (time.perf_counter() - w0) * 1000,
                              (time.thread_time() - c0) * 1000))
    load1 = Path("/proc/loadavg").read_text().split()[:3]
    if args.statements:
        statement_times(store, ours, queries)
    print(f"# {args.url.split('://')[0]} audience={args.audience} queries={len(queries)} "
          f"load start {load0} end {load1}")
    print("| path | kind | p50 | p95 | p99 | max | CPU p50 | CPU p99 |\n|---|---|---:|---:|---:|"
          "---:|---:|---:|")
    for name, rows in res.items():
        for k in [*sorted({r[0] for r in rows}), "all"]:
            w = sorted(r[2] for r in rows if k in ("all", r[0]))
            c = sorted(r[3] for r in rows if k in ("all", r[0]))
            print(f"| {name} | {k} | {pct(w, 50):.1f} | {pct(w, 95):.1f} | {pct(w, 99):.1f} | "
                  f"{w[-1]:.1f} | {pct(c, 50):.1f} | {pct(c, 99):.1f} |")
        slow = sorted(rows, key=lambda r: -r[2])[:6]
        print(f"slowest {name}: {[(r[1], round(r[2], 1)) for r in slow]}")


def statement_times(store: Any, ours: Callable[[str], int],
                    queries: list[tuple[str, str]]) -> None:
    """Run the queries again through allsource alone, timing each statement it sends."""
    spent: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    began: list[float] = [0.0]

    def before(*_: Any) -> None:
        began[0] = time.perf_counter()

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        entry = spent[" ".join(statement.split())[:90]]
        entry[0] += 1
        entry[1] += time.perf_counter() - began[0]

    sa.event.listen(store.engine, "before_cursor_execute", before)
    sa.event.listen(store.engine, "after_cursor_execute", after)
    for _, text in queries:
        ours(text)
    sa.event.remove(store.engine, "before_cursor_execute", before)
    sa.event.remove(store.engine, "after_cursor_execute", after)
    n = len(queries)
    print(f"SQL per query, {n} queries: {sum(v[1] for v in spent.values()) * 1000 / n:.2f} ms")
    for shape, (count, secs) in sorted(spent.items(), key=lambda kv: -kv[1][1])[:12]:
        print(f"  {secs * 1000 / n:6.2f} ms/query  {int(count):5d}×  {shape}")


if __name__ == "__main__":
    main()
