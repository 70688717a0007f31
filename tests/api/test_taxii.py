"""The TAXII 2.1 routes (both backends): paging that sees every object exactly once while
objects are added, collections as sharing groups with every page cut to the token's access,
POST with status resources, versions and the TAXII error messages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from allsource.api import create_app
from allsource.config import Settings
from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Document, Mention, Source, StixObject
from allsource.share.taxii.collections import ALL, collections_for
from allsource.store import users
from allsource.store.sql import SqlStore
from tests.statements import statements

TAXII = "application/taxii+json;version=2.1"
ROOT = "/taxii2/allsource/"


def _uuid(n: int) -> str:
    return f"5d0c1f2e-8a47-4b3c-9e21-{n:012d}"


def indicator(n: int, modified: str = "2024-01-01T00:00:00.000Z",
              marking: Marking | None = None) -> StixObject:
    oid = f"indicator--{_uuid(n)}"
    stix = {"type": "indicator", "spec_version": "2.1", "id": oid,
            "created": "2024-01-01T00:00:00.000Z", "modified": modified, "name": f"bad {n}",
            "pattern": f"[ipv4-addr:value = '203.0.113.{n % 250}']", "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z"}
    return StixObject(oid, "indicator", f"bad {n}", stix, marking or Marking())


def write(store: SqlStore, objects: list[StixObject], tag: str) -> None:
    src = store.get_source("feed") or Source("feed", "stix", "/tmp/feed")
    if store.get_source("feed") is None:
        store.add_source(src)
    # one document per object, marked as the object, so each object's evidence is its own
    items = [Collected(Document.build(kind="bundle", title=f"{tag} {o.id}", text=o.id,
                                      marking=o.marking), [o], [], [Mention(o.id, "stix")])
             for o in objects]
    store.write_batch(src, items, [], None)


@dataclass
class Taxii:
    store: SqlStore
    client: TestClient
    owner: dict[str, str]
    acme: dict[str, str]
    other: dict[str, str]
    reader: dict[str, str]


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": TAXII}


@pytest.fixture
def taxii(store: SqlStore, settings: Settings) -> Iterator[Taxii]:
    _, owner = users.create_token(store, users.add_user(store, "owner", "admin"))
    _, acme = users.create_token(store, users.add_user(
        store, "acme-bot", "partner", max_tlp=TLP.AMBER_STRICT, groups=["acme"]))
    _, other = users.create_token(store, users.add_user(
        store, "globex-bot", "partner", max_tlp=TLP.AMBER_STRICT, groups=["globex"]))
    _, reader = users.create_token(store, users.add_user(store, "rita", "reader"))
    with TestClient(create_app(settings, store=store)) as client:
        yield Taxii(store, client, _headers(owner), _headers(acme), _headers(other),
                    _headers(reader))


def _collection(client: TestClient, headers: dict[str, str], title: str) -> str:
    r = client.get(ROOT + "collections/", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == TAXII
    return next(c["id"] for c in r.json()["collections"] if c["title"] == title)


def _walk(client: TestClient, url: str, headers: dict[str, str], limit: int,
          between: Any = None, **params: str) -> tuple[list[str], int]:
    """Every object id of a collection, page by page; ``between`` runs after each page."""
    seen: list[str] = []
    pages, cursor = 0, None
    while True:
        query = {"limit": str(limit), **params, **({"next": cursor} if cursor else {})}
        r = client.get(url, params=query, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        pages += 1
        seen += [o["id"] for o in body.get("objects", [])]
        assert len(body.get("objects", [])) <= limit
        if between is not None:
            between(pages)
        if not body["more"]:
            return seen, pages
        cursor = body["next"]


def test_paging_sees_every_object_once_while_objects_are_added(taxii: Taxii) -> None:
    write(taxii.store, [indicator(n) for n in range(30)], "first")
    added = iter(range(100, 200))
    written = [indicator(n).id for n in range(30)]

    def add_three(_: int) -> None:
        batch = [indicator(next(added)) for _ in range(3)]
        write(taxii.store, batch, "later")
        written.extend(o.id for o in batch)

    url = f"{ROOT}collections/{ALL.id}/objects/"
    seen, pages = _walk(taxii.client, url, taxii.owner, 7, between=add_three)
    # the walk ends when a page comes back without more: every object written before that
    # page was read is in it, once; the three added after the last page are not
    assert len(seen) == len(set(seen))
    assert set(seen) == set(written[:-3])
    assert pages >= 30 // 7
    # a second walk, nothing added: exactly what is stored
    again, _ = _walk(taxii.client, url, taxii.owner, 1000)
    assert sorted(again) == sorted(written)


def test_added_after_resumes_exactly_after_the_last_page(taxii: Taxii) -> None:
    write(taxii.store, [indicator(n) for n in range(12)], "batch")  # one date per object
    url = f"{ROOT}collections/{ALL.id}/objects/"
    r = taxii.client.get(url, params={"limit": "5"}, headers=taxii.owner)
    first = [o["id"] for o in r.json()["objects"]]
    last = r.headers["X-TAXII-Date-Added-Last"]
    rest, _ = _walk(taxii.client, url, taxii.owner, 100, added_after=last)
    assert len(first) == 5 and len(rest) == 7
    assert set(first).isdisjoint(rest)


def test_every_page_is_cut_to_the_token(taxii: Taxii) -> None:
    marks = {"clear": Marking(), "green": Marking(tlp=TLP.GREEN),
             "amber": Marking(tlp=TLP.AMBER),
             "strict-acme": Marking(tlp=TLP.AMBER_STRICT, releasability=frozenset({"acme"})),
             "strict-globex": Marking(tlp=TLP.AMBER_STRICT,
                                      releasability=frozenset({"globex"})),
             "red": Marking(tlp=TLP.RED)}
    objs = {name: indicator(n, marking=m) for n, (name, m) in enumerate(marks.items())}
    write(taxii.store, list(objs.values()), "marked")
    name_of = {o.id: name for name, o in objs.items()}

    def names(headers: dict[str, str], title: str, path: str = "objects/") -> set[str]:
        url = f"{ROOT}collections/{_collection(taxii.client, headers, title)}/{path}"
        return {name_of[i] for i in _walk(taxii.client, url, headers, 2)[0]}

    assert names(taxii.acme, "all") == {"clear", "green", "amber", "strict-acme"}
    assert names(taxii.acme, "acme") == {"clear", "green", "amber", "strict-acme"}
    assert names(taxii.other, "globex") == {"clear", "green", "amber", "strict-globex"}
    assert names(taxii.reader, "all") == {"clear", "green"}
    # TLP:RED never leaves, not even to the owner; the owner sees every group's collection
    assert names(taxii.owner, "all") == set(marks) - {"red"}
    assert names(taxii.owner, "acme") == {"clear", "green", "amber", "strict-acme"}
    assert names(taxii.acme, "acme", "manifest/") == {"clear", "green", "amber", "strict-acme"}
    # another group's collection is answered like one that does not exist
    globex = _collection(taxii.client, taxii.other, "globex")
    for path in ("", "objects/", "manifest/", f"objects/{objs['strict-globex'].id}/"):
        r = taxii.client.get(f"{ROOT}collections/{globex}/{path}", headers=taxii.acme)
        assert r.status_code == 404 and r.headers["content-type"] == TAXII
        assert r.json()["http_status"] == "404"
    assert {c.title for c in collections_for(taxii.store, users.get_user(
        taxii.store, "acme-bot").audience)} == {"all", "acme"}  # type: ignore[union-attr]
    # an object the token may not read is not found by id either
    acme_all = f"{ROOT}collections/{ALL.id}/objects/"
    for hidden in ("red", "strict-globex"):
        r = taxii.client.get(acme_all + objs[hidden].id + "/", headers=taxii.acme)
        assert r.status_code == 404


def _envelope(*objects: dict[str, Any]) -> bytes:
    return orjson.dumps({"objects": list(objects)})


def test_post_writes_to_the_group_and_answers_with_a_status(taxii: Taxii) -> None:
    acme = _collection(taxii.client, taxii.acme, "acme")
    green = indicator(1).stix | {"object_marking_refs": [
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}
    red = indicator(2).stix | {"object_marking_refs": [
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]}
    broken = {"type": "indicator", "id": "indicator--not-a-uuid"}
    r = taxii.client.post(f"{ROOT}collections/{acme}/objects/",
                          content=_envelope(green, red, broken),
                          headers={**taxii.acme, "Content-Type": TAXII})
    assert r.status_code == 202, r.text
    status = r.json()
    assert (status["total_count"], status["success_count"], status["failure_count"]) == (3, 1, 2)
    assert [s["id"] for s in status["successes"]] == [green["id"]]
    assert {f["id"] for f in status["failures"]} == {red["id"], broken["id"]}
    # the status is the submitter's to read again, nobody else's
    url = f"{ROOT}status/{status['id']}/"
    again = taxii.client.get(url, headers=taxii.acme)
    assert again.status_code == 200 and again.json()["success_count"] == 1
    assert taxii.client.get(url, headers=taxii.other).status_code == 404
    # released to acme: in acme's collection, not in globex's view of everything
    acme_ids = _walk(taxii.client, f"{ROOT}collections/{acme}/objects/", taxii.acme, 10)[0]
    globex_ids = _walk(taxii.client, f"{ROOT}collections/{ALL.id}/objects/", taxii.other,
                       10)[0]
    assert green["id"] in acme_ids and green["id"] not in globex_ids
    # a reader may not post; nobody posts to "all"; the body must be TAXII JSON
    for headers, target, status_code in ((taxii.reader, acme, 403), (taxii.acme, ALL.id, 403)):
        r = taxii.client.post(f"{ROOT}collections/{target}/objects/", content=_envelope(green),
                              headers={**headers, "Content-Type": TAXII})
        assert r.status_code == status_code and r.json()["http_status"] == str(status_code)
    r = taxii.client.post(f"{ROOT}collections/{acme}/objects/", content=b"[1]",
                          headers={**taxii.acme, "Content-Type": TAXII})
    assert r.status_code == 400


def test_a_partner_versions_only_what_its_group_posted(taxii: Taxii) -> None:
    """A newer version becomes current, so a partner may not post one of an object another
    source published (the feed's indicator stays as the feed said); its own posts it may
    version, and a new relationship to the feed's object is taken."""
    write(taxii.store, [indicator(30, "2024-01-01T00:00:00.000Z")], "feed")
    acme = _collection(taxii.client, taxii.acme, "acme")
    url = f"{ROOT}collections/{acme}/objects/"
    headers = {**taxii.acme, "Content-Type": TAXII}
    hijack = indicator(30, "2025-01-01T00:00:00.000Z").stix | {"name": "benign"}
    own = indicator(31, "2024-01-01T00:00:00.000Z").stix
    rel = {"type": "relationship", "spec_version": "2.1",
           "id": "relationship--5d0c1f2e-8a47-4b3c-9e21-000000000777",
           "created": "2024-03-01T00:00:00.000Z", "modified": "2024-03-01T00:00:00.000Z",
           "relationship_type": "related-to", "source_ref": own["id"],
           "target_ref": hijack["id"]}
    status = taxii.client.post(url, content=_envelope(hijack, own, rel), headers=headers).json()
    assert {s["id"] for s in status["successes"]} == {own["id"], rel["id"]}
    assert [f["id"] for f in status["failures"]] == [hijack["id"]]
    assert "creator" in status["failures"][0]["message"]
    base = f"{ROOT}collections/{ALL.id}/objects/"
    current = taxii.client.get(base + hijack["id"] + "/", headers=taxii.owner).json()
    assert [o["name"] for o in current["objects"]] == ["bad 30"]
    # its own object, posted again in a newer version, becomes current
    newer = own | {"modified": "2024-06-01T00:00:00.000Z", "name": "bad 31 (revised)"}
    status = taxii.client.post(url, content=_envelope(newer), headers=headers).json()
    assert status["success_count"] == 1, status
    current = taxii.client.get(base + own["id"] + "/", headers=taxii.owner).json()
    assert [o["name"] for o in current["objects"]] == ["bad 31 (revised)"]


def test_versions_newer_modified_is_current_older_listable(taxii: Taxii) -> None:
    write(taxii.store, [indicator(7, "2024-01-01T00:00:00.000Z")], "v1")
    write(taxii.store, [indicator(7, "2024-02-01T00:00:00.000Z")], "v2")
    oid = indicator(7).id
    base = f"{ROOT}collections/{ALL.id}/objects/"
    r = taxii.client.get(base + oid + "/versions/", headers=taxii.owner)
    assert r.json()["versions"] == ["2024-01-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z"]

    def modified(**params: str) -> list[str]:
        body = taxii.client.get(base, params=params, headers=taxii.owner).json()
        return [o["modified"] for o in body.get("objects", [])]

    assert modified() == ["2024-02-01T00:00:00.000Z"]
    assert modified(**{"match[version]": "first"}) == ["2024-01-01T00:00:00.000Z"]
    assert len(modified(**{"match[version]": "all"})) == 2
    assert modified(**{"match[version]": "2024-01-01T00:00:00Z"}) == [
        "2024-01-01T00:00:00.000Z"]
    assert modified(**{"match[type]": "malware"}) == []
    assert modified(**{"match[spec_version]": "2.0"}) == []
    assert len(modified(**{"match[id]": f"{oid},indicator--{_uuid(999)}",
                           "match[version]": "all"})) == 2


def test_errors_are_taxii_error_messages(taxii: Taxii) -> None:
    base = f"{ROOT}collections/{ALL.id}/objects/"
    for params in ({"next": "not-a-cursor"}, {"added_after": "yesterday"}, {"limit": "x"},
                   {"match[version]": "latest"}):
        r = taxii.client.get(base, params=params, headers=taxii.owner)
        assert r.status_code == 400 and r.headers["content-type"] == TAXII, params
        assert r.json()["http_status"] == "400" and r.json()["title"]
    r = taxii.client.get(base, headers={"Accept": TAXII})
    assert r.status_code == 401 and r.json()["http_status"] == "401"
    r = taxii.client.get(base, headers={**taxii.owner, "Accept": "text/html"})
    assert r.status_code == 406
    discovery = taxii.client.get("/taxii2/", headers=taxii.owner).json()
    assert discovery["default"].endswith(ROOT) and discovery["api_roots"] == [
        discovery["default"]]
    assert taxii.client.get(ROOT, headers=taxii.owner).json()["versions"] == [TAXII]


def test_two_server_processes_continue_each_others_cursors(taxii: Taxii,
                                                           settings: Settings) -> None:
    """A cursor is the whole paging state: pages alternate between two apps, each with its
    own store connection pool (as two ``serve --workers`` processes), and a third app
    started after the first pages (a restart) finishes the walk."""
    write(taxii.store, [indicator(n) for n in range(25)], "spread")
    same_db = settings.model_copy(update={"database_url": taxii.store.url})
    url = f"{ROOT}collections/{ALL.id}/objects/"
    seen: list[str] = []
    with TestClient(create_app(same_db)) as second:
        clients = [taxii.client, second]
        cursor = None
        for turn in range(3):
            params = {"limit": "4", **({"next": cursor} if cursor else {})}
            body = clients[turn % 2].get(url, params=params, headers=taxii.owner).json()
            seen += [o["id"] for o in body["objects"]]
            cursor = body["next"]
    with TestClient(create_app(same_db)) as restarted:
        while cursor:
            body = restarted.get(url, params={"limit": "4", "next": cursor},
                                 headers=taxii.owner).json()
            seen += [o["id"] for o in body.get("objects", [])]
            cursor = body.get("next")
    assert len(seen) == len(set(seen)) == 25


def test_a_page_is_one_statement_whatever_its_size(taxii: Taxii) -> None:
    """Bounded work, counted: a page of objects or manifest records reads ``object_versions``
    in one statement (``added_after`` included), and a request issues as many statements for
    40 objects as for 4, for the owner and for a partner whose every row passes the access
    rule."""
    write(taxii.store, [indicator(n) for n in range(60)], "counted")
    middle = taxii.client.get(f"{ROOT}collections/{ALL.id}/objects/", params={"limit": "10"},
                              headers=taxii.owner).headers["X-TAXII-Date-Added-Last"]
    counts: dict[tuple[str, str, int], tuple[int, int]] = {}
    for who, headers in (("owner", taxii.owner), ("acme", taxii.acme)):
        for path in ("objects/", "manifest/"):
            for limit in (4, 40):
                for params in ({}, {"added_after": middle}):
                    url = f"{ROOT}collections/{ALL.id}/{path}"
                    taxii.client.get(url, params={"limit": "1"}, headers=headers)  # warm
                    with statements(taxii.store) as seen:
                        r = taxii.client.get(url, params={"limit": str(limit), **params},
                                             headers=headers)
                    assert r.status_code == 200 and len(r.json()["objects"]) == limit
                    pages = [s for s in seen if "object_versions" in s]
                    assert len(pages) == 1, pages
                    counts[who, path + str(bool(params)), limit] = (len(seen), len(pages))
    for (who, path, limit), found in counts.items():
        assert found == counts[who, path, 4], (who, path, limit)


def test_added_after_is_found_on_the_date_index(taxii: Taxii) -> None:
    """``added_after`` turns into a sequence number by one look-up on ``date_added``'s index,
    not a walk of the primary key from the start (what ``min(seq)`` costs)."""
    if taxii.store.engine.dialect.name != "sqlite":
        pytest.skip("the query plan checked is SQLite's")
    write(taxii.store, [indicator(n) for n in range(5)], "dated")
    with statements(taxii.store) as seen:
        taxii.client.get(f"{ROOT}collections/{ALL.id}/objects/",
                         params={"added_after": "2000-01-01T00:00:00Z"}, headers=taxii.owner)
    page = next(s for s in seen if "object_versions" in s)
    with taxii.store.engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + page, ("2000-01-01 00:00:00.000000",) * page.count("?"))]
    later = [step for step in plan if "tx_later" in step or "date_added>" in step]
    assert later and all("INDEX" in step for step in later), plan
