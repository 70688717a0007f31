"""Server time of the workspace's graph explorer: the page, its JSON and one cluster page.

The app (``create_app``) runs in this process behind Starlette's TestClient over an existing
store (a demo store: ``allsource init && allsource demo`` in a folder), logged in with a token.
Objects: the ``--top`` objects with the most relationships (the largest neighbourhoods, which
the server summarises into clusters) and ``--random`` others with at least one (seeded). For
each object: ``GET /graph/<id>`` (the page), ``GET /graph/<id>/data`` (the neighbourhood) and,
when the answer has a cluster and the code has the route, ``GET /graph/<id>/data?cluster=<type>``
(its first page of members). Each request's CPU time (``time.process_time``: the handler,
the store and the test client, which is the same for every code version) and wall time are
recorded over ``--rounds`` rounds after one warm-up; p50/p95 are printed as JSON.

Before/after: run it with ``PYTHONPATH`` pointing at each code version, alternating
(A, B, A, B) in one command, and compare the ratios.

    cd /tmp/demo && PYTHONPATH=$REPO/src python $REPO/benchmarks/web_graph.py --token TOKEN
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from allsource.api import create_app
from allsource.config import load_settings
from allsource.store import open_store
from allsource.store import schema as t


def _objects(store: Any, top: int, sample: int) -> list[str]:
    r = t.relationships
    with store.engine.connect() as conn:
        degree = sa.union_all(sa.select(r.c.source_ref.label("id")),
                              sa.select(r.c.target_ref.label("id"))).subquery()
        ranked = conn.execute(sa.select(degree.c.id, sa.func.count().label("n"))
                              .group_by(degree.c.id).order_by(sa.text("n DESC"))).all()
        stored = set(conn.execute(sa.select(t.objects.c.id)).scalars())
    ids = [i for i, _ in ranked if i in stored]
    rest = ids[top:]
    return ids[:top] + random.Random(7).sample(rest, min(sample, len(rest)))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--token", required=True)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--random", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--label", default=str(Path.cwd()))
    args = ap.parse_args()
    settings = load_settings()
    store = open_store(settings)
    ids = _objects(store, args.top, args.random)
    cpu: dict[str, list[float]] = {"page": [], "data": [], "cluster": []}
    wall: dict[str, list[float]] = {k: [] for k in cpu}
    with TestClient(create_app(settings)) as client:
        r = client.post("/login", data={"token": args.token, "next": "/search"},
                        follow_redirects=False)
        assert r.status_code == 303, r.text
        sizes = []
        for round_ in range(args.rounds + 1):
            for oid in ids:
                for kind, url in (("page", f"/graph/{oid}"), ("data", f"/graph/{oid}/data")):
                    c0, w0 = time.process_time(), time.perf_counter()
                    resp = client.get(url)
                    c1, w1 = time.process_time(), time.perf_counter()
                    assert resp.status_code == 200, (url, resp.status_code)
                    if round_:
                        cpu[kind].append((c1 - c0) * 1000)
                        wall[kind].append((w1 - w0) * 1000)
                    if kind == "data":
                        body = resp.json()
                        if round_ == 1:
                            sizes.append(len(resp.content))
                        clusters = [n for n in body["nodes"] if n["kind"] == "cluster"]
                if clusters:
                    url = f"/graph/{oid}/data?cluster={clusters[0]['type']}"
                    c0, w0 = time.process_time(), time.perf_counter()
                    resp = client.get(url)
                    c1, w1 = time.process_time(), time.perf_counter()
                    paged = resp.status_code == 200 and "members_total" in resp.json()["summary"]
                    if paged and round_:
                        cpu["cluster"].append((c1 - c0) * 1000)
                        wall["cluster"].append((w1 - w0) * 1000)
    out: dict[str, Any] = {"label": args.label, "objects": len(ids), "rounds": args.rounds,
                           "json_bytes_max": max(sizes), "json_bytes_median":
                           int(statistics.median(sizes))}
    for kind in cpu:
        if cpu[kind]:
            out[kind] = {"n": len(cpu[kind]),
                         "cpu_p50_ms": round(_pct(cpu[kind], 0.5), 1),
                         "cpu_p95_ms": round(_pct(cpu[kind], 0.95), 1),
                         "wall_p50_ms": round(_pct(wall[kind], 0.5), 1),
                         "wall_p95_ms": round(_pct(wall[kind], 0.95), 1)}
    print(json.dumps(out))
    store.close()


if __name__ == "__main__":
    main()
