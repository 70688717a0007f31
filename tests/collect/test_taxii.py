"""The TAXII collector against a real TAXII 2.1 server: medallion (OASIS's reference server,
memory backend) in a thread on 127.0.0.1, serving real STIX — a subset of MITRE ATT&CK for ICS
18.1 and the OASIS STIX 2.1 examples from the shared samples folder. Covers discovery → API
roots → collections, pagination, ``added_after`` checkpoints and resume, markings across pages,
bad pages and objects, authentication, the address guard, and a cross-check of what we collect
against what the real ``taxii2-client`` reads from the same server."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import medallion
import pytest
from flask import Flask
from medallion.backends.memory_backend import (
    MemoryBackend,
)
from medallion.exceptions import (
    BackendError,
    ProcessingError,
)
from medallion.views import (
    collections as collections_view,
)
from medallion.views import discovery as discovery_view
from medallion.views import manifest as manifest_view
from medallion.views import objects as objects_view
from taxii2client.v21 import Collection, Server, as_pages
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from allsource.collect.base import CollectContext
from allsource.collect.runner import RunResult, run_source
from allsource.collect.stix import ParsedBundle, map_bundle
from allsource.collect.taxii import TaxiiCollector, parse_envelope
from allsource.config import Settings
from allsource.errors import FetchError, InputError, SourceError
from allsource.model.markings import TLP, Audience, Classification, Marking
from allsource.model.records import Checkpoint, Collected, Item, Rejected, Source
from allsource.process.rebuild import rebuild_documents
from allsource.store.sql import SqlStore

OWNER = Audience.owner()
GREEN_READER = Audience(max_tlp=TLP.GREEN, clearance=Classification.UNCLASSIFIED)
USER, PASSWORD, TOKEN = "analyst", "correct horse battery", "tok-3f1c9a"
PASSWORD_ENV, TOKEN_ENV = "ALLSOURCE_TEST_TAXII_PASSWORD", "ALLSOURCE_TEST_TAXII_TOKEN"

ICS = "c1a7d21e-5d1b-4e3f-9a51-6f0b1c2d3e4f"
OASIS = "0f2a9b3c-7e41-4d55-8c6a-2b9e8d7f6a51"
CLOSED = "7d0e4f1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
BROKEN = "9e8d7c6b-5a49-4382-9716-0a1b2c3d4e5f"
MEDIA_21 = "application/stix+json;version=2.1"
TAXII_21 = "application/taxii+json;version=2.1"
RED_CAMPAIGN = "campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"
#: a partner's own marking definition, recognised as TLP:AMBER by its name
AMBER_DEF = {"type": "marking-definition", "spec_version": "2.1",
             "id": "marking-definition--3b5a1f0e-8c2d-4e6f-a1b3-c5d7e9f1a2b4",
             "created": "2024-01-01T00:00:00.000Z", "name": "TLP:AMBER",
             "definition_type": "statement",
             "definition": {"statement": "TLP:AMBER — ISAC members only"}}


# -- the server -------------------------------------------------------------------------------
def _date(i: int) -> str:
    return f"2024-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000000Z"


def _version(obj: dict[str, Any]) -> str:
    return str(obj.get("modified") or obj.get("created") or obj["_date_added"])


def _collection(cid: str, title: str, objects: list[dict[str, Any]], *,
                can_read: bool = True) -> dict[str, Any]:
    """A medallion memory-backend collection; object i gets date_added _date(i)."""
    objects = [dict(o) for o in objects]
    for i, obj in enumerate(objects):
        if "modified" not in obj and "created" not in obj:
            obj["_date_added"] = _date(i)  # SCOs: medallion versions them by date added
    return {"id": cid, "title": title, "can_read": can_read, "can_write": True,
            "media_types": [MEDIA_21], "objects": objects,
            "manifest": [{"id": o["id"], "date_added": _date(i), "version": _version(o),
                          "media_type": MEDIA_21} for i, o in enumerate(objects)]}


def _ics_subset(samples: Path) -> list[dict[str, Any]]:
    """The ATT&CK marking definition and identity, the first 6 objects of every other type
    and the relationships among them: 95 objects (medallion's memory backend is too slow
    to serve all 1,826 in a unit test)."""
    objects = json.loads((samples / "attack/ics-attack-18.1.json").read_bytes())["objects"]
    head = [o for o in objects if o["type"] in ("marking-definition", "identity")]
    per_type: Counter[str] = Counter()
    body = []
    for obj in objects:
        if obj["type"] not in ("marking-definition", "identity", "relationship"):
            per_type[obj["type"]] += 1
            if per_type[obj["type"]] <= 6:
                body.append(obj)
    ids = {o["id"] for o in head + body}
    rels = [o for o in objects if o["type"] == "relationship"
            and o["source_ref"] in ids and o["target_ref"] in ids]
    return head + body + rels


def _oasis_objects(samples: Path) -> list[dict[str, Any]]:
    """The small OASIS STIX 2.1 examples, one version per id, with the TLP:RED marked campaign
    (a bare object) and a partner AMBER definition that the *last* indicator refers to."""
    seen: dict[str, dict[str, Any]] = {}
    for path in sorted((samples / "stix").glob("*.json")):
        doc = json.loads(path.read_bytes())
        for obj in doc.get("objects", [doc]):
            seen.setdefault(obj["id"], obj)
    objects = [AMBER_DEF, *seen.values()]
    last = max(i for i, o in enumerate(objects) if o["type"] == "indicator")
    objects[last] = {**objects[last], "object_marking_refs": [AMBER_DEF["id"]]}
    return objects


def _poisonivy(samples: Path) -> list[dict[str, Any]]:
    return list(json.loads((samples / "stix/threat-reports/poisonivy.json").read_bytes())
                ["objects"])


def _broken_objects(samples: Path) -> list[dict[str, Any]]:
    """A real bundle with two objects spoiled the way broken feeds spoil them."""
    objects = json.loads((samples / "stix/indicator-to-campaign-relationship.json")
                         .read_bytes())["objects"]
    rel = next(i for i, o in enumerate(objects) if o["type"] == "relationship")
    objects[rel] = {**objects[rel], "target_ref": "campaign"}
    return [*objects, {**objects[0], "id": "indicator--not-a-uuid"}]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:
        pass


@dataclass
class _Front:
    """WSGI middleware in front of medallion: logs requests, accepts a bearer token (medallion
    only speaks basic auth), and can truncate chosen object pages (counted from 1) or make
    the server ignore ``next``."""

    app: Callable[..., Iterable[bytes]]
    log: list[tuple[str, dict[str, list[str]], str]] = field(default_factory=list)
    truncate: set[int] = field(default_factory=set)
    ignore_next: bool = False
    object_pages: int = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        path, auth = environ["PATH_INFO"], environ.get("HTTP_AUTHORIZATION", "")
        self.log.append((path, parse_qs(environ.get("QUERY_STRING", "")), auth))
        if auth == f"Bearer {TOKEN}":
            environ["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(
                f"{USER}:{PASSWORD}".encode()).decode()
        if not (path.endswith("/objects/") and environ["REQUEST_METHOD"] == "GET"):
            return self.app(environ, start_response)
        if self.ignore_next:  # a broken server: every request gets the first page again
            environ["QUERY_STRING"] = "&".join(
                q for q in environ["QUERY_STRING"].split("&") if not q.startswith("next="))
        self.object_pages += 1
        if self.object_pages not in self.truncate:
            return self.app(environ, start_response)
        captured: list[Any] = []
        body = b"".join(self.app(environ, lambda status, headers, *_: captured.extend(
            [status, headers])))
        body = body[: len(body) // 2]
        headers = [(k, v) for k, v in captured[1] if k.lower() != "content-length"]
        start_response(captured[0], [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def objects_requests(self, collection: str) -> list[dict[str, list[str]]]:
        return [q for p, q, _ in self.log if p.endswith(f"/collections/{collection}/objects/")]


@dataclass
class Taxii:
    base: str
    backend: MemoryBackend
    front: _Front

    @property
    def discovery(self) -> str:
        return f"{self.base}/taxii2/"

    def objects(self, api_root: str, cid: str) -> list[dict[str, Any]]:
        for collection in self.backend.data[api_root]["collections"]:
            if collection["id"] == cid:
                return [{k: v for k, v in o.items() if k != "_date_added"}
                        for o in collection["objects"]]
        raise KeyError(cid)

    def last_added(self, api_root: str, cid: str) -> str:
        for collection in self.backend.data[api_root]["collections"]:
            if collection["id"] == cid:
                return str(max(m["date_added"] for m in collection["manifest"]))
        raise KeyError(cid)

    def client_collection(self, cid: str, api_root: str = "api1") -> Collection:
        return Collection(f"{self.base}/{api_root}/collections/{cid}/", user=USER,
                          password=PASSWORD)


def _medallion_app() -> Flask:
    """medallion's app, built per test (its module-level app can be configured only once)."""
    app = Flask("medallion-under-test")
    app.users_backend = {USER: PASSWORD}  # type: ignore[attr-defined]
    app.taxii_config = {"max_page_size": 1000}  # type: ignore[attr-defined]
    for view in (collections_view.collections_bp, discovery_view.discovery_bp,
                 manifest_view.manifest_bp, objects_view.objects_bp):
        app.register_blueprint(view)
    app.register_error_handler(ProcessingError, medallion.handle_processing_error)
    app.register_error_handler(BackendError, medallion.handle_backend_error)
    return app


@pytest.fixture(scope="module")
def served(samples: Path) -> dict[str, list[dict[str, Any]]]:
    """The objects each collection serves (read once; _collection copies them)."""
    return {ICS: _ics_subset(samples), OASIS: _oasis_objects(samples),
            CLOSED: _poisonivy(samples)[:5], BROKEN: _broken_objects(samples)}


@pytest.fixture
def taxii(served: dict[str, list[dict[str, Any]]]) -> Iterator[Taxii]:
    app = _medallion_app()
    front = _Front(app)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, front, threaded=True,
                                         request_handler=_QuietHandler)
    base = f"http://127.0.0.1:{server.server_port}"
    info = {"versions": [TAXII_21], "max_content_length": 50_000_000}
    backend = MemoryBackend(check_interval=3600)
    backend.data = {
        "/discovery": {"title": "allsource test TAXII server", "default": f"{base}/api1/",
                       "api_roots": [f"{base}/api1/", f"{base}/intel/"]},
        "api1": {"information": {"title": "Shared threat intel", **info}, "status": [],
                 "collections": [
                     _collection(ICS, "ATT&CK for ICS", served[ICS]),
                     _collection(OASIS, "OASIS examples", served[OASIS]),
                     _collection(CLOSED, "Members only", served[CLOSED], can_read=False)]},
        "intel": {"information": {"title": "Partner feed", **info}, "status": [],
                  "collections": [_collection(BROKEN, "Broken feed", served[BROKEN])]},
    }
    app.medallion_backend = backend  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    yield Taxii(base, backend, front)
    server.shutdown()
    thread.join()


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


# -- helpers ----------------------------------------------------------------------------------
def _source(location: str, *, name: str = "taxii", allow_private: bool = True,
            **config: Any) -> Source:
    options = {"username": USER, "password_env": PASSWORD_ENV, **config}
    return Source(name=name, kind="taxii", location=location, allow_private=allow_private,
                  marking=Marking(tlp=TLP.GREEN),
                  config={k: v for k, v in options.items() if v is not None})


def _run(store: SqlStore, ctx: CollectContext, source: Source) -> RunResult:
    if store.get_source(source.name) is None:
        store.add_source(source)
    return run_source(store, source, ctx, collector_cls=TaxiiCollector)


def _items(ctx: CollectContext, source: Source,
           checkpoint: dict[str, Any] | None = None) -> list[Item]:
    return list(TaxiiCollector(source, ctx).collect(checkpoint or {}))


def _versions(items: Sequence[Item]) -> set[tuple[str, str | None]]:
    """(id, modified) of every object and relationship collected."""
    found: set[tuple[str, str | None]] = set()
    for item in items:
        if isinstance(item, Collected):
            found |= {(o.id, o.stix.get("modified")) for o in item.objects}
            found |= {(r.id, r.stix.get("modified")) for r in item.relationships}
    return found


def _get(store: SqlStore, object_id: str, audience: Audience = OWNER) -> dict[str, Any]:
    found = store.get(object_id, audience)
    assert found is not None, object_id
    return found


def _checkpoints(items: Sequence[Item]) -> list[dict[str, Any]]:
    return [i.state for i in items if isinstance(i, Checkpoint)]


def _key(cid: str, api_root: str = "api1") -> str:
    """A collection's checkpoint key: its API root's name and its id (not its URL)."""
    return f"{api_root}/{cid}"


def _objects_url(taxii: Taxii, cid: str, api_root: str = "api1") -> str:
    return f"{taxii.base}/{api_root}/collections/{cid}/objects/"


# -- discovery, collections, store ------------------------------------------------------------
def test_discovery_default_api_root_readable_collections_into_store(
        store: SqlStore, ctx: CollectContext, taxii: Taxii, password: None) -> None:
    result = _run(store, ctx, _source(taxii.discovery))
    assert result.status == "ok", result.errors
    assert result.counts.quarantined == 0

    # discovery → the default API root only → its collections → objects of the readable ones
    paths = [p for p, _, _ in taxii.front.log]
    assert paths[:2] == ["/taxii2/", "/api1/collections/"]
    assert "/intel/collections/" not in paths
    assert not taxii.front.objects_requests(CLOSED)
    for cid in (ICS, OASIS):
        for obj in taxii.objects("api1", cid):
            assert store.get(obj["id"], OWNER) is not None, obj["id"]
    assert all(store.get(o["id"], OWNER) is None for o in taxii.objects("api1", CLOSED))
    assert store.get("indicator--not-a-uuid", OWNER) is None  # the other API root

    # mapped like the STIX collector maps a bundle: an ATT&CK technique is a document
    technique = next(o for o in taxii.objects("api1", ICS) if o["type"] == "attack-pattern")
    doc = _get(store, _get(store, technique["id"])["provenance"][0]["document_id"])
    assert doc["kind"] == "attack-pattern"
    assert doc["title"] == technique["name"] and doc["blob_ref"] == f"object:{technique['id']}"
    envelope = parse_envelope(store.blobs.get(doc["blob_sha256"]))
    assert not isinstance(envelope, str) and technique in envelope.objects

    # the TLP:RED marked campaign keeps its marking; the rest gets the source default
    assert store.get(RED_CAMPAIGN, GREEN_READER) is None
    assert _get(store, RED_CAMPAIGN)["marking"]["tlp"] == "TLP:RED"
    assert _get(store, technique["id"], GREEN_READER)["marking"]["tlp"] == "TLP:GREEN"

    state = store.get_checkpoint(_source(taxii.discovery).id)["collections"]
    assert set(state) == {_key(ICS), _key(OASIS)}
    assert state[_key(ICS)] == {"added_after": taxii.last_added("api1", ICS),
                                "title": "ATT&CK for ICS"}


def test_objects_match_what_taxii2_client_reads(ctx: CollectContext, taxii: Taxii,
                                                password: None) -> None:
    """Cross-check: the real taxii2-client, paging with as_pages, reads the same objects."""
    server = Server(taxii.discovery, user=USER, password=PASSWORD)
    assert [r.url for r in server.api_roots] == [f"{taxii.base}/api1/", f"{taxii.base}/intel/"]
    assert server.default.url == f"{taxii.base}/api1/"
    titles = {c.title: c for c in server.default.collections}
    assert set(titles) == {"ATT&CK for ICS", "OASIS examples", "Members only"}

    for title in ("ATT&CK for ICS", "OASIS examples"):
        expected: set[tuple[str, str | None]] = set()
        for envelope in as_pages(titles[title].get_objects, per_request=20):
            expected |= {(o["id"], o.get("modified")) for o in envelope.get("objects", [])}
        ours = _versions(_items(ctx, _source(taxii.discovery, collection=title,
                                             page_size=20)))
        if title == "OASIS examples":
            assert (AMBER_DEF["id"], None) in ours  # the partner definition, read on page 1
        assert ours == expected and len(expected) >= 29


# -- pagination and checkpoints ---------------------------------------------------------------
def test_small_page_size_pages_with_next_and_checkpoints_each_page(
        ctx: CollectContext, taxii: Taxii, password: None) -> None:
    items = _items(ctx, _source(taxii.discovery, collection=ICS, page_size=25))
    requests = taxii.front.objects_requests(ICS)
    total = len(taxii.objects("api1", ICS))  # 95
    assert len(requests) == -(-total // 25) == 4
    assert requests[0] == {"limit": ["25"]}
    assert all(q["limit"] == ["25"] and "next" in q for q in requests[1:])

    # a checkpoint after each page's items, moving to that page's last date_added
    checkpoints = _checkpoints(items)
    marks = [c["collections"][_key(ICS)]["added_after"] for c in checkpoints]
    assert marks == [_date(24), _date(49), _date(74), _date(total - 1)]
    assert isinstance(items[-1], Checkpoint)
    pages = [i for i in items if isinstance(i, Collected) and i.document.kind == "stix-bundle"]
    assert len(pages) == 4
    assert pages[0].document.title == f"ATT&CK for ICS (TAXII, added {_date(0)} to {_date(24)})"
    assert len(_versions(items)) == total


def test_resume_after_a_crash_reads_only_the_pages_not_committed(
        ctx: CollectContext, taxii: Taxii, password: None) -> None:
    source = _source(taxii.discovery, collection=ICS, page_size=25)
    first: list[Item] = []
    for item in TaxiiCollector(source, ctx).collect({}):
        first.append(item)
        if len(_checkpoints(first)) == 2:
            break  # the process dies after committing two pages
    rest = _items(ctx, source, _checkpoints(first)[-1])
    resumed = taxii.front.objects_requests(ICS)[2:]
    assert resumed[0] == {"limit": ["25"], "added_after": [_date(49)]}
    assert len(resumed) == 2 and resumed[1]["added_after"] == [_date(49)]  # same filter + next
    assert not _versions(first) & _versions(rest)
    assert len(_versions(first) | _versions(rest)) == len(taxii.objects("api1", ICS))


def test_a_checkpoint_keyed_by_an_older_url_is_carried_over(
        ctx: CollectContext, taxii: Taxii, password: None) -> None:
    """A checkpoint written under the objects URL (as before, and with the server at another
    address since) is resumed from, and rewritten under the collection's key."""
    source = _source(taxii.discovery, collection=ICS, page_size=25)
    moved = f"http://192.0.2.7:8080/api1/collections/{ICS}/objects/"
    items = _items(ctx, source, {"collections": {moved: {"added_after": _date(49),
                                                         "title": "ATT&CK for ICS"}}})
    assert taxii.front.objects_requests(ICS)[0] == {"limit": ["25"], "added_after": [_date(49)]}
    assert len(_versions(items)) == len(taxii.objects("api1", ICS)) - 50
    assert set(_checkpoints(items)[-1]["collections"]) == {_key(ICS)}


def test_second_collect_reads_only_objects_added_since(
        store: SqlStore, ctx: CollectContext, taxii: Taxii, samples: Path,
        password: None) -> None:
    source = _source(taxii.discovery, collection="oasis examples", page_size=10)
    first = _run(store, ctx, source)
    assert first.status == "ok" and first.counts.new > 10
    checkpoint = store.get_checkpoint(source.id)
    mark = checkpoint["collections"][_key(OASIS)]["added_after"]
    assert mark == taxii.last_added("api1", OASIS)

    # a partner publishes two objects from the APT1 report with the real taxii2-client; one
    # carries the partner AMBER definition, which is not on the new page
    apt1 = json.loads((samples / "stix/threat-reports/apt1.json").read_bytes())["objects"]
    actor = next(o for o in apt1 if o["type"] == "threat-actor")
    tool = {**next(o for o in apt1 if o["type"] == "tool"),
            "object_marking_refs": [AMBER_DEF["id"]]}
    status = taxii.client_collection(OASIS).add_objects(
        {"objects": [actor, tool]}, wait_for_completion=False)
    assert status.success_count == 2

    new = _items(ctx, source, checkpoint)
    assert taxii.front.objects_requests(OASIS)[-1] == {"limit": ["10"], "added_after": [mark]}
    # only the new objects (plus the TLP-bearing definition they need, fetched by id)
    # the definition fetched by id resolves the marking but is not part of the page's items
    assert {i for i, _ in _versions(new)} == {actor["id"], tool["id"]}
    assert any(p.endswith(f"/objects/{AMBER_DEF['id']}/") for p, _, _ in taxii.front.log)

    second = run_source(store, source, ctx, collector_cls=TaxiiCollector)
    assert second.status == "ok" and second.counts.new == 3  # 2 documents + the page document
    assert _get(store, tool["id"])["marking"]["tlp"] == "TLP:AMBER"
    assert _get(store, actor["id"])["marking"]["tlp"] == "TLP:GREEN"
    assert _items(ctx, source, store.get_checkpoint(source.id)) == []  # nothing new


def test_marking_definition_on_an_earlier_page_applies_to_later_pages(
        ctx: CollectContext, taxii: Taxii, password: None) -> None:
    items = _items(ctx, _source(taxii.discovery, collection=OASIS, page_size=5))
    marked = [o for i in items if isinstance(i, Collected) for o in i.objects
              if o.stix.get("object_marking_refs") == [AMBER_DEF["id"]]]
    assert len(marked) == 1 and marked[0].marking.tlp is TLP.AMBER
    first_page = next(i for i in items if isinstance(i, Collected)
                      and i.document.kind == "stix-bundle")
    assert AMBER_DEF["id"] in {o.id for o in first_page.objects}
    # it came from page 1, so it was never fetched by id (the unknown id the OASIS interop
    # campaign refers to was looked up once, answered 404, and says nothing about TLP)
    fetched = [p.rsplit("/", 2)[-2] for p, _, _ in taxii.front.log
               if "/objects/marking-definition--" in p]
    assert fetched == ["marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec"]



def test_rebuild_maps_kept_pages_again_without_asking_the_server(
        store: SqlStore, ctx: CollectContext, settings: Settings, taxii: Taxii,
        password: None) -> None:
    source = _source(taxii.discovery, collection=OASIS, page_size=5)
    assert _run(store, ctx, source).status == "ok"
    before = {d: store.get(d, OWNER) for d in store.document_ids()}
    asked = len(taxii.front.log)

    result = rebuild_documents(store, settings, [source.id])
    assert (result.documents, result.changed, result.not_rebuilt) == (len(before), 0, 0)
    assert len(taxii.front.log) == asked
    # the object marked through a definition on an earlier page stays TLP:AMBER, though its
    # page alone no longer says so: a rebuild never loosens a marking
    marked = next(o for o in taxii.objects("api1", OASIS)
                  if o.get("object_marking_refs") == [AMBER_DEF["id"]])
    assert _get(store, marked["id"])["marking"]["tlp"] == "TLP:AMBER"
    assert {d: store.get(d, OWNER) for d in store.document_ids()} == before

# -- bad pages and objects --------------------------------------------------------------------
def test_truncated_page_is_quarantined_and_the_collection_goes_on(
        store: SqlStore, ctx: CollectContext, taxii: Taxii, password: None) -> None:
    taxii.front.truncate = {2}
    result = _run(store, ctx, _source(taxii.discovery, collection=ICS, page_size=25))
    assert result.status == "ok" and result.counts.quarantined == 1

    (entry,) = store.list_quarantine()
    assert "ATT&CK for ICS" in entry["reason"] and "page 2" in entry["reason"]
    assert "not valid JSON" in entry["reason"]
    raw = store.blobs.get(entry["blob_sha256"])  # the raw (cut) page, kept for a retry
    assert raw.startswith(b"{") and len(raw) > 1000 and isinstance(parse_envelope(raw), str)
    assert entry["item_ref"].startswith(_objects_url(taxii, ICS) + "?")

    # reading went on from the bad page's X-TAXII-Date-Added-Last
    assert taxii.front.objects_requests(ICS)[2] == {"limit": ["25"], "added_after": [_date(49)]}
    objects = taxii.objects("api1", ICS)
    assert all(store.get(o["id"], OWNER) is None for o in objects[25:50])
    assert all(store.get(o["id"], OWNER) is not None for o in objects[:25] + objects[50:])
    state = store.get_checkpoint(_source(taxii.discovery).id)["collections"]
    assert state[_key(ICS)]["added_after"] == taxii.last_added("api1", ICS)


def test_a_server_repeating_a_page_does_not_loop(store: SqlStore, ctx: CollectContext,
                                                taxii: Taxii, password: None) -> None:
    taxii.front.ignore_next = True
    result = _run(store, ctx, _source(taxii.discovery, collection=ICS, page_size=25))
    assert result.status == "failed"
    assert result.errors == [f"TAXII server at {_objects_url(taxii, ICS)} sent page 1 again as "
                             "page 2; stopped paging to avoid a loop"]
    assert len(taxii.front.objects_requests(ICS)) == 2
    first_page = taxii.objects("api1", ICS)[:25]
    assert all(store.get(o["id"], OWNER) is not None for o in first_page)  # committed


def test_bad_objects_are_rejected_one_by_one(store: SqlStore, ctx: CollectContext,
                                             taxii: Taxii, password: None) -> None:
    result = _run(store, ctx, _source(taxii.discovery, api_root="intel"))
    assert result.status == "ok" and result.counts.quarantined == 2
    reasons = sorted(q["reason"] for q in store.list_quarantine())
    assert any('has no valid "target_ref"' in r for r in reasons)
    assert any("indicator--not-a-uuid" in r and 'invalid "id"' in r for r in reasons)
    assert all("#objects[" in q["item_ref"] for q in store.list_quarantine())
    good = [o for o in taxii.objects("intel", BROKEN)
            if o["id"] != "indicator--not-a-uuid" and o["type"] != "relationship"]
    assert good and all(store.get(o["id"], OWNER) is not None for o in good)


def test_reparse_a_quarantined_page_and_object(ctx: CollectContext, taxii: Taxii,
                                               password: None) -> None:
    collector = TaxiiCollector(_source(taxii.discovery), ctx)
    served = taxii.objects("intel", BROKEN)
    page = json.dumps({"more": False, "objects": served}).encode()
    items = list(collector.reparse(page, "page"))
    assert sum(isinstance(i, Rejected) for i in items) == 2
    good = {o["id"] for o in served if o["type"] in ("indicator", "campaign")} - {
        "indicator--not-a-uuid"}
    assert {i for i, _ in _versions(items)} == good and len(good) == 2
    obj = served[0]
    assert {i for i, _ in _versions(list(collector.reparse(json.dumps(obj).encode(),
                                                           "x#objects[0]")))} == {obj["id"]}
    with pytest.raises(InputError, match="not valid JSON"):
        list(collector.reparse(page[: len(page) // 2], "page"))


def test_pages_map_exactly_like_the_stix_collector_maps_a_bundle(
        ctx: CollectContext, taxii: Taxii, password: None) -> None:
    served = taxii.objects("api1", ICS)
    bundle = ParsedBundle("ics.json", None, None, served, 1)
    as_bundle = [i for i in map_bundle(bundle, "0" * 64, Marking(tlp=TLP.GREEN), "ics.json",
                                       ctx.settings.max_item_bytes) if isinstance(i, Collected)]
    as_pages = [i for i in _items(ctx, _source(taxii.discovery, collection=ICS, page_size=30))
                if isinstance(i, Collected)]

    def documents(items: list[Collected]) -> dict[str, tuple[Any, ...]]:
        return {i.document.id: (i.document.kind, i.document.title, i.document.text,
                                i.document.marking, sorted(o.id for o in i.objects),
                                sorted(r.id for r in i.relationships))
                for i in items if i.document.kind != "stix-bundle"}

    # relationships ride on their source's document only when both are on the same page
    assert {k: v[:4] for k, v in documents(as_pages).items()} == {
        k: v[:4] for k, v in documents(as_bundle).items()}
    assert len(documents(as_bundle)) > 50
    assert _versions(as_pages) == _versions(as_bundle)


# -- configuration and errors -----------------------------------------------------------------
def test_api_root_option_and_api_root_location(ctx: CollectContext, taxii: Taxii,
                                               password: None) -> None:
    by_name = _versions(_items(ctx, _source(taxii.discovery, api_root="intel")))
    by_url = _versions(_items(ctx, _source(f"{taxii.base}/intel")))  # the API root itself
    assert by_name == by_url and ("indicator--not-a-uuid", None) not in by_name
    assert by_name and not taxii.front.objects_requests(ICS)


def test_bearer_token(ctx: CollectContext, taxii: Taxii,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    source = _source(taxii.discovery, collection=ICS, username=None, password_env=None,
                     token_env=TOKEN_ENV)
    assert len(_versions(_items(ctx, source))) == len(taxii.objects("api1", ICS))
    assert {auth for _, _, auth in taxii.front.log} == {f"Bearer {TOKEN}"}


def test_wrong_password_fails_the_run_with_one_clear_line(
        store: SqlStore, ctx: CollectContext, taxii: Taxii,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    result = _run(store, ctx, _source(taxii.discovery))
    assert result.status == "failed"
    assert result.errors == [f"TAXII server at {taxii.discovery} refused the credentials "
                             "(HTTP 401): check the source's username and password_env, or "
                             "token_env, options"]
    status = store.source_status(_source(taxii.discovery).id)
    assert "HTTP 401" in status["last_status"] and status["last_run"]["status"] == "failed"


@pytest.mark.parametrize(("config", "message"), [
    ({"password_env": "ALLSOURCE_TEST_TAXII_UNSET"},
     "environment variable ALLSOURCE_TEST_TAXII_UNSET is not set"),
    ({"password": "hunter2", "password_env": None}, "do not store the password in the source"),
    ({"page_size": "lots"}, "option page_size='lots'"),
])
def test_bad_options_fail_the_run(store: SqlStore, ctx: CollectContext, taxii: Taxii,
                                  password: None, config: dict[str, Any], message: str) -> None:
    result = _run(store, ctx, _source(taxii.discovery, **config))
    assert result.status == "failed" and message in result.errors[0]
    assert taxii.front.log == []  # nothing was sent


def test_unknown_collection_names_the_available_ones(
        store: SqlStore, ctx: CollectContext, taxii: Taxii, password: None) -> None:
    result = _run(store, ctx, _source(taxii.discovery, collection="ransomware"))
    assert result.status == "failed"
    assert result.errors == [
        f"TAXII collection 'ransomware' not found at {taxii.base}/api1/; available: "
        f"'ATT&CK for ICS' ({ICS}), 'OASIS examples' ({OASIS}), 'Members only' ({CLOSED})"]


@pytest.mark.parametrize(("location", "config", "message"), [
    ("{base}/taxii2/", {"collection": "members only"}, "is not readable with these credentials"),
    ("{base}/taxii2/", {"api_root": "nope"}, "TAXII API root 'nope' not found"),
    ("{base}/nothere/", {}, "not found (HTTP 404): give a TAXII 2.1 discovery URL"),
])
def test_unusable_locations_and_options(ctx: CollectContext, taxii: Taxii, password: None,
                                        location: str, config: dict[str, Any],
                                        message: str) -> None:
    source = _source(location.format(base=taxii.base), **config)
    with pytest.raises((FetchError, SourceError), match=re.escape(message)):
        _items(ctx, source)


def test_private_address_is_blocked_without_allow_private(
        store: SqlStore, ctx: CollectContext, taxii: Taxii, password: None) -> None:
    result = _run(store, ctx, _source(taxii.discovery, allow_private=False))
    assert result.status == "failed"
    assert "non-public address 127.0.0.1" in result.errors[0]
    assert taxii.front.log == []


def test_unreachable_server(store: SqlStore, ctx: CollectContext, password: None) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _run(store, ctx, _source(f"http://127.0.0.1:{port}/taxii2/"))
    assert result.status == "failed"
    assert result.errors[0].startswith(f"GET http://127.0.0.1:{port}/taxii2/ failed")
    assert "Connection refused" in result.errors[0]


def test_detect(samples: Path) -> None:
    assert TaxiiCollector.detect("https://cti.example.org/taxii2/", b"") == 95
    assert TaxiiCollector.detect("https://limo.anomali.com/api/v1/taxii2/feeds/", b"") == 95
    assert TaxiiCollector.detect("https://example.org/taxii/", b"") == 80
    assert TaxiiCollector.detect("https://example.org/feed.xml", b"") == 0
    bundle = samples / "stix/threat-reports/apt1.json"
    assert TaxiiCollector.detect(str(bundle), bundle.read_bytes()[:4096]) == 0
    assert TaxiiCollector.detect("/data/taxii2/dump.json", b"{}") == 0
