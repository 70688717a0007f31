"""The workspace's pages. Every handler authenticates the browser session first (a missing or
dead session redirects to ``/login``), reads through the store as the user's audience
(:func:`allsource.api.deps.audience_of`) and renders an autoescaped template; state-changing
requests are POST forms checked for the session's CSRF token (:mod:`allsource.web.security`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from allsource.analyze import ach, geo, graph, graph_members
from allsource.analyze import timeline as timeline_mod
from allsource.analyze.countries import country_name
from allsource.analyze.entity_names import NamedEntity, entities_named, looks_like_id
from allsource.analyze.timeline import TimelineFilter
from allsource.api.deps import audience_of, get_store
from allsource.assess import alerts as alerts_mod
from allsource.assess import risk_run, risk_views
from allsource.assess import watchlists as watchlists_mod
from allsource.config import Settings
from allsource.errors import AllsourceError
from allsource.model.markings import TLP, Audience, can_release
from allsource.share import stix_export
from allsource.store import aliases, audit_scope, cases, logins, sessions, users, verdicts
from allsource.store.query import SearchHit, SearchQuery
from allsource.store.sql import SqlStore, snippet_html
from allsource.verify.audience import grade_for
from allsource.web import (
    case_history,
    charts,
    entity_overview,
    grade_tables,
    graph_start,
    markdown,
    misp_view,
    names,
    queries,
    search_page,
    start_page,
)
from allsource.web.highlight import segments
from allsource.web.security import (
    SESSION_COOKIE,
    SecureRoute,
    clear_session_cookie,
    client_address,
    csrf_ok,
    set_session_cookie,
)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
PAGE_SIZE = 20
TRIAGE_ROLES = ("admin", "analyst")

router = APIRouter(route_class=SecureRoute, include_in_schema=False)
StoreDep = Annotated[SqlStore, Depends(get_store)]


@cache
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = _when
    env.filters["snippet"] = _snippet
    env.filters["markdown"] = markdown.render
    env.filters["tlp"] = _tlp_label
    return env


def _tlp_label(value: Any) -> str:
    """A TLP as its label (``TLP:CLEAR``), whether stored as a number, an enum or a label."""
    if isinstance(value, str) and not value.isdigit():
        return value
    try:
        return TLP(int(value)).label
    except (TypeError, ValueError):
        return str(value)


def _snippet(value: str | None) -> Markup:
    """A search excerpt: the text escaped, the store's match markers turned into <mark>
    (the markers are private-use characters, so escaping cannot produce them)."""
    return Markup(snippet_html(value or ""))


def _when(value: datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True, slots=True)
class Viewer:
    user: users.User
    audience: Audience
    session: sessions.WebSession

    @property
    def can_triage(self) -> bool:
        return self.user.role in TRIAGE_ROLES and "write" in self.session.scopes


def _viewer(request: Request, store: SqlStore) -> Viewer | None:
    """The logged-in user of a live session (looked up in the store on every request)."""
    session = sessions.find_session(store, request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    user = users.get_user(store, session.user_id)
    if user is None or user.id != session.user_id or user.disabled:
        return None
    audit_scope.note(actor=user.name)
    return Viewer(user, audience_of(user), session)


#: the navigation entry each page belongs to (marked ``aria-current`` in base.html)
NAV_SECTIONS = {"search.html": "search", "alerts.html": "alerts", "cases.html": "cases",
                "case.html": "cases", "timeline.html": "timeline", "map.html": "map",
                "watchlists.html": "watchlists", "graph.html": "graph",
                "graph_start.html": "graph"}


def _page(name: str, viewer: Viewer | None, code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("nav_section", NAV_SECTIONS.get(name, ""))
    html = _env().get_template(name).render(viewer=viewer, **context)
    return HTMLResponse(html, status_code=code)


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


def _safe_next(target: str) -> str:
    """Only a local path: never another host (``//evil``, ``/\\evil``) or a scheme."""
    if (not target.startswith("/") or target.startswith(("//", "/\\"))
            or any(c in target for c in "\r\n\\")):
        return "/search"
    return target


# --- static files ----------------------------------------------------------------------------

@router.get("/static/{path:path}")
def static(path: str) -> Response:
    target = (STATIC / path).resolve()
    if not target.is_relative_to(STATIC) or not target.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(target, headers={"Cache-Control": "public, max-age=3600"})


# --- login -----------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def home(request: Request, store: StoreDep) -> Response:
    """The start page: the search page without a query."""
    return search(request, store)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/search") -> Response:
    return _page("login.html", None, next=_safe_next(next), error=None, username="")


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, store: StoreDep,
          token: Annotated[str, Form(max_length=300)] = "",
          username: Annotated[str, Form(max_length=120)] = "",
          password: Annotated[str, Form(max_length=1024)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/search") -> Response:
    """A password login (``username`` + ``password``) or a token login (``token``); the
    attempt's :class:`~allsource.store.logins.LoginOutcome` is what audit records."""
    origin = request.headers.get("origin")
    if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
        return _page("login.html", None, code=403, next="/search", username="",
                     error="Log in from this site's own login page.")
    address = client_address(request)
    if token.strip():
        outcome = logins.login_with_token(store, token, address=address)
    else:
        outcome = logins.login_with_password(store, username, password, address=address)
    request.state.login_outcome = outcome
    if outcome.session is None:
        code = {"locked": 429, "disabled": 403}.get(outcome.reason, 401)
        page = _page("login.html", None, code=code, next=_safe_next(next),
                     username=outcome.name if outcome.method == "password" else "",
                     error=outcome.message)
        if outcome.retry_after is not None:
            page.headers["Retry-After"] = str(outcome.retry_after)
        return page
    if outcome.user is not None:
        audit_scope.note(actor=outcome.user.name)
    sessions.delete_session(store, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(request, response, outcome.session)
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(request: Request, store: StoreDep,
           csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    viewer = _viewer(request, store)
    if viewer is not None:
        if not csrf_ok(request, viewer.session, csrf):
            return _page("error.html", viewer, code=403, message="The form has expired.")
        sessions.delete_session(store, viewer.session.id)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


# --- search ----------------------------------------------------------------------------------

def _day(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None
    except ValueError:
        return None


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, store: StoreDep,
           q: Annotated[str, Query(max_length=1000)] = "",
           source: Annotated[list[str] | None, Query()] = None,
           kind: Annotated[list[str] | None, Query()] = None,
           since: Annotated[str, Query(max_length=10)] = "",
           until: Annotated[str, Query(max_length=10)] = "",
           sector: Annotated[list[str] | None, Query()] = None,
           country: Annotated[list[str] | None, Query()] = None,
           entity: Annotated[list[str] | None, Query()] = None,
           credibility: Annotated[list[str] | None, Query()] = None,
           mode: Annotated[str, Query(pattern="^(text|semantic)$")] = "text",
           sort: Annotated[str, Query(pattern="^(relevance|date)$")] = "relevance",
           exact: Annotated[str, Query(pattern="^(|1)$")] = "",
           page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """Search (:mod:`allsource.web.search_page`); without a query, the start page
    (:mod:`allsource.web.start_page`)."""
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    sources, kinds = source or [], kind or []
    extra = {"sector": sector or [], "country": country or [], "entity": entity or [],
             "credibility": credibility or []}
    chosen = {"source": sources, "kind": kinds, **extra}
    # the form keeps the facet choices (the sort has its own control; ``exact`` is not kept:
    # a new query typed in the box is widened again)
    hidden = [(name, v) for name, values in chosen.items() for v in values]

    def link(**change: Any) -> str:
        params = {"q": q, "source": sources, "kind": kinds, "since": since, "until": until,
                  **extra, "mode": mode if mode != "text" else "",
                  "sort": sort if sort != "relevance" else "", "exact": exact, "page": 1,
                  **change}
        return "/search?" + urlencode({k: v for k, v in params.items() if v}, doseq=True)

    context: dict[str, Any] = {"q": q, "since": since, "until": until, "page": page,
                               "hidden": hidden, "mode": mode, "sort": sort, "link": link,
                               "found": None, "exact": exact}
    if not q.strip():
        return _page("search.html", viewer, **context,
                     **start_page.start_context(store, viewer.audience))
    params = search_page.SearchParams(q, sources, kinds, _day(since), _day(until), chosen,
                                      mode=mode, sort=sort, page=page, exact=bool(exact))
    found = search_page.run_search(store, viewer.audience, params)
    if found.error is None:
        audit_scope.note(count=found.total)
    return _page("search.html", viewer, **{**context, "found": found})


# --- documents and objects -------------------------------------------------------------------

def _not_found(viewer: Viewer) -> HTMLResponse:
    return _page("error.html", viewer, code=404,
                 message="Nothing here, or nothing you may read.")


def body_offset(view: dict[str, Any]) -> int:
    """Where the body starts in the text mention spans count in (``title + "\\n" + text``)."""
    return len(view["title"]) + 1 if view["title"] else 0


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document(request: Request, store: StoreDep, doc_id: str) -> Response:
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    view = store.get(doc_id, viewer.audience)
    if view is None or view.get("record") != "document":
        return _not_found(viewer)
    story = queries.story_of(store, doc_id, viewer.audience)  # as this reader sees it
    members = (queries.story_documents(store, story.stored_id, viewer.audience)
               if story else [])
    grade = grade_for(store, "document", doc_id, viewer.audience)
    return _page("document.html", viewer, doc=view,
                 pieces=segments(view["text"] or "", view["objects"], body_offset(view)),
                 grade=grade, explained=grade_tables.explain(store, grade, doc_id,
                                                             viewer.audience),
                 story_grade=(grade_for(store, "story", story.stored_id, viewer.audience)
                              if story else None),
                 members=members, event=misp_view.event_view(store, view, viewer.audience),
                 original=_web_url(view.get("url")),
                 rendered=(markdown.render(view["text"]) if markdown.is_markdown(view["kind"])
                           else None),
                 verdicts=[v for v in verdicts.list_verdicts(store, document_id=doc_id)
                           if v.document_id == doc_id])


def _web_url(value: object) -> str | None:
    """An original URL worth a link: http(s) only (a ``javascript:`` or ``file:`` URL stays
    text)."""
    text = str(value or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else None


@router.post("/documents/{doc_id}/mentions/wrong", response_class=HTMLResponse)
def wrong_mention(request: Request, store: StoreDep, doc_id: str,
                  csrf: Annotated[str, Form(max_length=200)] = "",
                  entity: Annotated[str, Form(max_length=200)] = "",
                  verdict: Annotated[str, Form(pattern="^(here|never)$")] = "here",
                  reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """An analyst's "this mention is wrong" from the document page (see
    :mod:`allsource.store.verdicts`): not this entity here, or never this entity."""
    viewer = _writer(request, store, csrf, lambda v: _read_only(v, "correct extractions"))
    if not isinstance(viewer, Viewer):
        return viewer
    view = store.get(doc_id, viewer.audience)
    if view is None or view.get("record") != "document" or not any(
            e["id"] == entity for e in view["entities"]):
        return _not_found(viewer)
    try:
        verdicts.record(store, verdict, entity, document_id=doc_id, analyst=viewer.user.name,
                        reason=reason)
    except AllsourceError as exc:
        return _page("error.html", viewer, code=400, message=str(exc))
    return RedirectResponse(f"/documents/{quote(doc_id, safe='')}#mentions", status_code=303)


@router.get("/objects/{object_id}", response_class=HTMLResponse)
def stored_object(request: Request, store: StoreDep, object_id: str,
                  page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    view = store.get(object_id, viewer.audience)
    if view is None or view.get("record") not in ("object", "relationship"):
        return _not_found(viewer)
    canonical = view.get("canonical_id")
    if canonical and store.get(canonical, viewer.audience) is not None:
        # a collected object joined to its entity: the entity's page is the one to read
        return RedirectResponse(f"/objects/{quote(canonical, safe='')}", status_code=303)
    return _page("object.html", viewer,
                 **_entity_context(store, viewer, view, request.app.state.settings, page),
                 message=None)


def _entity_context(store: SqlStore, viewer: Viewer, view: dict[str, Any],
                    settings: Settings, page: int = 1) -> dict[str, Any]:
    """What an object page shows beyond the stored view: the overview
    (:mod:`allsource.web.entity_overview`: facts, relationships by type with names,
    techniques, a page of mentions), alias statements, mentions per month and the risk
    score as the viewer sees it (:mod:`allsource.assess.risk_views`)."""
    oid, aud = view["id"], viewer.audience
    if view["record"] != "object":
        return {"obj": view, "statements": [], "months": [], "peak": 0, "entities": [],
                "observables": [], "techniques": [], "risk": None, "risk_lines": [],
                "facts": None, "relations": None, "mentions": None, "chart": "",
                "ends": names.relationship_ends(store, oid, aud), "alias_chips": []}
    months = queries.mention_months(store, oid, aud)
    rels = entity_overview.relations(store, oid, view["name"] or "", aud)
    related = [r for r in queries.related_objects(store, oid, aud)
               if r.id not in rels.linked_ids]
    found = risk_views.page_scores(store, [oid], aud, settings).get(oid)
    scores = [found] if found is not None else []
    statements = names.shown_statements(store, aliases.statements(store, oid), aud)
    facts = entity_overview.facts(store, view.get("stix"), view["name"] or "", aud)
    chips = [s.alias for s in statements if s.status == "active"
             and (s.alias or "").casefold() != (view["name"] or "").casefold()]
    chips = list(dict.fromkeys([*chips, *facts.aliases]))
    seen_names: set[tuple[str, str]] = set()

    def once(items: list[queries.Related]) -> list[queries.Related]:
        out = []
        for r in items:
            key = (r.type, (r.name or "").casefold())
            if key not in seen_names:
                seen_names.add(key)
                out.append(r)
        return out

    return {
        "obj": view, "statements": statements, "months": months,
        "peak": max((n for _, n in months), default=0),
        # each month links to its documents on the timeline, filtered to the entity
        "chart": charts.time_bars(
            charts.month_buckets(months), "month",
            lambda start: "/timeline/documents?" + urlencode(
                {"start": start, "interval": "month", "entity": oid})),
        "entities": once([r for r in related if r.type not in queries.OBSERVABLE_TYPES
                          and r.type not in queries.TECHNIQUE_TYPES]),
        "observables": once([r for r in related if r.type in queries.OBSERVABLE_TYPES]),
        "techniques": once([r for r in related if r.type in queries.TECHNIQUE_TYPES]),
        "risk": scores[0].as_dict() if scores else None,
        "risk_lines": _explained(scores[0]) if scores else [],
        "facts": facts, "relations": rels, "alias_chips": chips,
        "mentions": entity_overview.mentions(store, oid, aud, page), "ends": None,
    }


def _explained(score: risk_run.StoredRisk) -> list[str]:
    try:
        return score.risk.explain().splitlines()
    except (TypeError, ValueError, KeyError):  # an older or partial stored explanation
        return [f"{k}: {v}" for k, v in sorted(score.as_dict().items())
                if k in ("likelihood", "impact", "score")]


def _expired(viewer: Viewer) -> HTMLResponse:
    return _page("error.html", viewer, code=403,
                 message="The form has expired: reload the page and try again.")


def _read_only(viewer: Viewer, what: str) -> HTMLResponse:
    return _page("error.html", viewer, code=403, message=f"Your role may not {what}.")


def _writer(request: Request, store: SqlStore, csrf: str,
            refuse: Callable[[Viewer], Response]) -> Viewer | Response:
    """The viewer allowed to make a change — logged in, with the session's CSRF token and a
    triage role — or the response that refuses it (login, expired form, ``refuse``)."""
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    if not csrf_ok(request, viewer.session, csrf):
        return _expired(viewer)
    if not viewer.can_triage:
        if viewer.user.role in TRIAGE_ROLES:  # the role may, the token's scopes may not
            return _page("error.html", viewer, code=403, message=(
                "You logged in with a read-only token: log in with your password or a "
                "token with the write scope to make changes."))
        return refuse(viewer)
    return viewer


@router.post("/objects/{object_id}/aliases/undo", response_class=HTMLResponse)
def undo_alias(request: Request, store: StoreDep, object_id: str,
               csrf: Annotated[str, Form(max_length=200)] = "",
               statement: Annotated[str, Form(max_length=200)] = "",
               reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    viewer = _writer(request, store, csrf, lambda v: _read_only(v, "undo aliases"))
    if not isinstance(viewer, Viewer):
        return viewer
    view = store.get(object_id, viewer.audience)
    if view is None or view.get("record") != "object":
        return _not_found(viewer)
    try:
        aliases.undo(store, object_id, statement, analyst=viewer.user.name,
                     reason=reason or "undone in the workspace")
    except AllsourceError as exc:
        return _page("object.html", viewer, code=400,
                     **_entity_context(store, viewer, view, request.app.state.settings),
                     message=str(exc))
    return RedirectResponse(f"/objects/{quote(object_id, safe='')}", status_code=303)


# --- alerts ----------------------------------------------------------------------------------

ALERT_PAGE = 50
#: the alert-volume chart counts per week up to this many weeks, per month beyond
ALERT_VOLUME_WEEKS = 104
AlertStatusQ = Annotated[str, Query(pattern="^(active|open|acknowledged|closed|all)$")]


def _alert_statuses(status: str) -> str | tuple[str, ...] | None:
    return {"active": alerts_mod.ACTIVE, "all": None}.get(status, status)


@router.get("/alerts", response_class=HTMLResponse)
def alerts(request: Request, store: StoreDep, status: AlertStatusQ = "active",
           severity: Annotated[str, Query(pattern="^(|low|medium|high|critical)$")] = "",
           watchlist: Annotated[str, Query(max_length=120)] = "",
           kind: Annotated[str, Query(max_length=60)] = "",
           assignee: Annotated[str, Query(max_length=120)] = "",
           page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """Alerts a page at a time, filtered by watchlist, kind, severity (at least) and assignee
    (``-`` for unassigned), with the count of each status on its tab and bulk triage."""
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    lists = [w for w in watchlists_mod.list_watchlists(store)
             if can_release(w.marking, viewer.audience)]
    level = alerts_mod.Severity[severity.upper()] if severity else None
    found = alerts_mod.alert_page(
        store, status=_alert_statuses(status), severity=level, kind=kind or None,
        watchlist=watchlist or None, assignee="" if assignee == "-" else assignee or None,
        audience=viewer.audience, limit=ALERT_PAGE, offset=(page - 1) * ALERT_PAGE)
    counts = dict(found.by_status)
    counts["active"] = sum(counts[s] for s in alerts_mod.ACTIVE)
    volume_interval, volume = "week", []
    for volume_interval in ("week", "month"):  # months once weeks would be thin slivers
        volume = alerts_mod.alert_volume(
            store, severity=level, kind=kind or None, watchlist=watchlist or None,
            assignee="" if assignee == "-" else assignee or None, audience=viewer.audience,
            interval=volume_interval)
        if len(volume) <= ALERT_VOLUME_WEEKS:
            break
    counts["all"] = sum(found.by_status.values())
    filters = {"severity": severity, "watchlist": watchlist, "kind": kind,
               "assignee": assignee}

    def link(**change: Any) -> str:
        params = {"status": status, **filters, "page": "", **change}
        return "/alerts?" + urlencode({k: v for k, v in params.items() if v})

    return _page("alerts.html", viewer, alerts=found.alerts, found=found, status=status,
                 names=names.alert_names(store, found.alerts, viewer.audience),
                 volume=charts.time_bars(volume, volume_interval, unit="alert(s)"),
                 volume_interval=volume_interval,
                 counts=counts, filters=filters, watchlists=lists, link=link,
                 assignees=alerts_mod.assignees(store), page=page,
                 pages=max(1, -(-found.total // ALERT_PAGE)), message=None,
                 back=link(page=str(page) if page > 1 else ""))


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, store: StoreDep, alert_id: str) -> Response:
    """One alert: its hits and documents (those the reader may read), its audit trail and
    notes, and its triage forms."""
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    alert = alerts_mod.get_alert(store, alert_id, viewer.audience)
    if alert is None:
        return _not_found(viewer)
    docs = {d: store.get(d, viewer.audience) for d in alert.documents}
    hits = [h for h in alerts_mod.alert_hits(store, alert.id, viewer.audience)
            if not h["document_id"] or docs.get(h["document_id"]) is not None]
    watchlist = None
    if alert.kind == "watchlist" and alert.group_key.startswith("watchlist:"):
        wanted = alert.group_key.removeprefix("watchlist:")
        watchlist = next((w for w in watchlists_mod.list_watchlists(store)
                          if w.id == wanted and can_release(w.marking, viewer.audience)), None)
    return _page("alert.html", viewer, alert=alert, hits=hits, watchlist=watchlist,
                 documents=[(d, v) for d, v in docs.items() if v is not None],
                 events=alerts_mod.alert_events(store, alert.id, viewer.audience),
                 assignees=alerts_mod.assignees(store), message=None)


@router.post("/alerts/{alert_id}/note", response_class=HTMLResponse)
def note_alert(request: Request, store: StoreDep, alert_id: str,
               csrf: Annotated[str, Form(max_length=200)] = "",
               note: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    viewer = _writer(request, store, csrf, lambda v: _page(
        "error.html", v, code=403, message="Your role may read alerts but not triage them."))
    if not isinstance(viewer, Viewer):
        return viewer
    try:
        alerts_mod.add_note(store, alert_id, note, actor=viewer.user.name,
                            audience=viewer.audience)
    except AllsourceError as exc:
        return _page("error.html", viewer, code=400, message=str(exc))
    return RedirectResponse(f"/alerts/{quote(alert_id, safe='')}", status_code=303)


@router.post("/alerts/bulk", response_class=HTMLResponse)
def bulk_alerts(request: Request, store: StoreDep,
                csrf: Annotated[str, Form(max_length=200)] = "",
                ids: Annotated[list[str] | None, Form()] = None,
                action: Annotated[str, Form(pattern="^(ack|close|assign)$")] = "ack",
                assignee: Annotated[str, Form(max_length=120)] = "",
                back: Annotated[str, Form(max_length=2000)] = "/alerts") -> Response:
    """Acknowledge, close or assign the checked alerts (at most :data:`ALERT_PAGE`), each
    as the single-alert forms would; the ones that fail are named."""
    viewer = _writer(request, store, csrf, lambda v: _page(
        "error.html", v, code=403, message="Your role may read alerts but not triage them."))
    if not isinstance(viewer, Viewer):
        return viewer
    chosen = list(dict.fromkeys(ids or []))[:ALERT_PAGE]
    if not chosen:
        return _page("error.html", viewer, code=400, message="Tick the alerts to change first.")
    failed: list[str] = []
    for alert_id in chosen:
        try:
            _apply(store, viewer, alert_id, action, assignee)
        except AllsourceError as exc:
            failed.append(str(exc))
    if failed:
        return _page("error.html", viewer, code=400,
                     message=f"{len(chosen) - len(failed)} of {len(chosen)} changed; "
                             + "; ".join(failed[:5]))
    target = back if back.startswith("/alerts") and _safe_next(back) == back else "/alerts"
    return RedirectResponse(target, status_code=303)


def _apply(store: SqlStore, viewer: Viewer, alert_id: str, action: str, assignee: str
           ) -> alerts_mod.Alert:
    actor, aud = viewer.user.name, viewer.audience
    if action == "ack":
        return alerts_mod.acknowledge(store, alert_id, actor=actor, audience=aud)
    if action == "close":
        return alerts_mod.close(store, alert_id, actor=actor, audience=aud)
    return alerts_mod.assign(store, alert_id, assignee, actor=actor, audience=aud)


def _triage(request: Request, store: StoreDep, alert_id: str, csrf: str, action: str,
            assignee: str = "") -> Response:
    viewer = _writer(request, store, csrf, lambda v: _page(
        "error.html", v, code=403, message="Your role may read alerts but not triage them."))
    if not isinstance(viewer, Viewer):
        return viewer
    try:
        alert = _apply(store, viewer, alert_id, action, assignee)
    except AllsourceError as exc:
        return _page("error.html", viewer, code=400, message=str(exc))
    if request.headers.get("hx-request") == "true":
        return _page("alert_row.html", viewer, alert=alert,
                     assignees=alerts_mod.assignees(store),
                     names=names.alert_names(store, [alert], viewer.audience))
    return RedirectResponse(f"/alerts/{quote(alert.id, safe='')}", status_code=303)


@router.post("/alerts/{alert_id}/ack", response_class=HTMLResponse)
def ack_alert(request: Request, store: StoreDep, alert_id: str,
              csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    return _triage(request, store, alert_id, csrf, "ack")


@router.post("/alerts/{alert_id}/close", response_class=HTMLResponse)
def close_alert(request: Request, store: StoreDep, alert_id: str,
                csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    return _triage(request, store, alert_id, csrf, "close")


@router.post("/alerts/{alert_id}/assign", response_class=HTMLResponse)
def assign_alert(request: Request, store: StoreDep, alert_id: str,
                 csrf: Annotated[str, Form(max_length=200)] = "",
                 assignee: Annotated[str, Form(max_length=120)] = "") -> Response:
    return _triage(request, store, alert_id, csrf, "assign", assignee)


# --- graph explorer --------------------------------------------------------------------------

GRAPH_MAX_NODES = 60
GRAPH_PAGE = 40  # members added per click on a cluster


def _graph_filters(since: str, until: str, min_credibility: str
                   ) -> tuple[datetime | None, datetime | None, int | None]:
    cred = int(min_credibility) if min_credibility.isdigit() else None
    return _day(since), _day(until), cred if cred is not None and 1 <= cred <= 6 else None


@router.get("/graph", response_class=HTMLResponse)
def graph_start_page(request: Request, store: StoreDep,
                     q: Annotated[str, Query(max_length=200)] = "") -> Response:
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    return _page("graph_start.html", viewer, q=q,
                 matches=graph_start.find_objects(store, q, viewer.audience))


@router.get("/graph/{object_id}", response_class=HTMLResponse)
def graph_page(request: Request, store: StoreDep, object_id: str,
               since: Annotated[str, Query(max_length=10)] = "",
               until: Annotated[str, Query(max_length=10)] = "",
               min_credibility: Annotated[str, Query(max_length=1)] = "") -> Response:
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    view = store.get(object_id, viewer.audience)
    if view is None or view.get("record") != "object":
        return _not_found(viewer)
    return _page("graph.html", viewer, obj=view, since=since, until=until,
                 min_credibility=min_credibility, max_nodes=GRAPH_MAX_NODES,
                 page_size=GRAPH_PAGE)


@router.get("/graph/{object_id}/data")
def graph_data(request: Request, store: StoreDep, object_id: str,
               since: Annotated[str, Query(max_length=10)] = "",
               until: Annotated[str, Query(max_length=10)] = "",
               min_credibility: Annotated[str, Query(max_length=1)] = "",
               cluster: Annotated[str, Query(max_length=80)] = "",
               offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    """The neighbourhood as JSON for ``static/graph.js``: never more than
    :data:`GRAPH_MAX_NODES` nodes (the rest is summarised into clusters). With ``cluster``
    (a cluster's type), the next :data:`GRAPH_PAGE` members of that cluster after
    ``offset`` (:mod:`allsource.analyze.graph_members`)."""
    viewer = _viewer(request, store)
    if viewer is None:
        return JSONResponse({"error": "log in first"}, status_code=401)
    start, end, cred = _graph_filters(since, until, min_credibility)
    try:
        if cluster:
            found = graph_members.members(store, object_id, type=cluster, offset=offset,
                                          limit=GRAPH_PAGE, since=start, until=end,
                                          min_credibility=cred, audience=viewer.audience)
        else:
            found = graph.neighbourhood(store, object_id, depth=1, since=start, until=end,
                                        min_credibility=cred, audience=viewer.audience,
                                        max_nodes=GRAPH_MAX_NODES)
    except AllsourceError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    if found is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    return JSONResponse(found.as_dict())


@router.post("/graph/export/stix")
def graph_export_stix(request: Request, store: StoreDep,
                      csrf: Annotated[str, Form(max_length=200)] = "",
                      ids: Annotated[list[str] | None, Form()] = None) -> Response:
    """The selected objects as a STIX 2.1 bundle (a download), holding only what the
    viewer may read (:func:`allsource.share.stix_export.selection_bundle`)."""
    viewer = _viewer(request, store)
    if viewer is None:
        return JSONResponse({"error": "log in first"}, status_code=401)
    if not csrf_ok(request, viewer.session, csrf):
        return JSONResponse({"error": "the form expired: reload the page"}, status_code=403)
    chosen = [i for i in (ids or [])[:stix_export.MAX_SELECTION] if len(i) <= 120]
    found = stix_export.selection_bundle(store, chosen, viewer.audience)
    return JSONResponse(found.bundle, media_type="application/stix+json;version=2.1", headers={
        "Content-Disposition": 'attachment; filename="allsource-selection.json"',
        "X-Allsource-Left-Out": str(len(found.left_out))})


@router.get("/export")
def export_download(request: Request, store: StoreDep,
                    format: Annotated[str, Query(pattern="^(stix|misp)$")] = "stix",
                    story: Annotated[str | None, Query(max_length=300)] = None,
                    case: Annotated[str | None, Query(max_length=300)] = None,
                    query: Annotated[str | None, Query(max_length=300)] = None,
                    entity: Annotated[str | None, Query(max_length=300)] = None,
                    watchlist: Annotated[str | None, Query(max_length=300)] = None,
                    since: datetime | None = None, until: datetime | None = None
                    ) -> Response:
    """wt-export: the export links of ``_export.html`` — the selection as a STIX 2.1 bundle
    or a MISP event, holding only what the viewer may read
    (:func:`allsource.share.exports.export`); ``since``/``until`` (ISO dates or times, UTC
    when naive) narrow it to what was collected in that window, as in the API and CLI."""
    from allsource.api.deps import utc
    from allsource.errors import InputError
    from allsource.share import exports

    viewer = _viewer(request, store)
    if viewer is None:
        return RedirectResponse("/login", status_code=303)
    try:
        found = exports.export(store, viewer.audience, format, story=story, case=case,
                               query=query, entity=entity, watchlist=watchlist,
                               since=utc(since), until=utc(until))
    except InputError as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    name = f"allsource-{found.selection.kind}.{format}.json"
    return Response(found.body, media_type=found.media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


# --- ACH cases -------------------------------------------------------------------------------

RATINGS = ("CC", "C", "N", "I", "II")


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, store: StoreDep) -> Response:
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    found, total = cases.list_cases(store, audience=viewer.audience)
    return _page("cases.html", viewer, cases=found, total=total, message=None)


@router.post("/cases", response_class=HTMLResponse)
def case_create(request: Request, store: StoreDep,
                csrf: Annotated[str, Form(max_length=200)] = "",
                title: Annotated[str, Form(max_length=500)] = "",
                question: Annotated[str, Form(max_length=10_000)] = "") -> Response:
    viewer = _writer(request, store, csrf, lambda v: _read_only(v, "open cases"))
    if not isinstance(viewer, Viewer):
        return viewer
    try:
        case = cases.create_case(store, title, owner=viewer.user.name, question=question)
    except AllsourceError as exc:
        found, total = cases.list_cases(store, audience=viewer.audience)
        return _page("cases.html", viewer, code=400, cases=found, total=total,
                     message=str(exc))
    return RedirectResponse(f"/cases/{quote(case.id, safe='')}", status_code=303)


def _case_context(store: SqlStore, viewer: Viewer, case_id: str) -> dict[str, Any] | None:
    try:
        ws = cases.workspace(store, case_id, viewer.audience)
    except AllsourceError:
        return None
    result = ach.analyze_workspace(ws)
    return {"ws": ws, "result": result, "ratings": RATINGS,
            "scores": {h.id: h for h in result.hypotheses},
            "analysis": {e.id: e for e in result.evidence},
            "labels": {h.id: h.label for h in ws.hypotheses},
            "history": _case_history(store, viewer, ws), "found": None, "find": ""}


def _case_history(store: SqlStore, viewer: Viewer, ws: cases.Workspace
                  ) -> list[case_history.HistoryLine]:
    """The case's trail in words; a document an event names is linked only while the
    reader may still open it (its marking may have been raised since)."""
    lines = case_history.history(ws, cases.case_events(store, ws.case.id, viewer.audience))
    docs = {line.document_id for line in lines if line.document_id}
    readable = {d for d in docs if store.get(d, viewer.audience) is not None}
    return [line if line.document_id in readable or not line.document_id
            else replace(line, document_id=None) for line in lines]


def _evidence_candidates(store: SqlStore, viewer: Viewer, text: str) -> list[SearchHit]:
    """Documents the reader may cite as evidence: the best full-text matches of ``text``."""
    if not text.strip():
        return []
    try:
        found = store.search(SearchQuery(text, limit=EVIDENCE_CHOICES, snippets=False),
                             viewer.audience)
    except AllsourceError:
        return []
    return list(found.hits)


EVIDENCE_CHOICES = 8


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, store: StoreDep, case_id: str,
              find: Annotated[str, Query(max_length=500)] = "") -> Response:
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    context = _case_context(store, viewer, case_id)
    if context is None:
        return _not_found(viewer)
    if find.strip():  # the evidence form's document search, without script
        context.update(find=find, found=_evidence_candidates(store, viewer, find))
    return _page("case.html", viewer, message=None, **context)


@router.get("/cases/{case_id}/evidence-search", response_class=HTMLResponse)
def case_evidence_search(request: Request, store: StoreDep, case_id: str,
                         find: Annotated[str, Query(max_length=500)] = "") -> Response:
    """The documents to pick as evidence (an htmx fragment of the evidence form)."""
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    if _case_context(store, viewer, case_id) is None:
        return _not_found(viewer)
    return _page("_evidence_choices.html", viewer, find=find,
                 found=_evidence_candidates(store, viewer, find))


@router.post("/cases/{case_id}/status", response_class=HTMLResponse)
def case_status(request: Request, store: StoreDep, case_id: str,
                csrf: Annotated[str, Form(max_length=200)] = "",
                status: Annotated[str, Form(pattern="^(open|closed)$")] = "closed") -> Response:
    """Close or reopen a case (a closed case takes no changes until it is reopened)."""
    viewer = _writer(request, store, csrf, lambda v: _read_only(v, "close or reopen cases"))
    if not isinstance(viewer, Viewer):
        return viewer
    try:
        cases.update_case(store, case_id, actor=viewer.user.name, audience=viewer.audience,
                          status=status)
    except AllsourceError:
        return _not_found(viewer)
    return RedirectResponse(f"/cases/{quote(case_id, safe='')}", status_code=303)


def _case_write(request: Request, store: SqlStore, case_id: str, csrf: str,
                change: Any) -> Response:
    """Check the session, CSRF token and role, apply ``change(viewer)``, then answer with
    the matrix (htmx) or a redirect to the case."""
    viewer = _writer(request, store, csrf, lambda v: _read_only(v, "change cases"))
    if not isinstance(viewer, Viewer):
        return viewer
    message = None
    try:
        change(viewer)
    except AllsourceError as exc:
        message = str(exc)
    context = _case_context(store, viewer, case_id)
    if context is None:
        return _not_found(viewer)
    if request.headers.get("hx-request") == "true":
        return _page("case_matrix.html", viewer, code=200 if message is None else 400,
                     message=message, **context)
    if message is not None:
        return _page("case.html", viewer, code=400, message=message, **context)
    return RedirectResponse(f"/cases/{quote(context['ws'].case.id, safe='')}", status_code=303)


@router.post("/cases/{case_id}/hypotheses", response_class=HTMLResponse)
def case_hypothesis(request: Request, store: StoreDep, case_id: str,
                    csrf: Annotated[str, Form(max_length=200)] = "",
                    title: Annotated[str, Form(max_length=500)] = "") -> Response:
    return _case_write(request, store, case_id, csrf, lambda v: cases.add_hypothesis(
        store, case_id, title, actor=v.user.name, audience=v.audience))


@router.post("/cases/{case_id}/evidence", response_class=HTMLResponse)
def case_evidence(request: Request, store: StoreDep, case_id: str,
                  csrf: Annotated[str, Form(max_length=200)] = "",
                  description: Annotated[str, Form(max_length=10_000)] = "",
                  document_id: Annotated[str, Form(max_length=120)] = "",
                  relevance: Annotated[str, Form(pattern="^(low|medium|high)$")] = "medium"
                  ) -> Response:
    return _case_write(request, store, case_id, csrf, lambda v: cases.add_evidence(
        store, case_id, actor=v.user.name, description=description,
        document_id=document_id.strip() or None, relevance=relevance, audience=v.audience))


@router.post("/cases/{case_id}/ratings", response_class=HTMLResponse)
def case_rating(request: Request, store: StoreDep, case_id: str,
                csrf: Annotated[str, Form(max_length=200)] = "",
                evidence: Annotated[str, Form(max_length=120)] = "",
                hypothesis: Annotated[str, Form(max_length=120)] = "",
                rating: Annotated[str, Form(pattern="^(CC|C|N|I|II|)$")] = "") -> Response:
    return _case_write(request, store, case_id, csrf, lambda v: cases.set_rating(
        store, case_id, evidence, hypothesis, rating or None, actor=v.user.name,
        audience=v.audience))


# --- timeline and map ------------------------------------------------------------------------

@dataclass(slots=True)
class _Filters:
    """The timeline's and the map's filters as the page shows them, with the entity a name
    or id resolved (``entity_id``) for the reader, or the choices/the error to show."""

    entity: str = ""
    topic: str = ""
    source: str = ""
    country: str = ""
    dates: str = "either"
    entity_id: str = ""
    entity_name: str = ""
    choices: list[NamedEntity] = field(default_factory=list)
    error: str = ""

    def query(self, **more: str) -> str:
        """The query string that reproduces these filters (the resolved id for the entity)."""
        pairs = {"entity": self.entity_id or self.entity, "topic": self.topic,
                 "source": self.source, "country": self.country,
                 "dates": "" if self.dates == "either" else self.dates, **more}
        return urlencode({k: v for k, v in pairs.items() if v})

    def timeline_filter(self) -> TimelineFilter:
        return TimelineFilter(entity_id=self.entity_id or None, topic=self.topic or None,
                              source=self.source or None, country=self.country or None,
                              basis=self.dates)


def _filters(store: SqlStore, audience: Audience, entity: str, topic: str, source: str,
             country: str, dates: str) -> _Filters:
    f = _Filters(entity.strip(), topic.strip(), source.strip(), country.strip().upper(), dates)
    if not f.entity:
        return f
    if looks_like_id(f.entity):
        view = store.get(f.entity, audience)
        if view is not None:
            f.entity_id, f.entity_name = f.entity, str(view.get("name") or f.entity)
            return f
    else:
        f.choices = entities_named(store, f.entity, audience)
        if len(f.choices) == 1:
            f.entity_id, f.entity_name = f.choices[0].id, f.choices[0].name
            f.choices = []
            return f
        if f.choices:
            f.error = f"“{f.entity}” names {len(f.choices)} entities: pick one."
            return f
    # hidden and missing read the same: no oracle
    f.error = f"No entity “{f.entity}” that you can see."
    return f


EntityQ = Annotated[str, Query(max_length=200)]
TopicQ = Annotated[str, Query(max_length=200)]
SourceQ = Annotated[str, Query(max_length=200)]
CountryQ = Annotated[str, Query(pattern="^([A-Za-z]{2})?$")]
DatesQ = Annotated[str, Query(pattern="^(either|report|collected)$")]


@router.get("/timeline", response_class=HTMLResponse)
def timeline_page(request: Request, store: StoreDep, entity: EntityQ = "", topic: TopicQ = "",
                  source: SourceQ = "", country: CountryQ = "", dates: DatesQ = "either",
                  interval: Annotated[str, Query(pattern="^(day|week|month)$")] = "month"
                  ) -> Response:
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    f = _filters(store, viewer.audience, entity, topic, source, country, dates)
    found, error = None, f.error
    if not error:
        try:
            found = timeline_mod.timeline(store, f.timeline_filter(), audience=viewer.audience,
                                          interval=interval, fill=True)
        except AllsourceError as exc:
            error = str(exc)
    buckets = found.buckets if found is not None else []
    chart = charts.time_bars(buckets, interval, lambda start: "/timeline/documents?" +
                             f.query(start=start, interval=interval))
    return _page("timeline.html", viewer, chart=chart, buckets=buckets, found=found,
                 error=error, f=f, interval=interval, country_name=country_name,
                 bucket_label=charts.bucket_label)


@router.get("/timeline/documents", response_class=HTMLResponse)
def timeline_documents(request: Request, store: StoreDep,
                       start: Annotated[str, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = "",
                       entity: EntityQ = "", topic: TopicQ = "", source: SourceQ = "",
                       country: CountryQ = "", dates: DatesQ = "either",
                       interval: Annotated[str, Query(pattern="^(day|week|month)$")] = "month",
                       offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> Response:
    """The documents of one bucket of the timeline, newest first, a page at a time."""
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    f = _filters(store, viewer.audience, entity, topic, source, country, dates)
    page, error = None, f.error or ("" if start else "Choose a period on the timeline.")
    if not error:
        try:
            page = timeline_mod.bucket_documents(
                store, f.timeline_filter(), datetime.fromisoformat(start).date(),
                audience=viewer.audience, interval=interval, limit=PAGE_SIZE, offset=offset)
        except (AllsourceError, ValueError) as exc:
            error = str(exc)
    return _page("timeline_documents.html", viewer, page=page, error=error, f=f,
                 interval=interval, start=start, offset=offset, page_size=PAGE_SIZE,
                 period=charts.bucket_label(start, interval) if start and not error
                 else "a period",
                 country_name=country_name)


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, store: StoreDep, entity: EntityQ = "", topic: TopicQ = "",
             source: SourceQ = "", country: CountryQ = "", dates: DatesQ = "either"
             ) -> Response:
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    f = _filters(store, viewer.audience, entity, topic, source, country, dates)
    return _page("map.html", viewer, f=f, country_name=country_name)


@router.get("/map/data")
def map_data(request: Request, store: StoreDep, entity: EntityQ = "", topic: TopicQ = "",
             source: SourceQ = "", country: CountryQ = "", dates: DatesQ = "either"
             ) -> Response:
    """Places as GeoJSON for ``static/map.js`` (at most :data:`MAP_MAX_PLACES`), with the
    per-country document counts that shade the countries in ``properties.countries``."""
    viewer = _viewer(request, store)
    if viewer is None:
        return JSONResponse({"error": "log in first"}, status_code=401)
    f = _filters(store, viewer.audience, entity, topic, source, country, dates)
    if f.error:
        return JSONResponse({"error": f.error}, status_code=400)
    try:
        found = geo.places(store, f.timeline_filter(), audience=viewer.audience,
                           limit=MAP_MAX_PLACES)
        found["properties"]["countries"] = geo.countries(store, f.timeline_filter(),
                                                         audience=viewer.audience)
    except AllsourceError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(found)


MAP_MAX_PLACES = 1000


# --- pages in modules of their own (they import this module's helpers) -------------------

from allsource.web import source_pages, warning_pages, watchlist_pages  # noqa: E402

router.include_router(watchlist_pages.router)
router.include_router(warning_pages.router)
router.include_router(source_pages.router)
