"""Server time of the workspace's main pages on a large store: entity, search, graph, alerts.

Issue 12 asks for each page's p95 on the 120,000-document benchmark store (the store
``benchmarks/api.py`` builds: 120,000 real-text documents, 300,000 objects, 300,000
relationships, 750,000 mentions), target ≤ 300 ms server time. The app (``create_app``) runs
in this process behind Starlette's TestClient, so each request's CPU time
(``time.process_time``: the handler, the store and the test client) and wall time are the
server's plus a constant client share; no network or second process adds noise.

Two readers are measured, because the access rule changes the work: the benchmark store's
admin (sees everything) and a restricted analyst created here (TLP:GREEN ceiling, no
compartments), for whom every page runs the rule in SQL and re-checks derived views.

Pages, per round: ``/objects/<id>`` for the store's two hubs (the largest neighbourhoods) and
``--entities`` sampled entity ids; ``/search?q=…`` for ``--queries`` words drawn from the
corpus' titles (seeded); ``/graph/<id>`` and ``/graph/<id>/data`` for the same objects;
``/alerts`` (the first page, and the first page of each status tab). Alerts exist only when
watchlists have run on the store (``allsource watchlist add … && allsource process --stage
watchlist``); the count is printed. One warm-up round is not counted. p50/p95 per page kind
(CPU and wall), SQL statements per request (mean, max) and the slowest URL by CPU are
printed as JSON, with the number of requests and any non-200 answer (an error fails the
run: a page that errors is not fast).

    python benchmarks/web_pages.py --workdir /tmp/api-bench   # holds api.db and api-meta.json

The issue-12 store (``/tmp/pages-bench``) is a copy of ``api.py``'s 120k store with three
keyword watchlists and the watchlist stage run over it (53 min at 14 % of a core, loaded)::

    cp -a /tmp/api-bench-120k/{api-meta.json,api.db,blobs-*} /tmp/pages-bench/
    export ALLSOURCE_DATABASE_URL=sqlite:////tmp/pages-bench/api.db \
           ALLSOURCE_BLOB_DIR=$(ls -d /tmp/pages-bench/blobs-*)
    allsource watchlist add ukraine-watch --keyword Ukraine --keyword Kyiv \
        --severity high --tlp clear
    allsource watchlist add markets --keyword market --keyword inflation \
        --severity medium --tlp green
    allsource watchlist add security --keyword ransomware --keyword phishing \
        --severity critical --tlp amber
    allsource process --stage watchlist
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from allsource.api import create_app
from allsource.config import load_settings
from allsource.model.markings import TLP
from allsource.store import open_store, users
from allsource.store import schema as t

KINDS = ("entity", "search", "graph", "graph_data", "alerts")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _queries(store: Any, n: int, seed: int) -> list[str]:
    """``n`` distinct words of 5+ letters from a seeded sample of stored titles."""
    with store.engine.connect() as conn:
        titles = [r for r in conn.execute(sa.select(t.documents.c.title)
                                          .where(t.documents.c.title.is_not(None))
                                          .limit(5000)).scalars() if r]
    words = sorted({w.lower() for title in titles for w in re.findall(r"[A-Za-z]{5,}", title)})
    return random.Random(seed).sample(words, min(n, len(words)))


def _reader_token(store: Any, name: str) -> str:
    """A restricted analyst's token (created once; a second run makes a second token)."""
    user = (users.get_user(store, name)
            or users.add_user(store, name, "analyst", max_tlp=TLP.GREEN))
    _, token = users.create_token(store, user, name=f"{name}-{int(time.time())}")
    return token


def _measure(client: TestClient, urls: list[tuple[str, str]], rounds: int
             ) -> dict[str, dict[str, Any]]:
    cpu: dict[str, list[float]] = {k: [] for k in KINDS}
    wall: dict[str, list[float]] = {k: [] for k in KINDS}
    stmts: dict[str, list[int]] = {k: [] for k in KINDS}
    slowest: dict[str, tuple[float, str]] = {}
    counted = [0]

    def count(*_: Any) -> None:
        counted[0] += 1

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    try:
        for round_ in range(rounds + 1):
            for kind, url in urls:
                counted[0] = 0
                c0, w0 = time.process_time(), time.perf_counter()
                resp = client.get(url)
                c1, w1 = time.process_time(), time.perf_counter()
                if resp.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {resp.status_code}")
                if round_:
                    cpu[kind].append((c1 - c0) * 1000)
                    wall[kind].append((w1 - w0) * 1000)
                    stmts[kind].append(counted[0])
                    slowest[kind] = max(slowest.get(kind, (0.0, "")), ((c1 - c0) * 1000, url))
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
    return {kind: {"n": len(cpu[kind]),
                   "cpu_p50_ms": round(_pct(cpu[kind], 0.5), 1),
                   "cpu_p95_ms": round(_pct(cpu[kind], 0.95), 1),
                   "wall_p50_ms": round(_pct(wall[kind], 0.5), 1),
                   "wall_p95_ms": round(_pct(wall[kind], 0.95), 1),
                   "statements_mean": round(sum(stmts[kind]) / len(stmts[kind]), 1),
                   "statements_max": max(stmts[kind]),
                   "slowest_cpu": [round(slowest[kind][0], 1), slowest[kind][1]]}
            for kind in KINDS if cpu[kind]}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--workdir", required=True, type=Path,
                    help="folder with benchmarks/api.py's api.db and api-meta.json")
    ap.add_argument("--entities", type=int, default=20)
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--pages", nargs="+", choices=KINDS, default=list(KINDS),
                    help="page kinds to measure (default: all)")
    args = ap.parse_args()
    meta = json.loads((args.workdir / "api-meta.json").read_text())
    # the folder may be a copy of the one api.py built: read the store and blobs found there
    blobs = sorted(args.workdir.glob("blobs-*")) or [Path(meta["blob_dir"])]
    settings = load_settings(database_url=f"sqlite:///{args.workdir.resolve() / 'api.db'}",
                             blob_dir=blobs[0])
    store = open_store(settings)
    rng = random.Random(args.seed)
    entities = list(meta["hubs"]) + rng.sample(meta["entity_ids"], args.entities)
    queries = _queries(store, args.queries, args.seed)
    with store.engine.connect() as conn:
        alerts = int(conn.execute(sa.select(sa.func.count()).select_from(t.alerts)).scalar_one())
        hits = int(conn.execute(sa.select(sa.func.count())
                                .select_from(t.watchlist_hits)).scalar_one())
    restricted = _reader_token(store, "pages-bench-green")
    store.close()
    urls = ([("entity", f"/objects/{e}") for e in entities]
            + [("search", f"/search?q={q}") for q in queries]
            + [("graph", f"/graph/{e}") for e in entities]
            + [("graph_data", f"/graph/{e}/data") for e in entities]
            + [("alerts", u) for u in ("/alerts", "/alerts?status=all",
                                       "/alerts?status=acknowledged", "/alerts?status=closed")])
    urls = [(kind, url) for kind, url in urls if kind in args.pages]
    out: dict[str, Any] = {"store": meta["counts"], "alerts": alerts, "watchlist_hits": hits,
                           "entities": len(entities), "queries": len(queries),
                           "rounds": args.rounds, "loadavg": list(os.getloadavg())}
    for label, token in (("admin", meta["token"]), ("green_analyst", restricted)):
        with TestClient(create_app(settings)) as client:
            r = client.post("/login", data={"token": token, "next": "/search"},
                            follow_redirects=False)
            if r.status_code != 303:
                raise SystemExit(f"login as {label}: HTTP {r.status_code}")
            out[label] = _measure(client, urls, args.rounds)
    out["loadavg_end"] = list(os.getloadavg())
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
