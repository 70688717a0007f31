"""How many of the best 500 documents each query keeps at the search-by-meaning cut-off
(``analyze/similarity.py``), for queries with relevant documents and queries without.

Run in the folder of a store that has embeddings (``allsource demo`` makes one)::

    PYTHONPATH=src python benchmarks/semantic_cutoff.py [--held-out]

``--held-out`` runs the second query set, written after the cut-off was chosen on the first
and not used to choose it. Results: benchmarks/RESULTS.md, section "Search page, search hints
and the similarity cut-off (wt-search)".
"""

from __future__ import annotations

import argparse

from allsource.analyze.semantic import semantic_search
from allsource.analyze.similarity import MIN_SIMILARITY
from allsource.config import load_settings
from allsource.model.markings import Audience
from allsource.store import open_store
from allsource.store.query import SearchQuery

CHOSEN_ON = {
    "related": ["spearphishing attachment", "credential dumping from memory",
                "ransomware encrypting files", "Russian military intelligence hacking",
                "protest in the capital", "malware persistence registry run keys",
                "supply chain compromise of software updates",
                "phishing email with malicious link"],
    "unrelated": ["chocolate cake recipe", "football match results",
                  "knitting patterns for beginners", "weather forecast tomorrow",
                  "baroque music concert", "wedding dress shopping", "how to grow tomatoes",
                  "cat videos funny"]}
HELD_OUT = {
    "related": ["DDoS attack on banks", "lateral movement with remote desktop",
                "exploit of a public-facing application", "data exfiltration over DNS",
                "destructive wiper malware", "keylogger capturing passwords"],
    "unrelated": ["best pizza in Naples", "marathon training plan", "stock market prices today",
                  "gardening tips in spring", "learning to play the violin",
                  "holiday beach resorts"]}
CUTS = (0.25, 0.3, 0.35, 0.4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held-out", action="store_true")
    args = parser.parse_args()
    store = open_store(load_settings())
    queries = HELD_OUT if args.held_out else CHOSEN_ON
    print(f"cut-off in use: {MIN_SIMILARITY}")
    for label, texts in queries.items():
        for text in texts:
            hits = semantic_search(store, SearchQuery(text, limit=500), Audience.owner()).hits
            scores = [h.score for h in hits]
            kept = {c: sum(1 for s in scores if s >= c) for c in CUTS}
            print(f"{label:9} {text[:42]:42} best {scores[0] if scores else 0:.2f} "
                  f"of {len(scores)} kept at " + ", ".join(f"{c}: {n}" for c, n in kept.items()))


if __name__ == "__main__":
    main()
