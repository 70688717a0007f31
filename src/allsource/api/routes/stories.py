"""``/stories``: near-duplicate clusters (see :mod:`allsource.process.dedup`), each named by
its first document the caller may read, with the members the caller may read and their
credibility grade (see :mod:`allsource.store.story_views`)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request

from allsource.api.deps import AudienceDep, StoreDep
from allsource.api.errors import not_found
from allsource.api.pagination import Page, PageDep, SortKeys, order_by, page, sort_param
from allsource.api.schemas import StoryMember, StoryPublic, StorySummary
from allsource.model.markings import Marking, can_release
from allsource.store.sql import aware
from allsource.store.story_views import readable_story_list, story_by_public_id
from allsource.verify.audience import grade_for

router = APIRouter(prefix="/stories", tags=["stories"])

_MARKING = ("tlp", "classification", "compartments", "releasability")


def _sorts(listing: sa.Subquery) -> dict[str, Any]:
    return {"created_at": listing.c.created_at, "size": listing.c.size,
            "title": listing.c.title}


@router.get("", response_model=Page[StorySummary])
def list_stories(
    request: Request, store: StoreDep, audience: AudienceDep, params: PageDep,
    sort: Annotated[SortKeys, Depends(sort_param(["created_at", "size", "title"],
                                                 "-created_at"))],
    min_size: Annotated[int, Query(ge=1, le=1_000_000, description="At least this many "
                                                                  "documents.")] = 1,
) -> Page[StorySummary]:
    """Stories, newest first by default (as the caller sees them: see
    :mod:`allsource.store.story_views`)."""
    listing = readable_story_list(store, audience)
    base = sa.select(listing).where(listing.c.size >= min_size)
    with store.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(base.subquery())
                             ).scalar_one()
        rows = conn.execute(base.order_by(*order_by(sort, _sorts(listing)),
                                          listing.c.public_id)
                            .limit(params.limit).offset(params.offset)).all()
    items = [StorySummary(id=r.public_id, canonical_document_id=r.public_id,
                          title=r.title, size=r.size, created_at=aware(r.created_at))  # type: ignore[arg-type]
             for r in rows if can_release(Marking.from_columns(
                 {k: r._mapping[k] for k in _MARKING}), audience)]
    return page(request, items, total, params)


@router.get("/{story_id}", response_model=StoryPublic)
def get_story(story_id: str, store: StoreDep, audience: AudienceDep) -> dict[str, Any]:
    """One story: the members the caller may read, and its grade. A story is known by its
    first readable member's ID; any other ID answers as a missing one."""
    with store.engine.connect() as conn:
        story = story_by_public_id(conn, store, story_id, audience)
        names = store._source_names(conn, audience)
    if story is None:
        raise not_found("story", story_id)
    members = [StoryMember(document_id=m.document_id, title=m.title,
                           source=names.get(m.source_id), similarity=m.similarity,
                           matched_id=m.matched_id, published_at=aware(m.published_at))
               for m in story.members]
    return {"id": story.id, "canonical_document_id": story.canonical.document_id,
            "title": story.canonical.title, "size": story.size,
            "created_at": aware(story.canonical.added_at), "members": members,
            "grade": grade_for(store, "story", story.stored_id, audience)}
