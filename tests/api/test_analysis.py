"""``/graph``, ``/timeline`` and ``/map`` over the API test world (both backends), plus an
ATT&CK-named malware, a TLP:RED tool and a geocoded place around its APT28 entity."""

from __future__ import annotations

import pytest

from allsource.api import API_PREFIX
from allsource.model.ids import minted_id
from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Mention, Relationship, StixObject
from tests.api.conftest import ENTITY_ID, World

V = API_PREFIX
PLACE = StixObject(minted_id("location", "geonames:2988507"), "location", "Paris",
                   {"type": "location", "name": "Paris", "country": "FR",
                    "latitude": 48.85341, "longitude": 2.3488})
MALWARE = StixObject(minted_id("malware", "X-Agent"), "malware", "X-Agent", {})
RED_TOOL = StixObject(minted_id("tool", "Secret tool"), "tool", "Secret tool", {},
                      Marking(tlp=TLP.RED))


def _rel(kind: str, a: StixObject, b: StixObject) -> Relationship:
    rid = minted_id("relationship", f"{kind}|{a.id}|{b.id}")
    return Relationship(rid, kind, a.id, b.id, {}, a.marking.combine(b.marking))


@pytest.fixture
def graph_world(world: World) -> World:
    source = world.store.get_source("outlet-a")
    assert source is not None
    actor_uses = minted_id("relationship", f"uses|{ENTITY_ID}|{MALWARE.id}")
    rels = [_rel("uses", MALWARE, RED_TOOL),
            Relationship(actor_uses, "uses", ENTITY_ID, MALWARE.id, {})]
    world.store.write_batch(source, [Collected(
        world.original, [PLACE, MALWARE, RED_TOOL], rels,
        [Mention(PLACE.id, "places@1", 0, 5), *(Mention(r.id, "relations@1", 0, 5)
                                                for r in rels)])], [], None)
    return world


def test_graph_expands_and_respects_markings(graph_world: World) -> None:
    w = graph_world
    admin = w.client.get(f"{V}/graph/{ENTITY_ID}", params={"depth": 2}, headers=w.admin)
    assert admin.status_code == 200, admin.text
    body = admin.json()
    assert {n["label"] for n in body["nodes"]} == {"APT28", "X-Agent", "Secret tool"}
    assert body["summarised"] is False and body["center"] == ENTITY_ID
    reader = w.client.get(f"{V}/graph/{ENTITY_ID}", params={"depth": 2}, headers=w.reader)
    assert {n["label"] for n in reader.json()["nodes"]} == {"APT28", "X-Agent"}
    small = w.client.get(f"{V}/graph/{ENTITY_ID}", params={"depth": 2, "max_nodes": 2},
                         headers=w.admin).json()
    assert small["summarised"] and len(small["nodes"]) == 2
    assert sum(n["count"] for n in small["nodes"]) == 3


def test_graph_errors(graph_world: World) -> None:
    w = graph_world
    assert w.client.get(f"{V}/graph/{ENTITY_ID}").status_code == 401
    missing = w.client.get(f"{V}/graph/malware--nope", headers=w.admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    red = w.client.get(f"{V}/graph/{RED_TOOL.id}", headers=w.reader)
    assert red.status_code == 404
    for params in ({"max_nodes": 5000}, {"depth": 3}, {"min_credibility": 9}):
        bad = w.client.get(f"{V}/graph/{ENTITY_ID}", params=params, headers=w.admin)
        assert bad.status_code == 422, params


def test_timeline_and_bucket_pages(graph_world: World) -> None:
    w = graph_world
    days = w.client.get(f"{V}/timeline", headers=w.reader).json()
    counts = {b["start"]: b["count"] for b in days["buckets"]}
    assert {"2024-04-01": 1, "2024-05-01": 1, "2024-05-02": 1}.items() <= counts.items()
    admin_total = w.client.get(f"{V}/timeline", headers=w.admin).json()["total"]
    assert admin_total == days["total"] + 1  # the TLP:RED report
    mentions = w.client.get(f"{V}/timeline", params={"entity_id": ENTITY_ID},
                            headers=w.reader).json()
    assert [(b["start"], b["count"]) for b in mentions["buckets"]] == [("2024-05-01", 1)]
    weeks = w.client.get(f"{V}/timeline", params={"interval": "week", "country": "fr"},
                         headers=w.reader).json()
    assert [(b["start"], b["end"]) for b in weeks["buckets"]] == [("2024-04-29", "2024-05-06")]
    page = w.client.get(f"{V}/timeline/documents",
                        params={"start": "2024-05-01", "limit": 1}, headers=w.reader).json()
    assert page["total"] == 1 and page["items"][0]["id"] == w.original.id
    assert page["items"][0]["source"] == "outlet-a" and page["next"] is None
    assert w.client.get(f"{V}/timeline", params={"interval": "hour"},
                        headers=w.reader).status_code == 422


def test_map_and_offline_basemap(graph_world: World) -> None:
    w = graph_world
    response = w.client.get(f"{V}/map", headers=w.reader)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    [feature] = response.json()["features"]
    assert feature["geometry"]["coordinates"] == [2.3488, 48.85341]
    assert feature["properties"]["documents"] == 1
    assert w.client.get(f"{V}/map", params={"country": "DE"},
                        headers=w.reader).json()["features"] == []
    basemap = w.client.get(f"{V}/map/basemap", headers=w.reader)
    assert basemap.status_code == 200 and basemap.json()["type"] == "FeatureCollection"
