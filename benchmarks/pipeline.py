"""Whole default processing pipeline: documents/s, per-stage breakdown, peak memory.

Builds ``--docs`` news-length documents (~3 KB: two of ``ingest.py``'s recombined real-text
documents joined — ATT&CK, MISP galaxy and GDELT text) as ``article`` documents in a fresh
SQLite store, then times ``allsource process`` (the default pipeline: normalize, stories,
observables, entities, relations, and whatever other default stages are registered) with
each engine of ``--engines``: ``inline``, ``pool:N`` (N local worker processes) and
``dask:N`` (a local Dask cluster of N worker processes on 127.0.0.1), each timed from the
engine's creation (stage set-up, and the workers' start-up, included), with CPU time (this
process and its workers, once they have exited), CPU utilisation (CPU seconds per wall
second: 2.0 is both cores busy all the time) and per stage both wall and CPU milliseconds
per document (CPU time is what a shared machine distorts least). Baseline in the same
run, before and after the engines: ioc-finder (the extraction library MISP users reach
for) over the same documents — one IOC pass only, no language, dedup, entities or
relations — with its CPU time, so the ratio shows what the whole pipeline costs against a
single conventional extraction step.

    .venv/bin/python benchmarks/pipeline.py                 # 5,000 documents
    .venv/bin/python benchmarks/pipeline.py --docs 20000 --engines inline,pool:2

Batches are ``allsource process``'s default size (``--batch-size``; 200 before 2026-12-07).
Per-stage CPU is each stage's process clock where it has a process to itself (inline, pool
workers: the tokenizers' native threads included; before 2026-12-07 14:30 UTC it was the
thread's clock, which missed them) and its thread's clock in the parent of a pool or Dask
run; "outside stages" is the total less every stage's CPU.
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
from allsource.process import runner  # noqa: E402
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


def run_allsource(docs: list[Document], spec: str, work: Path, batch_size: int
                  ) -> dict[str, object]:
    kind, _, count = spec.partition(":")
    workers = int(count or 1)
    settings = load_settings(database_url=f"sqlite:///{work / f'{kind}{workers}.db'}",
                             blob_dir=work / "blobs")
    store = open_store(settings)
    src = Source("bench", "files", str(work))
    store.add_source(src)
    for i in range(0, len(docs), 1000):
        store.write_batch(src, [Collected(d) for d in docs[i:i + 1000]], [], None)
    pipeline = build_pipeline(store=store)
    first: list[tuple[int, float]] = []  # (documents, seconds) when the first batch was done

    def progress(done: int, _total: int) -> None:
        if not first:
            first.append((done, time.perf_counter() - started))

    # Timed from the engine's creation, as `allsource process` runs: the inline engine sets
    # the stages up here, the pool's workers do it in their own processes.
    cpu, own = cpu_seconds(), own_cpu_seconds()
    started = time.perf_counter()
    if kind == "pool":
        from allsource.engine.pool import PoolEngine

        engine: object = PoolEngine(pipeline, workers)
    elif kind == "dask":
        from allsource.engine.dask import DaskEngine

        engine = DaskEngine(pipeline, workers=workers)
    else:
        from allsource.engine.inline import InlineEngine

        engine = InlineEngine(pipeline)
    result = process_store(store, pipeline, engine, batch_size=batch_size,  # type: ignore[arg-type]
                           progress=progress)
    wall = time.perf_counter() - started
    after = (result.documents - first[0][0]) / (wall - first[0][1]) if first else 0.0
    parent = own_cpu_seconds() - own
    engine.close()  # type: ignore[attr-defined]  # joins the workers: their CPU counts
    used = cpu_seconds() - cpu
    store.close()
    n = max(result.documents, 1)
    return {"engine": spec, "docs": result.documents, "seconds": wall,
            "docs_per_s": result.documents / wall, "failures": result.failures,
            "after_first_per_s": after,
            "stages": pipeline.names,
            "cpu_ms_per_doc": 1000 * used / n, "parent_cpu_ms_per_doc": 1000 * parent / n,
            # CPU not in any stage: reading and writing the store, set-up and start-up, and
            # with workers their pickles both ways and the splice
            "outside_ms_per_doc":
                1000 * (used - sum(getattr(result, "stage_cpu", {}).values())) / n,
            "utilisation": used / wall,
            "ms_per_doc": {k: 1000 * v / n for k, v in result.stage_seconds.items()},
            "cpu_per_doc": {k: 1000 * v / n for k, v in  # (older code: no CPU per stage)
                            getattr(result, "stage_cpu", {}).items()}}


def own_cpu_seconds() -> float:
    """CPU time of this process alone (the parent's share of an engine's work)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (pool workers once closed)."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                 resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_baseline(docs: list[Document]) -> dict[str, float]:
    from ioc_finder import find_iocs  # type: ignore[import-untyped]  # the bench extra

    sample = docs[: min(len(docs), 1000)]
    started, cpu = time.perf_counter(), time.process_time()
    for d in sample:
        find_iocs(f"{d.title}\n{d.text}")
    wall = time.perf_counter() - started
    return {"docs": len(sample), "seconds": wall, "docs_per_s": len(sample) / wall,
            "cpu_ms_per_doc": 1000 * (time.process_time() - cpu) / len(sample)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=5000)
    ap.add_argument("--engines", default="inline,pool:1,pool:2,dask:2",
                    help="comma list of inline, pool:N, dask:N")
    ap.add_argument("--workers", default=None,
                    help="(older runs) comma list of worker counts: 1 = inline, N = pool:N")
    ap.add_argument("--seed", type=int, default=20241122)
    ap.add_argument("--batch-size", type=int, default=getattr(runner, "BATCH_SIZE", 200),
                    help="documents per batch (default: `allsource process`'s)")
    args = ap.parse_args()
    engines = ([("inline" if w.strip() == "1" else f"pool:{w.strip()}")
                for w in args.workers.split(",")] if args.workers
               else [e.strip() for e in args.engines.split(",") if e.strip()])
    docs = build_documents(args.docs, args.seed)
    mean_kb = sum(len(d.title) + len(d.text) for d in docs) / len(docs) / 1024
    print(f"{len(docs)} documents, mean {mean_kb:.2f} KB, batches of {args.batch_size}; "
          f"load {load()} at start")
    baselines = [run_baseline(docs)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in engines:
            rows.append(run_allsource(docs, spec, Path(tmp), args.batch_size))
            print(f"  {spec}: {float(rows[-1]['docs_per_s']):,.0f} docs/s "  # type: ignore[arg-type]
                  f"(load {load()})", flush=True)
    baselines.append(run_baseline(docs))
    baseline = {k: sum(b[k] for b in baselines) / len(baselines) for k in baselines[0]}
    # "after 1st batch": docs/s once the first batch is done (the workers' start-up excluded)
    print("\n| engine | docs | seconds | docs/s | after 1st batch | CPU ms/doc "
          "| of which parent | outside stages | CPU utilisation | vs ioc-finder alone |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ratio = float(r["docs_per_s"]) / baseline["docs_per_s"]  # type: ignore[arg-type]
        print(f"| {r['engine']} | {r['docs']} | {float(r['seconds']):.1f} "  # type: ignore[arg-type]
              f"| {float(r['docs_per_s']):,.0f} | {float(r['after_first_per_s']):,.0f} "  # type: ignore[arg-type]
              f"| {float(r['cpu_ms_per_doc']):.2f} | {float(r['parent_cpu_ms_per_doc']):.2f} "  # type: ignore[arg-type]
              f"| {float(r['outside_ms_per_doc']):.2f} "  # type: ignore[arg-type]
              f"| {float(r['utilisation']):.2f} | {ratio:.2f}× |")  # type: ignore[arg-type]
    print(f"| ioc-finder only (baseline; mean of a run before and after) | {baseline['docs']:.0f} "
          f"| {baseline['seconds']:.1f} | {baseline['docs_per_s']:,.0f} | "
          f"| {baseline['cpu_ms_per_doc']:.2f} | | | | 1.0× |")
    print("ioc-finder runs: " + ", ".join(f"{b['docs_per_s']:,.0f} docs/s "
                                          f"({b['cpu_ms_per_doc']:.2f} CPU ms/doc)"
                                          for b in baselines))
    by = {r["engine"]: float(r["docs_per_s"]) for r in rows}  # type: ignore[arg-type]
    for two, one in (("pool:2", "inline"), ("pool:2", "pool:1"), ("dask:2", "inline")):
        if two in by and one in by:
            print(f"{two} / {one}: {by[two] / by[one]:.2f}×")
    print(f"\nstages: {', '.join(rows[0]['stages'])}")  # type: ignore[arg-type]
    # per engine: stage milliseconds per document, wall and CPU; with workers summed over
    # the workers, and sequential stages run in this process
    print("| stage | " + " | ".join(f"{r['engine']} wall | {r['engine']} CPU" for r in rows)
          + " |")
    print("|---|" + "---:|---:|" * len(rows))
    for name in rows[0]["ms_per_doc"]:  # type: ignore[attr-defined]
        print(f"| {name} | " + " | ".join(
            f"{r['ms_per_doc'].get(name, 0.0):.3f} | {r['cpu_per_doc'].get(name, 0.0):.3f}"  # type: ignore[attr-defined]
            for r in rows) + " |")
    own, children = peak_rss_mib()
    print(f"\npeak RSS: this process {own:.0f} MiB, largest worker {children:.0f} MiB")
    print(f"load at the end: {load()}")
    print(f"\nreproduce: python benchmarks/pipeline.py --docs {args.docs} "
          f"--engines {','.join(engines)} --seed {args.seed} --batch-size {args.batch_size}")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
