"""``/search``: full-text search, one row per story.

The store ranks the best ``WINDOW`` hits; this groups them by story (``story_members``), so
ten copies of one wire report make one row listing its copies, ranked by its best copy.
Paging and the source/kind facets are over that window (``total_hits`` says how many
documents matched in all, up to the store's cap; ``total_hits_exact`` is ``False`` when it is
a lower bound). The window is read light — each hit's id, kind, source and score, which is
what grouping, facets and paging use — and excerpts, titles, urls, dates and TLP are read
only for the hits of the page returned (``snippets=False, titles=False, details=False``,
then :meth:`SqlStore.add_snippets`): an encrypted store decrypts each title it reads, and
SQLite stores the rest after the text (long texts' overflow pages are read to reach them).

``hints`` and ``suggestion`` explain search-syntax mistakes as the CLI does
(:mod:`allsource.analyze.search_hints`; from the query text alone, so they say nothing about
what is stored); the query is still searched as given. By meaning, documents below
``min_score`` (default :data:`~allsource.analyze.similarity.MIN_SIMILARITY`) are not matches.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from allsource.analyze import search_hints
from allsource.analyze.similarity import MIN_SIMILARITY
from allsource.api.deps import AudienceDep, StoreDep, utc
from allsource.api.pagination import PageDep, page
from allsource.api.schemas import SearchHitPublic, SearchPage, StoryGroup
from allsource.store.query import SearchHit, SearchQuery
from allsource.store.story_views import stories_of_documents

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
    min_score: Annotated[float | None, Query(ge=-1.0, le=1.0, description=(
        "mode=semantic: leave out documents less similar than this (cosine; default "
        f"{MIN_SIMILARITY})."))] = None,
) -> SearchPage:
    """Documents matching ``q``, grouped by story, best first."""
    query = SearchQuery(text=q, sources=source or [], kinds=kind or [], since=utc(since),
                        until=utc(until), limit=WINDOW, snippets=False,
                        titles=mode == "semantic", details=mode == "semantic")
    if mode == "semantic":
        from allsource.analyze.semantic import semantic_search

        result = semantic_search(store, query, audience)
    else:
        result = store.search(query, audience)
    hits = result.hits
    total_hits, total_exact = result.total, result.total_exact
    cutoff = None
    if mode == "semantic":
        cutoff = MIN_SIMILARITY if min_score is None else min_score
        kept = [h for h in hits if h.score >= cutoff]
        if len(kept) < len(hits):  # ranked by score: nothing past the window reaches it
            hits, total_hits, total_exact = kept, len(kept), True
    # stories as the caller sees them: public ID and size from readable members only
    with store.engine.connect() as conn:
        story_of = stories_of_documents(conn, store, [h.id for h in hits], audience)
    grouped: dict[str, list[SearchHit]] = {}
    for h in hits:
        view = story_of.get(h.id)
        grouped.setdefault(view.id if view else h.id, []).append(h)
    ranked = sorted(grouped.values(), key=lambda members: -max(x.score for x in members))
    shown = ranked[params.offset:params.offset + params.limit]
    # excerpts for the page returned only
    if mode == "semantic":
        from allsource.analyze.semantic import add_snippets

        add_snippets(store, [h for members in shown for h in members], audience)
    else:
        store.add_snippets(q, [h for members in shown for h in members], audience)
    window = []
    for members in shown:
        # a hit left without details was not readable any more when the page was read
        public = [SearchHitPublic(id=h.id, kind=h.kind, title=h.title, snippet=h.snippet,
                                  score=h.score, url=h.url, source=h.source,
                                  published_at=h.published_at, collected_at=collected,
                                  tlp=h.tlp)
                  for h in members if (collected := h.collected_at) is not None]
        if not public:
            continue
        best = max(public, key=lambda x: x.score)
        view = story_of.get(best.id)
        window.append(StoryGroup(story_id=view.id if view else None, score=best.score,
                                 story_documents=view.size if view else 1, best=best,
                                 variants=public))
    envelope = page(request, window, len(ranked), params)
    return SearchPage(
        **envelope.model_dump(exclude={"items"}), items=window, query=q,
        total_hits=total_hits, total_hits_exact=total_exact, window=WINDOW,
        took_ms=round(result.took_ms, 2), hints=search_hints.hints(q),
        suggestion=search_hints.suggestion(q), min_score=cutoff,
        facets={"source": dict(Counter(h.source for h in hits).most_common()),
                "kind": dict(Counter(h.kind for h in hits).most_common())})
