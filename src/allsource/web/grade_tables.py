"""A document's Admiralty grade explained as tables a person reads, not as stored JSON.

A stored explanation (:func:`allsource.verify.run._subject_row`,
:meth:`allsource.verify.grading.ClaimGrade.explanation`) names claims by key
(``rel:targets:intrusion-set--…``) and reports by document id. :func:`explain` turns it into
one row per claim — the claim's sentence, its credibility with its meaning, its independent
origins, the reports that support it and those that contradict it, by title and linked — and
gives the document page its corroborating and contradicting lists from the *same* rows, so
the grade line and the lists under it cannot disagree.

The explanation handed in is already the one this reader may see
(:func:`allsource.verify.audience.grade_for`); the titles are read again through the store's
marking filter, so a report the reader may not read is never named (it is counted in no list).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from allsource.model.markings import Audience
from allsource.store import derived
from allsource.store import schema as t

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore


@dataclass(frozen=True, slots=True)
class Report:
    id: str
    title: str


@dataclass(slots=True)
class ClaimRow:
    claim: str
    credibility: int | None
    meaning: str
    origins: int
    supporting: list[Report]
    contradicting: list[Report]


@dataclass(slots=True)
class Explained:
    grade: str
    meaning: str
    rule: str
    rows: list[ClaimRow] = field(default_factory=list)
    #: other reports that support one of the claims, and whether each is an independent
    #: origin (False: a copy of, or the same origin as, this document)
    corroborating: list[tuple[Report, bool]] = field(default_factory=list)
    contradicting: list[Report] = field(default_factory=list)
    independent_others: int = 0


def _origins(claim: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    return [o for o in claim.get(name) or [] if isinstance(o, Mapping)]


def _ids(origins: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(d) for o in origins for d in o.get("documents") or []]


def titles(store: SqlStore, ids: Iterable[str], audience: Audience) -> dict[str, str]:
    """Document id → title, for the documents among ``ids`` the reader may read."""
    return derived.readable_labels(store, t.documents, "title", ids, audience,
                                   blank="(untitled)")


def explain(store: SqlStore, grade: Mapping[str, Any] | None, document_id: str,
            audience: Audience) -> Explained | None:
    """The grade's explanation as tables (see the module docstring); ``None`` without one."""
    if not grade:
        return None
    found = grade.get("explanation")
    data: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    claims = [c for c in data.get("claims") or [] if isinstance(c, Mapping)]
    names = titles(store, [x for c in claims for x in
                           _ids(_origins(c, "supporting")) + _ids(_origins(c, "contradicting"))],
                   audience)

    def reports(ids: Iterable[str]) -> list[Report]:
        return [Report(i, names[i]) for i in dict.fromkeys(ids) if i in names]

    out = Explained(grade=str(data.get("grade") or f"{grade.get('reliability') or '?'}"
                                                   f"{grade.get('credibility') or '?'}"),
                    meaning=str(data.get("credibility_meaning") or ""),
                    rule=str(data.get("rule") or ""))
    independent: dict[str, bool] = {}
    against: dict[str, Report] = {}
    for c in claims:
        supporting = _origins(c, "supporting")
        cred = c.get("credibility")
        out.rows.append(ClaimRow(
            claim=str(c.get("claim") or ""),
            credibility=int(cred) if isinstance(cred, int) else None,
            meaning=str(c.get("meaning") or ""), origins=int(c.get("independent_origins") or 0),
            supporting=reports(x for x in _ids(supporting) if x != document_id),
            contradicting=reports(_ids(_origins(c, "contradicting")))))
        own = next((o for o in supporting if document_id in (o.get("documents") or [])), None)
        for origin in supporting:
            for doc in origin.get("documents") or []:
                doc = str(doc)
                if doc == document_id or doc not in names:
                    continue
                separate = origin is not own
                independent[doc] = independent.get(doc, False) or separate
        for r in out.rows[-1].contradicting:
            against[r.id] = r
    out.corroborating = sorted(((Report(i, names[i]), sep) for i, sep in independent.items()),
                               key=lambda x: (not x[1], x[0].title.casefold()))
    out.contradicting = sorted(against.values(), key=lambda r: r.title.casefold())
    out.independent_others = int(grade.get("corroboration") or 0)
    return out
