"""``/entities``, ``/observables`` and ``/relationships``: the STIX objects extraction and
resolution produced, each with the documents that mention it.

Entities are the named things analysts track (intrusion sets, malware, tools, campaigns,
identities, locations …) with their aliases and stored risk score; observables are the
technical values (addresses, domains, hashes …)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request

from allsource.api.deps import AudienceDep, StoreDep
from allsource.api.errors import ApiError, not_found
from allsource.api.pagination import Page, PageDep, SortKeys, order_by, page, sort_param
from allsource.api.schemas import ObjectPublic, ObjectSummary, RelationshipPublic, RiskPublic
from allsource.assess.risk_run import StoredRisk
from allsource.assess.risk_views import page_scores
from allsource.model.markings import Audience, Marking
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.sql import SqlStore, aware, chunks

ENTITY_TYPES = ("intrusion-set", "threat-actor", "malware", "tool", "campaign", "identity",
                "location", "attack-pattern", "vulnerability")
OBSERVABLE_TYPES = ("ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file",
                    "mac-addr", "autonomous-system", "windows-registry-key",
                    "cryptocurrency-wallet", "x-allsource-cryptocurrency-wallet")

router = APIRouter(tags=["objects"])

_o, _r = t.objects, t.relationships
OBJECT_SORTS = {"name": _o.c.name, "type": _o.c.type, "created_at": _o.c.created_at}
REL_SORTS = {"type": _r.c.relationship_type, "created_at": _r.c.created_at}
_MARKING = [_o.c.tlp, _o.c.classification, _o.c.compartments, _o.c.releasability]


def _aliases(stix: dict[str, Any], name: str) -> list[str]:
    merged = stix.get("x_allsource_merged") or {}
    found = [a for a in (stix.get("aliases") or []) + (stix.get("x_mitre_aliases") or [])
             + (merged.get("names") or [] if isinstance(merged, dict) else [])
             if isinstance(a, str) and a != name]
    return list(dict.fromkeys(found))


def _risk(found: StoredRisk | None) -> RiskPublic | None:
    if found is None:
        return None
    d = found.as_dict()
    return RiskPublic(score=d["score"], score100=d["score100"], likelihood=d["likelihood"],
                      impact=d["impact"], expired=d["expired"], computed_at=d["computed_at"])


def _risks(request: Request, store: SqlStore, ids: Sequence[str], audience: Audience
           ) -> dict[str, StoredRisk]:
    """The page's risk scores as the caller sees them, in one batch: a stored score resting
    on evidence they may not read is recomputed from what they may (assess.risk_views)."""
    return page_scores(store, ids, audience, request.app.state.settings)


def _list_objects(request: Request, store: SqlStore, audience: Audience, params: Any,
                  sort: SortKeys, types: Sequence[str], type_: str | None,
                  name: str | None) -> Page[ObjectSummary]:
    if type_ is not None and type_ not in types:
        raise ApiError(422, f"unknown type {type_!r}", code="unknown_type",
                       details={"allowed": list(types)})
    conds: list[Any] = [derived.visible(store, _o, audience), _o.c.canonical_id.is_(None),
                        _o.c.type == type_ if type_ else _o.c.type.in_(types)]
    if name:
        conds.append(sa.func.lower(_o.c.name).contains(name.lower(), autoescape=True))
    with store.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(_o).where(*conds)
                             ).scalar_one()
        rows = conn.execute(sa.select(_o).where(*conds).order_by(*order_by(sort, OBJECT_SORTS),
                                                                  _o.c.id)
                            .limit(params.limit).offset(params.offset)).all()
        # seen through the evidence the caller may read (see allsource.store.derived)
        marks = derived.reader_markings(store, conn, _o, [r.id for r in rows], audience)
        shown = {r.id: marks.get(r.id) for r in rows}
        seen = {r.id: derived.first_seen(store, conn, _o, r.id, audience)
                for r in rows if shown[r.id] is not None}
    risks = _risks(request, store, [r.id for r in rows if shown[r.id] is not None], audience)
    items = []
    for r in rows:
        marking = shown[r.id]
        if marking is not None:
            stix = derived.shown_stix(r.stix or {}, Marking.from_columns(dict(r._mapping)),
                                      audience) or {}
            items.append(ObjectSummary(
                id=r.id, type=r.type, name=r.name, aliases=_aliases(stix, r.name),
                created_at=aware(seen[r.id]), marking=marking.as_dict(),  # type: ignore[arg-type]
                risk=_risk(risks.get(r.id))))
    return page(request, items, total, params)


def _get_object(request: Request, store: SqlStore, object_id: str, audience: Audience,
                types: Sequence[str], what: str) -> ObjectPublic:
    view = store.get(object_id, audience)
    if view is None or view.get("record") != "object" or view["type"] not in types:
        raise not_found(what, object_id)
    with store.engine.connect() as conn:
        created = derived.first_seen(store, conn, _o, object_id, audience)
    return ObjectPublic(**view, aliases=_aliases(view["stix"] or {}, view["name"]),
                        created_at=aware(created),  # type: ignore[arg-type]
                        risk=_risk(_risks(request, store, [object_id], audience)
                                   .get(object_id)))


ObjectSort = Annotated[SortKeys, Depends(sort_param(list(OBJECT_SORTS), "name"))]
NameFilter = Annotated[str | None, Query(max_length=200, description="Name contains (any case).")]
TypeFilter = Annotated[str | None, Query(alias="type", max_length=60)]


@router.get("/entities", response_model=Page[ObjectSummary])
def list_entities(request: Request, store: StoreDep, audience: AudienceDep, params: PageDep,
                  sort: ObjectSort, type_: TypeFilter = None, name: NameFilter = None
                  ) -> Page[ObjectSummary]:
    """Entities (actors, malware, tools, campaigns, identities, locations …)."""
    return _list_objects(request, store, audience, params, sort, ENTITY_TYPES, type_, name)


@router.get("/entities/{object_id}", response_model=ObjectPublic)
def get_entity(request: Request, object_id: str, store: StoreDep, audience: AudienceDep
               ) -> ObjectPublic:
    """One entity with its aliases, risk, the documents mentioning it and its relationships."""
    return _get_object(request, store, object_id, audience, ENTITY_TYPES, "entity")


@router.get("/observables", response_model=Page[ObjectSummary])
def list_observables(request: Request, store: StoreDep, audience: AudienceDep,
                     params: PageDep, sort: ObjectSort, type_: TypeFilter = None,
                     value: NameFilter = None) -> Page[ObjectSummary]:
    """Observables (IP addresses, domains, URLs, hashes …)."""
    return _list_objects(request, store, audience, params, sort, OBSERVABLE_TYPES, type_,
                         value)


@router.get("/observables/{object_id}", response_model=ObjectPublic)
def get_observable(request: Request, object_id: str, store: StoreDep, audience: AudienceDep
                   ) -> ObjectPublic:
    return _get_object(request, store, object_id, audience, OBSERVABLE_TYPES, "observable")


def _names(store: SqlStore, ids: set[str], audience: Audience) -> dict[str, str]:
    out: dict[str, str] = {}
    with store.engine.connect() as conn:
        for chunk in chunks(sorted(ids)):
            rows = conn.execute(sa.select(_o.c.id, _o.c.name)
                                .where(_o.c.id.in_(chunk),
                                       derived.visible(store, _o, audience))).all()
            shown = derived.visible_ids(store, conn, _o, [r.id for r in rows], audience)
            out.update((r.id, r.name) for r in rows if r.id in shown)
    return out


@router.get("/relationships", response_model=Page[RelationshipPublic])
def list_relationships(
    request: Request, store: StoreDep, audience: AudienceDep, params: PageDep,
    sort: Annotated[SortKeys, Depends(sort_param(list(REL_SORTS), "type"))],
    type_: TypeFilter = None,
    object_id: Annotated[str | None, Query(alias="object", max_length=200, description=(
        "Either end is this object id."))] = None,
    name: NameFilter = None,
) -> Page[RelationshipPublic]:
    """Relationships, by type, by an object at either end, or by an end's name."""
    conds: list[Any] = [derived.visible(store, _r, audience),
                        derived.ends_visible(store, _r, audience)]
    if type_:
        conds.append(_r.c.relationship_type == type_)
    if object_id:
        conds.append(sa.or_(_r.c.source_ref == object_id, _r.c.target_ref == object_id))
    if name:
        named = (sa.select(_o.c.id).where(sa.func.lower(_o.c.name).contains(
            name.lower(), autoescape=True)).where(derived.visible(store, _o, audience)))
        conds.append(sa.or_(_r.c.source_ref.in_(named), _r.c.target_ref.in_(named)))
    with store.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(_r).where(*conds)
                             ).scalar_one()
        rows = conn.execute(sa.select(_r).where(*conds).order_by(*order_by(sort, REL_SORTS),
                                                                  _r.c.id)
                            .limit(params.limit).offset(params.offset)).all()
        marks = derived.reader_markings(store, conn, _r, [r.id for r in rows], audience)
        shown = {r.id: marks.get(r.id) for r in rows}
        seen = {r.id: derived.first_seen(store, conn, _r, r.id, audience)
                for r in rows if shown[r.id] is not None}
    readable = [r for r in rows if shown[r.id] is not None]
    names = _names(store, {x for r in readable for x in (r.source_ref, r.target_ref)},
                   audience)
    items = [RelationshipPublic(
        id=r.id, relationship_type=r.relationship_type, source_ref=r.source_ref,
        target_ref=r.target_ref, source_name=names.get(r.source_ref),
        target_name=names.get(r.target_ref), created_at=aware(seen[r.id]),  # type: ignore[arg-type]
        marking=shown[r.id].as_dict())  # type: ignore[arg-type, union-attr]
        for r in readable]
    return page(request, items, total, params)


@router.get("/relationships/{relationship_id}", response_model=RelationshipPublic)
def get_relationship(relationship_id: str, store: StoreDep, audience: AudienceDep
                     ) -> RelationshipPublic:
    with store.engine.connect() as conn:
        r = conn.execute(sa.select(_r).where(_r.c.id == relationship_id,
                                             derived.ends_visible(store, _r, audience))).first()
        marking = (None if r is None else
                   derived.reader_marking(store, conn, _r, relationship_id, audience))
        seen = derived.first_seen(store, conn, _r, relationship_id, audience)
    if r is None or marking is None:
        raise not_found("relationship", relationship_id)
    marking = Marking.from_columns(dict(r._mapping))
    names = _names(store, {r.source_ref, r.target_ref}, audience)
    return RelationshipPublic(
        id=r.id, relationship_type=r.relationship_type, source_ref=r.source_ref,
        target_ref=r.target_ref, source_name=names.get(r.source_ref),
        target_name=names.get(r.target_ref), created_at=aware(seen),  # type: ignore[arg-type]
        marking=marking.as_dict())  # type: ignore[arg-type]
