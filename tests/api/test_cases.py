"""``/api/v1/cases`` through the real app (TestClient, bearer tokens from the user store), on
SQLite and PostgreSQL: a case built hypothesis by hypothesis, the matrix, roles, markings and
the one error body."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allsource.api.app import create_app
from allsource.config import Settings
from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import schema as t
from allsource.store import users
from allsource.store.sql import SqlStore

BASE = "/api/v1/cases"


@pytest.fixture
def client(store: SqlStore, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store=store)) as c:
        yield c


def _headers(store: SqlStore, name: str, role: str) -> dict[str, str]:
    _, secret = users.create_token(store, users.add_user(store, name, role))
    return {"Authorization": f"Bearer {secret}"}


def _doc(store: SqlStore, title: str, marking: Marking, credibility: int | None) -> str:
    src = Source("desk", "files", "x")
    if store.get_source("desk") is None:
        store.add_source(src)
    doc = Document.build(kind="article", title=title, text=title + ".", marking=marking)
    store.write_batch(src, [Collected(doc)], [], None)
    if credibility is not None:
        with store.engine.begin() as conn:
            conn.execute(t.grades.insert().values(
                subject_type="document", subject_id=doc.id, reliability="C",
                credibility=credibility, corroboration=0, explanation={},
                computed_at=datetime(2024, 5, 1, tzinfo=UTC)))
    return doc.id


def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


def test_build_a_case_and_read_the_matrix(client: TestClient, store: SqlStore) -> None:
    ana = _headers(store, "ana", "analyst")
    case = _ok(client.post(BASE, headers=ana, json={
        "title": "Who hit the hospital?", "question": "Which group deployed the ransomware?"}),
        201)
    assert case["owner"] == "ana" and case["status"] == "open"
    url = f"{BASE}/{case['id']}"
    h1 = _ok(client.post(f"{url}/hypotheses", headers=ana,
                         json={"title": "Criminal affiliate"}), 201)
    h2 = _ok(client.post(f"{url}/hypotheses", headers=ana,
                         json={"title": "State-sponsored group"}), 201)
    note = _doc(store, "Ransom note demands Monero", Marking(), credibility=2)
    e1 = _ok(client.post(f"{url}/evidence", headers=ana, json={"document_id": note}), 201)
    e2 = _ok(client.post(f"{url}/evidence", headers=ana, json={
        "description": "Wiper code shared with a state toolset", "relevance": "high",
        "credibility": 3}), 201)
    assert (e1["credibility"], e1["credibility_from"]) == (2, "document")
    assert (e2["credibility"], e2["credibility_from"]) == (3, "override")

    for ev, hyp, rating in ((e1["id"], h1["id"], "C"), ("E1", "H2", "I"),
                            ("E2", "H1", "II"), ("E2", "H2", "CC")):
        body = _ok(client.put(f"{url}/ratings/{ev}/{hyp}", headers=ana,
                              json={"rating": rating, "note": "why"}))
        assert body["rating"] == rating and body["evidence_id"].startswith("x-allsource-")

    matrix = _ok(client.get(f"{url}/matrix", headers=ana))
    # H1: 0.75·1.5·2 = 2.25; H2: 0.9·1 = 0.9
    assert [(h["id"], h["weighted"]) for h in matrix["hypotheses"]] == [
        (h2["id"], 0.9), (h1["id"], 2.25)]
    assert matrix["leaders"] == [h2["id"]] and matrix["margin"] == pytest.approx(1.35)
    assert [e["label"] for e in matrix["evidence"]] == ["E1", "E2"]
    assert matrix["evidence"][1]["ratings"] == {h1["id"]: "II", h2["id"]: "CC"}
    assert matrix["evidence"][1]["diagnosticity"] == 1.0
    assert matrix["linchpins"] == [e2["id"]]
    assert matrix["case"]["id"] == case["id"]

    detail = _ok(client.get(url, headers=ana))
    assert [h["label"] for h in detail["hypotheses"]] == ["H1", "H2"]
    assert len(detail["ratings"]) == 4

    _ok(client.patch(f"{url}/evidence/E2", headers=ana, json={"credibility": None}))
    assert _ok(client.get(f"{url}/matrix", headers=ana))["evidence"][1]["weight"] == 1.5
    _ok(client.delete(f"{url}/ratings/E1/H2", headers=ana), 204)
    assert _ok(client.get(f"{url}/matrix", headers=ana))["unrated"] == 1
    renamed = _ok(client.patch(f"{url}/hypotheses/H1", headers=ana,
                               json={"title": "Criminal affiliate (LockBit)"}))
    assert renamed["title"] == "Criminal affiliate (LockBit)"

    closed = _ok(client.patch(url, headers=ana, json={"status": "closed"}))
    assert closed["status"] == "closed"
    err = _ok(client.put(f"{url}/ratings/E1/H1", headers=ana, json={"rating": "N"}), 409)
    assert err["error"]["code"] == "case_closed"
    listed = _ok(client.get(BASE, headers=ana, params={"status": "closed"}))
    assert listed["total"] == 1 and listed["items"][0]["id"] == case["id"]

    events = _ok(client.get(f"{url}/events", headers=ana))
    assert events[0]["action"] == "created" and events[-1]["action"] == "closed"
    assert {e["actor"] for e in events} == {"ana"}
    _ok(client.delete(f"{url}/evidence/E2", headers=ana), 409)
    _ok(client.patch(url, headers=ana, json={"status": "open"}))
    _ok(client.delete(f"{url}/hypotheses/H2", headers=ana), 204)
    _ok(client.delete(f"{url}/evidence/E2", headers=ana), 204)
    _ok(client.delete(url, headers=ana), 204)
    _ok(client.get(url, headers=ana), 404)


def test_roles_markings_and_errors(client: TestClient, store: SqlStore) -> None:
    ana = _headers(store, "ana", "analyst")
    reader = _headers(store, "rita", "reader")
    case = _ok(client.post(BASE, headers=ana, json={"title": "Partner case"}), 201)
    url = f"{BASE}/{case['id']}"
    # readers read, but do not write
    assert _ok(client.get(url, headers=reader))["id"] == case["id"]
    err = _ok(client.post(f"{url}/hypotheses", headers=reader, json={"title": "x"}), 403)
    assert err["error"]["code"] == "forbidden"
    # linking an AMBER report raises the case to AMBER: the reader no longer sees it
    amber = _doc(store, "Partner report", Marking(tlp=TLP.AMBER), credibility=None)
    ev = _ok(client.post(f"{url}/evidence", headers=ana, json={"document_id": amber}), 201)
    assert (ev["credibility"], ev["credibility_from"]) == (6, "ungraded")
    assert _ok(client.get(url, headers=ana))["marking"]["tlp"] == "TLP:AMBER"
    err = _ok(client.get(f"{url}/matrix", headers=reader), 404)
    assert set(err["error"]) == {"code", "message", "details"}
    assert _ok(client.get(BASE, headers=reader))["total"] == 0
    # an analyst may not mark a case above what they may read
    _ok(client.post(BASE, headers=ana, json={"title": "x", "marking": {"tlp": "TLP:RED"}}),
        422)
    # bad input: validation, unknown members, no token
    err = _ok(client.put(f"{url}/ratings/E1/H1", headers=ana, json={"rating": "maybe"}), 422)
    assert err["error"]["code"] == "validation_error"
    err = _ok(client.put(f"{url}/ratings/E1/H1", headers=ana, json={"rating": "C"}), 404)
    assert "no hypothesis 'H1'" in err["error"]["message"]
    _ok(client.post(f"{url}/evidence", headers=ana, json={"description": " "}), 422)
    _ok(client.post(f"{url}/evidence", headers=ana, json={"document_id": "nope"}), 404)
    _ok(client.get(f"{BASE}/deadbeef", headers=ana), 404)
    _ok(client.get(BASE), 401)
