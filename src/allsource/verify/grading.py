"""Grading rules: information credibility per claim from independent corroboration and
contradiction, and source reliability from each source's track record.

**Credibility of a claim** (the value a group of reports asserts), from ``n`` independent
origins supporting it and ``m`` independent origins supporting a conflicting value of the
same key at the same time (see :mod:`allsource.verify.independence` for origins):

====================  =========================================================
``m > n``             5 improbable — more independent origins say otherwise
``0 < m <= n``        4 doubtful — contradicted by independent reporting
``n >= 3``            1 confirmed by other independent sources (two or more others)
``n == 2``            2 probably true — one independent confirmation
``n == 1``            3 possibly true — not confirmed, not contradicted
====================  =========================================================

Copies of one original are one origin, so a story copied by any number of outlets stays
at 3 until an independent report confirms it. A document or story with no claims is 6
(truth cannot be judged). Values conflict when they differ: different actors for one
attribution; numbers more than :data:`QUANTITY_TOLERANCE` apart (relative, and at least 2)
for one measure. Reports more than :data:`EVENT_WINDOW_DAYS` apart are different events
and never contradict each other.

**Reliability of a source**, from its claims: a claim *confirms* the source when it has at
least two independent origins (someone independent said the same), and *refutes* it when
the source backed the losing side of a contradiction (credibility 5; a 4 counts half).
Score = (confirmations + 1) / (confirmations + refutations + 2) — the mean of a Beta(1, 1)
prior updated by the record. Fewer than :data:`MIN_EVIDENCE` confirmations + refutations
→ F (cannot be judged; every new source starts there). Otherwise A ≥ 0.9 (with at least 20
pieces of evidence), B ≥ 0.75, C ≥ 0.6, D ≥ 0.4, else E; a source whose dated reports span
less than :data:`MIN_TRACK_DAYS` days is capped at C (too young to be "usually reliable").
An analyst override replaces the computed grade and is shown next to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from allsource.model.admiralty import Credibility, Reliability
from allsource.verify.independence import Origin, Report, origins

QUANTITY_TOLERANCE = 0.25
EVENT_WINDOW_DAYS = 3.0
MIN_EVIDENCE = 5
MIN_TRACK_DAYS = 30.0


@dataclass(frozen=True, slots=True)
class ClaimReport:
    """One document asserting ``value`` for ``key``."""

    key: str
    value: str
    kind: str
    text: str
    report: Report


@dataclass(slots=True)
class ClaimGrade:
    key: str
    value: str
    kind: str
    text: str
    credibility: Credibility
    supporting: list[Origin]
    contradicting: list[Origin] = field(default_factory=list)
    #: the documents asserting exactly this value (supporting origins may hold close values)
    asserting: frozenset[str] = frozenset()

    @property
    def independent(self) -> int:
        return len(self.supporting)

    @property
    def documents(self) -> list[str]:
        return [r.document_id for o in self.supporting for r in o.reports]

    def explanation(self) -> dict[str, Any]:
        def origin_view(o: Origin) -> dict[str, Any]:
            return {"documents": [r.document_id for r in o.reports], "outlets": o.outlets,
                    "first": o.first.document_id, "joined_because": o.reasons[:20]}

        return {"claim": self.text, "kind": self.kind, "key": self.key, "value": self.value,
                "credibility": int(self.credibility), "meaning": self.credibility.meaning,
                "independent_origins": self.independent,
                "reports": sum(len(o.reports) for o in self.supporting),
                "supporting": [origin_view(o) for o in self.supporting[:20]],
                "contradicting": [origin_view(o) for o in self.contradicting[:20]]}


def credibility(n: int, m: int) -> Credibility:
    if m > n:
        return Credibility.IMPROBABLE
    if m > 0:
        return Credibility.DOUBTFUL
    if n >= 3:
        return Credibility.CONFIRMED
    if n == 2:
        return Credibility.PROBABLY_TRUE
    if n == 1:
        return Credibility.POSSIBLY_TRUE
    return Credibility.CANNOT_BE_JUDGED


def conflicts(kind: str, a: str, b: str) -> bool:
    if a == b:
        return False
    if kind == "quantity":
        try:
            x, y = float(a), float(b)
        except ValueError:
            return True
        return abs(x - y) >= 2 and abs(x - y) > QUANTITY_TOLERANCE * max(x, y)
    return kind == "attribution"


def _naive(when: datetime | None) -> datetime | None:
    return when.replace(tzinfo=None) if when else None


def _events(items: list[ClaimReport]) -> list[list[ClaimReport]]:
    """Split one key's reports into events: runs with gaps under the event window."""
    dated = sorted(items, key=lambda c: _naive(c.report.published_at) or datetime.min)
    out: list[list[ClaimReport]] = []
    last: datetime | None = None
    for item in dated:
        when = item.report.published_at
        naive = _naive(when)
        if out and (naive is None or last is None
                    or (naive - last).total_seconds() <= EVENT_WINDOW_DAYS * 86400):
            out[-1].append(item)
        else:
            out.append([item])
        last = naive or last
    return out


def grade_claims(items: Iterable[ClaimReport]) -> list[ClaimGrade]:
    """Grade every (key, value) asserted by ``items``."""
    by_key: dict[str, list[ClaimReport]] = defaultdict(list)
    for item in items:
        by_key[item.key].append(item)
    grades: list[ClaimGrade] = []
    for key, reports in by_key.items():
        kind = reports[0].kind
        valued = kind in ("quantity", "attribution")
        for event in (_events(reports) if valued else [reports]):
            by_value: dict[str, list[ClaimReport]] = defaultdict(list)
            for item in event:
                by_value[item.value].append(item)
            for value, cs in by_value.items():
                # values within tolerance back each other ("40" and "41 killed"); the rest
                # contradict
                backing = [c.report for other, os in by_value.items()
                           if not conflicts(kind, value, other) for c in os]
                against = [c.report for other, os in by_value.items()
                           if conflicts(kind, value, other) for c in os]
                supporting = origins(backing)
                own = {r.document_id for r in backing}
                rival_origins = origins([r for r in against if r.document_id not in own])
                grades.append(ClaimGrade(key, value, kind, cs[0].text,
                                         credibility(len(supporting), len(rival_origins)),
                                         supporting, rival_origins,
                                         frozenset(c.report.document_id for c in cs)))
    return grades


@dataclass(slots=True)
class SourceRecord:
    source_id: str
    name: str
    confirmations: float = 0.0
    refutations: float = 0.0
    claims: int = 0
    first: datetime | None = None
    last: datetime | None = None
    examples: dict[str, list[str]] = field(default_factory=lambda: {"confirmed": [],
                                                                     "refuted": []})

    @property
    def evidence(self) -> float:
        return self.confirmations + self.refutations

    @property
    def score(self) -> float:
        return (self.confirmations + 1) / (self.evidence + 2)

    @property
    def track_days(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        return (self.last - self.first).total_seconds() / 86400

    def reliability(self) -> tuple[Reliability, str]:
        """The computed grade and the rule that gave it."""
        if self.evidence < MIN_EVIDENCE:
            return Reliability.F, (f"{self.evidence:g} confirmations/refutations < "
                                   f"{MIN_EVIDENCE}: too little track record to judge")
        s = self.score
        if s >= 0.9 and self.evidence >= 20:
            grade = Reliability.A
        elif s >= 0.75:
            grade = Reliability.B
        elif s >= 0.6:
            grade = Reliability.C
        elif s >= 0.4:
            grade = Reliability.D
        else:
            grade = Reliability.E
        rule = f"score {s:.2f} = ({self.confirmations:g}+1)/({self.evidence:g}+2)"
        if grade.rank < Reliability.C.rank and self.track_days < MIN_TRACK_DAYS:
            rule += (f"; capped at C: dated reports span {self.track_days:.0f} days "
                     f"< {MIN_TRACK_DAYS:.0f}")
            grade = Reliability.C
        return grade, rule

    def explanation(self) -> dict[str, Any]:
        grade, rule = self.reliability()
        return {"reliability": grade.value, "meaning": grade.meaning, "rule": rule,
                "confirmations": self.confirmations, "refutations": self.refutations,
                "claims": self.claims, "score": round(self.score, 3),
                "track_record_days": round(self.track_days, 1),
                "examples": {k: v[:10] for k, v in self.examples.items()}}


def track_records(grades: Sequence[ClaimGrade], names: dict[str, str]) -> dict[str, SourceRecord]:
    """Each source's confirmations and refutations over the graded claims."""
    records = {sid: SourceRecord(sid, name) for sid, name in names.items()}
    for g in grades:
        seen: set[str] = set()
        for origin in g.supporting:
            for r in origin.reports:
                if not r.source_id or r.source_id in seen or (
                        g.asserting and r.document_id not in g.asserting):
                    continue
                seen.add(r.source_id)
                rec = records.setdefault(r.source_id, SourceRecord(r.source_id, r.source_id))
                rec.claims += 1
                when = _naive(r.published_at)
                if when is not None:
                    rec.first = when if rec.first is None else min(rec.first, when)
                    rec.last = when if rec.last is None else max(rec.last, when)
                if g.credibility == Credibility.IMPROBABLE:
                    rec.refutations += 1
                    rec.examples["refuted"].append(g.text)
                elif g.credibility == Credibility.DOUBTFUL:
                    rec.refutations += 0.5
                    rec.examples["refuted"].append(g.text)
                elif g.independent >= 2:
                    rec.confirmations += 1
                    rec.examples["confirmed"].append(g.text)
    return records
