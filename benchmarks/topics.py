"""Topic/sector classification benchmark: quality zero-shot and after analysts' labels, and
speed, each against a named baseline in the same run.

Dataset: ``benchmarks/data/topics.jsonl`` — real headline + lead passages, mostly US federal
government releases (public domain), hand-labelled multi-label with the nine sectors (see
``benchmarks/data/README.md``). It is split by document: even positions form the *dev* half
(used to choose the zero-shot floor/margin with ``--tune``, and as the analysts' labels
for the retraining measurement), odd positions the *test* half every figure is reported on.

1. **Zero-shot** (no labels): allsource's prototype classifier vs a keyword baseline that
   assigns a topic when the passage contains at least ``k`` words of that topic's
   descriptions (the same text the prototypes come from; ``k`` tuned on dev too).
2. **Learning from labels**: every dev document labelled with all nine topics (positive or
   negative, as an analyst confirming/correcting would), ``train`` run, test half re-scored;
   and a learning curve with the first 10 %, 25 % and 50 % of the dev documents labelled.
3. **Speed**: documents/s of embedding + assignment on ~3 KB documents (passages repeated),
   against the keyword baseline on the same documents.

    .venv/bin/python benchmarks/topics.py [--tune] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from allsource.process.topics import (
    TOPICS,
    Label,
    TopicModel,
    default_embedder,
    document_text,
    train,
    zero_shot_model,
)

DATA = Path(__file__).resolve().parent / "data" / "topics.jsonl"
STOP = {"and", "the", "of", "a", "an", "such", "as", "to", "on", "in", "for", "with", "new",
        "by", "or", "its", "their", "data"}


def load(path: Path = DATA) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def split(rows: Sequence[dict[str, object]]) -> tuple[list[dict[str, object]],
                                                      list[dict[str, object]]]:
    return [r for i, r in enumerate(rows) if i % 2 == 0], [r for i, r in enumerate(rows)
                                                            if i % 2 == 1]


def text_of(row: dict[str, object]) -> str:
    return document_text(str(row["title"]), str(row["text"]))


def score(predicted: Sequence[set[str]], truth: Sequence[set[str]],
          topics: Sequence[str]) -> dict[str, object]:
    """Micro P/R/F1 over (document, topic) pairs, plus per-topic F1 and exact-match rate."""
    tp = fp = fn = 0
    per: dict[str, Counter[str]] = {t: Counter() for t in topics}
    for p, t in zip(predicted, truth, strict=True):
        for topic in topics:
            hit, real = topic in p, topic in t
            tp += hit and real
            fp += hit and not real
            fn += real and not hit
            per[topic]["tp" if hit and real else "fp" if hit else "fn" if real else "tn"] += 1
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1s = {}
    for topic, c in per.items():
        denom = 2 * c["tp"] + c["fp"] + c["fn"]
        f1s[topic] = round(2 * c["tp"] / denom, 2) if denom else 0.0
    exact = sum(p == t for p, t in zip(predicted, truth, strict=True)) / max(1, len(truth))
    return {"precision": round(prec, 3), "recall": round(rec, 3),
            "f1": round(2 * prec * rec / (prec + rec), 3) if prec + rec else 0.0,
            "exact_match": round(exact, 3), "per_topic_f1": f1s}


def keyword_classifier(min_hits: int) -> Callable[[Sequence[str]], list[set[str]]]:
    words = {t: {w for d in descs for w in re.findall(r"[a-z][a-z-]+", d.lower())} - STOP
             for t, descs in TOPICS.items()}

    def classify(texts: Sequence[str]) -> list[set[str]]:
        out = []
        for text in texts:
            tokens = set(re.findall(r"[a-z][a-z-]+", text.lower()))
            out.append({t for t, ws in words.items() if len(tokens & ws) >= min_hits})
        return out

    return classify


def model_classifier(model: TopicModel) -> Callable[[Sequence[str]], list[set[str]]]:
    embedder = default_embedder()

    def classify(texts: Sequence[str]) -> list[set[str]]:
        return [{t for t, _ in row} for row in model.assign(embedder.encode(list(texts)))]

    return classify


def tune(dev: Sequence[dict[str, object]]) -> tuple[float, float, int]:
    texts, truth = [text_of(r) for r in dev], [set(r["labels"]) for r in dev]  # type: ignore[call-overload]
    best = (-1.0, 0.0, 0.0)
    for threshold in np.arange(0.05, 0.31, 0.05):
        for margin in (0.06, 0.12, 1.0):
            model = zero_shot_model(threshold=float(threshold), margin=margin)
            f1 = float(score(model_classifier(model)(texts), truth, list(TOPICS))["f1"])  # type: ignore[arg-type]
            if f1 > best[0]:
                best = (f1, float(threshold), margin)
    best_k = max(range(1, 5), key=lambda k: float(score(  # type: ignore[arg-type]
        keyword_classifier(k)(texts), truth, list(TOPICS))["f1"]))
    print(f"dev tuning: floor={best[1]:.2f} margin={best[2]:.2f} (dev F1 {best[0]:.3f}); "
          f"keyword baseline k={best_k}")
    return best[1], best[2], best_k


def speed(classify: Callable[[Sequence[str]], list[set[str]]], docs: Sequence[str],
          rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for i in range(0, len(docs), 200):
            classify(docs[i:i + 200])
        best = min(best, time.perf_counter() - started)
    return len(docs) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tune", action="store_true",
                        help="choose the zero-shot floor/margin (and the baseline's k) on dev")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} missing")
    rows = load()
    dev, test = split(rows)
    topics = list(TOPICS)
    threshold, margin, k = (tune(dev) if args.tune else (None, None, 2))
    base = (zero_shot_model(threshold=threshold, margin=margin)
            if threshold is not None and margin is not None else zero_shot_model())
    test_texts = [text_of(r) for r in test]
    truth = [set(r["labels"]) for r in test]  # type: ignore[call-overload]
    results: dict[str, object] = {
        "dataset": f"{DATA.name}: {len(rows)} passages, dev {len(dev)} / test {len(test)}",
        "zero_shot": score(model_classifier(base)(test_texts), truth, topics),
        "keyword_baseline": score(keyword_classifier(k)(test_texts), truth, topics),
    }
    embedder = default_embedder()
    dev_vecs = embedder.encode([text_of(r) for r in dev])
    embeddings = {str(r["id"]): v for r, v in zip(dev, dev_vecs, strict=True)}
    labels = [Label(str(r["id"]), t, t in r["labels"]) for r in dev for t in topics]  # type: ignore[operator]
    trained = train(base, labels, embeddings, embedder)
    results["retrained_on_dev_labels"] = score(model_classifier(trained)(test_texts), truth,
                                               topics)
    curve = {}
    for share in (0.1, 0.25, 0.5):
        keep = {str(r["id"]) for r in dev[:max(1, int(len(dev) * share))]}
        partial = train(base, [lab for lab in labels if lab.document_id in keep], embeddings,
                        embedder)
        curve[f"{len(keep)} docs"] = score(model_classifier(partial)(test_texts), truth,
                                           topics)["f1"]
    full = results["retrained_on_dev_labels"]
    assert isinstance(full, dict)
    curve[f"{len(dev)} docs"] = full["f1"]
    results["learning_curve_f1"] = curve
    docs = []
    for r in rows:
        text = text_of(r)
        docs.append((text + " ") * max(1, 3000 // max(1, len(text))))
    docs = docs * max(1, 2000 // len(docs))
    ours = speed(model_classifier(base), docs)
    theirs = speed(keyword_classifier(k), docs)
    results["speed"] = {"documents": len(docs),
                        "avg_kb": round(sum(map(len, docs)) / len(docs) / 1000, 2),
                        "allsource_docs_per_s": round(ours),
                        "keyword_baseline_docs_per_s": round(theirs),
                        "ratio": round(ours / theirs, 2)}
    results["machine"] = f"{platform.machine()} {platform.python_version()}"
    for name in ("zero_shot", "keyword_baseline", "retrained_on_dev_labels"):
        got = results[name]
        assert isinstance(got, dict)
        r = got
        print(f"{name:26s} P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}  "
              f"exact {r['exact_match']:.3f}")
        print(f"{'':26s} per topic F1: {r['per_topic_f1']}")
    print(f"test F1 by number of labelled dev documents: {results['learning_curve_f1']}")
    print(f"speed: {results['speed']}")
    print("reproduce: .venv/bin/python benchmarks/topics.py" + (" --tune" if args.tune else ""))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
