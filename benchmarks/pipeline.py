"""Whole default processing pipeline: documents/s, per-stage breakdown, peak memory.

Builds ``--docs`` news-length documents (~3 KB: two of ``ingest.py``'s recombined real-text
documents joined — ATT&CK, MISP galaxy and GDELT text) as ``article`` documents in a fresh
SQLite store, then times ``allsource process`` (the default pipeline: normalize, stories,
observables, entities, relations, and whatever other default stages are registered) inline
and with ``--workers 2``. Baseline in the same run: ioc-finder (the extraction library MISP
users reach for) over the same documents — one IOC pass only, no language, dedup, entities
or relations — so the ratio shows what the whole pipeline costs against a single
conventional extraction step.

    .venv/bin/python benchmarks/pipeline.py                 # 5,000 documents
    .venv/bin/python benchmarks/pipeline.py --docs 2000 --workers 1,2
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from ingest import load_pools, make_document  # noqa: E402

from allsource.config import load_settings  # noqa: E402
from allsource.model.records import Collected, Document, Source  # noqa: E402
from allsource.process.pipeline import build_pipeline  # noqa: E402
from allsource.process.runner import process_store  # noqa: E402
from allsource.store import open_store  # noqa: E402


def peak_rss_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def build_documents(n: int, seed: int) -> list[Document]:
    pools = load_pools()
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        a, b = make_document(rng, pools, 2 * i), make_document(rng, pools, 2 * i + 1)
        docs.append(Document.build(kind="article", title=a["title"],
                                   text=a["text"] + "\n\n" + b["text"], url=a["url"]))
    return docs


def run_allsource(docs: list[Document], workers: int, work: Path) -> dict[str, object]:
    settings = load_settings(database_url=f"sqlite:///{work / f'p{workers}.db'}",
                             blob_dir=work / "blobs")
    store = open_store(settings)
    src = Source("bench", "files", str(work))
    store.add_source(src)
    for i in range(0, len(docs), 1000):
        store.write_batch(src, [Collected(d) for d in docs[i:i + 1000]], [], None)
    pipeline = build_pipeline(store=store)
    if workers > 1:
        from allsource.engine.pool import PoolEngine

        engine: object = PoolEngine(pipeline, workers)
    else:
        from allsource.engine.inline import InlineEngine

        engine = InlineEngine(pipeline)
    started = time.perf_counter()
    result = process_store(store, pipeline, engine, batch_size=200)  # type: ignore[arg-type]
    wall = time.perf_counter() - started
    engine.close()  # type: ignore[attr-defined]
    store.close()
    return {"workers": workers, "docs": result.documents, "seconds": wall,
            "docs_per_s": result.documents / wall, "failures": result.failures,
            "stages": pipeline.names,
            "ms_per_doc": {k: 1000 * v / max(result.documents, 1)
                           for k, v in result.stage_seconds.items()}}


def run_baseline(docs: list[Document]) -> dict[str, float]:
    from ioc_finder import find_iocs  # type: ignore[import-untyped]  # the bench extra

    sample = docs[: min(len(docs), 1000)]
    started = time.perf_counter()
    for d in sample:
        find_iocs(f"{d.title}\n{d.text}")
    wall = time.perf_counter() - started
    return {"docs": len(sample), "seconds": wall, "docs_per_s": len(sample) / wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=5000)
    ap.add_argument("--workers", default="1,2", help="comma list of worker counts")
    ap.add_argument("--seed", type=int, default=20241122)
    args = ap.parse_args()
    docs = build_documents(args.docs, args.seed)
    mean_kb = sum(len(d.title) + len(d.text) for d in docs) / len(docs) / 1024
    print(f"{len(docs)} documents, mean {mean_kb:.2f} KB")
    baseline = run_baseline(docs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (int(w) for w in args.workers.split(",")):
            rows.append(run_allsource(docs, workers, Path(tmp)))
    print("\n| engine | docs | seconds | docs/s | vs ioc-finder alone |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        ratio = float(r["docs_per_s"]) / baseline["docs_per_s"]  # type: ignore[arg-type]
        print(f"| {r['workers']} worker(s) | {r['docs']} | {float(r['seconds']):.1f} "  # type: ignore[arg-type]
              f"| {float(r['docs_per_s']):,.0f} | {ratio:.1f}× |")  # type: ignore[arg-type]
    print(f"| ioc-finder only (baseline) | {baseline['docs']} | {baseline['seconds']:.1f} "
          f"| {baseline['docs_per_s']:,.0f} | 1.0× |")
    inline = rows[0]
    print(f"\nstages: {', '.join(inline['stages'])}")  # type: ignore[arg-type]
    print("| stage | ms/doc (inline) |\n|---|---:|")
    for name, ms in inline["ms_per_doc"].items():  # type: ignore[attr-defined]
        print(f"| {name} | {ms:.3f} |")
    own, children = peak_rss_mib()
    print(f"\npeak RSS: this process {own:.0f} MiB, largest worker {children:.0f} MiB")
    print(f"\nreproduce: python benchmarks/pipeline.py --docs {args.docs} "
          f"--workers {args.workers} --seed {args.seed}")


if __name__ == "__main__":
    main()
