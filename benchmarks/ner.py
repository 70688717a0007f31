"""spaCy NER stage benchmark: organisation detection quality and cost, against the gazetteer.

Run from the repository root:

    .venv/bin/python benchmarks/ner.py                      # everything (about two minutes)
    .venv/bin/python benchmarks/ner.py --docs 200 --show-errors

1. Quality on ``benchmarks/data/ner_orgs.jsonl`` (128 hand-labelled sentences of real text:
   ATT&CK v15 descriptions and procedure examples, the OASIS STIX APT1 / Poison Ivy reports,
   CIRCL MISP events; labelling rules in ``benchmarks/data/README.md``). Each sentence is one
   document run through the real stages. Systems, in the same run:

   * ``ner`` — the ``ner`` stage (after ``normalize``): its ``organization`` identities;
   * spaCy raw — the same model with its whole pipeline, every ``ORG`` span, no filtering
     (what one gets from ``nlp(text).ents``);
   * ``entities`` — the gazetteer-only stage: which gold organisations it records at all
     (any entity type), and ``entities`` + ``ner`` together.

   Exact-span and overlap (one-to-one) precision, recall and F1 over gold ``orgs``; predictions
   on ``neutral`` spans (platform names, "<country> government" …) are not scored. "Actor
   overlaps" counts predictions that overlap a labelled threat actor, malware, tool or campaign
   name — those belong to the ``entities`` stage and must not come back as organisations.
2. Speed on ``--docs`` documents of ~3 KB built like ``benchmarks/entities.py`` (ATT&CK and
   MISP galaxy descriptions, fixed seed), one core: model load time, then the ``ner`` stage
   and the ``entities`` stage alone (``normalize`` ran before, untimed) in batches of
   ``--batch`` documents, and raw spaCy over the same documents with the model's full
   pipeline and with only its NER (no chunking, no filters). Best of ``--repeat`` interleaved
   runs; figures are docs/s, ms/doc and the ratio to the gazetteer stage.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from entities import attack_objects, corpus  # noqa: E402

from allsource.plugins import stages  # noqa: E402
from allsource.process.base import Stage, Work  # noqa: E402
from allsource.process.ner import default_model, load_model  # noqa: E402
from allsource.process.pipeline import build_pipeline  # noqa: E402
from allsource.process.stages.ner import NerStage  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "ner_orgs.jsonl"
Span = tuple[int, int]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- labelled set ----------------------------------------------------------------------------

def locate(text: str, names: Iterable[str]) -> list[Span]:
    """Every whole-word occurrence of ``names`` in ``text``, longest names first, never inside
    a span already taken (so "PLA" inside "PLA Unit 61398" is not a second mention)."""
    taken: list[Span] = []
    for name in sorted(set(names), key=len, reverse=True):
        for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text):
            if not any(a < m.end() and m.start() < b for a, b in taken):
                taken.append((m.start(), m.end()))
    return sorted(taken)


def load_gold() -> list[dict[str, Any]]:
    rows = [orjson.loads(line) for line in DATA.read_bytes().splitlines() if line.strip()]
    for row in rows:
        row["gold"] = locate(row["text"], row["orgs"])
        row["actor_spans"] = locate(row["text"], row["actors"])
        row["neutral_spans"] = locate(row["text"], row["neutral"])
    return rows


def _overlaps(span: Span, others: Iterable[Span]) -> bool:
    return any(a < span[1] and span[0] < b for a, b in others)


def score(rows: list[dict[str, Any]], predicted: list[list[Span]]) -> dict[str, float]:
    """Exact and overlap P/R/F1 of ``predicted`` against each row's gold ``orgs``."""
    c: Counter[str] = Counter()
    for row, spans in zip(rows, predicted, strict=True):
        gold = set(row["gold"])
        scored = [s for s in set(spans)
                  if s in gold or not _overlaps(s, row["neutral_spans"])]
        c["ignored"] += len(set(spans)) - len(scored)
        c["predicted"] += len(scored)
        c["gold"] += len(gold)
        c["exact"] += len(gold & set(scored))
        free = set(gold)
        for s in sorted(scored):  # one-to-one: each gold span credits one prediction
            hit = next((g for g in sorted(free) if _overlaps(s, [g])), None)
            if hit is not None:
                free.discard(hit)
                c["overlap"] += 1
        c["actor overlaps"] += sum(_overlaps(s, row["actor_spans"]) for s in scored)
    out: dict[str, float] = dict(c)
    for kind in ("exact", "overlap"):
        p = c[kind] / c["predicted"] if c["predicted"] else 0.0
        r = c[kind] / c["gold"] if c["gold"] else 0.0
        out[f"{kind} p"], out[f"{kind} r"] = p, r
        out[f"{kind} f1"] = 2 * p * r / (p + r) if p + r else 0.0
    return out


def recall(rows: list[dict[str, Any]], found: list[list[Span]]) -> tuple[float, float]:
    """(exact, overlap) share of gold organisations that ``found`` spans cover."""
    gold = sum(len(r["gold"]) for r in rows)
    exact = sum(len(set(r["gold"]) & set(f)) for r, f in zip(rows, found, strict=True))
    over = sum(sum(_overlaps(g, f) for g in r["gold"]) for r, f in zip(rows, found, strict=True))
    return exact / gold, over / gold


# --- running the stages ----------------------------------------------------------------------

def stage_classes() -> dict[str, type[Stage]]:
    # the entry point may not be installed yet (pip install -e .): register the class directly
    return {**stages(), "ner": NerStage}


def normalized(texts: list[str]) -> list[Work]:
    works = [Work(id=str(i), title="", text=t) for i, t in enumerate(texts)]
    for stage in build_pipeline(["normalize"], classes=stage_classes()).stages:
        stage.process(works)
    return works


def spans_by(works: list[Work], extractor: str,
             keep: Callable[[Any], bool] = lambda obj: True) -> list[list[Span]]:
    out = []
    for w in works:
        out.append([(m.start, m.end) for o, m in zip(w.objects, w.mentions, strict=True)
                    if m.extractor == extractor and keep(o)
                    and m.start is not None and m.end is not None])
    return out


def run_stage(stage: Stage, works: list[Work], batch: int) -> float:
    """Seconds ``stage`` takes over ``works``, in batches."""
    started = time.perf_counter()
    for i in range(0, len(works), batch):
        stage.process(works[i:i + batch])
    return time.perf_counter() - started


# --- main ------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--docs", type=int, default=200, help="speed corpus size (~3 KB each)")
    ap.add_argument("--batch", type=int, default=200, help="documents per stage call")
    ap.add_argument("--repeat", type=int, default=3, help="speed runs; the best counts")
    ap.add_argument("--show-errors", action="store_true", help="print the ner stage's errors")
    args = ap.parse_args()
    command = "python benchmarks/ner.py " + " ".join(sys.argv[1:])
    import spacy

    model = default_model()
    classes = stage_classes()
    log("loading …")
    before = rss_mib()
    started = time.perf_counter()
    ner = classes["ner"]()
    ner.setup()
    load_s = time.perf_counter() - started
    load_rss = rss_mib() - before
    entities = classes["entities"]()
    entities.setup()
    full_nlp = spacy.load(model)
    ner_nlp = load_model(model)

    log("quality …")
    rows = load_gold()
    texts = [r["text"] for r in rows]
    works = normalized(texts)
    ner.process(works)
    entities.process(works)
    ner_spans = spans_by(works, ner.extractor,
                         lambda o: o.stix.get("identity_class") == "organization")
    gaz_spans = spans_by(works, entities.extractor)
    raw_spans = [[(e.start_char, e.end_char) for e in doc.ents if e.label_ == "ORG"]
                 for doc in full_nlp.pipe(texts)]
    raw_any = [[(e.start_char, e.end_char) for e in doc.ents]
               for doc in full_nlp.pipe(texts)]
    q_ner, q_raw = score(rows, ner_spans), score(rows, raw_spans)
    gaz_recall = recall(rows, gaz_spans)
    both_recall = recall(rows, [a + b for a, b in zip(gaz_spans, ner_spans, strict=True)])
    raw_actor_any = sum(sum(_overlaps(s, r["actor_spans"]) for s in spans)
                        for r, spans in zip(rows, raw_any, strict=True))
    withheld = sum(w.annotations["ner"]["persons_withheld"] for w in works)
    if args.show_errors:
        for row, spans in zip(rows, ner_spans, strict=True):
            fp = [row["text"][a:b] for a, b in spans if (a, b) not in row["gold"]
                  and not _overlaps((a, b), row["neutral_spans"])]
            fn = [row["text"][a:b] for a, b in row["gold"] if (a, b) not in spans]
            if fp or fn:
                print(f"    FP {fp} FN {fn} | {row['text'][:120]}")

    log(f"speed on {args.docs} docs …")
    docs = corpus(attack_objects(), args.docs)
    mb = sum(len(d.encode()) for d in docs) / 1e6
    base = normalized(docs)

    def stage_time(stage: Stage) -> Callable[[], float]:
        def run() -> float:
            works = [Work(id=w.id, title=w.title, text=w.text, scratch=dict(w.scratch))
                     for w in base]
            secs = run_stage(stage, works, args.batch)
            last[stage.name] = works
            return secs
        return run

    def pipe_time(nlp: Any) -> Callable[[], float]:
        def run() -> float:
            started = time.perf_counter()
            for _ in nlp.pipe(docs, batch_size=32):
                pass
            return time.perf_counter() - started
        return run

    last: dict[str, list[Work]] = {}
    systems = {"entities": stage_time(entities), "ner": stage_time(ner),
               "raw ner": pipe_time(ner_nlp), "raw full": pipe_time(full_nlp)}
    best = dict.fromkeys(systems, float("inf"))
    for _ in range(args.repeat):  # interleaved, so a busy spell hits every system alike
        for name, run in systems.items():
            best[name] = min(best[name], run())
    t_entities, t_ner, t_raw_ner, t_full = (best[k] for k in systems)
    mentions = sum(w.annotations["ner"]["mentions"] for w in last["ner"])

    n = len(docs)
    print(f"\n## spaCy NER stage — {time.strftime('%Y-%m-%d')}\n")
    print(f"Machine: {multiprocessing.cpu_count()} cores, Python {platform.python_version()}, "
          f"spaCy {spacy.__version__}, model {model} {version(model.replace('_', '-'))} "
          f"(components kept: {', '.join(ner_nlp.pipe_names)})")
    print(f"Command: `.venv/bin/{command.strip()}`\n")
    print(f"Model load (ner stage set-up): {load_s:.2f} s, +{load_rss:.0f} MiB RSS.\n")
    print(f"| organisations, {len(rows)} sentences, {q_ner['gold']:.0f} gold | predicted | "
          "exact P | exact R | exact F1 | overlap P | overlap R | overlap F1 | actor overlaps |"
          "\n|---|---|---|---|---|---|---|---|---|")
    for name, q in (("`ner` stage", q_ner), ("spaCy raw ORG (baseline)", q_raw)):
        print(f"| {name} | {q['predicted']:.0f} | {q['exact p']:.3f} | {q['exact r']:.3f} | "
              f"{q['exact f1']:.3f} | {q['overlap p']:.3f} | {q['overlap r']:.3f} | "
              f"{q['overlap f1']:.3f} | {q['actor overlaps']:.0f} |")
    print(f"\nNot scored (on neutral spans): ner {q_ner.get('ignored', 0):.0f}, raw "
          f"{q_raw.get('ignored', 0):.0f}. Raw spaCy spans of any label overlapping a labelled "
          f"actor/malware/tool/campaign name: {raw_actor_any}. People withheld by the ner "
          f"stage: {withheld}.\n")
    print("| gold organisations recorded by | exact | overlap |\n|---|---|---|")
    for name, (ex, ov) in (("`entities` (gazetteer only)", gaz_recall),
                           ("`entities` + `ner`", both_recall)):
        print(f"| {name} | {ex:.3f} | {ov:.3f} |")
    print(f"\n| speed, {n} docs of {mb / n * 1000:.1f} KB, 1 core, best of {args.repeat} | "
          "docs/s | ms/doc | "
          "× gazetteer time |\n|---|---|---|---|")
    for name, secs in (("`entities` stage (gazetteer)", t_entities),
                       ("`ner` stage", t_ner),
                       ("spaCy raw, NER components only (baseline)", t_raw_ner),
                       ("spaCy raw, full pipeline (baseline)", t_full)):
        print(f"| {name} | {n / secs:,.1f} | {secs / n * 1000:.2f} | {secs / t_entities:.0f}× |")
    print(f"\n`ner` stage: {mentions} mentions on the speed corpus "
          f"({mentions / n:.1f} per document).")


if __name__ == "__main__":
    main()
