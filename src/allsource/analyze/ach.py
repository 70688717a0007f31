"""Analysis of Competing Hypotheses (ACH): the matrix, inconsistency scores, diagnosticity
and sensitivity, as pure functions over plain data (no store, no I/O).

The method is Heuer's (R. J. Heuer Jr., *Psychology of Intelligence Analysis*, CIA Center for
the Study of Intelligence, 1999, ch. 8 "Analysis of Competing Hypotheses"), with the rating
scale and weighted inconsistency score of the PARC ACH 2.0 tool (Palo Alto Research Center
with R. Heuer, 2005). Heuer's central rule: evidence is used to *refute*; a hypothesis is
judged by how much evidence is inconsistent with it, never by how much is consistent,
because consistent evidence usually fits several hypotheses at once.

Ratings
    Each (evidence e, hypothesis h) cell holds one of ``CC`` (very consistent), ``C``
    (consistent), ``N`` (neutral / not applicable), ``I`` (inconsistent), ``II`` (very
    inconsistent). An unrated cell counts as ``N``. For diagnosticity the scale is read as
    numbers v(CC)=+2, v(C)=+1, v(N)=0, v(I)=−1, v(II)=−2.

Weight of an evidence item
    w(e) = cred(e) × rel(e)

    cred(e) maps the Admiralty credibility of the graded document or claim the evidence
    links to (1 confirmed … 6 cannot be judged) to a weight: 1→1.0, 2→0.9, 3→0.75, 4→0.5,
    5→0.25, 6→0.5 (:data:`CREDIBILITY_WEIGHTS`; a caller may pass its own table). 6 sits
    above 5 because "cannot be judged" is ignorance, while 5 is a positive judgement that
    the report is improbable. Evidence with no credibility (an analyst's assumption or
    an unlinked note) gets cred = 1.0, which is Heuer's unweighted matrix.
    rel(e) is the analyst's relevance: low 0.5, medium 1.0, high 1.5
    (:data:`RELEVANCE_WEIGHTS`). PARC ACH 2.0 likewise scales inconsistencies by a
    credibility and a relevance weight; the numbers here are allsource's. An explicit
    ``weight`` on an evidence item overrides w(e) entirely.

Inconsistency score of a hypothesis (Heuer step 5; PARC ACH 2.0 "Inconsistency Score")
    inc(r) = 1 for I, 2 for II, 0 otherwise (II counts double; C and CC add nothing)
    raw(h)      = Σ_e inc(r(e, h))
    weighted(h) = Σ_e w(e) · inc(r(e, h))
    Hypotheses are ranked by weighted score, least inconsistent first (the most likely),
    then raw score, then the order the analyst listed them. The *leaders* are all
    hypotheses whose weighted score equals the minimum (within 1e-9); more than one leader
    is a tie. The *margin* is weighted(second) − weighted(first) in that ranking (0 when
    tied; None with fewer than two hypotheses).

Diagnosticity of an evidence item (Heuer step 3: evidence consistent with every hypothesis
has no diagnostic value)
    diagnosticity(e) = mean over unordered hypothesis pairs {h, k} of |v(e,h) − v(e,k)| / 4
    It lies in [0, 1]: 0 exactly when every hypothesis carries the same rating, 1 only
    for two hypotheses rated CC and II. The mean over pairs (not the range) rewards
    evidence that separates many hypotheses rather than one outlier.
    weighted_diagnosticity(e) = w(e) · (max_h inc(r(e,h)) − min_h inc(r(e,h)))
    is how far the item can move the gap between two hypotheses' weighted scores, the
    quantity that actually changes the ranking (CC against C moves nothing).

Sensitivity (Heuer step 6: "analyze how sensitive your conclusion is to a few critical
items of evidence … consider the consequences if that evidence were wrong, misleading, or
subject to a different interpretation")
    For each evidence item the scores are recomputed twice:
    removed — the item is dropped from the matrix;
    flipped — the item is treated as wrong or deceptive: CC↔II, C↔I, N stays N.
    An item is a *linchpin* when either recomputation changes the set of leaders.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from allsource.model.ach_scales import Rating, Relevance

if TYPE_CHECKING:
    from allsource.store.cases import Workspace

__all__ = [
    "CREDIBILITY_WEIGHTS",
    "RELEVANCE_WEIGHTS",
    "AchResult",
    "Evidence",
    "EvidenceAnalysis",
    "Hypothesis",
    "HypothesisScore",
    "Rating",
    "Relevance",
    "analyze",
    "analyze_workspace",
    "evidence_weight",
]

_EPS = 1e-9


CREDIBILITY_WEIGHTS: Mapping[int, float] = {1: 1.0, 2: 0.9, 3: 0.75, 4: 0.5, 5: 0.25, 6: 0.5}
RELEVANCE_WEIGHTS: Mapping[Relevance, float] = {Relevance.LOW: 0.5, Relevance.MEDIUM: 1.0,
                                                Relevance.HIGH: 1.5}


@dataclass(frozen=True, slots=True)
class Hypothesis:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """One row of the matrix. ``credibility`` is an Admiralty credibility (1–6) or None
    (not graded: an assumption or the analyst's own note); ``weight`` overrides the
    computed weight."""

    id: str
    description: str
    credibility: int | None = None
    relevance: Relevance = Relevance.MEDIUM
    weight: float | None = None

    def __post_init__(self) -> None:
        if self.credibility is not None and not 1 <= self.credibility <= 6:
            raise ValueError(f"credibility must be 1–6, not {self.credibility}")
        if self.weight is not None and self.weight < 0:
            raise ValueError("weight must not be negative")


def evidence_weight(evidence: Evidence,
                    credibility_weights: Mapping[int, float] = CREDIBILITY_WEIGHTS,
                    relevance_weights: Mapping[Relevance, float] = RELEVANCE_WEIGHTS) -> float:
    """w(e) = cred(e) × rel(e), or the item's explicit weight."""
    if evidence.weight is not None:
        return evidence.weight
    cred = 1.0 if evidence.credibility is None else credibility_weights[evidence.credibility]
    return cred * relevance_weights[evidence.relevance]


@dataclass(frozen=True, slots=True)
class HypothesisScore:
    id: str
    title: str
    rank: int
    raw: int
    weighted: float
    counts: Mapping[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "rank": self.rank, "raw": self.raw,
                "weighted": round(self.weighted, 6), "counts": dict(self.counts)}


@dataclass(frozen=True, slots=True)
class EvidenceAnalysis:
    id: str
    description: str
    credibility: int | None
    relevance: Relevance
    weight: float
    ratings: Mapping[str, Rating | None]
    diagnosticity: float
    weighted_diagnosticity: float
    leaders_if_removed: tuple[str, ...]
    leaders_if_flipped: tuple[str, ...]
    linchpin: bool

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "description": self.description,
                "credibility": self.credibility, "relevance": self.relevance.value,
                "weight": round(self.weight, 6),
                "ratings": {h: r.value if r else None for h, r in self.ratings.items()},
                "diagnosticity": round(self.diagnosticity, 6),
                "weighted_diagnosticity": round(self.weighted_diagnosticity, 6),
                "leaders_if_removed": list(self.leaders_if_removed),
                "leaders_if_flipped": list(self.leaders_if_flipped),
                "linchpin": self.linchpin}


@dataclass(frozen=True, slots=True)
class AchResult:
    hypotheses: tuple[HypothesisScore, ...]  # ranked, most likely first
    evidence: tuple[EvidenceAnalysis, ...]   # in the order given
    leaders: tuple[str, ...]
    margin: float | None
    unrated: int
    linchpins: tuple[str, ...] = field(default=())

    @property
    def tied(self) -> bool:
        return len(self.leaders) > 1

    def as_dict(self) -> dict[str, Any]:
        return {"hypotheses": [h.as_dict() for h in self.hypotheses],
                "evidence": [e.as_dict() for e in self.evidence],
                "leaders": list(self.leaders), "tied": self.tied,
                "margin": None if self.margin is None else round(self.margin, 6),
                "unrated": self.unrated, "linchpins": list(self.linchpins)}


Ratings = Mapping[tuple[str, str], Rating]
"""(evidence id, hypothesis id) → rating; a missing cell is unrated and counts as N."""


def _scores(hypotheses: Sequence[Hypothesis], rows: Iterable[tuple[float, Sequence[Rating]]]
            ) -> list[float]:
    totals = [0.0] * len(hypotheses)
    for weight, ratings in rows:
        for i, r in enumerate(ratings):
            totals[i] += weight * r.inconsistency
    return totals


def _leaders(hypotheses: Sequence[Hypothesis], weighted: Sequence[float]) -> tuple[str, ...]:
    if not hypotheses:
        return ()
    best = min(weighted)
    return tuple(h.id for h, s in zip(hypotheses, weighted, strict=True) if s - best <= _EPS)


def _diagnosticity(ratings: Sequence[Rating]) -> float:
    pairs = list(itertools.combinations(ratings, 2))
    if not pairs:
        return 0.0
    return sum(abs(a.value_on_scale - b.value_on_scale) for a, b in pairs) / (4 * len(pairs))


def analyze(hypotheses: Sequence[Hypothesis], evidence: Sequence[Evidence], ratings: Ratings,
            credibility_weights: Mapping[int, float] = CREDIBILITY_WEIGHTS,
            relevance_weights: Mapping[Relevance, float] = RELEVANCE_WEIGHTS) -> AchResult:
    """The ACH matrix with scores, ranking, diagnosticity and sensitivity (see module doc)."""
    hyp_ids = [h.id for h in hypotheses]
    if len(set(hyp_ids)) != len(hyp_ids):
        raise ValueError("hypothesis ids must be unique")
    if len({e.id for e in evidence}) != len(evidence):
        raise ValueError("evidence ids must be unique")
    known_e = {e.id for e in evidence}
    for e_id, h_id in ratings:
        if e_id not in known_e or h_id not in hyp_ids:
            raise ValueError(f"rating for unknown evidence/hypothesis ({e_id}, {h_id})")

    weights = [evidence_weight(e, credibility_weights, relevance_weights) for e in evidence]
    cells = [[ratings.get((e.id, h)) for h in hyp_ids] for e in evidence]
    filled = [[r or Rating.NEUTRAL for r in row] for row in cells]
    rows = list(zip(weights, filled, strict=True))
    weighted = _scores(hypotheses, rows)
    raw = [sum(row[i].inconsistency for row in filled) for i in range(len(hypotheses))]
    leaders = _leaders(hypotheses, weighted)

    order = sorted(range(len(hypotheses)), key=lambda i: (weighted[i], raw[i], i))
    ranked = tuple(
        HypothesisScore(id=hypotheses[i].id, title=hypotheses[i].title, rank=n + 1,
                        raw=raw[i], weighted=weighted[i],
                        counts={r.value: sum(1 for row in cells if row[i] is r) for r in Rating})
        for n, i in enumerate(order))
    margin = (max(0.0, weighted[order[1]] - weighted[order[0]])
              if len(order) > 1 else None)
    if margin is not None and margin <= _EPS:
        margin = 0.0

    analyses = []
    for k, e in enumerate(evidence):
        others = rows[:k] + rows[k + 1:]
        removed = _leaders(hypotheses, _scores(hypotheses, others))
        flipped_row = (weights[k], [r.flipped for r in filled[k]])
        flipped = _leaders(hypotheses, _scores(hypotheses, [*others, flipped_row]))
        incs = [r.inconsistency for r in filled[k]]
        analyses.append(EvidenceAnalysis(
            id=e.id, description=e.description, credibility=e.credibility,
            relevance=e.relevance, weight=weights[k],
            ratings=dict(zip(hyp_ids, cells[k], strict=True)),
            diagnosticity=_diagnosticity(filled[k]),
            weighted_diagnosticity=weights[k] * (max(incs) - min(incs)) if incs else 0.0,
            leaders_if_removed=removed, leaders_if_flipped=flipped,
            linchpin=set(removed) != set(leaders) or set(flipped) != set(leaders)))
    unrated = sum(1 for row in cells for r in row if r is None)
    return AchResult(hypotheses=ranked, evidence=tuple(analyses), leaders=leaders,
                     margin=margin, unrated=unrated,
                     linchpins=tuple(a.id for a in analyses if a.linchpin))


def analyze_workspace(ws: Workspace) -> AchResult:
    """:func:`analyze` over a stored case's matrix (hypotheses, evidence and ratings as
    :func:`allsource.store.cases.workspace` reads them for one reader)."""
    return analyze([Hypothesis(h.id, h.title) for h in ws.hypotheses],
                   [Evidence(e.id, e.description, e.credibility, e.relevance)
                    for e in ws.evidence],
                   {k: r for k, (r, _) in ws.ratings.items()})
