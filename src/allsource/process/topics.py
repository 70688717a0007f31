"""Topic and sector classification with static embeddings, zero-shot first, then learned
from analysts' labels.

Mechanism:

* **Embeddings.** A document (title + the start of its body) is embedded with a static
  model2vec model distilled from all-MiniLM-L6-v2 and shipped in the package
  (``process/models/minilm-static``, rebuilt by ``scripts/distill_topic_model.py``): a
  token lookup and a mean, no torch, thousands of documents per second per core.
* **Zero-shot.** Each topic has a few description sentences (:data:`TOPICS`); their mean
  embedding is the topic's *prototype*. A document's raw score for a topic is the cosine
  between its embedding and the prototype. A topic is assigned when the cosine reaches the
  topic's threshold *and* lies within ``margin`` of the document's best topic (multi-label,
  but a generic similarity to everything does not label a document with everything). The
  reported score maps the cosine through a logistic curve centred on the threshold, so 0.5
  is the decision boundary for every topic.
* **Learning from analysts.** ``allsource label DOC TOPIC`` (or ``--not``) stores labels;
  :func:`train` moves each labelled topic's prototype towards the mean of its positive
  documents and away from its negatives (Rocchio, weighted by how many labels there are, so
  two labels nudge and two hundred dominate), re-fits its threshold to the labelled
  documents when both kinds are present, and adds topics analysts invented (a topic with
  positive labels but no description). The trained model is stored with its fingerprint;
  the stage's stored version includes it, so documents are re-classified after retraining.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from allsource.errors import InputError

MODEL_DIR = Path(__file__).with_name("models") / "minilm-static"

#: characters of a document embedded: the title and lead carry the topic, and a static
#: model's mean over a long body only blurs it (and costs time)
MAX_CHARS = 3000

#: topic -> descriptions; the prototype is the mean of their embeddings
TOPICS: dict[str, tuple[str, ...]] = {
    "political": (
        "politics, government, elections, parliament, president, prime minister, political "
        "parties and opposition",
        "diplomacy and foreign policy: ministers meet, summits, treaties, ambassadors, "
        "sanctions and international relations",
        "protests, coups, referendums, legislation and political crisis",
    ),
    "military": (
        "military operations: armed forces, troops, army, navy, air force, soldiers",
        "war, armed conflict, shelling, airstrikes, missiles, drones and weapons",
        "defence ministry, military exercises, deployments, arms deals and nuclear weapons",
    ),
    "economic": (
        "economy and finance: inflation, interest rates, central bank, GDP, recession",
        "markets, stocks, bonds, currency, trade, tariffs, banks and investment",
        "companies' earnings, budgets, debt, unemployment and economic growth",
    ),
    "cyber": (
        "cyber attack: hackers, malware, ransomware, phishing, intrusion and data breach",
        "software vulnerability, exploit, CVE, patch, threat actor, command and control",
        "network security, cybersecurity advisory, compromised systems and stolen "
        "credentials",
    ),
    "terrorism": (
        "terrorism: terrorist attack, bombing, suicide bomber, extremist militants",
        "jihadist groups such as ISIS and al-Qaeda, radicalisation and terrorist financing",
        "counter-terrorism arrests, plots, hostages and insurgent attacks on civilians",
    ),
    "crime": (
        "crime: police arrest, charged, indicted, court, prosecutors, sentenced to prison",
        "fraud, money laundering, drug trafficking, smuggling, organised crime gangs",
        "murder, theft, corruption, bribery investigation and criminal charges",
    ),
    "supply-chain": (
        "supply chain disruption: shortages, shipping, ports, logistics and freight delays",
        "suppliers, manufacturing, semiconductors and raw materials, export controls",
        "third-party vendor compromise, product recall and critical components",
    ),
    "health-disaster": (
        "public health: disease outbreak, epidemic, pandemic, virus, vaccine, hospitals",
        "natural disaster: earthquake, flood, hurricane, wildfire, tsunami, storm damage",
        "emergency response, evacuation, casualties, humanitarian aid and relief",
    ),
    "technology": (
        "technology: artificial intelligence, software, computing, internet platforms",
        "semiconductors, telecommunications, 5G, satellites, space and research",
        "tech companies, new products, innovation, data and digital infrastructure",
    ),
}


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    out: np.ndarray = (matrix / norms).astype(np.float32)
    return out


class Embedder:
    """The shipped static model: ``encode`` returns unit-length float32 rows."""

    def __init__(self, path: Path = MODEL_DIR) -> None:
        if not (path / "model.safetensors").exists():
            raise InputError(f"topic embedding model missing at {path}; rebuild it with "
                             "scripts/distill_topic_model.py or reinstall allsource")
        from model2vec import StaticModel

        self.model = StaticModel.from_pretrained(str(path))
        self.dim = int(self.model.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        clipped = [t[:MAX_CHARS] for t in texts]
        return _unit(np.asarray(self.model.encode(clipped, show_progress_bar=False),
                                dtype=np.float32))


@lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    return Embedder()


def document_text(title: str, text: str) -> str:
    return f"{title}\n{text}" if title else text


@dataclass(slots=True)
class TopicModel:
    """Prototypes and thresholds for each topic; JSON-able via :meth:`to_dict`."""

    topics: list[str]
    prototypes: np.ndarray
    thresholds: np.ndarray
    margin: float = 0.08
    temperature: float = 0.03
    #: per topic: labels it was trained from (empty for the zero-shot model)
    trained: dict[str, dict[str, int]] = field(default_factory=dict)

    def scores(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cosines, calibrated scores in [0, 1]) for rows of unit embeddings."""
        cos = embeddings @ self.prototypes.T
        z = np.clip((cos - self.thresholds) / self.temperature, -30, 30)
        return cos, 1.0 / (1.0 + np.exp(-z))

    def assign(self, embeddings: np.ndarray) -> list[list[tuple[str, float]]]:
        """Per row, the assigned topics with their scores, best first."""
        cos, calibrated = self.scores(embeddings)
        out: list[list[tuple[str, float]]] = []
        for row_cos, row_score in zip(cos, calibrated, strict=True):
            best = float(row_cos.max()) if len(row_cos) else 0.0
            chosen = [(self.topics[i], round(float(row_score[i]), 3))
                      for i in np.argsort(-row_score)
                      if row_cos[i] >= self.thresholds[i] and row_cos[i] >= best - self.margin]
            out.append(chosen)
        return out

    def fingerprint(self) -> str:
        digest = hashlib.sha256(orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS))
        return digest.hexdigest()[:10]

    def to_dict(self) -> dict[str, Any]:
        return {"topics": self.topics,
                "prototypes": [[round(float(x), 6) for x in row] for row in self.prototypes],
                "thresholds": [round(float(x), 6) for x in self.thresholds],
                "margin": self.margin, "temperature": self.temperature,
                "trained": self.trained}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TopicModel:
        return cls(topics=list(data["topics"]),
                   prototypes=np.asarray(data["prototypes"], dtype=np.float32),
                   thresholds=np.asarray(data["thresholds"], dtype=np.float32),
                   margin=float(data.get("margin", 0.08)),
                   temperature=float(data.get("temperature", 0.03)),
                   trained=dict(data.get("trained", {})))


#: zero-shot decision threshold on the cosine to a topic prototype (chosen on the dev half
#: of benchmarks/data/topics.jsonl; see benchmarks/topics.py)
ZERO_SHOT_THRESHOLD = 0.30


def zero_shot_model(embedder: Embedder | None = None,
                    topics: dict[str, tuple[str, ...]] | None = None,
                    threshold: float = ZERO_SHOT_THRESHOLD, margin: float = 0.08) -> TopicModel:
    embedder = embedder or default_embedder()
    topics = topics or TOPICS
    prototypes = np.stack([embedder.encode(list(descs)).mean(axis=0) for descs in
                           topics.values()])
    return TopicModel(topics=list(topics), prototypes=_unit(prototypes),
                      thresholds=np.full(len(topics), threshold, dtype=np.float32),
                      margin=margin)


@lru_cache(maxsize=1)
def default_model() -> TopicModel:
    return zero_shot_model()


@dataclass(frozen=True, slots=True)
class Label:
    document_id: str
    topic: str
    positive: bool


def _best_threshold(scores: np.ndarray, truth: np.ndarray, fallback: float) -> float:
    """The cosine cut that maximises F1 on labelled documents (midpoints between sorted
    scores; ties go to the higher cut, which is the more conservative one)."""
    if truth.all() or not truth.any():
        return fallback
    order = np.sort(np.unique(scores))
    cuts = np.concatenate([[order[0] - 1e-3], (order[:-1] + order[1:]) / 2, [order[-1] + 1e-3]])
    best, best_f1 = fallback, -1.0
    for cut in cuts:
        pred = scores >= cut
        tp = float((pred & truth).sum())
        f1 = 2 * tp / (pred.sum() + truth.sum()) if (pred.sum() + truth.sum()) else 0.0
        if f1 > best_f1 + 1e-9 or (abs(f1 - best_f1) <= 1e-9 and cut > best):
            best, best_f1 = float(cut), f1
    return best


def train(base: TopicModel, labels: Iterable[Label], embeddings: dict[str, np.ndarray],
          embedder: Embedder | None = None, shrink: float = 4.0,
          negative_weight: float = 0.5) -> TopicModel:
    """A new model: ``base`` moved towards analysts' labels (see the module docstring).

    ``embeddings`` maps document id -> unit embedding for every labelled document.
    ``shrink`` is how many labels it takes for the labelled mean to weigh as much as the
    topic's description."""
    by_topic: dict[str, list[Label]] = {}
    for label in labels:
        if label.document_id in embeddings:
            by_topic.setdefault(label.topic, []).append(label)
    topics = list(base.topics)
    prototypes = [row.copy() for row in base.prototypes]
    thresholds = [float(x) for x in base.thresholds]
    for topic in sorted(set(by_topic) - set(topics)):
        if not any(lab.positive for lab in by_topic[topic]):
            continue  # an invented topic needs at least one positive example
        name_vec = (embedder or default_embedder()).encode([topic.replace("-", " ")])[0]
        topics.append(topic)
        prototypes.append(name_vec)
        thresholds.append(float(np.median(base.thresholds)) if len(base.thresholds)
                          else ZERO_SHOT_THRESHOLD)
    trained: dict[str, dict[str, int]] = {}
    for i, topic in enumerate(topics):
        group = by_topic.get(topic, [])
        if not group:
            continue
        pos = np.array([embeddings[g.document_id] for g in group if g.positive])
        neg = np.array([embeddings[g.document_id] for g in group if not g.positive])
        vec = prototypes[i].astype(np.float64)
        if len(pos):
            weight = len(pos) / (len(pos) + shrink)
            vec = (1 - weight) * vec + weight * _unit(pos.mean(axis=0, keepdims=True))[0]
        if len(neg):
            weight = negative_weight * len(neg) / (len(neg) + shrink)
            vec = vec - weight * _unit(neg.mean(axis=0, keepdims=True))[0]
        prototypes[i] = _unit(vec[None, :].astype(np.float32))[0]
        if len(pos) and len(neg):
            vecs = np.array([embeddings[g.document_id] for g in group])
            truth = np.array([g.positive for g in group])
            fitted = _best_threshold(vecs @ prototypes[i], truth, thresholds[i])
            # few labels: stay between the prior and the fitted cut
            weight = len(group) / (len(group) + shrink)
            thresholds[i] = (1 - weight) * thresholds[i] + weight * fitted
        trained[topic] = {"positive": len(pos), "negative": len(neg)}
    return TopicModel(topics=topics, prototypes=np.stack(prototypes).astype(np.float32),
                      thresholds=np.asarray(thresholds, dtype=np.float32),
                      margin=base.margin, temperature=base.temperature, trained=trained)


@dataclass(slots=True)
class Evaluation:
    """Micro-averaged precision/recall/F1 over (document, topic) decisions, counting only
    the topics each document was labelled for (unlabelled pairs are unknown, not wrong)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
                "precision": round(self.precision, 3), "recall": round(self.recall, 3),
                "f1": round(self.f1, 3)}


def evaluate(model: TopicModel, labels: Sequence[Label],
             embeddings: dict[str, np.ndarray]) -> Evaluation:
    result = Evaluation()
    ids = sorted({lab.document_id for lab in labels if lab.document_id in embeddings})
    if not ids:
        return result
    assigned = dict(zip(ids, model.assign(np.stack([embeddings[i] for i in ids])),
                        strict=True))
    for lab in labels:
        if lab.document_id not in assigned:
            continue
        hit = any(t == lab.topic for t, _ in assigned[lab.document_id])
        if lab.positive:
            result.tp += hit
            result.fn += not hit
        else:
            result.fp += hit
            result.tn += not hit
    return result


def cross_validate(base: TopicModel, labels: Sequence[Label],
                   embeddings: dict[str, np.ndarray], folds: int = 5,
                   embedder: Embedder | None = None) -> dict[str, Any]:
    """Zero-shot vs retrained on held-out documents (folds split by document, never by
    label, so a document's own labels never train the model that judges it)."""
    ids = sorted({lab.document_id for lab in labels if lab.document_id in embeddings})
    folds = max(2, min(folds, len(ids)))
    base_eval, trained_eval = Evaluation(), Evaluation()
    for k in range(folds):
        held = {d for i, d in enumerate(ids) if i % folds == k}
        test = [lab for lab in labels if lab.document_id in held]
        fit = [lab for lab in labels if lab.document_id not in held]
        model = train(base, fit, embeddings, embedder)
        for acc, m in ((base_eval, base), (trained_eval, model)):
            e = evaluate(m, test, embeddings)
            acc.tp, acc.fp, acc.fn, acc.tn = (acc.tp + e.tp, acc.fp + e.fp, acc.fn + e.fn,
                                              acc.tn + e.tn)
    return {"zero_shot": base_eval.as_dict(), "retrained": trained_eval.as_dict(),
            "folds": folds, "documents": len(ids)}
