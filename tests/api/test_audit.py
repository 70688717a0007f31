"""API and workspace actions leave audit events (both backends): reads of documents with
their marking, searches with their hit counts (never the query text), writes in the same
transaction, logins that succeed or fail, and no content without a trace."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
import sqlalchemy as sa

from allsource.api.audit import classify
from allsource.model.markings import TLP
from allsource.store import schema as t
from allsource.store.audit_verify import verify
from tests.api.conftest import World

V = "/api/v1"


def _events(world: World) -> list[dict[str, Any]]:
    with world.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(t.audit_events).order_by(t.audit_events.c.seq))]


def _chain_ok(world: World) -> None:
    with world.store.engine.connect() as conn:
        report = verify(conn)
    assert report.ok, report.problem


def test_reading_a_document_records_who_read_what_at_which_marking(world: World) -> None:
    c = world.client
    assert c.get(f"{V}/documents/{world.red.id}", headers=world.admin).status_code == 200
    assert c.get(f"{V}/documents/{world.original.id}", headers=world.reader).status_code == 200
    # hidden from the reader: nothing was read, so nothing is recorded
    assert c.get(f"{V}/documents/{world.red.id}", headers=world.reader).status_code == 404
    reads = [(e["actor"], e["action"], e["target"], e["tlp"]) for e in _events(world)]
    assert reads == [("ana", "read", world.red.id, int(TLP.RED)),
                     ("rita", "read", world.original.id, int(TLP.CLEAR))]
    _chain_ok(world)


def test_a_search_records_its_hits_and_a_hash_of_the_query(world: World) -> None:
    answer = world.client.get(f"{V}/search", params={"q": "spearphishing"},
                              headers=world.admin)
    assert answer.status_code == 200
    [event] = _events(world)
    digest = hashlib.sha256(b"spearphishing").hexdigest()
    assert event["action"] == "search" and event["actor"] == "ana"
    assert event["target"] == "q:" + digest[:16]
    assert event["detail"]["query_sha256"] == digest
    assert event["count"] == answer.json()["total_hits"] == 3
    assert event["tlp"] == int(TLP.RED)  # the admin's hits include the TLP:RED report
    assert "spearphishing" not in repr(event)


def test_an_api_write_is_recorded_and_a_refused_one_is_not(world: World) -> None:
    c = world.client
    refused = c.post(f"{V}/watchlists", json={"name": "apt", "keywords": ["APT28"]},
                     headers=world.reader)
    assert refused.status_code == 403
    assert _events(world) == []
    made = c.post(f"{V}/watchlists", json={"name": "apt", "keywords": ["APT28"]},
                  headers=world.admin)
    assert made.status_code == 201
    events = _events(world)
    # one event per committed transaction of the request, each written inside it
    assert events and {(e["actor"], e["action"], e["target"]) for e in events} == {
        ("ana", "write", "POST /api/v1/watchlists")}
    assert sum(e["count"] for e in events) >= 2  # the watchlist and its term
    _chain_ok(world)


def test_content_is_not_sent_when_its_read_cannot_be_recorded(world: World) -> None:
    with world.store.engine.begin() as conn:
        conn.execute(t.audit_head.delete())
    answer = world.client.get(f"{V}/documents/{world.original.id}", headers=world.admin)
    assert answer.status_code == 500
    assert "Spearphishing" not in answer.text


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def test_a_refused_token_leaves_login_failed_and_nothing_else(world: World) -> None:
    c = world.client
    bad = {"Authorization": "Bearer as_not_a_token"}
    assert c.get(f"{V}/search", params={"q": "x"}, headers=bad).status_code == 401
    assert c.post(f"{V}/watchlists", json={"name": "w"}, headers=bad).status_code == 401
    got = [(e["actor"], e["action"], e["target"], e["detail"]["route"]) for e in _events(world)]
    assert got == [("unknown", "login_failed", f"{V}/search", f"GET {V}/search"),
                   ("unknown", "login_failed", f"{V}/watchlists", f"POST {V}/watchlists")]
    assert "as_not_a_token" not in repr(_events(world))
    _chain_ok(world)


def test_workspace_logins_reads_searches_and_logout(world: World) -> None:
    c = world.client
    admin_token = world.admin["Authorization"].removeprefix("Bearer ")
    bad = c.post("/login", data={"token": "as_wrong", "next": "/search"},
                 follow_redirects=False)
    assert bad.status_code == 401
    good = c.post("/login", data={"token": admin_token, "next": "/search"},
                  follow_redirects=False)
    assert good.status_code == 303
    page = c.get(f"/documents/{world.red.id}")
    assert page.status_code == 200
    found = c.get("/search", params={"q": "ransomware"})
    assert found.status_code == 200
    out = c.post("/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    got = [(e["actor"], e["action"], e["target"], e["count"], e["tlp"])
           for e in _events(world)]
    assert got == [
        ("unknown", "login_failed", "/login", 0, 0),
        ("ana", "login", "/login", 0, 0),
        ("ana", "read", world.red.id, 1, int(TLP.RED)),
        ("ana", "search", "q:" + hashlib.sha256(b"ransomware").hexdigest()[:16], 1, 0),
        ("ana", "logout", "/logout", 0, 0),
    ]
    _chain_ok(world)


@pytest.mark.parametrize(("method", "path", "query", "action"), [
    ("GET", "/api/v1/documents/doc--1", "", "read"),
    ("GET", "/api/v1/entities/intrusion-set--1", "", "read"),
    ("GET", "/objects/indicator--1", "", "read"),
    ("GET", "/api/v1/search", "q=apt", "search"),
    ("GET", "/search", "q=", None),
    ("GET", "/api/v1/documents", "", None),
    ("GET", "/taxii2/collections/x/objects", "", "share"),
    ("GET", "/api/v1/cases/c1/export", "", "export"),
    ("POST", "/api/v1/sources", "", "write"),
    ("DELETE", "/api/v1/watchlists/w", "", "write"),
    ("POST", "/login", "", "login"),
    ("GET", "/static/app.js", "", None),
])
def test_requests_are_sorted_into_audit_actions(method: str, path: str, query: str,
                                                action: str | None) -> None:
    route = classify(method, path, query)
    assert (route.action if route else None) == action
