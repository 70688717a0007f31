"""CPU of the TAXII collector's page work per object, without HTTP: ``held_ids``, mapping
(with marking definitions) and ``write_batch`` on the first N versions of the 100k bench store
(``benchmarks/share.py --objects 100000`` builds it), as pages of 1,000, into a fresh store —
for whichever ``src`` is first on PYTHONPATH, so main and a branch can be paired:

    PYTHONPATH=src .venv/bin/python benchmarks/collector_cpu.py 20000 branch
    PYTHONPATH=/work/main/src .venv/bin/python benchmarks/collector_cpu.py 20000 main
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import orjson

from allsource.collect.base import CollectContext
from allsource.collect.taxii import Envelope, TaxiiCollection, TaxiiCollector
from allsource.config import load_settings
from allsource.model.records import Collected, Source
from allsource.share.sync import held_ids
from allsource.store import open_store
from allsource.store.blobs import BlobStore

PAGE = 1000
CORPUS = Path("/tmp/taxii-bench-100000/share.db")


def main() -> None:
    n, label = int(sys.argv[1]), sys.argv[2]
    con = sqlite3.connect(f"file:{CORPUS}?mode=ro", uri=True)
    objs = [orjson.loads(r[0]) for r in con.execute(
        "SELECT stix FROM object_versions ORDER BY seq LIMIT ?", (n,))]
    for o in objs:  # as served
        o.setdefault("spec_version", "2.1")
    tmp = Path(tempfile.mkdtemp(prefix="collector-cpu-"))
    st = load_settings(database_url=f"sqlite:///{tmp / 'd.db'}", blob_dir=tmp / "b",
                       audit_key_file=tmp / "k")
    store = open_store(st)
    src = Source("peer", "taxii", "http://127.0.0.1:1/taxii2/", allow_private=True)
    store.add_source(src)
    collector = TaxiiCollector(src, CollectContext(settings=st, blobs=BlobStore(st.blob_dir)))
    collection = TaxiiCollection("http://127.0.0.1:1/taxii2/allsource/", "c", "all", True)
    collector._fetch_definition = lambda c, r: None  # type: ignore[method-assign]  # offline
    bodies = [orjson.dumps({"objects": objs[i:i + PAGE], "more": False})
              for i in range(0, len(objs), PAGE)]
    phases = dict.fromkeys(("held_ids", "definitions", "mapping", "write"), 0.0)
    started = time.process_time()
    for body in bodies:
        t0 = time.process_time()
        envelope = Envelope(orjson.loads(body)["objects"], False, None)
        held_ids(store, [(o["id"], o.get("modified", "")) for o in envelope.objects])
        t1 = time.process_time()
        outside = collector._outside_definitions(collection, envelope.objects)
        t2 = time.process_time()
        items = list(collector._map_page(body, envelope, "page", "ref", outside))
        t3 = time.process_time()
        store.write_batch(src, [i for i in items if isinstance(i, Collected)], [], None)
        t4 = time.process_time()
        for key, begin, end in (("held_ids", t0, t1), ("definitions", t1, t2),
                                ("mapping", t2, t3), ("write", t3, t4)):
            phases[key] += end - begin
    cpu = time.process_time() - started
    split = ", ".join(f"{k} {1e6 * v / len(objs):.1f}" for k, v in phases.items())
    print(f"{label}: {len(objs)} objects {cpu:.2f} CPU s = {1000 * cpu / len(objs):.3f} "
          f"ms/object ({split} µs/object)")

if __name__ == "__main__":
    main()
