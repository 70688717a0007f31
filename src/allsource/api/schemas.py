"""Request and response models: ``…Create`` / ``…Update`` are what a client sends,
``…Public`` (and summaries) what it gets back. Public models never carry secrets or raw
store rows; they are also the response schemas the contract test checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from allsource.model.markings import TLP, Classification

Text200 = Field(min_length=1, max_length=200)


# --- shared --------------------------------------------------------------------------------

class MarkingPublic(BaseModel):
    tlp: str
    classification: str
    compartments: list[str] = []
    releasability: list[str] = []


class MarkingIn(BaseModel):
    tlp: str = Field(default="TLP:CLEAR", max_length=40)
    classification: str = Field(default="UNCLASSIFIED", max_length=40)
    compartments: list[str] = Field(default=[], max_length=50)
    releasability: list[str] = Field(default=[], max_length=50)

    @field_validator("tlp")
    @classmethod
    def _tlp(cls, value: str) -> str:
        return TLP.parse(value).label

    @field_validator("classification")
    @classmethod
    def _classification(cls, value: str) -> str:
        return Classification.parse(value).name

    @field_validator("compartments", "releasability")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        cleaned = sorted({v.strip() for v in value if v.strip()})
        if any("," in v or len(v) > 80 for v in cleaned):
            raise ValueError("names are at most 80 characters, without commas")
        return cleaned


class GradePublic(BaseModel):
    reliability: str | None = None
    credibility: int | None = None
    corroboration: int = 0
    explanation: Any = None
    computed_at: datetime | None = None


class RiskPublic(BaseModel):
    score: float
    score100: int
    likelihood: float
    impact: float
    expired: bool
    computed_at: datetime


# --- documents -----------------------------------------------------------------------------

class DocumentSummary(BaseModel):
    id: str
    kind: str
    title: str
    url: str | None = None
    language: str | None = None
    source: str | None = None
    published_at: datetime | None = None
    collected_at: datetime
    marking: MarkingPublic


class Sighting(BaseModel):
    source_id: str
    source: str | None = None
    first_seen: datetime | None = None
    url: str | None = None


class MentionedObject(BaseModel):
    id: str
    type: str
    name: str
    extractor: str
    span: list[int] | None = None


class MentionedEntity(BaseModel):
    """One thing the document names, however often: ``mentions`` counts its distinct spans
    (1 for an object that came with the document as a whole)."""

    id: str
    type: str
    name: str
    mentions: int
    extractors: list[str] = []


class StoryRef(BaseModel):
    id: str
    canonical_document_id: str
    #: ``None`` (with ``matched_id``) when the matched document is not readable by the caller
    similarity: float | None = None
    matched_id: str | None = None
    documents: int


class DocumentPublic(DocumentSummary):
    text: str
    media_type: str | None = None
    content_hash: str
    labels: list[Any] = []
    meta: dict[str, Any] = {}
    sightings: list[Sighting] = []
    objects: list[MentionedObject] = []
    entities: list[MentionedEntity] = []
    annotations: dict[str, Any] = {}
    story: StoryRef | None = None
    grade: GradePublic | None = None


# --- search --------------------------------------------------------------------------------

class SearchHitPublic(BaseModel):
    id: str
    kind: str
    title: str
    snippet: str
    score: float
    url: str | None = None
    source: str
    published_at: datetime | None = None
    collected_at: datetime
    tlp: str


class StoryGroup(BaseModel):
    """One story among the results: its best-scoring hit and every matching copy."""

    story_id: str | None = None
    score: float
    story_documents: int
    best: SearchHitPublic
    variants: list[SearchHitPublic]


class SearchPage(BaseModel):
    items: list[StoryGroup]
    total: int
    limit: int
    offset: int
    next: str | None = None
    query: str
    total_hits: int = Field(description=(
        "How many documents matched, capped by the store (1,000); see total_hits_exact."))
    total_hits_exact: bool = Field(default=True, description=(
        "False when total_hits is a lower bound: more documents matched than the store "
        "counts (shown as \"1,000+\"), or a phrase was checked on a bounded set of "
        "candidates only."))
    window: int
    took_ms: float
    facets: dict[str, dict[str, int]]
    hints: list[str] = Field(default_factory=list, description=(
        "Search-syntax hints for q, the same the CLI gives: a lower-case 'or', an 'AND' or "
        "a 'NOT' between words is searched as a word (the query is searched as given)."))
    suggestion: str | None = Field(default=None, description=(
        "q rewritten as the hints suggest ('or' → OR, 'and' dropped, 'not x' → -x)."))
    min_score: float | None = Field(default=None, description=(
        "mode=semantic: the similarity below which documents were not counted as matches."))


# --- sources -------------------------------------------------------------------------------

class SourcePublic(BaseModel):
    id: str
    name: str
    kind: str
    location: str
    schedule_seconds: int
    allow_private: bool
    enabled: bool
    marking: MarkingPublic
    config: dict[str, Any] = {}
    created_at: datetime | None = None
    documents: int | None = None
    last_status: str | None = None
    last_collected_at: datetime | None = None


class SourceCreate(BaseModel):
    name: str = Text200
    kind: str = Field(min_length=1, max_length=50)
    location: str = Field(min_length=1, max_length=4000)
    schedule_seconds: int | None = Field(default=None, ge=60, le=366 * 86400)
    allow_private: bool = False
    enabled: bool = True
    marking: MarkingIn = MarkingIn()
    config: dict[str, str] = Field(default={}, max_length=50)


class SourceUpdate(BaseModel):
    enabled: bool | None = None
    schedule_seconds: int | None = Field(default=None, ge=60, le=366 * 86400)


# --- entities, observables, relationships --------------------------------------------------

class ObjectSummary(BaseModel):
    id: str
    type: str
    name: str
    aliases: list[str] = []
    created_at: datetime
    marking: MarkingPublic
    risk: RiskPublic | None = None


class Provenance(BaseModel):
    document_id: str
    title: str | None = None
    source: str | None = None
    extractor: str
    span: list[int] | None = None


class RelationshipRef(BaseModel):
    id: str
    type: str
    source_ref: str
    target_ref: str


class ObjectPublic(ObjectSummary):
    stix: dict[str, Any]
    #: the canonical entity this collected object was joined to (``None``: it is canonical)
    canonical_id: str | None = None
    provenance: list[Provenance] = []
    relationships: list[RelationshipRef] = []


class RelationshipPublic(BaseModel):
    id: str
    relationship_type: str
    source_ref: str
    target_ref: str
    source_name: str | None = None
    target_name: str | None = None
    created_at: datetime
    marking: MarkingPublic


# --- stories -------------------------------------------------------------------------------

class StorySummary(BaseModel):
    id: str
    canonical_document_id: str
    title: str
    size: int
    created_at: datetime


class StoryMember(BaseModel):
    document_id: str
    title: str
    source: str | None = None
    #: ``None`` (with ``matched_id``) when the matched document is not readable by the caller
    similarity: float | None = None
    matched_id: str | None = None
    published_at: datetime | None = None


class StoryPublic(StorySummary):
    members: list[StoryMember]
    grade: GradePublic | None = None


# --- alerts --------------------------------------------------------------------------------

class AlertPublic(BaseModel):
    id: str
    kind: str
    severity: str
    title: str
    group_key: str
    story_id: str | None = None
    status: str
    assignee: str | None = None
    documents: list[str]
    occurrences: int
    details: dict[str, Any]
    marking: MarkingPublic
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None


class AlertEventPublic(BaseModel):
    id: int
    action: str
    actor: str
    comment: str
    severity: str
    status: str
    assignee: str | None = None
    created_at: datetime


class AlertPublicDetail(AlertPublic):
    events: list[AlertEventPublic]
    hits: list[dict[str, Any]]


class AlertAction(BaseModel):
    comment: str = Field(default="", max_length=4000)


class AlertAssign(AlertAction):
    assignee: str = Field(max_length=120, description="Who takes it; empty unassigns.")


# --- watchlists ----------------------------------------------------------------------------

class TermPublic(BaseModel):
    id: int
    kind: str
    display: str
    value: str
    value_type: str = ""
    radius_km: float | None = None


class WatchlistPublic(BaseModel):
    id: str
    name: str
    severity: str
    owner: str
    description: str
    enabled: bool
    marking: MarkingPublic
    created_at: datetime | None = None
    terms: list[TermPublic]


class TermsAdd(BaseModel):
    keywords: list[str] = Field(default=[], max_length=200)
    observables: list[str] = Field(default=[], max_length=200)


class WatchlistCreate(TermsAdd):
    name: str = Text200
    severity: str = Field(default="medium", pattern="^(low|medium|high|critical)$")
    description: str = Field(default="", max_length=4000)
    #: default: the caller's TLP ceiling (a watchlist's terms are not for every reader)
    tlp: str | None = Field(default=None, max_length=40)
    enabled: bool = True

    @field_validator("tlp")
    @classmethod
    def _tlp(cls, value: str | None) -> str | None:
        return None if value is None else TLP.parse(value).label
