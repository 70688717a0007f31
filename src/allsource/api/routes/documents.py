"""``/documents``: list with filters and sorting; one document with its annotations,
mentioned objects, grade and story."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request

from allsource.api.deps import AudienceDep, StoreDep, utc
from allsource.api.errors import ApiError, not_found
from allsource.api.pagination import Page, PageDep, SortKeys, order_by, page, sort_param
from allsource.api.schemas import DocumentPublic, DocumentSummary
from allsource.model.markings import Marking
from allsource.store import schema as t
from allsource.store.sql import aware, naive_utc
from allsource.verify.audience import grade_for

router = APIRouter(prefix="/documents", tags=["documents"])

_d = t.documents
_WHEN = sa.func.coalesce(_d.c.published_at, _d.c.collected_at, type_=sa.DateTime)
SORTS = {"published_at": _WHEN, "collected_at": _d.c.collected_at, "title": _d.c.title,
         "kind": _d.c.kind}


@router.get("", response_model=Page[DocumentSummary])
def list_documents(
    request: Request, store: StoreDep, audience: AudienceDep, params: PageDep,
    sort: Annotated[SortKeys, Depends(sort_param(list(SORTS), "-published_at"))],
    source: Annotated[str | None, Query(max_length=200, description="Source name or id.")
                      ] = None,
    kind: Annotated[str | None, Query(max_length=60)] = None,
    since: Annotated[datetime | None, Query(description="Published (else collected) at or "
                                                        "after.")] = None,
    until: Annotated[datetime | None, Query(description="… and before.")] = None,
) -> Page[DocumentSummary]:
    """Documents the caller may read, newest first by default. On an encrypted store titles
    are sealed, so sorting by title is refused (their SQL order would be the ciphertexts')."""
    if store.keys.encrypted and any(key == "title" for key, _ in sort):
        raise ApiError(422, "cannot sort by 'title' on an encrypted store: titles are sealed, "
                            "so the database cannot order them", code="invalid_sort",
                       details={"allowed": [k for k in SORTS if k != "title"]})
    conds: list[Any] = [store._readable(_d, audience)]
    if source:
        src = store.readable_source(source, audience)
        if src is None:  # a source the caller may not read is answered as a missing one
            raise ApiError(422, f"unknown source {source!r}", code="unknown_source")
        conds.append(sa.exists().where(t.sightings.c.document_id == _d.c.id,
                                       t.sightings.c.source_id == src.id))
    if kind:
        conds.append(_d.c.kind == kind)
    if (start := naive_utc(utc(since))) is not None:
        conds.append(start <= _WHEN)
    if (end := naive_utc(utc(until))) is not None:
        conds.append(end > _WHEN)
    cols = [_d.c.id, _d.c.kind, _d.c.title, _d.c.url, _d.c.language, _d.c.source_id,
            _d.c.published_at, _d.c.collected_at, _d.c.tlp, _d.c.classification,
            _d.c.compartments, _d.c.releasability]
    with store.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(_d).where(*conds)
                             ).scalar_one()
        rows = conn.execute(sa.select(*cols).where(*conds)
                            .order_by(*order_by(sort, SORTS), _d.c.seq)
                            .limit(params.limit).offset(params.offset)).all()
        names = store._source_names(conn, audience)
    items = [DocumentSummary(
        id=r.id, kind=r.kind, title=r.title, url=r.url, language=r.language,
        source=names.get(r.source_id), published_at=aware(r.published_at),
        collected_at=aware(r.collected_at),  # type: ignore[arg-type]
        marking=Marking.from_columns(dict(r._mapping)).as_dict())  # type: ignore[arg-type]
        for r in rows]
    return page(request, items, total, params)


@router.get("/{document_id}", response_model=DocumentPublic)
def get_document(document_id: str, store: StoreDep, audience: AudienceDep) -> dict[str, Any]:
    """One document: text, sightings, mentioned objects, stage annotations, story, grade."""
    view = store.get(document_id, audience)
    if view is None or view.get("record") != "document":
        raise not_found("document", document_id)
    sightings = view["sightings"]
    view["source"] = sightings[0]["source"] if sightings else None
    view["grade"] = grade_for(store, "document", document_id, audience)
    return view
