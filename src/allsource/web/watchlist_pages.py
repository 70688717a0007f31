"""Watchlist pages: the list, a new watchlist, one watchlist's settings, terms and hits.

Reading follows the API (:mod:`allsource.api.routes.watchlists`): a reader sees the
watchlists whose marking they may read, and a watchlist they may not read answers like a
missing one. Changing one — creating, editing its settings, adding or removing terms,
disabling, deleting — takes a triage role and a session with the write scope, and the
session's CSRF token (:func:`allsource.web.routes._writer`), as every workspace form does.

Terms are typed one a line, in a box per kind, and checked by the same rules as the CLI's
(:mod:`allsource.assess.watchlist_terms`): one bad term refuses the whole form. New terms
apply to documents processed from then on; "also match documents already processed" runs
:func:`allsource.assess.watchlists.backfill`, as ``--backfill`` does.

Hits are listed per document (:mod:`allsource.assess.watchlist_hits`: the whole access
rule in SQL, so totals and per-watchlist counts only count documents the reader may open).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from allsource.assess import watchlist_edit, watchlist_hits
from allsource.assess import watchlists as wl
from allsource.assess.alerts import Severity
from allsource.assess.watchlist_terms import lines, term_specs
from allsource.errors import AllsourceError, InputError
from allsource.model.markings import TLP, Marking, can_release
from allsource.store.sql import SqlStore
from allsource.web import names
from allsource.web.routes import (
    StoreDep,
    Viewer,
    _not_found,
    _page,
    _to_login,
    _viewer,
    _writer,
)
from allsource.web.security import SecureRoute

router: APIRouter = APIRouter(route_class=SecureRoute, include_in_schema=False)

HIT_PAGE = 25
#: hits across watchlists on the list page (each watchlist's page lists all of its own)
RECENT_HITS = 20
SEVERITIES = [s.label for s in Severity]
Text = Annotated[str, Form(max_length=20_000)]
Short = Annotated[str, Form(max_length=2000)]
Csrf = Annotated[str, Form(max_length=200)]


def _readable(store: SqlStore, viewer: Viewer) -> list[wl.Watchlist]:
    return [w for w in wl.list_watchlists(store) if can_release(w.marking, viewer.audience)]


def _one(store: SqlStore, viewer: Viewer, watchlist_id: str) -> wl.Watchlist | None:
    """The watchlist with this id if the viewer may read it (by id only: a name is not an
    address here)."""
    found = wl.get_watchlist(store, watchlist_id, viewer.audience)
    if found is None or found.id != watchlist_id or not can_release(found.marking,
                                                                       viewer.audience):
        return None
    return found


def _refuse(viewer: Viewer) -> Response:
    return _page("error.html", viewer, code=403,
                 message="Your role may read watchlists but not change them.")


def _specs(store: SqlStore, keywords: str, entities: str, observables: str, places: str,
           radius: str, sectors: str) -> list[wl.TermSpec]:
    try:
        km = float(radius) if radius.strip() else None
    except ValueError:
        raise InputError(f"a radius is a number of kilometres, not {radius!r}") from None
    return term_specs(store, keywords=lines(keywords), entities=lines(entities),
                      observables=lines(observables), places=lines(places), radius=km,
                      sectors=lines(sectors))


def _list_page(store: SqlStore, viewer: Viewer, code: int = 200, message: str | None = None,
               form: dict[str, str] | None = None) -> HTMLResponse:
    found = _readable(store, viewer)
    hits = wl.list_hits(store, limit=RECENT_HITS, audience=viewer.audience)
    shown = {w.name for w in found}
    hits = [h for h in hits if h.watchlist in shown]
    values = [v for h in hits for v in (h.matched, h.evidence or "")]
    known = names.object_names(store, [v.strip() for v in values
                                       if names.STIX_ID.match(v.strip())], viewer.audience)
    return _page("watchlists.html", viewer, code=code, watchlists=found, hits=hits,
                 counts=watchlist_hits.readable_counts(store, viewer.audience),
                 by_name={w.name: w.id for w in found},
                 shown={v: names.shown_value(v, known) for v in values},
                 severities=SEVERITIES, tlps=watchlist_edit.allowed_tlps(viewer.audience),
                 message=message, form=form or {}, nav_section="watchlists")


@router.get("/watchlists", response_class=HTMLResponse)
def watchlists_page(request: Request, store: StoreDep) -> Response:
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    return _list_page(store, viewer)


@router.post("/watchlists", response_class=HTMLResponse)
def create_watchlist(request: Request, store: StoreDep, csrf: Csrf = "",
                     name: Annotated[str, Form(max_length=300)] = "",
                     severity: Annotated[str, Form(max_length=20)] = "medium",
                     description: Short = "",
                     tlp: Annotated[str, Form(max_length=30)] = "",
                     keywords: Text = "", entities: Text = "", observables: Text = "",
                     places: Text = "", radius: Annotated[str, Form(max_length=20)] = "",
                     sectors: Text = "", backfill: Annotated[str, Form(max_length=5)] = ""
                     ) -> Response:
    """A new watchlist with its first terms (a name the creator already sees is refused)."""
    viewer = _writer(request, store, csrf, _refuse)
    if not isinstance(viewer, Viewer):
        return viewer
    form = {"name": name, "severity": severity, "description": description, "tlp": tlp,
            "keywords": keywords, "entities": entities, "observables": observables,
            "places": places, "radius": radius, "sectors": sectors}
    try:
        level = Severity.parse(severity)
        marking = Marking(tlp=TLP.parse(tlp)) if tlp else None
        if marking is not None and marking.tlp not in watchlist_edit.allowed_tlps(
                viewer.audience):
            raise InputError(f"{marking.tlp.label} is above what you may read")
        if not " ".join(name.split()):
            raise InputError("give the watchlist a name")
        specs = _specs(store, keywords, entities, observables, places, radius, sectors)
        try:
            taken = wl.name_taken(store, name, viewer.audience)
        except InputError:
            taken = True
        if taken:
            raise InputError(f"a watchlist named {' '.join(name.split())!r} already exists")
        watchlist, _ = wl.save_watchlist(store, name, severity=int(level),
                                         owner=viewer.user.name, description=description.strip(),
                                         marking=marking, creator=viewer.audience)
    except (AllsourceError, ValueError) as exc:
        return _list_page(store, viewer, code=400, message=str(exc), form=form)
    added = wl.add_terms(store, watchlist, specs)
    if backfill:
        wl.backfill(store, watchlist, [term for term, new in added if new])
    return RedirectResponse(f"/watchlists/{quote(watchlist.id, safe='')}", status_code=303)


def _detail(store: SqlStore, viewer: Viewer, watchlist: wl.Watchlist, page: int = 1,
            code: int = 200, message: str | None = None,
            form: dict[str, str] | None = None) -> HTMLResponse:
    found = watchlist_hits.hit_page(store, watchlist.id, viewer.audience, limit=HIT_PAGE,
                                    offset=(page - 1) * HIT_PAGE)
    matched = [t.matched for d in found.documents for t in d.terms]
    known = names.object_names(store, [v.strip() for v in matched
                                       if names.STIX_ID.match(v.strip())], viewer.audience)
    return _page("watchlist.html", viewer, code=code, w=watchlist, found=found, page=page,
                 pages=max(1, -(-found.total_documents // HIT_PAGE)),
                 shown={v: names.shown_value(v, known) for v in matched},
                 severities=SEVERITIES, tlps=watchlist_edit.allowed_tlps(viewer.audience),
                 message=message, form=form or {}, nav_section="watchlists")


@router.get("/watchlists/{watchlist_id}", response_class=HTMLResponse)
def watchlist_page(request: Request, store: StoreDep, watchlist_id: str,
                   page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """One watchlist: its settings and terms (with forms for those who may change them) and
    the documents it matched, a page at a time."""
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    watchlist = _one(store, viewer, watchlist_id)
    if watchlist is None:
        return _not_found(viewer)
    return _detail(store, viewer, watchlist, page)


def _editing(request: Request, store: SqlStore, csrf: str, watchlist_id: str
             ) -> tuple[Viewer, wl.Watchlist] | Response:
    viewer = _writer(request, store, csrf, _refuse)
    if not isinstance(viewer, Viewer):
        return viewer
    watchlist = _one(store, viewer, watchlist_id)
    if watchlist is None:
        return _not_found(viewer)
    return viewer, watchlist


def _back(watchlist_id: str) -> RedirectResponse:
    return RedirectResponse(f"/watchlists/{quote(watchlist_id, safe='')}", status_code=303)


@router.post("/watchlists/{watchlist_id}/settings", response_class=HTMLResponse)
def watchlist_settings(request: Request, store: StoreDep, watchlist_id: str, csrf: Csrf = "",
                       name: Annotated[str, Form(max_length=300)] = "",
                       severity: Annotated[str, Form(max_length=20)] = "",
                       description: Short = "",
                       tlp: Annotated[str, Form(max_length=30)] = "",
                       enabled: Annotated[str, Form(pattern="^(|on|off)$")] = "") -> Response:
    """Turn matching on or off (the one-button form sends ``enabled`` only), or save the
    settings form: name, severity, description and TLP."""
    got = _editing(request, store, csrf, watchlist_id)
    if not isinstance(got, tuple):
        return got
    viewer, watchlist = got
    try:
        if enabled:
            watchlist_edit.update_watchlist(store, watchlist, viewer.audience,
                                            enabled=enabled == "on")
        else:
            watchlist_edit.update_watchlist(
                store, watchlist, viewer.audience, name=name,
                severity=Severity.parse(severity) if severity else None,
                description=description, tlp=TLP.parse(tlp) if tlp else None)
    except (AllsourceError, ValueError) as exc:
        return _detail(store, viewer, watchlist, code=400, message=str(exc))
    return _back(watchlist.id)


@router.post("/watchlists/{watchlist_id}/terms", response_class=HTMLResponse)
def watchlist_terms(request: Request, store: StoreDep, watchlist_id: str, csrf: Csrf = "",
                    keywords: Text = "", entities: Text = "", observables: Text = "",
                    places: Text = "", radius: Annotated[str, Form(max_length=20)] = "",
                    sectors: Text = "", backfill: Annotated[str, Form(max_length=5)] = ""
                    ) -> Response:
    """Add terms (those already there stay as they were)."""
    got = _editing(request, store, csrf, watchlist_id)
    if not isinstance(got, tuple):
        return got
    viewer, watchlist = got
    form = {"keywords": keywords, "entities": entities, "observables": observables,
            "places": places, "radius": radius, "sectors": sectors}
    try:
        specs = _specs(store, keywords, entities, observables, places, radius, sectors)
        if not specs:
            raise InputError("type at least one term")
    except AllsourceError as exc:
        return _detail(store, viewer, watchlist, code=400, message=str(exc), form=form)
    added = wl.add_terms(store, watchlist, specs)
    if backfill:
        fresh = [term for term, new in added if new]
        if fresh:
            wl.backfill(store, watchlist, fresh)
    return _back(watchlist.id)


@router.post("/watchlists/{watchlist_id}/terms/{term_id}/delete", response_class=HTMLResponse)
def watchlist_term_delete(request: Request, store: StoreDep, watchlist_id: str, term_id: int,
                          csrf: Csrf = "") -> Response:
    """Remove one term and its hits."""
    got = _editing(request, store, csrf, watchlist_id)
    if not isinstance(got, tuple):
        return got
    viewer, watchlist = got
    if not wl.remove_term(store, watchlist.id, term_id):
        return _not_found(viewer)
    return _back(watchlist.id)


@router.post("/watchlists/{watchlist_id}/delete", response_class=HTMLResponse)
def watchlist_delete(request: Request, store: StoreDep, watchlist_id: str, csrf: Csrf = "",
                     confirm: Annotated[str, Form(max_length=5)] = "") -> Response:
    """Remove the watchlist with its terms and hits (the alerts it raised stay); the form
    asks for a ticked confirmation."""
    got = _editing(request, store, csrf, watchlist_id)
    if not isinstance(got, tuple):
        return got
    viewer, watchlist = got
    if confirm != "yes":
        return _detail(store, viewer, watchlist, code=400,
                       message="Tick the confirmation to delete the watchlist.")
    wl.remove_watchlist(store, watchlist.id)
    return RedirectResponse("/watchlists", status_code=303)

