"""The REST API over a real store: auth, paging and sorting, filters, the error body,
search grouped by story, markings, alert triage and watchlists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from allsource.api import API_PREFIX, create_app
from allsource.config import Settings
from allsource.store import users
from allsource.store.sql import SqlStore
from tests.api.conftest import ENTITY_ID, World

V = API_PREFIX
LISTS = ["/documents", "/sources", "/entities", "/observables", "/relationships", "/stories",
         "/alerts", "/watchlists", "/search?q=spearphishing"]


def _error(response: object, status: int, code: str | None = None) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    if code:
        assert body["error"]["code"] == code
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", LISTS)
def test_every_endpoint_needs_a_token(world: World, path: str) -> None:
    _error(world.client.get(V + path), 401, "unauthorized")
    _error(world.client.get(V + path, headers={"Authorization": "Bearer as_nope"}), 401)
    assert world.client.get(V + path, headers=world.admin).status_code == 200


def test_revoked_and_expired_tokens_are_refused(world: World) -> None:
    user = users.get_user(world.store, "ana")
    assert user is not None
    info, secret = users.create_token(world.store, user, name="ci")
    headers = {"Authorization": f"Bearer {secret}"}
    assert world.client.get(V + "/documents", headers=headers).status_code == 200
    users.revoke_token(world.store, info.id)
    _error(world.client.get(V + "/documents", headers=headers), 401)
    _, old = users.create_token(world.store, user,
                                expires_at=datetime.now(UTC) - timedelta(seconds=1))
    _error(world.client.get(V + "/documents", headers={"Authorization": f"Bearer {old}"}), 401)
    assert any(t.last_used_at for t in users.list_tokens(world.store, user))


def test_anonymous_read_only_mode(world: World, settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"api_read_only_anonymous": True}),
                     store=world.store)
    client = TestClient(app)
    docs = client.get(V + "/documents").json()
    assert world.red.id not in {d["id"] for d in docs["items"]} and docs["items"]
    _error(client.post(V + "/watchlists", json={"name": "x"}), 401)


def test_pagination_sorting_and_filters(world: World) -> None:
    c, h = world.client, world.admin
    first = c.get(V + "/documents", params={"limit": 2, "sort": "title"}, headers=h).json()
    assert first["total"] == 4 and len(first["items"]) == 2 and first["offset"] == 0
    titles = [d["title"] for d in first["items"]]
    assert titles == sorted(titles)
    second = c.get(first["next"], headers=h).json()
    assert second["offset"] == 2 and second["next"] is None
    assert not {d["id"] for d in first["items"]} & {d["id"] for d in second["items"]}
    newest = c.get(V + "/documents", params={"sort": "-published_at"}, headers=h).json()
    assert newest["items"][1]["id"] == world.copy.id
    reports = c.get(V + "/documents", params={"kind": "report"}, headers=h).json()
    assert [d["id"] for d in reports["items"]] == [world.other.id]
    by_b = c.get(V + "/documents", params={"source": "outlet-b"}, headers=h).json()
    assert [d["id"] for d in by_b["items"]] == [world.copy.id]
    may = c.get(V + "/documents", params={"since": "2024-04-15", "until": "2024-05-01T12:00:00Z"},
                headers=h).json()
    assert [d["id"] for d in may["items"]] == [world.original.id]
    _error(c.get(V + "/documents", params={"sort": "text"}, headers=h), 422, "invalid_sort")
    _error(c.get(V + "/documents", params={"limit": 501}, headers=h), 422, "validation_error")
    _error(c.get(V + "/documents/nope", headers=h), 404, "not_found")
    _error(c.get(V + "/documents", params={"source": "nope"}, headers=h), 422)


def test_document_detail_and_story(world: World) -> None:
    doc = world.client.get(f"{V}/documents/{world.copy.id}", headers=world.admin).json()
    assert doc["story"]["canonical_document_id"] == world.original.id
    assert doc["story"]["documents"] == 2 and "stories" in doc["annotations"]
    assert doc["source"] == "outlet-b"
    story = world.client.get(f"{V}/stories/{doc['story']['id']}", headers=world.admin).json()
    assert {m["document_id"] for m in story["members"]} == {world.original.id, world.copy.id}
    big = world.client.get(V + "/stories", params={"min_size": 2, "sort": "-size"},
                           headers=world.admin).json()
    assert [s["id"] for s in big["items"]] == [doc["story"]["id"]]


def test_search_groups_copies_by_story(world: World) -> None:
    res = world.client.get(V + "/search", params={"q": "spearphishing"},
                           headers=world.admin).json()
    assert res["total_hits"] == 3 and res["total"] == 2
    story = next(g for g in res["items"] if g["story_documents"] == 2)
    assert {v["id"] for v in story["variants"]} == {world.original.id, world.copy.id}
    assert story["story_documents"] == 2
    assert res["facets"]["source"] == {"outlet-a": 2, "outlet-b": 1}
    _error(world.client.get(V + "/search", params={"q": '"'}, headers=world.admin), 400)


def test_markings_hide_red_from_readers(world: World) -> None:
    c = world.client
    assert c.get(f"{V}/documents/{world.red.id}", headers=world.admin).status_code == 200
    _error(c.get(f"{V}/documents/{world.red.id}", headers=world.reader), 404)
    listed = c.get(V + "/documents", headers=world.reader).json()
    assert world.red.id not in {d["id"] for d in listed["items"]}
    found = c.get(V + "/search", params={"q": "ministry"}, headers=world.reader).json()
    assert found["total_hits"] == 0


def test_entities_and_relationship_filters(world: World) -> None:
    c, h = world.client, world.admin
    found = c.get(V + "/entities", params={"name": "apt"}, headers=h).json()
    assert [e["aliases"] for e in found["items"]] == [["Fancy Bear"]]
    entity = c.get(f"{V}/entities/{ENTITY_ID}", headers=h).json()
    assert entity["provenance"][0]["document_id"] == world.original.id
    _error(c.get(f"{V}/observables/{ENTITY_ID}", headers=h), 404)
    _error(c.get(V + "/entities", params={"type": "ipv4-addr"}, headers=h), 422)


def test_alert_triage_round_trip(world: World) -> None:
    c = world.client
    url = f"{V}/alerts/{world.alert_id}"
    _error(c.post(url + "/ack", json={}, headers=world.reader), 403, "forbidden")
    acked = c.post(url + "/ack", json={"comment": "looking"}, headers=world.admin).json()
    assert acked["status"] == "acknowledged" and acked["events"][-1]["actor"] == "ana"
    users.add_user(world.store, "bob", "analyst")
    c.post(url + "/assign", json={"assignee": "bob"}, headers=world.admin)
    closed = c.post(url + "/close", json={}, headers=world.admin).json()
    assert closed["status"] == "closed" and closed["assignee"] == "bob"
    assert c.get(V + "/alerts", headers=world.admin).json()["total"] == 0
    assert c.get(V + "/alerts?status=closed", headers=world.admin).json()["total"] == 1
    _error(c.post(url + "/ack", json={}, headers=world.admin), 409, "conflict")


def test_sources_and_watchlists(world: World) -> None:
    c, h = world.client, world.admin
    _error(c.post(V + "/sources", json={"name": "x", "kind": "nope", "location": "y"},
                  headers=h), 422, "unknown_collector")
    _error(c.post(V + "/sources", json={"name": "outlet-a", "kind": "rss", "location": "y"},
                  headers=h), 409, "conflict")
    _error(c.patch(V + "/sources/outlet-a", json={"enabled": False}, headers=world.reader),
           403)
    assert c.patch(V + "/sources/outlet-a", json={"enabled": False},
                   headers=h).json()["enabled"] is False
    made = c.post(V + "/watchlists", json={"name": "apt", "keywords": ["APT28"],
                                            "observables": ["evil[.]com"]}, headers=h)
    assert made.status_code == 201
    assert [x["value"] for x in made.json()["terms"]] == ["apt28", "evil.com"]
    _error(c.post(V + "/watchlists", json={"name": "apt"}, headers=h), 409)
    assert c.delete(V + "/watchlists/apt", headers=h).status_code == 204
    _error(c.get(V + "/watchlists/apt", headers=h), 404)


def test_search_by_meaning(world: World, store: SqlStore) -> None:
    from allsource.analyze.semantic import index_embeddings

    assert index_embeddings(store) > 0
    res = world.client.get(V + "/search", params={"q": "emails with malicious attachments",
                                                  "mode": "semantic"},
                           headers=world.admin).json()
    assert res["items"], res
    best = res["items"][0]["best"]
    assert best["id"] in {world.original.id, world.copy.id}
    assert -1.0 <= best["score"] <= 1.0
    assert best["snippet"]  # cut for the page shown, not for the whole window
    bad = world.client.get(V + "/search", params={"q": "x", "mode": "vibes"},
                           headers=world.admin)
    _error(bad, 422)
