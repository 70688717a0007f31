"""Topic classification on real passages: ``benchmarks/data/topics.jsonl`` (US federal
government releases and Wikipedia/Wikinews extracts, hand-labelled; origin of each passage
in the file and in benchmarks/data/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from allsource.process.topics import (
    TOPICS,
    Label,
    TopicModel,
    default_embedder,
    default_model,
    document_text,
    evaluate,
    train,
)

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "topics.jsonl"
ROWS = {r["id"]: r for r in map(json.loads, DATA.read_text().splitlines())}


def _embed(ids: list[str]) -> dict[str, np.ndarray]:
    vecs = default_embedder().encode([document_text(ROWS[i]["title"], ROWS[i]["text"])
                                      for i in ids])
    return dict(zip(ids, vecs, strict=True))


def _f1(pred: list[set[str]], truth: list[set[str]]) -> float:
    tp = sum(len(p & t) for p, t in zip(pred, truth, strict=True))
    n = sum(len(p) for p in pred) + sum(len(t) for t in truth)
    return 2 * tp / n


def test_zero_shot_beats_keyword_matching_on_the_labelled_passages() -> None:
    ids = sorted(ROWS)
    emb = _embed(ids)
    assigned = default_model().assign(np.stack([emb[i] for i in ids]))
    ours = [{t for t, _ in row} for row in assigned]
    words = {t: {w for d in ds for w in d.lower().replace(",", " ").replace(":", " ").split()
                 if len(w) > 3} for t, ds in TOPICS.items()}
    keyword = [{t for t, ws in words.items()
                if len(ws & set(document_text(ROWS[i]["title"], ROWS[i]["text"]).lower()
                                .split())) >= 2} for i in ids]
    truth = [set(ROWS[i]["labels"]) for i in ids]
    assert _f1(ours, truth) > _f1(keyword, truth)
    assert _f1(ours, truth) > 0.6
    # passages about none of the sectors (sport, culture) mostly get no topic
    off = [row for i, row in zip(ids, ours, strict=True) if not ROWS[i]["labels"]]
    assert len(off) >= 10 and sum(not row for row in off) / len(off) >= 0.6


def test_scores_are_calibrated_on_the_decision_boundary() -> None:
    ids = sorted(ROWS)[:40]
    emb = np.stack(list(_embed(ids).values()))
    model = default_model()
    _, scores = model.scores(emb)
    for row, chosen in zip(scores, model.assign(emb), strict=True):
        for topic, score in chosen:
            assert score >= 0.5
            assert score == pytest.approx(row[model.topics.index(topic)], abs=1e-3)


def test_an_invented_topic_is_learned_from_a_few_labels_and_generalises() -> None:
    """Analysts split natural disasters from the built-in health/disaster sector."""
    positives = ["t043", "t044", "t110", "t115", "t153"]  # earthquakes, hurricanes
    negatives = ["t027", "t045", "t098", "t106", "t109"]  # diseases and outbreaks
    held_in, held_out = "t154", "t108"  # wildfires; a disease guidance note
    emb = _embed([*positives, *negatives, held_in, held_out])
    labels = [Label(i, "natural-disaster", True) for i in positives] + [
        Label(i, "natural-disaster", False) for i in negatives]
    model = train(default_model(), labels, emb)
    assert model.topics[-1] == "natural-disaster"
    assert model.trained["natural-disaster"] == {"positive": 5, "negative": 5}
    got = dict(zip([held_in, held_out], model.assign(np.stack([emb[held_in], emb[held_out]])),
                   strict=True))
    assert "natural-disaster" in {t for t, _ in got[held_in]}
    assert "natural-disaster" not in {t for t, _ in got[held_out]}
    # the built-in topics were not labelled, so they are unchanged
    base = default_model()
    assert np.allclose(model.prototypes[:len(base.topics)], base.prototypes)


def test_labels_on_one_half_improve_the_other_half() -> None:
    """Analysts label every topic of the even-numbered passages; the odd-numbered ones,
    never seen in training, are classified better than zero-shot (benchmarks/topics.py
    reports the same split)."""
    ids = sorted(ROWS)
    dev, test = ids[0::2], ids[1::2]
    emb = _embed(ids)
    labels = [Label(i, t, t in ROWS[i]["labels"]) for i in dev for t in TOPICS]
    model = train(default_model(), labels, {i: emb[i] for i in dev})
    held = [Label(i, t, t in ROWS[i]["labels"]) for i in test for t in TOPICS]
    before, after = evaluate(default_model(), held, emb), evaluate(model, held, emb)
    assert after.f1 > before.f1
    assert model.trained  # some topics were learned


def test_model_round_trips_through_json() -> None:
    ids = sorted(ROWS)[:20]
    emb = _embed(ids)
    labels = [Label(i, t, t in ROWS[i]["labels"]) for i in ids for t in TOPICS]
    model = train(default_model(), labels, emb)
    again = TopicModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.fingerprint() == model.fingerprint()
    x = np.stack(list(emb.values()))
    assert again.assign(x) == model.assign(x)
