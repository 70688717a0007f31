"""What the relationship indexes cost on writes: the same synthetic relationships written
into fresh SQLite stores whose schema is at each given Alembic revision (``head``, or an
earlier one reached by downgrading), alternating, in batches through the store's bulk
insert. Reports process CPU and wall seconds and the file size per revision.

``benchmarks/ingest.py`` cannot show this cost: its ``files`` collector writes documents
only. Run: ``python benchmarks/relationship_writes.py --count 200000 0025 head 0025 head``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.store.migrating import alembic  # the migration tests' Alembic helper

from allsource.config import load_settings
from allsource.store import open_store
from allsource.store import schema as t

SEED = 20240601


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("revisions", nargs="+", help="Alembic revisions, e.g. 0025 head")
    ap.add_argument("--count", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    rng = random.Random(SEED)
    now = datetime(2025, 1, 1)

    def oid(i: int) -> str:
        return f"malware--00000000-0000-5000-8000-{i:012d}"

    rels = [{"id": f"relationship--00000000-0000-5000-9000-{n:012d}",
             "relationship_type": rng.choice(["uses", "targets", "related-to"]),
             "source_ref": oid(rng.randrange(300_000)),
             "target_ref": oid(rng.randrange(300_000)), "stix": {}, "created_at": now,
             "tlp": 1, "classification": 0, "compartments": "", "releasability": ""}
            for n in range(args.count)]
    rng.shuffle(rels)
    print(f"load average {Path('/proc/loadavg').read_text().strip()}")
    for rev in args.revisions:
        folder = Path(tempfile.mkdtemp(prefix="allsource-relwrites-"))
        store = open_store(load_settings(database_url=f"sqlite:///{folder / 's.db'}",
                                         blob_dir=folder / "blobs"))
        if rev != "head":
            alembic(store, "downgrade", rev)
        c0, w0 = time.process_time(), time.perf_counter()
        for i in range(0, len(rels), args.batch):
            with store.engine.begin() as conn:
                store._bulk_insert(conn, t.relationships, rels[i:i + args.batch])
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        size = sum(p.stat().st_size for p in folder.glob("s.db*")) / 2**20
        print(f"{rev}: {args.count:,} relationships, batches of {args.batch}: "
              f"CPU {cpu:.2f} s, wall {wall:.2f} s, {size:.0f} MiB")
        store.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
