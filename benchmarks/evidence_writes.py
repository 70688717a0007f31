"""What migration 0027's evidence indexes cost on writes: the same documents, each with its
entity mentions, written through the store's own ``write_batch`` (documents, full-text index,
objects, mentions: the ingest and pipeline write path) into fresh SQLite stores whose schema
is at each given Alembic revision, alternating. Reports process CPU (SQLite runs in the
process) and wall seconds, documents per CPU second and the file size per revision.

Documents are ``benchmarks/ingest.py``'s recombined real text (ATT&CK, MISP galaxies, GDELT;
500–3,000 bytes, seeded); each names ``--mentions`` objects drawn from a pool of 3,000 (as the
entity and IOC stages would). ``benchmarks/ingest.py`` itself writes documents only (its
``files`` collector extracts nothing), so it sees the documents index but not the mentions one.

Run: ``python benchmarks/evidence_writes.py --docs 20000 0026 head 0026 head`` (``--drop
ix_mentions_object_marking``: head without that index; ``--mentions 0``: documents only).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest  # benchmarks/ingest.py: the recombined real-text corpus
from tests.store.migrating import alembic  # the migration tests' Alembic helper

from allsource.config import load_settings
from allsource.model.records import Collected, Document, Mention, Source, StixObject
from allsource.store import open_store

SEED = 20240601


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("revisions", nargs="+", help="Alembic revisions, e.g. 0026 head")
    ap.add_argument("--docs", type=int, default=20_000)
    ap.add_argument("--mentions", type=int, default=8, help="mentions per document")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--drop", action="append", default=[],
                    help="an index dropped after migrating (repeatable): head without it")
    args = ap.parse_args()
    rng = random.Random(SEED)
    pools = ingest.load_pools()
    kinds = ["malware", "tool", "intrusion-set", "ipv4-addr", "domain-name"]
    pool = [StixObject(f"{kinds[i % 5]}--00000000-0000-5000-8000-{i:012d}", kinds[i % 5],
                       f"object {i}", {"type": kinds[i % 5], "name": f"object {i}"})
            for i in range(3000)]
    items = []
    for i in range(args.docs):
        raw = ingest.make_document(rng, pools, i)
        doc = Document.build(kind="article", title=raw["title"], text=raw["text"],
                             url=raw["url"], published_at=datetime(2025, 1, 1, tzinfo=UTC))
        named = rng.sample(pool, args.mentions)
        items.append(Collected(doc, named, [], [Mention(o.id, "entities@1", 10 * k, 10 * k + 5)
                                                for k, o in enumerate(named)]))
    print(f"load average {Path('/proc/loadavg').read_text().strip()}")
    rates: dict[str, list[float]] = {}
    for rev in args.revisions:
        folder = Path(tempfile.mkdtemp(prefix="allsource-evwrites-"))
        store = open_store(load_settings(database_url=f"sqlite:///{folder / 's.db'}",
                                         blob_dir=folder / "blobs"))
        if rev != "head":
            alembic(store, "downgrade", rev)
        else:
            with store.engine.begin() as conn:
                for name in args.drop:
                    conn.exec_driver_sql(f"DROP INDEX {name}")
        src = Source(name="bench", kind="files", location=str(folder))
        store.add_source(src)
        c0, w0 = time.process_time(), time.perf_counter()
        for i in range(0, len(items), args.batch):
            store.write_batch(src, items[i:i + args.batch], [], None)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        size = sum(p.stat().st_size for p in folder.glob("s.db*")) / 2**20
        rates.setdefault(rev, []).append(args.docs / cpu)
        print(f"{rev}: {args.docs:,} documents, {args.docs * args.mentions:,} mentions, "
              f"batches of {args.batch}: CPU {cpu:.2f} s ({args.docs / cpu:,.0f} docs/CPU s), "
              f"wall {wall:.2f} s, {size:.0f} MiB")
        store.close()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"load average {Path('/proc/loadavg').read_text().strip()}")
    for rev, values in rates.items():
        print(f"{rev}: median {statistics.median(values):,.0f} docs/CPU s over {len(values)}")


if __name__ == "__main__":
    main()
