"""Authorization matrix: every role × every route of the API and the workspace × read or
write, against the table below. The test fails when the app has a route the table does not
list (decide who may call it, then add it) or the table lists a route the app no longer has.

A role is *denied* a route when the answer is 401 or 403 (or, on a workspace page, a redirect
to the login page); any other answer — 200, 404, 422 … — means the role got past the
authorization checks. Write requests carry an empty body or form (plus the session's CSRF
token on the workspace), so allowed writes mostly stop at validation; the roles that must be
refused go first and the admin last, so a delete that succeeds comes after every refusal.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from allsource.assess.watchlists import add_terms, keyword_spec, save_watchlist
from allsource.store import cases, users
from allsource.store import schema as t
from allsource.store.sql import utc_now
from tests.api.conftest import ENTITY_ID, World

ROLES = ("anonymous", "partner", "reader", "analyst", "admin")
READERS = frozenset({"partner", "reader", "analyst", "admin"})
TRIAGE = frozenset({"analyst", "admin"})
ADMIN = frozenset({"admin"})
EVERYONE = frozenset(ROLES)
TAXII_WRITERS = frozenset({"partner", "analyst", "admin"})

#: (method, path) → the roles allowed. GET/HEAD are reads; everything else is a write.
API: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/api/v1/documents"): READERS,
    ("GET", "/api/v1/documents/{document_id}"): READERS,
    ("GET", "/api/v1/search"): READERS,
    ("GET", "/api/v1/sources"): READERS,
    ("GET", "/api/v1/sources/{source_ref}"): READERS,
    ("POST", "/api/v1/sources"): ADMIN,
    ("PATCH", "/api/v1/sources/{source_ref}"): ADMIN,
    ("GET", "/api/v1/entities"): READERS,
    ("GET", "/api/v1/entities/{object_id}"): READERS,
    ("GET", "/api/v1/observables"): READERS,
    ("GET", "/api/v1/observables/{object_id}"): READERS,
    ("GET", "/api/v1/relationships"): READERS,
    ("GET", "/api/v1/relationships/{relationship_id}"): READERS,
    ("GET", "/api/v1/stories"): READERS,
    ("GET", "/api/v1/stories/{story_id}"): READERS,
    ("GET", "/api/v1/export"): READERS,  # wt-export: filtered by the caller's audience
    ("GET", "/api/v1/alerts"): READERS,
    ("GET", "/api/v1/alerts/{alert_id}"): READERS,
    ("POST", "/api/v1/alerts/{alert_id}/ack"): TRIAGE,
    ("POST", "/api/v1/alerts/{alert_id}/assign"): TRIAGE,
    ("POST", "/api/v1/alerts/{alert_id}/close"): TRIAGE,
    ("GET", "/api/v1/watchlists"): READERS,
    ("GET", "/api/v1/watchlists/{watchlist_ref}"): READERS,
    ("POST", "/api/v1/watchlists"): TRIAGE,
    ("POST", "/api/v1/watchlists/{watchlist_ref}/terms"): TRIAGE,
    ("DELETE", "/api/v1/watchlists/{watchlist_ref}/terms/{term_id}"): TRIAGE,
    ("DELETE", "/api/v1/watchlists/{watchlist_ref}"): TRIAGE,
    ("GET", "/api/v1/cases"): READERS,
    ("POST", "/api/v1/cases"): TRIAGE,
    ("GET", "/api/v1/cases/{case_id}"): READERS,
    ("PATCH", "/api/v1/cases/{case_id}"): TRIAGE,
    ("DELETE", "/api/v1/cases/{case_id}"): TRIAGE,
    ("GET", "/api/v1/cases/{case_id}/events"): READERS,
    ("GET", "/api/v1/cases/{case_id}/matrix"): READERS,
    ("POST", "/api/v1/cases/{case_id}/hypotheses"): TRIAGE,
    ("PATCH", "/api/v1/cases/{case_id}/hypotheses/{hypothesis_id}"): TRIAGE,
    ("DELETE", "/api/v1/cases/{case_id}/hypotheses/{hypothesis_id}"): TRIAGE,
    ("POST", "/api/v1/cases/{case_id}/evidence"): TRIAGE,
    ("PATCH", "/api/v1/cases/{case_id}/evidence/{evidence_id}"): TRIAGE,
    ("DELETE", "/api/v1/cases/{case_id}/evidence/{evidence_id}"): TRIAGE,
    ("PUT", "/api/v1/cases/{case_id}/ratings/{evidence_id}/{hypothesis_id}"): TRIAGE,
    ("DELETE", "/api/v1/cases/{case_id}/ratings/{evidence_id}/{hypothesis_id}"): TRIAGE,
    ("GET", "/api/v1/graph/{node_id}"): READERS,
    ("GET", "/api/v1/timeline"): READERS,
    ("GET", "/api/v1/timeline/documents"): READERS,
    ("GET", "/api/v1/map"): READERS,
    ("GET", "/api/v1/map/basemap"): READERS,
    # TAXII 2.1 (wt-taxii): partners read and post to their groups' collections
    ("GET", "/taxii2/"): READERS,
    ("GET", "/taxii2/allsource/"): READERS,
    ("GET", "/taxii2/allsource/collections/"): READERS,
    ("GET", "/taxii2/allsource/collections/{collection_id}/"): READERS,
    ("GET", "/taxii2/allsource/collections/{collection_id}/objects/"): READERS,
    ("POST", "/taxii2/allsource/collections/{collection_id}/objects/"): TAXII_WRITERS,
    ("GET", "/taxii2/allsource/collections/{collection_id}/manifest/"): READERS,
    ("GET", "/taxii2/allsource/collections/{collection_id}/objects/{object_id}/"): READERS,
    ("GET", "/taxii2/allsource/collections/{collection_id}/objects/{object_id}/versions/"):
        READERS,
    ("GET", "/taxii2/allsource/status/{status_id}/"): READERS,
}

#: the workspace (anonymous visitors are sent to the login page)
WEB: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/static/{path:path}"): EVERYONE,
    ("GET", "/login"): EVERYONE,
    ("POST", "/login"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/search"): READERS,
    ("GET", "/"): READERS,  # the start page (the search page without a query)
    ("GET", "/documents/{doc_id}"): READERS,
    ("POST", "/documents/{doc_id}/mentions/wrong"): TRIAGE,
    ("GET", "/objects/{object_id}"): READERS,
    ("POST", "/objects/{object_id}/aliases/undo"): TRIAGE,
    ("GET", "/alerts"): READERS,
    ("POST", "/alerts/{alert_id}/ack"): TRIAGE,
    ("POST", "/alerts/{alert_id}/close"): TRIAGE,
    ("POST", "/alerts/{alert_id}/assign"): TRIAGE,
    ("GET", "/alerts/{alert_id}"): READERS,
    ("POST", "/alerts/{alert_id}/note"): TRIAGE,
    ("POST", "/alerts/bulk"): TRIAGE,
    ("GET", "/graph"): READERS,
    ("GET", "/graph/{object_id}"): READERS,
    ("POST", "/graph/export/stix"): READERS,
    ("GET", "/export"): READERS,  # wt-export
    ("GET", "/graph/{object_id}/data"): READERS,
    ("GET", "/cases"): READERS,
    ("POST", "/cases"): TRIAGE,
    ("GET", "/cases/{case_id}"): READERS,
    ("POST", "/cases/{case_id}/hypotheses"): TRIAGE,
    ("POST", "/cases/{case_id}/evidence"): TRIAGE,
    ("POST", "/cases/{case_id}/ratings"): TRIAGE,
    ("POST", "/cases/{case_id}/status"): TRIAGE,
    ("GET", "/cases/{case_id}/evidence-search"): READERS,
    ("GET", "/timeline"): READERS,
    ("GET", "/timeline/documents"): READERS,
    ("GET", "/map"): READERS,
    ("GET", "/map/data"): READERS,
    ("GET", "/watchlists"): READERS,
    ("POST", "/watchlists"): TRIAGE,
    ("GET", "/watchlists/{watchlist_id}"): READERS,
    ("POST", "/watchlists/{watchlist_id}/settings"): TRIAGE,
    ("POST", "/watchlists/{watchlist_id}/terms"): TRIAGE,
    ("POST", "/watchlists/{watchlist_id}/terms/{term_id}/delete"): TRIAGE,
    ("POST", "/watchlists/{watchlist_id}/delete"): TRIAGE,
    ("GET", "/warnings"): READERS,
    ("GET", "/sources/{source_ref}"): READERS,
}

#: the FastAPI documentation routes, public by design (the API spec holds no data)
PUBLIC_DOCS = frozenset({("GET", "/openapi.json"), ("GET", "/docs"),
                         ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc")})


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, HEAD aside (it follows GET)."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        items = list(contexts()) if callable(contexts) else [route]
        for item in items:
            for method in getattr(item, "methods", None) or ():
                if method != "HEAD":
                    found.add((method, item.path))
    return found


def test_every_route_has_an_entry(world: World) -> None:
    routes = app_routes(world.client.app) - PUBLIC_DOCS  # type: ignore[arg-type]
    table = set(API) | set(WEB)
    assert not routes - table, f"routes without an authorization entry: {routes - table}"
    assert not table - routes, f"entries for routes that no longer exist: {table - routes}"


def _fill(world: World) -> dict[str, str]:
    """Concrete values for every path parameter: objects every role may read."""
    store = world.store
    with store.engine.begin() as conn:
        rel = "relationship--7a1e42f6-2a7e-4a4b-9f59-5b1f0c6a8f10"
        conn.execute(t.relationships.insert().values(
            id=rel, relationship_type="uses", source_ref=ENTITY_ID, target_ref=ENTITY_ID,
            created_at=utc_now(), stix={"type": "relationship", "id": rel}))
        story = conn.execute(t.story_members.select().where(
            t.story_members.c.document_id == world.original.id)).first()
    watchlist, _ = save_watchlist(store, "matrix")
    [(term, _)] = add_terms(store, watchlist, [keyword_spec("spearphishing")])
    case = cases.create_case(store, "matrix case", owner="ana")
    hyp = cases.add_hypothesis(store, case.id, "H one", actor="ana")
    ev = cases.add_evidence(store, case.id, actor="ana", description="a note")
    assert story is not None
    return {"document_id": world.original.id, "doc_id": world.original.id,
            "source_ref": "outlet-a", "object_id": ENTITY_ID, "node_id": ENTITY_ID,
            "relationship_id": rel, "story_id": story.story_id, "alert_id": world.alert_id,
            "watchlist_ref": "matrix", "watchlist_id": watchlist.id, "term_id": str(term.id),
            "case_id": case.id,
            "hypothesis_id": hyp.id, "evidence_id": ev.id, "path:path": "workspace.css",
            "collection_id": "no-such-collection",
            "status_id": "00000000-0000-4000-8000-000000000000"}


def _concrete(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], path)


def _denied(r: httpx.Response, path: str) -> bool:
    if path == "/login":  # a login without credentials fails with the form (401) for anyone:
        return r.status_code == 403 or "<form" not in r.text  # that is its answer
    if r.status_code in (401, 403):
        return True
    # logging out ends on the login page by design: that is its answer, not a refusal
    return (r.is_redirect and r.headers.get("location", "").startswith("/login")
            and path != "/logout")


def _order(table: dict[tuple[str, str], frozenset[str]]) -> list[tuple[str, str]]:
    # reads first, then writes, deletes last, so a successful delete cannot hide a refusal
    rank = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
    return sorted(table, key=lambda k: (rank[k[0]], -k[1].count("/"), k[1]))


@pytest.fixture
def tokens(world: World) -> dict[str, str]:
    out = {}
    for role in ROLES[1:]:
        _, out[role] = users.create_token(world.store,
                                          users.add_user(world.store, f"m-{role}", role))
    return out


def test_api_matrix(world: World, tokens: dict[str, str]) -> None:
    values = _fill(world)
    wrong: list[str] = []
    for method, path in _order(API):
        url = _concrete(path, values)
        for role in ROLES:
            headers = {"Authorization": f"Bearer {tokens[role]}"} if role in tokens else {}
            extra: dict[str, Any] = {} if method == "GET" else {"json": {}}
            r = world.client.request(method, url, headers=headers, **extra)
            assert r.status_code < 500, (method, url, role, r.text)
            if _denied(r, path) == (role in API[(method, path)]):
                wrong.append(f"{role} {method} {path}: {r.status_code}")
    assert not wrong, "\n".join(wrong)


def _login(world: World, token: str | None) -> str:
    """Log in as ``token`` (None: log out) and return the session's CSRF token."""
    client = world.client
    client.cookies.clear()
    if token is None:
        return ""
    r = client.post("/login", data={"token": token, "next": "/search"},
                    follow_redirects=False)
    assert r.status_code == 303
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/search").text)
    assert found is not None
    return found.group(1)


def test_web_matrix(world: World, tokens: dict[str, str]) -> None:
    values = _fill(world)
    wrong: list[str] = []
    for method, path in _order(WEB):
        url = _concrete(path, values)
        for role in ROLES:
            csrf = _login(world, tokens.get(role))
            if method == "GET":
                r = world.client.get(url, follow_redirects=False)
            else:
                r = world.client.request(method, url, data={"csrf": csrf},
                                         follow_redirects=False)
            assert r.status_code < 500, (method, url, role, r.text)
            if _denied(r, path) == (role in WEB[(method, path)]):
                wrong.append(f"{role} {method} {path}: {r.status_code}")
    world.client.cookies.clear()
    assert not wrong, "\n".join(wrong)
