"""``/cases``: Analysis of Competing Hypotheses workspaces (see :mod:`allsource.analyze.ach`
for the scores and :mod:`allsource.store.cases` for the rules on credibility and markings).

A case the caller's audience may not read is a 404, like one that does not exist; so are
hypotheses and evidence items not in the case. Changing a closed case is a 409. Writes need
the analyst or admin role; every write is recorded in the case's audit trail
(``GET /cases/{id}/events``) under the caller's user name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from allsource.analyze import ach
from allsource.analyze.ach import Relevance
from allsource.api.deps import Analyst, AudienceDep, StoreDep
from allsource.api.errors import ApiError
from allsource.api.pagination import Page, PageDep, page
from allsource.api.schemas import MarkingIn, MarkingPublic
from allsource.errors import InputError
from allsource.model.markings import TLP, Classification, Marking, can_release
from allsource.store import cases as cs

router = APIRouter(prefix="/cases", tags=["cases"])

RatingCode = Literal["CC", "C", "N", "I", "II"]
RelevanceCode = Literal["low", "medium", "high"]
CaseRef = Annotated[str, Path(description="The case id, or the first 8+ characters of its UUID.")]


# --- schemas -------------------------------------------------------------------------------

class CaseCreate(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    question: str = Field(default="", max_length=10_000)
    marking: MarkingIn = MarkingIn()


class CaseUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=500)
    question: str | None = Field(default=None, max_length=10_000)
    status: Literal["open", "closed"] | None = None
    marking: MarkingIn | None = None


class CasePublic(BaseModel):
    id: str
    title: str
    question: str
    status: str
    owner: str
    marking: MarkingPublic
    created_at: datetime
    updated_at: datetime


class HypothesisCreate(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=10_000)


class HypothesisUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=10_000)


class HypothesisPublic(BaseModel):
    id: str
    label: str
    title: str
    description: str
    position: int


class EvidenceCreate(BaseModel):
    description: str = Field(default="", max_length=10_000)
    document_id: str | None = Field(default=None, max_length=80)
    claim_key: str | None = Field(default=None, max_length=300)
    claim_value: str | None = Field(default=None, max_length=200)
    credibility: int | None = Field(default=None, ge=1, le=6,
                                    description="Admiralty credibility override, 1-6.")
    relevance: RelevanceCode = "medium"


class EvidenceUpdate(BaseModel):
    """Fields left out keep their value; ``credibility: null`` clears the override."""

    description: str | None = Field(default=None, min_length=1, max_length=10_000)
    credibility: int | None = Field(default=None, ge=1, le=6)
    relevance: RelevanceCode | None = None


class EvidencePublic(BaseModel):
    id: str
    label: str
    position: int
    description: str
    document_id: str | None
    claim_key: str | None
    claim_value: str | None
    credibility_override: int | None
    credibility: int | None
    credibility_from: str | None
    relevance: str
    created_at: datetime


class RatingPut(BaseModel):
    rating: RatingCode
    note: str = Field(default="", max_length=10_000)


class RatingPublic(BaseModel):
    evidence_id: str
    hypothesis_id: str
    rating: str
    note: str = ""


class CaseDetail(CasePublic):
    hypotheses: list[HypothesisPublic]
    evidence: list[EvidencePublic]
    ratings: list[RatingPublic]


class CaseEventPublic(BaseModel):
    id: int
    actor: str
    action: str
    details: dict[str, Any]
    created_at: datetime


class ScorePublic(BaseModel):
    id: str
    title: str
    rank: int
    raw: int
    weighted: float
    counts: dict[str, int]


class EvidenceAnalysisPublic(BaseModel):
    id: str
    label: str
    description: str
    credibility: int | None
    credibility_from: str | None
    relevance: str
    weight: float
    ratings: dict[str, str | None]
    diagnosticity: float
    weighted_diagnosticity: float
    leaders_if_removed: list[str]
    leaders_if_flipped: list[str]
    linchpin: bool


class MatrixPublic(BaseModel):
    """The Heuer ACH matrix: hypotheses ranked least inconsistent first, every evidence row
    with its ratings, diagnosticity and sensitivity (formulas: ``allsource.analyze.ach``)."""

    case: CasePublic
    hypotheses: list[ScorePublic]
    evidence: list[EvidenceAnalysisPublic]
    leaders: list[str]
    tied: bool
    margin: float | None
    unrated: int
    linchpins: list[str]


# --- helpers -------------------------------------------------------------------------------

@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except cs.CaseNotFound as exc:
        raise ApiError(404, str(exc)) from exc
    except cs.CaseClosed as exc:
        raise ApiError(409, str(exc), code="case_closed") from exc
    except InputError as exc:
        raise ApiError(422, str(exc)) from exc


def _marking(body: MarkingIn) -> Marking:
    return Marking(tlp=TLP.parse(body.tlp),
                   classification=Classification.parse(body.classification),
                   compartments=frozenset(body.compartments),
                   releasability=frozenset(body.releasability))


def _case(case: cs.Case) -> dict[str, Any]:
    out = case.as_dict()
    out["created_at"], out["updated_at"] = case.created_at, case.updated_at
    return out


def _evidence(e: cs.CaseEvidence) -> dict[str, Any]:
    return {**e.as_dict(), "created_at": e.created_at}


def _detail(ws: cs.Workspace) -> dict[str, Any]:
    return {**_case(ws.case), "hypotheses": [h.as_dict() for h in ws.hypotheses],
            "evidence": [_evidence(e) for e in ws.evidence],
            "ratings": ws.as_dict()["ratings"]}


# --- cases ---------------------------------------------------------------------------------

@router.get("", response_model=Page[CasePublic])
def list_cases(request: Request, store: StoreDep, audience: AudienceDep, params: PageDep,
               status: Annotated[Literal["open", "closed"] | None, Query()] = None
               ) -> Page[dict[str, Any]]:
    """Cases the caller may read, most recently changed first."""
    found, total = cs.list_cases(store, audience=audience, status=status,
                                 limit=params.limit, offset=params.offset)
    return page(request, [_case(c) for c in found], total, params)


@router.post("", response_model=CasePublic, status_code=201)
def create_case(body: CaseCreate, store: StoreDep, audience: AudienceDep, user: Analyst
                ) -> dict[str, Any]:
    marking = _marking(body.marking)
    if not can_release(marking, audience):
        raise ApiError(422, "the case's marking is above what you may read")
    with _errors():
        return _case(cs.create_case(store, body.title, owner=user.name,
                                    question=body.question, marking=marking))


@router.get("/{case_id}", response_model=CaseDetail)
def get_case(case_id: CaseRef, store: StoreDep, audience: AudienceDep) -> dict[str, Any]:
    """The case with its hypotheses, evidence (with effective credibility) and ratings."""
    with _errors():
        return _detail(cs.workspace(store, case_id, audience))


@router.patch("/{case_id}", response_model=CasePublic)
def update_case(case_id: CaseRef, body: CaseUpdate, store: StoreDep, audience: AudienceDep,
                user: Analyst) -> dict[str, Any]:
    """Change the title, question, status (open/closed) or marking. The marking never drops
    below the markings of linked documents."""
    marking = _marking(body.marking) if body.marking is not None else None
    if marking is not None and not can_release(marking, audience):
        raise ApiError(422, "the case's marking is above what you may read")
    with _errors():
        return _case(cs.update_case(store, case_id, actor=user.name, audience=audience,
                                    title=body.title, question=body.question,
                                    status=body.status, marking=marking))


@router.delete("/{case_id}", status_code=204, response_class=Response)
def delete_case(case_id: CaseRef, store: StoreDep, audience: AudienceDep, user: Analyst
                ) -> Response:
    """Delete the case with its hypotheses, evidence and ratings (its audit trail stays)."""
    with _errors():
        cs.delete_case(store, case_id, actor=user.name, audience=audience)
    return Response(status_code=204)


@router.get("/{case_id}/events", response_model=list[CaseEventPublic])
def case_events(case_id: CaseRef, store: StoreDep, audience: AudienceDep
                ) -> list[dict[str, Any]]:
    """The audit trail: who did what to the case, oldest first."""
    with _errors():
        return [{**e.as_dict(), "created_at": e.created_at}
                for e in cs.case_events(store, case_id, audience)]


@router.get("/{case_id}/matrix", response_model=MatrixPublic)
def matrix(case_id: CaseRef, store: StoreDep, audience: AudienceDep) -> dict[str, Any]:
    """The ACH matrix with inconsistency scores, diagnosticity and sensitivity."""
    with _errors():
        ws = cs.workspace(store, case_id, audience)
    result = ach.analyze_workspace(ws).as_dict()
    by_id = {e.id: e for e in ws.evidence}
    for row in result["evidence"]:
        row["label"] = by_id[row["id"]].label
        row["credibility_from"] = by_id[row["id"]].credibility_from
    return {"case": _case(ws.case), **result}


# --- hypotheses ----------------------------------------------------------------------------

@router.post("/{case_id}/hypotheses", response_model=HypothesisPublic, status_code=201)
def add_hypothesis(case_id: CaseRef, body: HypothesisCreate, store: StoreDep,
                   audience: AudienceDep, user: Analyst) -> dict[str, Any]:
    with _errors():
        return cs.add_hypothesis(store, case_id, body.title, actor=user.name,
                                 description=body.description, audience=audience).as_dict()


@router.patch("/{case_id}/hypotheses/{hypothesis_id}", response_model=HypothesisPublic)
def update_hypothesis(case_id: CaseRef, hypothesis_id: str, body: HypothesisUpdate,
                      store: StoreDep, audience: AudienceDep, user: Analyst
                      ) -> dict[str, Any]:
    with _errors():
        return cs.update_hypothesis(store, case_id, hypothesis_id, actor=user.name,
                                    title=body.title, description=body.description,
                                    audience=audience).as_dict()


@router.delete("/{case_id}/hypotheses/{hypothesis_id}", status_code=204,
               response_class=Response)
def delete_hypothesis(case_id: CaseRef, hypothesis_id: str, store: StoreDep,
                      audience: AudienceDep, user: Analyst) -> Response:
    """Remove a hypothesis and its column of ratings."""
    with _errors():
        cs.delete_hypothesis(store, case_id, hypothesis_id, actor=user.name, audience=audience)
    return Response(status_code=204)


# --- evidence ------------------------------------------------------------------------------

@router.post("/{case_id}/evidence", response_model=EvidencePublic, status_code=201)
def add_evidence(case_id: CaseRef, body: EvidenceCreate, store: StoreDep,
                 audience: AudienceDep, user: Analyst) -> dict[str, Any]:
    """Add evidence: a stored document, a graded claim, or a note (an assumption, an
    absence). Linking a document raises the case's marking to cover it."""
    with _errors():
        return _evidence(cs.add_evidence(
            store, case_id, actor=user.name, description=body.description,
            document_id=body.document_id, claim_key=body.claim_key,
            claim_value=body.claim_value, credibility=body.credibility,
            relevance=Relevance(body.relevance), audience=audience))


@router.patch("/{case_id}/evidence/{evidence_id}", response_model=EvidencePublic)
def update_evidence(case_id: CaseRef, evidence_id: str, body: EvidenceUpdate, store: StoreDep,
                    audience: AudienceDep, user: Analyst) -> dict[str, Any]:
    changes: dict[str, Any] = {"description": body.description, "relevance": body.relevance}
    if "credibility" in body.model_fields_set:
        changes["credibility"] = body.credibility
    with _errors():
        return _evidence(cs.update_evidence(store, case_id, evidence_id, actor=user.name,
                                            audience=audience, **changes))


@router.delete("/{case_id}/evidence/{evidence_id}", status_code=204,
               response_class=Response)
def delete_evidence(case_id: CaseRef, evidence_id: str, store: StoreDep,
                    audience: AudienceDep, user: Analyst) -> Response:
    """Remove an evidence item and its row of ratings."""
    with _errors():
        cs.delete_evidence(store, case_id, evidence_id, actor=user.name, audience=audience)
    return Response(status_code=204)


# --- ratings -------------------------------------------------------------------------------

@router.put("/{case_id}/ratings/{evidence_id}/{hypothesis_id}", response_model=RatingPublic)
def put_rating(case_id: CaseRef, evidence_id: str, hypothesis_id: str, body: RatingPut,
               store: StoreDep, audience: AudienceDep, user: Analyst) -> dict[str, Any]:
    """Rate how consistent the evidence is with the hypothesis (CC, C, N, I, II). The ids
    may also be the labels ``E1`` and ``H2`` shown in the matrix."""
    with _errors():
        ev, hyp, rating = cs.set_rating(store, case_id, evidence_id, hypothesis_id,
                                        body.rating, actor=user.name, note=body.note,
                                        audience=audience)
    return {"evidence_id": ev, "hypothesis_id": hyp, "rating": str(rating), "note": body.note}


@router.delete("/{case_id}/ratings/{evidence_id}/{hypothesis_id}", status_code=204,
               response_class=Response)
def delete_rating(case_id: CaseRef, evidence_id: str, hypothesis_id: str, store: StoreDep,
                  audience: AudienceDep, user: Analyst) -> Response:
    """Clear a rating (the cell becomes unrated, scored as N)."""
    with _errors():
        cs.set_rating(store, case_id, evidence_id, hypothesis_id, None, actor=user.name,
                      audience=audience)
    return Response(status_code=204)
