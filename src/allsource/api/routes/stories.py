"""``/stories``: near-duplicate clusters (see :mod:`allsource.process.dedup`), each named by
its first document, with its members and credibility grade. A story is listed when the
caller may read its first document; its members are filtered one by one."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request

from allsource.api.deps import AudienceDep, StoreDep
from allsource.api.errors import not_found
from allsource.api.pagination import Page, PageDep, SortKeys, order_by, page, sort_param
from allsource.api.schemas import StoryMember, StoryPublic, StorySummary
from allsource.model.markings import Marking, can_release
from allsource.store import schema as t
from allsource.store.sql import aware
from allsource.verify.run import get_grade

router = APIRouter(prefix="/stories", tags=["stories"])

_s, _m, _d = t.stories, t.story_members, t.documents
_SIZE = (sa.select(_m.c.story_id, sa.func.count().label("size"))
         .group_by(_m.c.story_id).subquery())
SORTS = {"created_at": _s.c.created_at, "size": _SIZE.c.size, "title": _d.c.title}
_MARKING = [_d.c.tlp, _d.c.classification, _d.c.compartments, _d.c.releasability]


@router.get("", response_model=Page[StorySummary])
def list_stories(
    request: Request, store: StoreDep, audience: AudienceDep, params: PageDep,
    sort: Annotated[SortKeys, Depends(sort_param(list(SORTS), "-created_at"))],
    min_size: Annotated[int, Query(ge=1, le=1_000_000, description="At least this many "
                                                                  "documents.")] = 1,
) -> Page[StorySummary]:
    """Stories, newest first by default."""
    base = (sa.select(_s.c.id, _s.c.canonical_document_id, _s.c.created_at, _d.c.title,
                      _SIZE.c.size, *_MARKING)
            .join(_d, _d.c.id == _s.c.canonical_document_id)
            .join(_SIZE, _SIZE.c.story_id == _s.c.id)
            .where(store._readable(_d, audience), _SIZE.c.size >= min_size))
    with store.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(base.subquery())
                             ).scalar_one()
        rows = conn.execute(base.order_by(*order_by(sort, SORTS), _s.c.id)
                            .limit(params.limit).offset(params.offset)).all()
    items = [StorySummary(id=r.id, canonical_document_id=r.canonical_document_id,
                          title=r.title, size=r.size, created_at=aware(r.created_at))  # type: ignore[arg-type]
             for r in rows]
    return page(request, items, total, params)


@router.get("/{story_id}", response_model=StoryPublic)
def get_story(story_id: str, store: StoreDep, audience: AudienceDep) -> dict[str, Any]:
    """One story: the members the caller may read, and its grade."""
    with store.engine.connect() as conn:
        story = conn.execute(sa.select(_s).where(_s.c.id == story_id)).first()
        rows = [] if story is None else conn.execute(
            sa.select(_m.c.document_id, _m.c.similarity, _m.c.matched_id, _d.c.title,
                      _d.c.source_id, _d.c.published_at, *_MARKING)
            .join(_d, _d.c.id == _m.c.document_id)
            .where(_m.c.story_id == story_id, store._readable(_d, audience))
            .order_by(_m.c.added_at, _m.c.document_id)).all()
        names = store._source_names(conn, audience)
    members = [StoryMember(document_id=r.document_id, title=r.title,
                           source=names.get(r.source_id), similarity=r.similarity,
                           matched_id=r.matched_id, published_at=aware(r.published_at))
               for r in rows if can_release(Marking.from_columns(dict(r._mapping)), audience)]
    if story is None or not members:
        raise not_found("story", story_id)
    canonical = next((m for m in members if m.document_id == story.canonical_document_id),
                     members[0])
    return {"id": story.id, "canonical_document_id": story.canonical_document_id,
            "title": canonical.title, "size": len(members),
            "created_at": aware(story.created_at), "members": members,
            "grade": get_grade(store, "story", story_id)}
