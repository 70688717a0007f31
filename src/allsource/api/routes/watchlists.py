"""``/watchlists``: analysts' priority intelligence requirements (see
:mod:`allsource.assess.watchlists`). The API takes keyword and observable terms; entity,
place and sector terms, which need the gazetteer and geocoder, are added with the CLI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from allsource.api.deps import Analyst, AudienceDep, StoreDep
from allsource.api.errors import ApiError, not_found
from allsource.api.pagination import Page, PageDep, SortKeys, page_of, sort_items, sort_param
from allsource.api.schemas import TermsAdd, WatchlistCreate, WatchlistPublic
from allsource.assess import watchlists as wl
from allsource.assess.alerts import Severity
from allsource.errors import InputError
from allsource.model.markings import TLP, Audience, Marking, can_release
from allsource.store.sql import SqlStore

router = APIRouter(prefix="/watchlists", tags=["watchlists"])

SORTS: dict[str, Any] = {"name": lambda w: w.name, "severity": lambda w: w.severity,
                         "created_at": lambda w: w.created_at}


def _public(w: wl.Watchlist) -> dict[str, Any]:
    return {"id": w.id, "name": w.name, "severity": w.severity_label, "owner": w.owner,
            "description": w.description, "enabled": w.enabled,
            "marking": w.marking.as_dict(), "created_at": w.created_at,
            "terms": [{"id": x.id, "kind": x.kind, "display": x.display, "value": x.value,
                       "value_type": x.value_type, "radius_km": x.radius_km}
                      for x in w.terms]}


def _get(store: SqlStore, ref: str, audience: Audience) -> wl.Watchlist:
    try:
        found = wl.get_watchlist(store, ref, audience)
    except InputError as exc:  # a name that several watchlists this reader sees share
        raise ApiError(409, str(exc), code="ambiguous_name") from exc
    if found is None or not can_release(found.marking, audience):
        raise not_found("watchlist", ref)
    return found


def _specs(body: TermsAdd) -> list[wl.TermSpec]:
    try:
        return ([wl.keyword_spec(k) for k in body.keywords]
                + [wl.observable_spec(o) for o in body.observables])
    except InputError as exc:
        raise ApiError(422, str(exc), code="invalid_term") from exc


@router.get("", response_model=Page[WatchlistPublic])
def list_watchlists(
    request: Request, store: StoreDep, audience: AudienceDep, params: PageDep,
    sort: Annotated[SortKeys, Depends(sort_param(list(SORTS), "name"))],
) -> Page[dict[str, Any]]:
    found = [w for w in wl.list_watchlists(store) if can_release(w.marking, audience)]
    return page_of(request, [_public(w) for w in sort_items(found, sort, SORTS)], params)


@router.get("/{watchlist_ref}", response_model=WatchlistPublic)
def get_watchlist(watchlist_ref: str, store: StoreDep, audience: AudienceDep
                  ) -> dict[str, Any]:
    """One watchlist (by name or id) with its terms."""
    return _public(_get(store, watchlist_ref, audience))


@router.post("", response_model=WatchlistPublic, status_code=201)
def create_watchlist(body: WatchlistCreate, store: StoreDep, user: Analyst,
                     audience: AudienceDep) -> dict[str, Any]:
    """Create a watchlist with keyword and observable terms (409 if the caller can already
    see one of that name: a watchlist they may not read never blocks a name, so the answer
    says nothing about it). Without ``tlp`` it is marked at the caller's TLP ceiling."""
    specs = _specs(body)
    try:
        taken = wl.name_taken(store, body.name, audience)
    except InputError:  # several already: taken too
        taken = True
    if taken:
        raise ApiError(409, f"a watchlist named {body.name!r} already exists")
    try:
        watchlist, _ = wl.save_watchlist(
            store, body.name, severity=int(Severity.parse(body.severity)), owner=user.name,
            description=body.description, enabled=body.enabled,
            marking=Marking(tlp=TLP.parse(body.tlp)) if body.tlp else None, creator=audience)
    except InputError as exc:
        raise ApiError(422, str(exc)) from exc
    wl.add_terms(store, watchlist, specs)
    return _public(_get(store, watchlist.id, Audience.owner()))


@router.post("/{watchlist_ref}/terms", response_model=WatchlistPublic)
def add_terms(watchlist_ref: str, body: TermsAdd, store: StoreDep, audience: AudienceDep,
              _: Analyst) -> dict[str, Any]:
    """Add keyword and observable terms (terms already there are kept as they were)."""
    watchlist = _get(store, watchlist_ref, audience)
    wl.add_terms(store, watchlist, _specs(body))
    return _public(_get(store, watchlist.id, audience))


@router.delete("/{watchlist_ref}/terms/{term_id}", status_code=204,
               response_class=Response)
def delete_term(watchlist_ref: str, term_id: int, store: StoreDep, audience: AudienceDep,
                _: Analyst) -> Response:
    watchlist = _get(store, watchlist_ref, audience)
    if not wl.remove_term(store, watchlist.id, term_id):
        raise not_found("term", str(term_id))
    return Response(status_code=204)


@router.delete("/{watchlist_ref}", status_code=204, response_class=Response)
def delete_watchlist(watchlist_ref: str, store: StoreDep, audience: AudienceDep,
                     _: Analyst) -> Response:
    """Remove a watchlist with its terms and hits (alerts it raised stay)."""
    wl.remove_watchlist(store, _get(store, watchlist_ref, audience).id)
    return Response(status_code=204)
