"""``/search``: full-text search, one row per story.

The store ranks the best ``WINDOW`` hits; this groups them by story (``story_members``), so
ten copies of one wire report make one row listing its copies, ranked by its best copy.
Paging and the source/kind facets are over that window (``total_hits`` says how many
documents matched in all).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request

from allsource.api.deps import AudienceDep, StoreDep, utc
from allsource.api.pagination import PageDep, page
from allsource.api.schemas import SearchHitPublic, SearchPage, StoryGroup
from allsource.store import schema as t
from allsource.store.query import SearchQuery
from allsource.store.sql import chunks

router = APIRouter(prefix="/search", tags=["search"])

WINDOW = 200


@router.get("", response_model=SearchPage)
def search(
    request: Request, store: StoreDep, audience: AudienceDep, params: PageDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description=(
        'Words (ANDed), "phrases", a OR b, -exclude, prefix*.'))],
    source: Annotated[list[str] | None, Query(max_length=20, description="Source names.")
                      ] = None,
    kind: Annotated[list[str] | None, Query(max_length=20)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    mode: Annotated[Literal["text", "semantic"], Query(description=(
        "text: full-text (BM25); semantic: by meaning (cosine of static embeddings)."))
                    ] = "text",
) -> SearchPage:
    """Documents matching ``q``, grouped by story, best first."""
    query = SearchQuery(text=q, sources=source or [], kinds=kind or [], since=utc(since),
                        until=utc(until), limit=WINDOW)
    if mode == "semantic":
        from allsource.analyze.semantic import semantic_search

        result = semantic_search(store, query, audience)
    else:
        result = store.search(query, audience)
    hits = result.hits
    story_of: dict[str, str] = {}
    m = t.story_members
    with store.engine.connect() as conn:
        for chunk in chunks([h.id for h in hits]):
            story_of.update(conn.execute(sa.select(m.c.document_id, m.c.story_id)
                                         .where(m.c.document_id.in_(chunk))).all())
        stories = sorted(set(story_of.values()))
        sizes: dict[str, int] = {}
        for chunk in chunks(stories):
            sizes.update(conn.execute(sa.select(m.c.story_id, sa.func.count())
                                      .where(m.c.story_id.in_(chunk))
                                      .group_by(m.c.story_id)).all())
    groups: dict[str, list[SearchHitPublic]] = {}
    for h in hits:
        public = SearchHitPublic(id=h.id, kind=h.kind, title=h.title, snippet=h.snippet,
                                 score=h.score, url=h.url, source=h.source,
                                 published_at=h.published_at, collected_at=h.collected_at,
                                 tlp=h.tlp)
        groups.setdefault(story_of.get(h.id, h.id), []).append(public)
    rows = []
    for key, members in groups.items():
        best = max(members, key=lambda x: x.score)
        story = key if key in sizes else None
        rows.append(StoryGroup(story_id=story, score=best.score,
                               story_documents=sizes.get(key, 1), best=best,
                               variants=members))
    rows.sort(key=lambda g: -g.score)
    window = rows[params.offset:params.offset + params.limit]
    envelope = page(request, window, len(rows), params)
    return SearchPage(
        **envelope.model_dump(exclude={"items"}), items=window, query=q,
        total_hits=result.total, window=WINDOW, took_ms=round(result.took_ms, 2),
        facets={"source": dict(Counter(h.source for h in hits).most_common()),
                "kind": dict(Counter(h.kind for h in hits).most_common())})
