"""``/sources``: configured sources with their collection status; admins add sources and
enable, disable or reschedule them.

A source the caller may not read is answered exactly as a missing one. Its ``documents`` count
is of the documents the caller may read; the last run's summary (item, new and duplicate
counts over everything collected, and the first error) is shown in full only to callers who
read everything — others see its status word (``ok``, ``failed``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from allsource.api.deps import Admin, AudienceDep, StoreDep, get_settings
from allsource.api.errors import ApiError, not_found
from allsource.api.pagination import Page, PageDep, SortKeys, page, sort_items, sort_param
from allsource.api.schemas import SourceCreate, SourcePublic, SourceUpdate
from allsource.collect.roots import check_location
from allsource.errors import SourceError
from allsource.model.markings import TLP, Audience, Classification, Marking, can_release
from allsource.model.records import Source
from allsource.plugins import collectors
from allsource.store import schema as t
from allsource.store.sql import SqlStore

router = APIRouter(prefix="/sources", tags=["sources"])

SORTS: dict[str, Any] = {"name": lambda s: s.name, "kind": lambda s: s.kind,
                         "created_at": lambda s: s.created_at}


def _public(store: SqlStore, source: Source, audience: Audience) -> SourcePublic:
    status = store.source_status(source.id, audience)
    return SourcePublic(
        id=source.id, name=source.name, kind=source.kind, location=source.location,
        schedule_seconds=source.schedule_seconds, allow_private=source.allow_private,
        enabled=source.enabled, marking=source.marking.as_dict(),  # type: ignore[arg-type]
        config=source.config, created_at=source.created_at, documents=status["documents"],
        last_status=_status_for(status["last_status"], audience),
        last_collected_at=status["last_collected_at"])


def _status_for(last: str | None, audience: Audience) -> str | None:
    """The run summary counts content the caller may not read: only its status word."""
    if last is None or audience.unrestricted:
        return last
    return last.split(":", 1)[0].strip() or None


def _readable(store: SqlStore, ref: str, audience: Audience) -> Source:
    found = store.readable_source(ref, audience)
    if found is None:
        raise not_found("source", ref)
    return found


@router.get("", response_model=Page[SourcePublic])
def list_sources(
    request: Request, store: StoreDep, audience: AudienceDep, params: PageDep,
    sort: Annotated[SortKeys, Depends(sort_param(list(SORTS), "name"))],
) -> Page[SourcePublic]:
    found = [s for s in store.list_sources() if can_release(s.marking, audience)]
    found = sort_items(found, sort, SORTS)
    window = found[params.offset:params.offset + params.limit]
    return page(request, [_public(store, s, audience) for s in window], len(found), params)


@router.get("/{source_ref}", response_model=SourcePublic)
def get_source(source_ref: str, store: StoreDep, audience: AudienceDep) -> SourcePublic:
    """One source by name or id, with its document count and last run."""
    return _public(store, _readable(store, source_ref, audience), audience)


@router.post("", response_model=SourcePublic, status_code=201)
def create_source(body: SourceCreate, request: Request, store: StoreDep, _: Admin
                  ) -> SourcePublic:
    """Add a source (admins). ``kind`` must name an installed collector; a local path must lie
    inside the configured file roots."""
    available = collectors()
    if body.kind not in available:
        raise ApiError(422, f"no collector named {body.kind!r}", code="unknown_collector",
                       details={"available": sorted(available)})
    name = " ".join(body.name.split())
    if not name:
        raise ApiError(422, "a source name needs a visible character")
    try:
        check_location(get_settings(request), body.location.strip())
    except SourceError as exc:
        raise ApiError(422, str(exc), code="location_not_allowed") from exc
    m = body.marking
    source = Source(
        name=name, kind=body.kind, location=body.location.strip(),
        schedule_seconds=body.schedule_seconds or available[body.kind].default_schedule,
        allow_private=body.allow_private, enabled=body.enabled, config=dict(body.config),
        marking=Marking(tlp=TLP.parse(m.tlp), classification=Classification[m.classification],
                        compartments=frozenset(m.compartments),
                        releasability=frozenset(m.releasability)))
    try:
        store.add_source(source)
    except SourceError as exc:
        raise ApiError(409, str(exc)) from exc
    return get_source(source.name, store, Audience.owner())


@router.patch("/{source_ref}", response_model=SourcePublic)
def update_source(source_ref: str, body: SourceUpdate, store: StoreDep, _: Admin
                  ) -> SourcePublic:
    """Enable, disable or reschedule a source (admins)."""
    found = _readable(store, source_ref, Audience.owner())
    values = body.model_dump(exclude_none=True)
    if values:
        with store.engine.begin() as conn:
            conn.execute(t.sources.update().where(t.sources.c.id == found.id).values(**values))
    return get_source(found.id, store, Audience.owner())
