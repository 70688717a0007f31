"""``/graph``, ``/timeline`` and ``/map``: the analysis behind the workspace's graph explorer,
timeline and map views.

``GET /graph/{node_id}`` expands from one object (depth 1 or 2, optional co-mentions) and
summarises server-side, so the browser never receives more than ``max_nodes`` nodes
(:mod:`allsource.analyze.graph`). ``GET /timeline`` counts matching documents per day, week or
month and ``GET /timeline/documents`` pages through one bucket
(:mod:`allsource.analyze.timeline`). ``GET /map`` is a GeoJSON FeatureCollection of the places
those documents mention, and ``GET /map/basemap`` the shipped Natural Earth countries, so the
map needs no network (:mod:`allsource.analyze.geo`). Every answer is filtered by the caller's
audience.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel

from allsource.analyze import geo
from allsource.analyze.graph import MAX_NODES, neighbourhood
from allsource.analyze.timeline import INTERVALS, TimelineFilter, bucket_documents, timeline
from allsource.api.deps import AudienceDep, StoreDep, utc
from allsource.api.errors import not_found
from allsource.api.pagination import Page, PageDep, page

router = APIRouter(tags=["analysis"])


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


Since = Annotated[datetime | None, Query(description="From this time (ISO 8601, UTC if naive).")]
Until = Annotated[datetime | None, Query(description="Before this time (exclusive).")]
Credibility = Annotated[int | None, Query(
    ge=1, le=6, description="Keep evidence graded at least this credible (Admiralty 1-6, "
                            "1 = confirmed); ungraded documents are left out.")]
Interval = Annotated[str, Query(pattern="^(day|week|month)$",
                                description=f"Bucket size: {', '.join(INTERVALS)}.")]


class GraphNodePublic(BaseModel):
    id: str
    label: str
    type: str
    count: int
    kind: str
    distance: int
    degree: int
    members_sample: list[dict[str, str]]


class GraphEdgePublic(BaseModel):
    source: str
    target: str
    type: str
    weight: int


class GraphPublic(BaseModel):
    center: str
    nodes: list[GraphNodePublic]
    edges: list[GraphEdgePublic]
    summarised: bool
    summary: dict[str, Any]


class BucketPublic(BaseModel):
    start: date
    end: date
    count: int


class TimelinePublic(BaseModel):
    interval: str
    buckets: list[BucketPublic]
    total: int


class TimelineDocument(BaseModel):
    id: str
    kind: str
    title: str
    url: str | None
    published_at: datetime | None
    collected_at: datetime | None
    source: str
    tlp: str


def document_filter(
    entity_id: Annotated[str | None, Query(max_length=200,
                                           description="Documents mentioning this object.")
                         ] = None,
    topic: Annotated[str | None, Query(max_length=60, description="Assigned topic.")] = None,
    source: Annotated[str | None, Query(max_length=200, description="Source name or ID.")
                      ] = None,
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$",
                                         description="ISO 3166 alpha-2 country.")] = None,
    kind: Annotated[list[str] | None, Query(description="Document kinds, e.g. article, "
                                                        "gdelt-event (repeatable).")] = None,
    since: Since = None, until: Until = None, min_credibility: Credibility = None,
) -> TimelineFilter:
    return TimelineFilter(entity_id=entity_id, topic=topic, source=source, country=country,
                          kinds=tuple(kind or ()), since=utc(since), until=utc(until),
                          min_credibility=min_credibility)


FilterDep = Annotated[TimelineFilter, Depends(document_filter)]


@router.get("/graph/{node_id}", response_model=GraphPublic,
            summary="The neighbourhood of an object, summarised to at most max_nodes nodes")
def get_graph(
    node_id: str, store: StoreDep, audience: AudienceDep,
    depth: Annotated[int, Query(ge=1, le=2, description="Hops from the object.")] = 1,
    since: Since = None, until: Until = None, min_credibility: Credibility = None,
    max_nodes: Annotated[int, Query(ge=2, le=MAX_NODES, description="Node budget.")] = 300,
    comentions: Annotated[bool, Query(description="Add objects co-mentioned in documents.")
                          ] = False,
) -> dict[str, Any]:
    view = neighbourhood(store, node_id, depth=depth, since=utc(since), until=utc(until),
                         min_credibility=min_credibility, audience=audience,
                         max_nodes=max_nodes, comentions=comentions)
    if view is None:
        raise not_found("object", node_id)
    return view.as_dict()


@router.get("/timeline", response_model=TimelinePublic,
            summary="Matching documents per day, week or month")
def get_timeline(store: StoreDep, audience: AudienceDep, f: FilterDep,
                 interval: Interval = "day") -> dict[str, Any]:
    return timeline(store, f, audience=audience, interval=interval).as_dict()


@router.get("/timeline/documents", response_model=Page[TimelineDocument],
            summary="The documents of one timeline bucket, newest first")
def get_bucket(request: Request, store: StoreDep, audience: AudienceDep, f: FilterDep,
               params: PageDep,
               start: Annotated[date, Query(description="The bucket's first day.")],
               interval: Interval = "day") -> Page[TimelineDocument]:
    found = bucket_documents(store, f, start, audience=audience, interval=interval,
                             limit=params.limit, offset=params.offset)
    items = [TimelineDocument(**item) for item in found.items]
    return page(request, items, found.total, params)


@router.get("/map", summary="Mentioned places as a GeoJSON FeatureCollection",
            response_class=GeoJSONResponse)
def get_map(store: StoreDep, audience: AudienceDep, f: FilterDep,
            limit: Annotated[int, Query(ge=1, le=geo.MAX_PLACES)] = 2000) -> dict[str, Any]:
    return geo.places(store, f, audience=audience, limit=limit)


@router.get("/map/basemap", summary="The offline world basemap (Natural Earth 1:110m)",
            response_class=FileResponse)
def get_basemap() -> FileResponse:
    return FileResponse(geo.basemap_path(), media_type="application/geo+json")
