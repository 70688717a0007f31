"""What keeping the graph's least evidence markings costs processing's writes (migration
0045, ``store/graph_evidence.py``): CPU per document of :func:`write_results` — objects,
relationships and mentions of a batch of documents, as the pipeline's parent writes them —
with the triggers and the re-processing refresh (as shipped) against the same store schema
with both removed, interleaved round by round in one process.

Synthetic corpus (say so when quoting): ``--docs`` CLEAR/GREEN documents, each naming
``--entities`` objects drawn from a pool of ``--pool`` (so most objects are seen again, as in
real news) and relating ``--relations`` pairs of them, written in batches of 200; each round
writes a fresh pair of stores, and a second pass re-processes every document (mentions
deleted and written again).

Run: ``python benchmarks/graph_evidence_writes.py --docs 4000 --rounds 3``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from allsource.config import load_settings
from allsource.model.ids import minted_id
from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Document, Mention, Relationship, Source, StixObject
from allsource.process.base import Work
from allsource.store import graph_evidence, open_store
from allsource.store import processing as processing_writes
from allsource.store.processing import write_results
from allsource.store.sql import SqlStore

BATCH = 200


def _store(folder: Path, keep: bool) -> SqlStore:
    store = open_store(load_settings(database_url=f"sqlite:///{folder / 'w.db'}",
                                     blob_dir=folder / "blobs"))
    if not keep:
        with store.engine.begin() as conn:
            graph_evidence.drop_triggers(conn)
    return store


def _works(docs: list[Document], rng: random.Random, pool: int, entities: int,
           relations: int) -> list[Work]:
    out = []
    for d in docs:
        w = Work(id=d.id, title=d.title, text=d.text, marking=d.marking)
        picked = rng.sample(range(pool), entities)
        objs = []
        for i in picked:
            oid = minted_id("intrusion-set", f"actor {i}")
            objs.append(oid)
            w.objects.append(StixObject(oid, "intrusion-set", f"actor {i}",
                                        {"type": "intrusion-set", "id": oid,
                                         "name": f"actor {i}"}))
            w.mentions.append(Mention(oid, "entities@1", i % 50, i % 50 + 5))
        for n in range(relations):
            a, b = objs[n], objs[n + 1]
            rid = minted_id("relationship", f"uses|{a}|{b}")
            w.relationships.append(Relationship(rid, "uses", a, b,
                                                {"type": "relationship", "id": rid}))
            w.mentions.append(Mention(rid, "relations@1", n, n + 1))
        out.append(w)
    return out


def _run(store: SqlStore, works: list[Work], keep: bool) -> float:
    refresh = graph_evidence.refresh
    if not keep:  # the re-processing hook too
        processing_writes.graph_evidence.refresh = lambda *a, **k: None  # type: ignore[assignment]
    try:
        c0 = time.process_time()
        for i in range(0, len(works), BATCH):
            write_results(store, works[i:i + BATCH], {"entities": "1", "relations": "1"})
        return time.process_time() - c0
    finally:
        processing_writes.graph_evidence.refresh = refresh  # type: ignore[assignment]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=4000)
    ap.add_argument("--pool", type=int, default=20_000)
    ap.add_argument("--entities", type=int, default=8)
    ap.add_argument("--relations", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(20261208)
    docs = [Document.build(kind="article", title=f"doc {n}", text=f"text {n}",
                           marking=Marking(tlp=TLP.GREEN if n % 3 else TLP.CLEAR))
            for n in range(args.docs)]
    works = _works(docs, rng, args.pool, args.entities, args.relations)
    results: dict[str, list[float]] = {k: [] for k in (
        "first pass, without", "first pass, with", "re-processing, without",
        "re-processing, with")}
    print("load average before", Path("/proc/loadavg").read_text().strip())
    for _ in range(args.rounds):
        for keep in (False, True):
            folder = Path(tempfile.mkdtemp(prefix="allsource-gew-"))
            try:
                store = _store(folder, keep)
                src = Source(name="bench", kind="rss", location="http://example.test/f")
                store.add_source(src)
                for i in range(0, len(docs), 1000):
                    store.write_batch(src, [Collected(d, [], [], []) for d in
                                            docs[i:i + 1000]], [], None)
                label = "with" if keep else "without"
                results[f"first pass, {label}"].append(_run(store, works, keep))
                results[f"re-processing, {label}"].append(_run(store, works, keep))
                store.close()
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    print("load average after", Path("/proc/loadavg").read_text().strip())
    per = args.docs / 1000
    print(f"\n{args.docs:,} documents, {args.entities} entities + {args.relations} "
          f"relationships each, pool {args.pool:,}; CPU ms per document (median of "
          f"{args.rounds} rounds, all rounds)\n")
    print("| pass | without triggers | with (as shipped) | ratio |\n|---|---:|---:|---:|")
    for what in ("first pass", "re-processing"):
        a, b = results[f"{what}, without"], results[f"{what}, with"]
        show: Any = lambda v: (f"{statistics.median(v) / per:.3f} ("  # noqa: E731
                               + ", ".join(f"{x / per:.3f}" for x in v) + ")")
        print(f"| {what} | {show(a)} | {show(b)} | "
              f"{statistics.median(b) / statistics.median(a):.2f} |")


if __name__ == "__main__":
    main()
