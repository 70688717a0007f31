"""API benchmark: the real FastAPI app under uvicorn on loopback, over a SQLite store with
≥ 100,000 documents and ≥ 1,000,000 relationships — single-request latency, then N concurrent
clients, against a named in-process baseline in the same run.

Targets (from the issue): p95 ≤ 200 ms for search and entity pages, a depth-2 graph
neighbourhood summary of a ≥ 50,000-node neighbourhood ≤ 1 s, and 50 concurrent clients on
loopback with no errors (throughput and latency percentiles reported).

1. **Store.** ``--docs`` documents recombined from real text (``benchmarks/ingest.py``'s corpus
   builder: ATT&CK, MISP galaxies, GDELT) ingested through ``run_source`` with the ``files``
   collector (the production path, FTS5 included); then ``benchmarks/graph.py``'s generator
   adds 300,000 objects, ≥ ``--relationships`` relationships (``--hubs`` hubs with ≈ 55,000
   objects at distance 2) and 20,000 evidence reports; each object is also mentioned in one
   or two corpus documents, so entity pages have provenance and document pages have mentioned
   objects. One admin user and token (``allsource.store.users``). No processing stages run
   (no stories, grades only on the generator's reports). ``--workdir`` keeps and reuses it.
2. **Server.** ``create_app(settings)`` under ``uvicorn.run`` in a subprocess on
   127.0.0.1:<free port>: ``allsource serve --workers N --no-access-log`` (``--workers``,
   default 2: one per core).
3. **Sequential pass** (1 client, ``httpx.Client`` keep-alive): single-request latency per
   endpoint — ``GET /api/v1/search?q=`` (real words, phrases, technique names, ``OR``,
   prefixes from the corpus vocabulary), ``/entities/{id}``, ``/documents/{id}`` (real ids)
   and ``/graph/{hub}?depth=2`` (measured separately; the 1 s target).
4. **Load pass**: ``--clients`` asyncio tasks on one ``httpx.AsyncClient`` (one connection
   each) for ``--seconds``, a weighted mix of the same requests; per-endpoint p50/p95/p99/max,
   throughput and every error (non-2xx or exception; the first few printed). The client runs
   in this process and shares the machine's cores with the server.
5. **Baseline**: the same calls in-process on the same store without HTTP — ``store.search``
   with the route's hit window (``WINDOW``), ``store.get`` (+ ``get_grade`` for documents), and
   ``analyze.graph.neighbourhood`` — so HTTP + FastAPI + serialisation overhead shows as a
   ratio (sequential p50 over HTTP / in-process p50).

6. **Route CPU** (``--route-cpu N``, instead of 2–5): ``GET /api/v1/search?q=`` for ``N``
   queries through the whole app in this process (Starlette's TestClient, no socket), as the
   admin and as a TLP:GREEN analyst: CPU time (``time.process_time``) and SQL statements per
   request, p50/p95/p99. On a loaded machine CPU per request, not wall time, is the figure
   to compare; run it twice with ``PYTHONPATH`` set to two checkouts' ``src`` (alternately)
   for a paired comparison of two versions on one store.

Run ``.venv/bin/python benchmarks/api.py --help``; ``--quick`` is a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import os
import platform
import random
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for extra in (REPO, BENCH):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import ingest as ingest_bench  # noqa: E402  (benchmarks/ingest.py: corpus + ingest)
from proctree import tree_cpu_seconds, tree_peak_rss_mib  # noqa: E402

from allsource.analyze.graph import neighbourhood  # noqa: E402
from allsource.api.routes.search import WINDOW  # noqa: E402
from allsource.config import load_settings  # noqa: E402
from allsource.model.markings import Audience  # noqa: E402
from allsource.store import open_store, users  # noqa: E402
from allsource.store import query as q  # noqa: E402
from allsource.store import schema as t  # noqa: E402
from allsource.store.sql import SqlStore  # noqa: E402
from allsource.verify.run import get_grade  # noqa: E402

# benchmarks/graph.py: the relationship generator (untyped: networkx has no stubs)
graph_bench: Any = importlib.import_module("graph")

API = "/api/v1"
ENTITY_TYPES = ("intrusion-set", "threat-actor", "malware", "tool", "campaign", "identity",
                "location", "attack-pattern", "vulnerability")
ENDPOINTS = ("search", "entity", "document", "graph")
TARGET_P95_MS = {"search": 200.0, "entity": 200.0, "graph": 1000.0}
SEARCH_WINDOW = WINDOW  # the hit window api/routes/search.py groups by story
META = "api-meta.json"
DB = "api.db"
log = ingest_bench.log



# ── store ────────────────────────────────────────────────────────────────────────────────────

def build_store(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Build the store in ``work`` (or reuse it when its metadata matches); return metadata."""
    meta_path = work / META
    if meta_path.exists() and (work / DB).exists():
        meta: dict[str, Any] = json.loads(meta_path.read_text())
        if meta["docs"] == args.docs and meta["relationships_asked"] == args.relationships:
            log(f"reusing store {work / DB} (built in {meta['build']['total_s']} s)")
            meta["reused"] = True
            return meta
        raise SystemExit(f"{work} holds a store for {meta['docs']:,} docs / "
                         f"{meta['relationships_asked']:,} relationships; use another --workdir")
    for stale in (DB, DB + "-wal", DB + "-shm"):
        (work / stale).unlink(missing_ok=True)
    build: dict[str, float] = {}
    t0 = time.perf_counter()
    corpus_args = argparse.Namespace(corpus=args.corpus, docs=args.docs, seed=args.seed)
    corpus, _pools, corpus_info = ingest_bench.prepare_corpus(corpus_args, work)
    build["corpus_s"] = round(time.perf_counter() - t0, 1)
    url = f"sqlite:///{work / DB}"
    fig, store = ingest_bench.allsource_ingest("sqlite", url, corpus, args.docs, 1000, work,
                                               ingest_bench.files_collector(), None)
    build["ingest_s"] = fig.seconds
    log(f"ingested {fig.documents:,} documents in {fig.seconds} s ({fig.docs_per_s:,.0f}/s)")
    blob_dir = str(store.blobs.root) if hasattr(store.blobs, "root") else str(work / "blobs")
    t1 = time.perf_counter()
    gen = graph_bench.generate(store, args.relationships, args.hubs)
    build["graph_generate_s"] = round(time.perf_counter() - t1, 1)
    log(f"generated {gen['objects']:,} objects, {gen['relationships']:,} relationships in "
        f"{build['graph_generate_s']} s")
    t2 = time.perf_counter()
    mentions = add_entity_mentions(store, args.seed)
    build["mentions_s"] = round(time.perf_counter() - t2, 1)
    _, token = users.create_token(store, users.add_user(store, "api-bench", "admin"),
                                  name="api-bench")
    counts = table_counts(store)
    sample = sample_ids(store, args.seed)
    store.close()
    build["total_s"] = round(time.perf_counter() - t0, 1)
    meta = {"docs": args.docs, "relationships_asked": args.relationships, "url": url,
            "blob_dir": blob_dir, "token": token, "hubs": gen["hubs"], "counts": counts,
            "entity_mentions": mentions, "corpus": {k: corpus_info.get(k) for k in
                                                    ("path", "documents", "bytes", "sha256")},
            "build": build, "ingest_docs_per_s": fig.docs_per_s, **sample}
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    meta["reused"] = False
    return meta


def add_entity_mentions(store: SqlStore, seed: int) -> int:
    """One or two mentions per generated object in random corpus documents."""
    rng = random.Random(seed + 7)
    with store.engine.connect() as conn:
        docs = [tuple(r) for r in conn.execute(sa.select(t.documents.c.id, t.documents.c.tlp)
                                               .where(t.documents.c.source_id != "bench"))]
        objs = [tuple(r) for r in conn.execute(sa.select(t.objects.c.id, t.objects.c.tlp))]
    rows = []
    for oid, otlp in objs:
        for d, dtlp in rng.sample(docs, min(len(docs), 1 + (rng.random() < 0.5))):
            start = rng.randrange(0, 400)
            # a mention carries its evidence's marking: the object's combined with its
            # document's (allsource.store.derived)
            rows.append({"object_id": oid, "document_id": d, "extractor": "api-bench@1",
                         "span_start": start, "span_end": start + 12,
                         "tlp": max(otlp, dtlp), "classification": 0, "compartments": "",
                         "releasability": ""})
    with store.engine.begin() as conn:
        for i in range(0, len(rows), 50_000):
            store._bulk_insert(conn, t.mentions, rows[i:i + 50_000])
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return len(rows)


def table_counts(store: SqlStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {tab.name: int(conn.execute(sa.select(sa.func.count()).select_from(tab))
                              .scalar_one())
                for tab in (t.documents, t.objects, t.relationships, t.mentions)}


def sample_ids(store: SqlStore, seed: int, n: int = 2000) -> dict[str, list[str]]:
    rng = random.Random(seed + 11)
    with store.engine.connect() as conn:
        docs = sorted(conn.execute(sa.select(t.documents.c.id).where(
            t.documents.c.source_id != "bench")).scalars())
        ents = sorted(conn.execute(sa.select(t.objects.c.id).where(
            t.objects.c.type.in_(ENTITY_TYPES))).scalars())
    return {"document_ids": rng.sample(docs, min(n, len(docs))),
            "entity_ids": rng.sample(ents, min(n, len(ents)))}


# ── server ───────────────────────────────────────────────────────────────────────────────────

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(meta: dict[str, Any], port: int, log_path: Path, workers: int = 1,
                 server_path: str = "") -> subprocess.Popen[bytes]:
    """``allsource serve`` as a user starts it (access log off), on 127.0.0.1:``port``;
    ``server_path`` goes first on the server's ``PYTHONPATH`` (another checkout's ``src``
    for a paired comparison)."""
    out = log_path.open("wb")
    env = {**os.environ, "ALLSOURCE_BLOB_DIR": meta["blob_dir"]}
    if server_path:
        env["PYTHONPATH"] = os.pathsep.join(x for x in (server_path, env.get("PYTHONPATH"))
                                            if x)
    proc = subprocess.Popen([sys.executable, "-m", "allsource", "--database-url", meta["url"],
                             "serve", "--port", str(port), "--workers", str(workers),
                             "--no-access-log"],
                            stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
    headers = {"Authorization": f"Bearer {meta['token']}"}
    deadline = time.monotonic() + 120
    started = time.perf_counter()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}): {log_path.read_text()[-2000:]}")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}{API}/sources", headers=headers, timeout=5)
            if r.status_code == 200:
                log(f"server ready on 127.0.0.1:{port} after {time.perf_counter() - started:.1f}"
                    f" s (pid {proc.pid}, {workers} uvicorn worker(s))")
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit("server did not become ready within 120 s")


# ── requests ─────────────────────────────────────────────────────────────────────────────────

@dataclass
class Workload:
    queries: list[str]
    kinds: dict[str, str]  # query text → kind (technique, word, phrase, or, prefix)
    entity_ids: list[str]
    document_ids: list[str]
    hubs: list[str]

    def request(self, endpoint: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
        if endpoint == "search":
            return f"{API}/search", {"q": rng.choice(self.queries)}
        if endpoint == "entity":
            return f"{API}/entities/{rng.choice(self.entity_ids)}", {}
        if endpoint == "document":
            return f"{API}/documents/{rng.choice(self.document_ids)}", {}
        return f"{API}/graph/{rng.choice(self.hubs)}", {"depth": 2}


@dataclass
class Results:
    ms: dict[str, list[float]] = field(default_factory=lambda: {e: [] for e in ENDPOINTS})
    errors: dict[str, int] = field(default_factory=lambda: {e: 0 for e in ENDPOINTS})
    first_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    searches: list[tuple[str, float]] = field(default_factory=list)  # (query, ms)
    search20_ms: list[float] = field(default_factory=list)
    client_cpu_s: float = 0.0  # the load generator's own CPU (this process)

    def record(self, endpoint: str, took_ms: float, error: str | None,
               query: str | None = None) -> None:
        self.ms[endpoint].append(took_ms)
        if query is not None:
            self.searches.append((query, took_ms))
        if error is not None:
            self.errors[endpoint] += 1
            if len(self.first_errors) < 10:
                self.first_errors.append(f"{endpoint}: {error}")


def _error(resp: httpx.Response) -> str | None:
    if 200 <= resp.status_code < 300:
        return None
    return f"HTTP {resp.status_code} {resp.request.url.path}: {resp.text[:200]}"


def summary(ms: list[float]) -> dict[str, Any]:
    if not ms:
        return {"n": 0}
    s = sorted(ms)
    pct = ingest_bench.percentile
    return {"n": len(s), "p50_ms": round(pct(s, 50), 1), "p95_ms": round(pct(s, 95), 1),
            "p99_ms": round(pct(s, 99), 1), "max_ms": round(s[-1], 1),
            "mean_ms": round(sum(s) / len(s), 1)}


def sequential(base: str, headers: dict[str, str], work: Workload, n: int, graph_n: int,
               seed: int) -> Results:
    res = Results()
    rng = random.Random(seed + 21)
    started = time.perf_counter()
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for endpoint in ENDPOINTS:
            count = graph_n if endpoint == "graph" else n
            path, params = work.request(endpoint, rng)
            client.get(path, params=params)  # warm-up, not counted
            for i in range(count):
                path, params = work.request(endpoint, rng)
                if endpoint == "graph":
                    path = f"{API}/graph/{work.hubs[i % len(work.hubs)]}"
                t0 = time.perf_counter()
                try:
                    resp = client.get(path, params=params)
                    err = _error(resp)
                except httpx.HTTPError as exc:
                    err = f"{type(exc).__name__}: {exc}"
                res.record(endpoint, (time.perf_counter() - t0) * 1000, err,
                           params.get("q"))
            log(f"sequential {endpoint}: {summary(res.ms[endpoint])}")
    res.seconds = time.perf_counter() - started
    return res


async def _load(base: str, headers: dict[str, str], work: Workload, clients: int,
                seconds: float, weights: dict[str, float], seed: int) -> Results:
    res = Results()
    names, cum = list(weights), list(weights.values())
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits,
                                 timeout=120) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def one(i: int) -> None:
            rng = random.Random(seed * 1000 + i)
            while time.perf_counter() < deadline:
                endpoint = rng.choices(names, cum)[0]
                path, params = work.request(endpoint, rng)
                t0 = time.perf_counter()
                try:
                    resp = await client.get(path, params=params)
                    err = _error(resp)
                except (httpx.HTTPError, OSError) as exc:
                    err = f"{type(exc).__name__}: {exc!r}"
                res.record(endpoint, (time.perf_counter() - t0) * 1000, err)

        await asyncio.gather(*(one(i) for i in range(clients)))
        res.seconds = time.perf_counter() - started
    return res


class RawConnection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol for GETs:
    the light client (``--client raw``). httpx's async client costs the load generator
    several CPU ms per request, on the same two cores as the server; this writes the
    request line and headers and reads the status, ``Content-Length`` (or chunked) body."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in
                            {"Host": f"{host}:{port}", **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, params: dict[str, Any]) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        target = path + ("?" + urlencode(params) if params else "")
        self.writer.write(f"GET {target} HTTP/1.1\r\n{self.head}\r\n".encode("latin-1"))
        reader = self.reader
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            self.close()
            raise ConnectionError("the server closed the connection") from None
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in
                  (line.partition(":") for line in lines[1:] if line)}
        if "content-length" in fields:
            body = await reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")
            body = b"".join(parts)
        else:
            body = await reader.read()
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _load_raw(base: str, headers: dict[str, str], work: Workload, clients: int,
                    seconds: float, weights: dict[str, float], seed: int) -> Results:
    res = Results()
    names, cum = list(weights), list(weights.values())
    host, port = base.removeprefix("http://").rsplit(":", 1)
    started = time.perf_counter()
    deadline = started + seconds

    async def one(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        conn = RawConnection(host, int(port), headers)
        try:
            while time.perf_counter() < deadline:
                endpoint = rng.choices(names, cum)[0]
                path, params = work.request(endpoint, rng)
                t0 = time.perf_counter()
                try:
                    status, body = await asyncio.wait_for(conn.get(path, params), 120)
                    err = (None if 200 <= status < 300 else
                           f"HTTP {status} {path}: {body[:200]!r}")
                except (OSError, TimeoutError, ValueError,
                        asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                    conn.close()
                    err = f"{type(exc).__name__}: {exc!r}"
                res.record(endpoint, (time.perf_counter() - t0) * 1000, err)
        finally:
            conn.close()

    await asyncio.gather(*(one(i) for i in range(clients)))
    res.seconds = time.perf_counter() - started
    return res


def load(base: str, headers: dict[str, str], work: Workload, clients: int, seconds: float,
         weights: dict[str, float], seed: int, client: str = "httpx") -> Results:
    """The load pass with the chosen client (``raw``: :class:`RawConnection`; ``httpx``:
    one ``httpx.AsyncClient`` pool); the client's own CPU time goes in ``client_cpu_s``."""
    run = _load_raw if client == "raw" else _load
    cpu0 = time.process_time()
    res = asyncio.run(run(base, headers, work, clients, seconds, weights, seed))
    res.client_cpu_s = time.process_time() - cpu0
    return res


def in_process(meta: dict[str, Any], work: Workload, n: int, graph_n: int, seed: int
               ) -> Results:
    """The baseline: the store calls behind each route, same process, no HTTP."""
    store = open_store(load_settings(database_url=meta["url"], blob_dir=meta["blob_dir"]))
    owner = Audience.owner()
    rng = random.Random(seed + 21)  # same draws as the sequential pass
    res = Results()
    started = time.perf_counter()
    try:
        for endpoint in ENDPOINTS:
            count = graph_n if endpoint == "graph" else n
            for i in range(-1, count):  # -1: warm-up
                path, params = work.request(endpoint, rng)
                oid = path.rsplit("/", 1)[1]
                if endpoint == "graph":
                    oid = work.hubs[max(i, 0) % len(work.hubs)]
                call = _baseline_call(store, owner, endpoint, oid, params.get("q", ""))
                t0 = time.perf_counter()
                call()
                if i >= 0:
                    res.record(endpoint, (time.perf_counter() - t0) * 1000, None,
                               params.get("q"))
            log(f"in-process {endpoint}: {summary(res.ms[endpoint])}")
        for text, _ in res.searches:  # the same queries with a 20-hit page instead of WINDOW
            t0 = time.perf_counter()
            store.search(q.SearchQuery(text=text, limit=20), owner)
            res.search20_ms.append((time.perf_counter() - t0) * 1000)
    finally:
        store.close()
    res.seconds = time.perf_counter() - started
    return res


def _baseline_call(store: SqlStore, owner: Audience, endpoint: str, oid: str, text: str
                   ) -> Callable[[], Any]:
    def search() -> Any:
        return store.search(q.SearchQuery(text=text, limit=SEARCH_WINDOW), owner)

    def entity() -> Any:
        return store.get(oid, owner)

    def document() -> Any:
        return store.get(oid, owner), get_grade(store, "document", oid)

    def graph() -> Any:
        view = neighbourhood(store, oid, depth=2, audience=owner)
        return view.as_dict() if view is not None else None

    return {"search": search, "entity": entity, "document": document, "graph": graph}[endpoint]


def graph_sizes(base: str, headers: dict[str, str], hubs: list[str]) -> list[int]:
    out = []
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for hub in hubs:
            body = client.get(f"{API}/graph/{hub}", params={"depth": 2}).json()
            out.append(int(body.get("summary", {}).get("nodes_total", -1)))
    return out


def route_cpu(meta: dict[str, Any], work: Workload, n: int, seed: int) -> dict[str, Any]:
    """The search route's CPU and statements per request, in-process, as the admin and as a
    TLP:GREEN analyst (created on the store once), over the same ``n`` seeded queries; one
    warm-up pass is not counted."""
    from fastapi.testclient import TestClient

    from allsource.api import create_app
    from allsource.model.markings import TLP

    settings = load_settings(database_url=meta["url"], blob_dir=meta["blob_dir"])
    store = open_store(settings)
    try:
        green = (users.get_user(store, "api-bench-green")
                 or users.add_user(store, "api-bench-green", "analyst", max_tlp=TLP.GREEN))
        _, green_token = users.create_token(store, green, name=f"route-cpu-{int(time.time())}")
    finally:
        store.close()
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    texts = random.Random(seed + 33).sample(work.queries, min(n, len(work.queries)))
    out: dict[str, Any] = {"queries": len(texts)}
    try:
        with TestClient(create_app(settings)) as client:
            for label, token in (("admin", meta["token"]), ("green_analyst", green_token)):
                headers = {"Authorization": f"Bearer {token}"}
                cpu: list[float] = []
                stmts: list[int] = []
                for round_ in range(2):
                    for text in texts:
                        statements[0] = 0
                        c0 = time.process_time()
                        r = client.get(f"{API}/search", params={"q": text}, headers=headers)
                        c1 = time.process_time()
                        if r.status_code != 200:
                            raise SystemExit(f"search {text!r} as {label}: HTTP {r.status_code}")
                        if round_:
                            cpu.append((c1 - c0) * 1000)
                            stmts.append(statements[0])
                s = sorted(cpu)
                out[label] = {"n": len(cpu),
                              **{f"cpu_p{q}_ms": round(s[min(len(s) - 1, int(q / 100 * len(s)))],
                                                       1) for q in (50, 95, 99)},
                              "cpu_mean_ms": round(sum(cpu) / len(cpu), 2),
                              "statements_mean": round(sum(stmts) / len(stmts), 2),
                              "statements_max": max(stmts)}
                log(f"route CPU, search as {label}: {out[label]}")
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
    return out


# ── report ───────────────────────────────────────────────────────────────────────────────────

def environment() -> dict[str, Any]:
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import fastapi
    import uvicorn

    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
            "cpu_model": cpu, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "fastapi": fastapi.__version__,
            "uvicorn": uvicorn.__version__, "httpx": httpx.__version__,
            "loadavg_start": [round(x, 2) for x in os.getloadavg()]}


def reproduce(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python", "benchmarks/api.py"]
    if args.quick:
        parts.append("--quick")
    parts += ["--docs", str(args.docs), "--relationships", str(args.relationships),
              "--hubs", str(args.hubs), "--clients", str(args.clients),
              "--workers", str(args.workers), "--seconds",
              str(args.seconds), "--requests", str(args.requests), "--graph-share",
              str(args.graph_share), "--client", args.client, "--seed", str(args.seed)]
    if args.load_only:
        parts.append("--load-only")
    if args.corpus:
        parts += ["--corpus", str(args.corpus)]
    return shlex.join(parts)


def print_report(rep: dict[str, Any]) -> None:
    env, meta = rep["environment"], rep["store"]
    print(f"\n# allsource API benchmark — {env['date']}")
    print(f"machine: {env['cpus']} CPUs ({env['cpu_model']}), Python {env['python']}, "
          f"SQLite {env['sqlite']}, FastAPI {env['fastapi']}, uvicorn {env['uvicorn']} "
          f"({rep['workers']} worker(s), access log off), httpx {env['httpx']}; load avg start "
          f"{env['loadavg_start']}, end {env.get('loadavg_end')}")
    c = meta["counts"]
    print(f"store: SQLite, {c['documents']:,} documents ({meta['docs']:,} ingested corpus + "
          f"generator reports), {c['objects']:,} objects, {c['relationships']:,} "
          f"relationships, {c['mentions']:,} mentions; "
          + ("reused" if meta["reused"] else f"built in {meta['build']['total_s']} s "
             f"({meta['build']})"))
    print(f"graph hubs: depth-2 neighbourhood sizes {rep['graph_sizes']} objects")
    print("\n## Sequential (1 client) vs in-process baseline\n")
    print("| endpoint | n | HTTP p50 ms | HTTP p95 ms | HTTP p99 ms | HTTP max ms | in-process "
          "p50 ms | in-process p95 ms | HTTP/in-process p50 | errors | target p95 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for e in ENDPOINTS:
        h, b = rep["sequential"][e], rep["in_process"][e]
        target = TARGET_P95_MS.get(e)
        verdict = (f"≤ {target:.0f} → {'met' if h['p95_ms'] <= target else 'MISSED'}"
                   if target and h["n"] else "")
        ratio = round(h["p50_ms"] / b["p50_ms"], 2) if h["n"] and b["n"] and b["p50_ms"] else ""
        print(f"| {e} | {h['n']} | {h.get('p50_ms')} | {h.get('p95_ms')} | {h.get('p99_ms')} "
              f"| {h.get('max_ms')} | {b.get('p50_ms')} | {b.get('p95_ms')} | {ratio} | "
              f"{rep['sequential_errors'][e]} | {verdict} |")
    kinds = rep["search_by_kind"]
    print("\nsearch by query kind (1 client): | kind | n | HTTP p50 | HTTP p95 | in-process p50 "
          "| in-process p95 |\n|---|---:|---:|---:|---:|---:|")
    for kind, h in kinds["http"].items():
        b = kinds["in_process"].get(kind, {})
        print(f"| {kind} | {h['n']} | {h['p50_ms']} | {h['p95_ms']} | {b.get('p50_ms')} | "
              f"{b.get('p95_ms')} |")
    print(f"in-process store.search with limit=20 instead of the route's {SEARCH_WINDOW}, same "
          f"queries: {rep['in_process_search_limit20']}")
    print("slowest searches (kind, query, HTTP ms, in-process ms): "
          + "; ".join(map(str, kinds["slowest_http"])))
    ld = rep["load"]
    print(f"\n## Load: {ld['clients']} concurrent clients, {ld['seconds']} s, mix "
          f"{ld['weights']}\n")
    print("| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for e in [*ENDPOINTS, "all"]:
        s = ld["endpoints"][e]
        print(f"| {e} | {s['n']} | {s.get('rps')} | {s.get('p50_ms')} | {s.get('p95_ms')} | "
              f"{s.get('p99_ms')} | {s.get('max_ms')} | {s.get('errors')} |")
    print(f"\nserver CPU during load: {ld['server_cpu_s']} s of {ld['seconds']} s wall "
          f"({ld['server_cpu_share']:.0%} of one core, {ld['server_cpu_ms_per_request']} ms "
          f"per request); load generator ({ld['client']} client) {ld['client_cpu_s']} s "
          f"({ld['client_cpu_ms_per_request']} ms per request); server peak RSS "
          f"{rep['server_rss_mib']} MiB")
    errors = rep["first_errors"]
    print(f"errors: {rep['total_errors']} in total" + ("; first: " if errors else ""))
    for err in errors:
        print(f"  - {err}")
    print("\ntargets: " + "; ".join(rep["targets"]))
    print(f"\nreproduce: {rep['command']}")


def search_by_kind(seq: Results, base: Results, kinds: dict[str, str]) -> dict[str, Any]:
    """Sequential search latency by query kind, over HTTP and in-process, + slowest queries."""
    out: dict[str, Any] = {}
    for label, res in (("http", seq), ("in_process", base)):
        groups: dict[str, list[float]] = {}
        for text, ms in res.searches:
            groups.setdefault(kinds.get(text, "?"), []).append(ms)
        out[label] = {k: summary(v) for k, v in sorted(groups.items())}
    inproc = dict(base.searches)
    out["slowest_http"] = [(kinds.get(text, "?"), text, round(ms, 1),
                            round(inproc.get(text, float("nan")), 1))
                           for text, ms in sorted(seq.searches, key=lambda x: -x[1])[:8]]
    return out


def targets(rep: dict[str, Any]) -> list[str]:
    c = rep["store"]["counts"]
    lines = []
    if c["documents"] < 100_000 or c["relationships"] < 1_000_000:
        lines.append("(targets are set for ≥ 100,000 documents and ≥ 1,000,000 relationships; "
                     f"this store has {c['documents']:,} / {c['relationships']:,})")
    for e, target in TARGET_P95_MS.items():
        p95 = rep["sequential"][e].get("p95_ms")
        if p95 is not None:
            lines.append(f"{e} p95 {p95} ms (1 client) vs ≤ {target:.0f} ms → "
                         f"{'met' if p95 <= target else 'MISSED'}")
    errs = rep["load"]["endpoints"]["all"]["errors"]
    lines.append(f"{rep['load']['clients']} clients: {errs} errors → "
                 f"{'met' if errs == 0 else 'MISSED'}")
    return lines


# ── main ─────────────────────────────────────────────────────────────────────────────────────

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, help="corpus documents (default 100000; quick 5000)")
    ap.add_argument("--relationships", type=int,
                    help="relationships (default 1000000; quick 50000 — the hubs alone give "
                         "≈ 60,500 per hub)")
    ap.add_argument("--hubs", type=int, help="graph hubs (default 5; quick 1)")
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    ap.add_argument("--workers", type=int, default=2,
                    help="`allsource serve --workers` processes (default 2, one per core)")
    ap.add_argument("--seconds", type=float, help="load duration (default 30; quick 10)")
    ap.add_argument("--requests", type=int,
                    help="sequential requests per endpoint (default 300; quick 100)")
    ap.add_argument("--graph-repeat", type=int, default=3,
                    help="sequential graph requests per hub (default 3)")
    ap.add_argument("--graph-share", type=float, default=0.01,
                    help="share of graph requests in the load mix (default 0.01)")
    ap.add_argument("--client", choices=("raw", "httpx"), default="raw",
                    help="load generator: raw (a minimal keep-alive HTTP/1.1 client, the "
                         "default) or httpx (httpx.AsyncClient, the client before 2026-12-07)")
    ap.add_argument("--server-path", default="",
                    help="put these paths first on the server's PYTHONPATH (e.g. another "
                         "checkout's src, to compare two versions in one session)")
    ap.add_argument("--load-only", action="store_true",
                    help="skip the sequential pass and the in-process baseline")
    ap.add_argument("--route-cpu", type=int, default=0, metavar="N",
                    help="only measure the search route's CPU and statements per request "
                         "in-process for N queries (admin and a TLP:GREEN analyst; no server)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--corpus", type=Path, help="JSONL corpus to reuse (as in ingest.py)")
    ap.add_argument("--workdir", type=Path,
                    help="keep the store here and reuse it next time (default: temp, deleted)")
    ap.add_argument("--json", type=Path, help="also write all figures as JSON here")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 5,000 docs, 50,000 relationships, 1 hub, 10 s")
    args = ap.parse_args(argv)
    quick = args.quick
    defaults = {"docs": (100_000, 5_000), "relationships": (1_000_000, 50_000),
                "hubs": (5, 1), "seconds": (30.0, 10.0), "requests": (300, 100)}
    for name, (full, small) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, small if quick else full)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rep: dict[str, Any] = {"command": reproduce(args), "environment": environment(),
                           "workers": args.workers}
    own = args.workdir is None
    work = Path(tempfile.mkdtemp(prefix="allsource-api-")) if own else args.workdir
    work.mkdir(parents=True, exist_ok=True)
    proc: subprocess.Popen[bytes] | None = None
    try:
        meta = build_store(args, work)
        rep["store"] = {k: v for k, v in meta.items()
                        if k not in ("token", "document_ids", "entity_ids")}
        pools = ingest_bench.load_pools()
        pairs = ingest_bench.make_queries(pools, 2000, args.seed)
        del pools
        kinds = {text: kind for kind, text in pairs}
        work_load = Workload([text for _, text in pairs], kinds, meta["entity_ids"],
                             meta["document_ids"], meta["hubs"])
        if args.route_cpu:
            rep["route_cpu"] = route_cpu(meta, work_load, args.route_cpu, args.seed)
            rep["environment"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
            print(json.dumps({k: rep[k] for k in ("command", "environment", "store",
                                                  "route_cpu")}, indent=1, default=str))
            return 0
        port = free_port()
        proc = start_server(meta, port, work / "server.log", args.workers, args.server_path)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {meta['token']}"}
        graph_n = args.graph_repeat * len(meta["hubs"])
        if args.load_only:
            rep["graph_sizes"], seq = [], Results()
        else:
            rep["graph_sizes"] = graph_sizes(base, headers, meta["hubs"])
            seq = sequential(base, headers, work_load, args.requests, graph_n, args.seed)
        rep["sequential"] = {e: summary(seq.ms[e]) for e in ENDPOINTS}
        rep["sequential_errors"] = seq.errors
        weights = {"search": 0.40, "entity": 0.30, "document": 0.30 - args.graph_share,
                   "graph": args.graph_share}
        cpu0 = tree_cpu_seconds(proc.pid)
        log(f"load: {args.clients} clients for {args.seconds} s")
        res = load(base, headers, work_load, args.clients, args.seconds, weights, args.seed,
                   args.client)
        cpu = round(tree_cpu_seconds(proc.pid) - cpu0, 1)
        endpoints = {}
        for e in ENDPOINTS:
            endpoints[e] = {**summary(res.ms[e]), "errors": res.errors[e],
                            "rps": round(len(res.ms[e]) / res.seconds, 1)}
        every = [x for e in ENDPOINTS for x in res.ms[e]]
        endpoints["all"] = {**summary(every), "errors": sum(res.errors.values()),
                            "rps": round(len(every) / res.seconds, 1)}
        done = len(every)
        rep["load"] = {"clients": args.clients, "client": args.client,
                       "seconds": round(res.seconds, 1),
                       "weights": weights, "endpoints": endpoints, "server_cpu_s": cpu,
                       "server_cpu_share": cpu / res.seconds,
                       "server_cpu_ms_per_request": round(cpu * 1000 / max(done, 1), 2),
                       "client_cpu_s": round(res.client_cpu_s, 1),
                       "client_cpu_ms_per_request": round(res.client_cpu_s * 1000
                                                          / max(done, 1), 2)}
        log(f"load: {endpoints['all']}")
        rep["server_rss_mib"] = tree_peak_rss_mib(proc.pid)
        rep["first_errors"] = seq.first_errors + res.first_errors
        rep["total_errors"] = sum(seq.errors.values()) + sum(res.errors.values())
        gc.collect()
        gc.freeze()  # the client's objects must not slow the baseline's collections
        base_res = (Results() if args.load_only else
                    in_process(meta, work_load, args.requests, graph_n, args.seed))
        rep["in_process"] = {e: summary(base_res.ms[e]) for e in ENDPOINTS}
        rep["search_by_kind"] = search_by_kind(seq, base_res, kinds)
        rep["in_process_search_limit20"] = summary(base_res.search20_ms)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        rep["environment"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        if own:
            shutil.rmtree(work, ignore_errors=True)
    rep["targets"] = targets(rep)
    print_report(rep)
    if args.json:
        args.json.write_text(json.dumps(rep, indent=2, default=str) + "\n")
        log(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
