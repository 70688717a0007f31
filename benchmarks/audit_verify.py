"""Audit chain verification: events/minute of ``allsource audit verify`` at 1,000,000 events,
against two naive verifiers of the same chain, in the same run.

Target (issue 10): verify ≥ 1,000,000 events per minute on the project's 2-core machines.

What it does, per backend (SQLite file, and a fresh PostgreSQL database on the throwaway
server of ``tests/pgserver.py`` or on ``ALLSOURCE_BENCH_PG_URL``):

1. Fills a fresh, migrated store with ``--events`` audit events (default 1,000,000) chained
   exactly as :func:`allsource.store.audit.record` chains them (the same ``canonical`` and
   ``chain_hash``), with an Ed25519-signed checkpoint every ``--every`` events. The rows are
   bulk-inserted (``executemany``, 10,000 a transaction) because calling ``record`` a million
   times would only measure commits; ``record`` itself is timed separately on
   ``--append-sample`` events (one per transaction, as requests write them).
2. Times, each in its own fresh process (so peak memory is the verifier's own):
   - **allsource**: :func:`allsource.store.audit_verify.verify` — keyset pages of 20,000,
     orjson canonical bytes, checkpoint signatures checked;
   - **baseline load-all**: one ``SELECT … ORDER BY seq`` fetched whole (``.all()``), each row
     re-serialised with the stdlib ``json.dumps(sort_keys=True)`` and hashed with hashlib —
     the obvious first implementation; same hash, same checks except signatures;
   - **baseline per-row**: one ``SELECT … WHERE seq = ?`` per event (how a loop over
     ``store.get_event(seq)`` would do it), on the first ``--per-row`` events only.
3. Prints a Markdown table: events/minute, seconds, peak RSS of the verifying process, and the
   ratio to each baseline.

The events are synthetic (verification cost depends on row count and size, not on what the
rows say): 200 actors, the nine actions, object-like targets, TLP 0–4 and a small ``detail``,
from a fixed seed. No corpus is involved, so there is nothing to tune on.

    python benchmarks/audit_verify.py                          # 1M events, both backends
    python benchmarks/audit_verify.py --events 50000 --backend sqlite   # quick check
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # tests/pgserver.py starts the throwaway PostgreSQL server
    sys.path.insert(0, str(REPO))

from allsource.config import load_settings  # noqa: E402
from allsource.store import audit, open_store  # noqa: E402
from allsource.store import schema as t  # noqa: E402
from allsource.store.audit import AuditEvent, canonical, chain_hash  # noqa: E402
from allsource.store.audit_keys import AuditKey, generate_key_file  # noqa: E402
from allsource.store.audit_verify import verify  # noqa: E402

CHUNK = 10_000
ACTIONS = ("read",) * 12 + ("search",) * 5 + ("write",) * 2 + (
    "login", "login_failed", "logout", "export", "share", "permission")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _events(n: int, seed: int) -> Any:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1)
    actors = [f"user{i:03d}" for i in range(200)]
    for seq in range(1, n + 1):
        action = rng.choice(ACTIONS)
        target = (f"q:{rng.getrandbits(64):016x}" if action == "search" else
                  str(uuid.UUID(int=rng.getrandbits(128))))
        yield {"seq": seq, "at": start + timedelta(milliseconds=seq * 37),
               "actor": rng.choice(actors), "action": action,
               "target": f"report--{target}", "tlp": rng.randrange(5),
               "classification": rng.randrange(3), "compartments": rng.choice(
                   ["", "", "", "HUMINT", "SIGINT,HUMINT"]),
               "count": rng.randrange(1, 50) if action in ("search", "export") else 1,
               "detail": {"route": f"GET /api/v1/documents/{seq}", "status": 200}}


def fill(url: str, blob_dir: Path, key: AuditKey, n: int, every: int, seed: int) -> float:
    """Bulk-load ``n`` chained events with checkpoints; seconds taken."""
    settings = load_settings(database_url=url, blob_dir=blob_dir)
    store = open_store(settings)
    started = time.perf_counter()
    prev = audit.GENESIS
    rows: list[dict[str, Any]] = []
    cps: list[dict[str, Any]] = []

    def flush() -> None:
        with store.engine.begin() as conn:
            conn.execute(t.audit_events.insert(), rows)
            if cps:
                conn.execute(t.audit_checkpoints.insert(), cps)
        rows.clear()
        cps.clear()

    for row in _events(n, seed):
        row["prev_hash"] = prev
        row["hash"] = prev = chain_hash(prev, canonical(**{k: row[k] for k in (
            "seq", "at", "actor", "action", "target", "tlp", "classification",
            "compartments", "count", "detail")}))
        rows.append(row)
        if row["seq"] % every == 0:
            cps.append({"seq": row["seq"], "hash": prev, "at": row["at"],
                        "public_key": key.public_hex, "signature": key.sign(
                            audit.checkpoint_message(row["seq"], prev, row["at"]))})
        if len(rows) == CHUNK:
            flush()
    if rows:
        flush()
    with store.engine.begin() as conn:
        conn.execute(t.audit_head.update().values(seq=n, hash=prev))
    seconds = time.perf_counter() - started
    store.close()
    return seconds


def append_rate(url: str, blob_dir: Path, key: AuditKey, sample: int, every: int) -> float:
    """Events/s of :func:`audit.record`, one event per transaction (appended to the chain)."""
    store = open_store(load_settings(database_url=url, blob_dir=blob_dir))
    started = time.perf_counter()
    for i in range(sample):
        with store.engine.begin() as conn:
            audit.record(conn, AuditEvent(actor="bench", action="read", target=f"doc-{i}",
                                          tlp=i % 5, count=1, detail={"i": i}),
                         key=key, every=every)
    rate = sample / (time.perf_counter() - started)
    store.close()
    return rate


# ── verifiers, each run in a fresh process ──────────────────────────────────────────────────

def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_allsource(url: str, public_key: str) -> dict[str, Any]:
    engine = _engine(url)
    before = _peak_mib()
    started = time.perf_counter()
    with engine.connect() as conn:
        report = verify(conn, trusted_keys=[public_key])
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "events": report.events, "ok": report.ok,
            "checkpoints": report.checkpoints, "peak_mib": _peak_mib(),
            "start_mib": before, "max_rows_held": report.max_rows_held}


def _stdlib_hash(prev: str, r: Any) -> str:
    encoded = json.dumps([r.seq, r.at.isoformat(timespec="microseconds"), r.actor, r.action,
                          r.target, r.tlp, r.classification, r.compartments, r.count,
                          r.detail], sort_keys=True, separators=(",", ":"),
                         ensure_ascii=False).encode()
    return hashlib.sha256(prev.encode() + encoded).hexdigest()


def run_load_all(url: str) -> dict[str, Any]:
    engine = _engine(url)
    before = _peak_mib()
    started = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.audit_events).order_by(t.audit_events.c.seq)).all()
    prev, ok = audit.GENESIS, True
    for expected, r in enumerate(rows, 1):
        if r.seq != expected or r.prev_hash != prev or _stdlib_hash(prev, r) != r.hash:
            ok = False
            break
        prev = r.hash
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "events": len(rows), "ok": ok, "peak_mib": _peak_mib(),
            "start_mib": before}


def run_per_row(url: str, limit: int) -> dict[str, Any]:
    engine = _engine(url)
    before = _peak_mib()
    e = t.audit_events
    stmt = sa.select(e).where(e.c.seq == sa.bindparam("s"))
    started = time.perf_counter()
    prev, ok, done = audit.GENESIS, True, 0
    with engine.connect() as conn:
        for seq in range(1, limit + 1):
            r = conn.execute(stmt, {"s": seq}).first()
            if r is None or r.prev_hash != prev or _stdlib_hash(prev, r) != r.hash:
                ok = False
                break
            prev = r.hash
            done += 1
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "events": done, "ok": ok, "peak_mib": _peak_mib(),
            "start_mib": before}


def _engine(url: str) -> sa.Engine:
    """The engine the store itself would use (orjson for JSON columns), not migrated."""
    return open_store(load_settings(database_url=url), migrate=False).engine


def in_fresh_process(fn: Any, *args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        result: dict[str, Any] = pool.submit(fn, *args).result()
        return result


# ── driver ──────────────────────────────────────────────────────────────────────────────────

def bench_backend(backend: str, url: str, work: Path, args: argparse.Namespace,
                  key: AuditKey) -> dict[str, Any]:
    log(f"{backend}: loading {args.events:,} events")
    load_s = fill(url, work / f"blobs-{backend}", key, args.events, args.every, args.seed)
    log(f"{backend}: loaded in {load_s:.1f} s; verifying")
    ours = in_fresh_process(run_allsource, url, key.public_hex)
    assert ours["ok"] and ours["events"] == args.events, ours
    log(f"{backend}: allsource {ours['seconds']:.1f} s; baseline load-all")
    whole = in_fresh_process(run_load_all, url)
    assert whole["ok"] and whole["events"] == args.events, whole
    log(f"{backend}: load-all {whole['seconds']:.1f} s; baseline per-row")
    per_row = in_fresh_process(run_per_row, url, min(args.per_row, args.events))
    assert per_row["ok"], per_row
    log(f"{backend}: per-row {per_row['seconds']:.1f} s; append sample")
    appended = append_rate(url, work / f"blobs-{backend}", key, args.append_sample,
                           args.every)
    return {"backend": backend, "load_s": load_s, "ours": ours, "load_all": whole,
            "per_row": per_row, "append_per_s": appended}


def _per_minute(r: dict[str, Any]) -> float:
    return float(r["events"]) / r["seconds"] * 60


def report(results: list[dict[str, Any]], args: argparse.Namespace, env: dict[str, Any]
           ) -> None:
    print(f"\n**Command:** `python benchmarks/audit_verify.py --events {args.events} "
          f"--backend {args.backend} --every {args.every} --per-row {args.per_row} "
          f"--append-sample {args.append_sample} --seed {args.seed}`\n")
    print(f"**Machine:** {env['nproc']} CPUs, {env['mem_gib']} GiB RAM, load average "
          f"{env['load_start']} at start, {env['load_end']} at end; Python "
          f"{env['python']}, SQLite {env['sqlite']}, SQLAlchemy {sa.__version__}.\n")
    print("| backend | verifier | events | seconds | events/minute | peak RSS (MiB) "
          "| allsource ÷ verifier |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in results:
        ours = _per_minute(r["ours"])
        for name, key in (("**allsource** (keyset pages, orjson, signatures)", "ours"),
                          ("baseline load-all (`.all()` + stdlib json)", "load_all"),
                          ("baseline per-row (`WHERE seq = ?`)", "per_row")):
            v = r[key]
            print(f"| {r['backend']} | {name} | {v['events']:,} | {v['seconds']:.1f} | "
                  f"{_per_minute(v):,.0f} | {v['peak_mib']:.0f} | "
                  f"{ours / _per_minute(v):.2f} |")
    print()
    for r in results:
        print(f"- {r['backend']}: bulk load {r['load_s']:.1f} s; `record()` one event per "
              f"transaction: {r['append_per_s']:,.0f} events/s; allsource held at most "
              f"{r['ours']['max_rows_held']:,} rows; {r['ours']['checkpoints']:,} "
              "checkpoint signatures checked")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--backend", default="sqlite,postgres")
    ap.add_argument("--every", type=int, default=1000, help="checkpoint interval")
    ap.add_argument("--per-row", type=int, default=50_000,
                    help="events the per-row baseline verifies")
    ap.add_argument("--append-sample", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=20261206)
    args = ap.parse_args(argv)
    import sqlite3

    env = {"nproc": os.cpu_count(), "load_start": os.getloadavg()[0],
           "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
           "python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    results = []
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        work = Path(tmp)
        key = generate_key_file(work / "audit.key")
        for backend in args.backend.split(","):
            if backend == "sqlite":
                url = f"sqlite:///{work / 'audit.db'}"
                results.append(bench_backend(backend, url, work, args, key))
            elif backend == "postgres":
                from tests.pgserver import start_server

                server = os.environ.get("ALLSOURCE_BENCH_PG_URL")
                pg = None if server else start_server()
                if not server and pg is None:
                    raise SystemExit("no PostgreSQL binaries; set ALLSOURCE_BENCH_PG_URL")
                try:
                    url = server or pg.create_database("audit_" + uuid.uuid4().hex[:8])  # type: ignore[union-attr]
                    results.append(bench_backend(backend, url, work, args, key))
                finally:
                    if pg is not None:
                        pg.stop()
            else:
                raise SystemExit(f"unknown backend {backend!r}")
    env["load_end"] = os.getloadavg()[0]
    report(results, args, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
