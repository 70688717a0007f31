"""Partner sync between two allsource instances on loopback: instance B's TAXII collector
pulls instance A's ``all`` collection (ATT&CK for ICS 18.1, the shared samples) page by page
with its ``added_after`` checkpoint. The sync resumes after either side stops mid-way, asks A
only for what it has not committed yet, never stores a version twice, and a later run pulls
only the delta."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
import uvicorn
from taxii2client.v21 import Server, as_pages

from allsource.api import create_app
from allsource.collect.base import CollectContext
from allsource.collect.runner import RunResult, run_source
from allsource.collect.taxii import ID_CHUNK, TAXII_MEDIA_TYPE, TaxiiCollector
from allsource.config import Settings
from allsource.model.markings import TLP, Marking
from allsource.model.records import Source, StixObject
from allsource.share import sync_push
from allsource.share.sync import sync_collector, sync_source
from allsource.share.taxii.collections import collections_for
from allsource.share.taxii.pages import added
from allsource.store import open_store, users
from allsource.store import schema as t
from allsource.store.blobs import BlobStore
from allsource.store.sql import SqlStore
from tests.api.test_taxii import indicator, write
from tests.serving import free_port, serve
from tests.share.taxii.test_interop import Bearer, _load_ics

TOKEN_ENV = "ALLSOURCE_TEST_SYNC_TOKEN"
PAGE = 200
Scope = MutableMapping[str, Any]


@dataclass
class Counting:
    """ASGI middleware in front of instance A: counts object pages and can stop the server
    once ``stop_after`` pages were served (the next request finds it gone)."""

    app: Callable[..., Awaitable[None]]
    pages: int = 0
    objects: int = 0
    stop_after: int | None = None
    server: uvicorn.Server | None = None
    added_after: list[str | None] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/objects/"):
            if self.stop_after is not None and self.pages >= self.stop_after:
                if self.server is not None:
                    self.server.should_exit = True
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
            self.pages += 1
            query = scope.get("query_string", b"").decode()
            self.added_after.append(next((q.split("=", 1)[1] for q in query.split("&")
                                          if q.startswith("added_after=")), None))
            body = bytearray()

            async def counting(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.body":
                    body.extend(message.get("body", b""))
                    if not message.get("more_body") and body:
                        self.objects += len(orjson.loads(bytes(body)).get("objects", []))
                await send(message)

            await self.app(scope, receive, counting)
            return
        await self.app(scope, receive, send)


@dataclass
class Pair:
    a: SqlStore
    settings_a: Settings
    b: SqlStore
    ctx_b: CollectContext
    port: int
    ids: set[str]
    front: Counting | None = None
    thread: threading.Thread | None = None

    def start_a(self, stop_after: int | None = None) -> Counting:
        """(Re)start instance A: a fresh app over A's store, as after a restart."""
        front = Counting(create_app(self.settings_a, store=self.a), stop_after=stop_after)
        server, thread = serve(front, self.port)
        front.server = server
        self.front, self.thread = front, thread
        return front

    def stop_a(self) -> None:
        if self.front is not None and self.front.server is not None:
            self.front.server.should_exit = True
        if self.thread is not None:
            self.thread.join(10)

    def pull(self) -> RunResult:
        source = self.b.get_source("peer-a")
        assert source is not None
        return run_source(self.b, source, self.ctx_b, collector_cls=TaxiiCollector)

    def held(self) -> tuple[int, int]:
        """Objects and relationships B holds, and the versions it numbered."""
        return (self.b.count("objects") + self.b.count("relationships"),
                self.b.count("object_versions"))


@pytest.fixture
def pair(store: SqlStore, settings: Settings, samples: Path, tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    ids = _load_ics(store, samples)
    _, token = users.create_token(store, users.add_user(store, "peer-b", "admin"))
    monkeypatch.setenv(TOKEN_ENV, token)
    settings_b = settings.model_copy(update={
        "database_url": f"sqlite:///{tmp_path / 'b.db'}", "blob_dir": tmp_path / "b-blobs"})
    b = open_store(settings_b)
    port = free_port()
    b.add_source(Source("peer-a", "taxii", f"http://127.0.0.1:{port}/taxii2/",
                        allow_private=True, config={"token_env": TOKEN_ENV, "collection": "all",
                                                    "page_size": str(PAGE)}))
    p = Pair(store, settings, b, CollectContext(settings=settings_b,
                                                blobs=BlobStore(settings_b.blob_dir)),
             port, ids)
    yield p
    p.stop_a()
    b.close()


def test_sync_resumes_after_the_server_stops_and_pulls_only_the_rest(pair: Pair) -> None:
    pages = -(-len(pair.ids) // PAGE)
    front = pair.start_a(stop_after=3)
    first = pair.pull()
    assert first.status == "failed"
    pair.stop_a()
    held, _ = pair.held()
    assert 0 < held < len(pair.ids)
    again = pair.start_a()
    second = pair.pull()
    assert second.status == "ok", second.errors
    assert pair.held() == (len(pair.ids), len(pair.ids))
    # the restarted walk began after what B had committed: no page was read twice
    assert front.pages + again.pages <= pages + 1
    assert again.added_after[0] is not None


def test_sync_resumes_after_the_client_dies_without_duplicates(
        pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    front = pair.start_a()
    real = pair.b.write_batch
    committed = {"pages": 0}

    def dying(source: Source, items: Any, quarantined: Any, checkpoint: Any) -> Any:
        # killed in the batch after the first one that committed a page checkpoint
        if committed["pages"] == 1:
            raise KeyboardInterrupt("instance B killed mid-batch")
        counts = real(source, items, quarantined, checkpoint)
        committed["pages"] += checkpoint is not None
        return counts

    monkeypatch.setattr(pair.b, "write_batch", dying)
    with pytest.raises(KeyboardInterrupt):
        pair.pull()
    monkeypatch.setattr(pair.b, "write_batch", real)
    partial, _ = pair.held()
    assert 0 < partial < len(pair.ids)
    before = front.pages
    assert pair.pull().status == "ok"
    assert pair.held() == (len(pair.ids), len(pair.ids))
    assert front.pages - before < -(-len(pair.ids) // PAGE)  # only what was not committed

    # the delta: five new indicators on A, one page; then a newer version of one of them
    write(pair.a, [indicator(n) for n in range(5)], "delta")
    before = front.pages
    assert pair.pull().status == "ok" and front.pages - before == 1
    assert pair.held() == (len(pair.ids) + 5, len(pair.ids) + 5)
    newer = indicator(0, modified="2026-02-01T00:00:00.000Z")
    write(pair.a, [newer], "newer")
    assert pair.pull().status == "ok"
    assert pair.held() == (len(pair.ids) + 5, len(pair.ids) + 6)
    v = t.object_versions
    with pair.b.engine.connect() as conn:
        current = conn.execute(sa.select(v.c.modified).where(
            v.c.id == newer.id, v.c.is_current.is_(True))).scalar_one()
    assert current == "2026-02-01T00:00:00.000000Z"



def test_manifest_sync_resumes_after_the_server_stops_without_fetching_twice(
        pair: Pair) -> None:
    """The partner sync's walk (manifest, then ``match[id]`` requests of up to 100 ids):
    stopped after three object requests, the next round fetches only what B has not
    committed — not even the part of an unfinished manifest page that did commit."""
    source = pair.b.get_source("peer-a")
    assert source is not None
    front = pair.start_a(stop_after=3)
    first = run_source(pair.b, source, pair.ctx_b, collector_cls=sync_collector(pair.b))
    assert first.status == "failed"
    pair.stop_a()
    partial, _ = pair.held()
    assert 0 < partial < len(pair.ids)
    again = pair.start_a()
    second = run_source(pair.b, source, pair.ctx_b, collector_cls=sync_collector(pair.b))
    assert second.status == "ok", second.errors
    assert pair.held() == (len(pair.ids), len(pair.ids))
    assert front.pages == 3
    assert front.objects + again.objects == len(pair.ids)  # not one object fetched twice
    assert again.pages <= -(-(len(pair.ids) - partial) // ID_CHUNK) + 1

# --- both ways: echo suppression and push-back (share/sync.py, share/sync_push.py) ----------

A_TOKEN_ENV, B_TOKEN_ENV = "ALLSOURCE_TEST_SYNC_A_ON_B", "ALLSOURCE_TEST_SYNC_B_ON_A"


@dataclass
class Wire:
    """ASGI middleware counting what an instance sends: object and manifest pages, the
    objects and manifest records in them, their bytes, and the POSTs it answers."""

    app: Callable[..., Awaitable[None]]
    requests: int = 0
    objects: int = 0
    records: int = 0
    object_bytes: int = 0
    record_bytes: int = 0
    posts: int = 0
    server: uvicorn.Server | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        kind = "objects" if "/objects/" in path else "manifest" if "/manifest/" in path else ""
        if not kind:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST":
            self.posts += 1
            await self.app(scope, receive, send)
            return
        self.requests += 1
        body = bytearray()

        async def counting(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    listed = orjson.loads(bytes(body)).get("objects", []) if body else []
                    if kind == "objects":
                        self.objects += len(listed)
                        self.object_bytes += len(body)
                    else:
                        self.records += len(listed)
                        self.record_bytes += len(body)
            await send(message)

        await self.app(scope, receive, counting)


def _serve(store: SqlStore, settings: Settings, port: int) -> tuple[Wire, threading.Thread]:
    wire = Wire(create_app(settings, store=store))
    server, thread = serve(wire, port)
    wire.server = server
    return wire, thread


@dataclass
class Partners:
    """Instance A (ATT&CK for ICS) and instance B, each serving TAXII on loopback and each a
    TAXII partner source of the other: ``peer-a`` on B reads A as A's user ``org-b``
    (group ``b-org``), ``peer-b`` on A reads B as B's user ``org-a`` (group ``a-org``)."""

    a: SqlStore
    b: SqlStore
    ctx_a: CollectContext
    ctx_b: CollectContext
    wire_a: Wire
    wire_b: Wire
    ids: set[str]

    def source(self, store: SqlStore, name: str) -> Source:
        found = store.get_source(name)
        assert found is not None
        return found


@pytest.fixture
def partners(store: SqlStore, settings: Settings, samples: Path, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Partners]:
    ids = _load_ics(store, samples)
    settings_b = settings.model_copy(update={
        "database_url": f"sqlite:///{tmp_path / 'b.db'}", "blob_dir": tmp_path / "b-blobs"})
    b = open_store(settings_b)
    _, on_a = users.create_token(store, users.add_user(store, "org-b", "partner",
                                                       max_tlp=TLP.AMBER, groups=["b-org"]))
    _, on_b = users.create_token(b, users.add_user(b, "org-a", "partner",
                                                   max_tlp=TLP.AMBER, groups=["a-org"]))
    monkeypatch.setenv(B_TOKEN_ENV, on_a)
    monkeypatch.setenv(A_TOKEN_ENV, on_b)
    port_a, port_b = free_port(), free_port()
    b.add_source(Source("peer-a", "taxii", f"http://127.0.0.1:{port_a}/taxii2/",
                        allow_private=True, config={
                            "token_env": B_TOKEN_ENV, "collection": "all",
                            "page_size": str(PAGE), "partner_user": "org-a"}))
    store.add_source(Source("peer-b", "taxii", f"http://127.0.0.1:{port_b}/taxii2/",
                            allow_private=True, config={
                                "token_env": A_TOKEN_ENV, "collection": "all",
                                "page_size": str(PAGE), "partner_user": "org-b"}))
    wire_a, thread_a = _serve(store, settings, port_a)
    wire_b, thread_b = _serve(b, settings_b, port_b)
    p = Partners(store, b, CollectContext(settings=settings, blobs=BlobStore(settings.blob_dir)),
                 CollectContext(settings=settings_b, blobs=BlobStore(settings_b.blob_dir)),
                 wire_a, wire_b, ids)
    yield p
    for wire, thread in ((wire_a, thread_a), (wire_b, thread_b)):
        assert wire.server is not None
        wire.server.should_exit = True
        thread.join(10)
    p.ctx_a.close()
    p.ctx_b.close()
    b.close()


def _sighting(n: int, of: str, marking: Marking | None = None) -> StixObject:
    oid = f"sighting--{uuid.uuid5(uuid.NAMESPACE_URL, f'sync-test-{n}')}"
    stix = {"type": "sighting", "spec_version": "2.1", "id": oid,
            "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z",
            "sighting_of_ref": of, "count": n + 1}
    return StixObject(oid, "sighting", f"seen {n}", stix, marking or Marking(tlp=TLP.GREEN))


def _note(n: int, about: str, marking: Marking | None = None) -> StixObject:
    oid = f"note--{uuid.uuid5(uuid.NAMESPACE_URL, f'sync-test-note-{n}')}"
    stix = {"type": "note", "spec_version": "2.1", "id": oid,
            "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z",
            "content": f"analyst note {n}", "object_refs": [about]}
    return StixObject(oid, "note", f"note {n}", stix, marking or Marking(tlp=TLP.GREEN))


def b_url(p: Partners) -> str:
    """B's TAXII discovery URL, as A's source names it."""
    return p.source(p.a, "peer-b").location


def _held(store: SqlStore, oid: str) -> int:
    v = t.object_versions
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(v.c.id == oid)).scalar_one())


def test_a_pulling_from_b_gets_none_of_its_own_objects_back(partners: Partners) -> None:
    p = partners
    first = sync_source(p.b, p.source(p.b, "peer-a"), p.ctx_b)
    assert first.ok, first.errors
    assert p.wire_a.objects == len(p.ids)  # B held nothing: every object once
    assert p.b.count("objects") + p.b.count("relationships") == len(p.ids)

    # A pulls B: B holds A's objects (echo); B leaves them out of the manifest it sends A
    # (match[x_allsource_origin]=others): one request, no record, no object
    versions_a = p.a.count("object_versions")
    echo = sync_source(p.a, p.source(p.a, "peer-b"), p.ctx_a)
    assert echo.ok, echo.errors
    assert p.wire_b.requests == 1 and p.wire_b.records == 0
    assert p.wire_b.objects == 0 and p.wire_b.object_bytes == 0
    # ... and A's checkpoint moved past them: the next round does not make B walk them again
    with p.b.engine.connect() as conn:
        head = conn.execute(sa.select(t.object_log_head.c.date_added)).scalar_one()
    state = p.a.get_checkpoint(p.source(p.a, "peer-b").id)["collections"]
    assert [c["added_after"] for c in state.values()] == [added(head)]
    assert p.a.count("object_versions") == versions_a

    # the paired baseline: the plain collector on the same partner downloads them all
    plain = p.source(p.a, "peer-b")
    p.a.add_source(Source("peer-b-plain", "taxii", plain.location, allow_private=True,
                          config={k: v for k, v in plain.config.items()
                                  if k != "partner_user"}))
    assert run_source(p.a, p.source(p.a, "peer-b-plain"), p.ctx_a,
                      collector_cls=TaxiiCollector).status == "ok"
    assert p.wire_b.objects >= len(p.ids)

    # B's own new indicator is all A downloads next time, and B re-pulls nothing of it
    write(p.b, [indicator(7)], "b's own")
    before = p.wire_b.objects
    assert sync_source(p.a, p.source(p.a, "peer-b"), p.ctx_a).ok
    assert p.wire_b.objects - before == 1 and _held(p.a, indicator(7).id) == 1
    before_a = p.wire_a.objects
    assert sync_source(p.b, p.source(p.b, "peer-a"), p.ctx_b).ok
    assert p.wire_a.objects == before_a  # A holds nothing B lacks


def test_sightings_and_notes_flow_back_to_the_originator_once(
        partners: Partners, monkeypatch: pytest.MonkeyPatch) -> None:
    p = partners
    peer_a = p.source(p.b, "peer-a")
    assert sync_source(p.b, peer_a, p.ctx_b).ok
    theirs = sorted(i for i in p.ids if i.startswith("attack-pattern--"))[:3]
    # A also POSTs one of its own indicators to its group's collection on B
    posted = indicator(50)
    write(p.a, [posted], "a's own")
    org_a = users.get_user(p.b, "org-a")
    assert org_a is not None
    group = next(c for c in collections_for(p.b, org_a.audience) if c.group == "a-org")
    answer = httpx.post(f"{b_url(p)}allsource/collections/{group.id}/objects/",
                        content=orjson.dumps({"objects": [posted.stix]}), timeout=30,
                        headers={"Authorization": f"Bearer {os.environ[A_TOKEN_ENV]}",
                                 "Content-Type": TAXII_MEDIA_TYPE, "Accept": TAXII_MEDIA_TYPE})
    assert answer.status_code == 202 and answer.json()["success_count"] == 1
    # B's analysts: a sighting and a note about A's objects (pushed); one at TLP:RED, one
    # released to another group, and a note about B's own indicator (none of them pushed)
    write(p.b, [indicator(1)], "b's own")
    write(p.b, [_sighting(0, theirs[0]), _note(0, theirs[1]),
                _note(1, theirs[2], Marking(tlp=TLP.RED)),
                _note(2, theirs[2], Marking(tlp=TLP.GREEN, releasability=frozenset({"x"}))),
                _note(3, indicator(1).id), _note(5, posted.id)], "analysts")
    real_save = sync_push._save_cursor

    def killed(*args: Any) -> None:
        raise KeyboardInterrupt("instance B killed after the POST, before its cursor")

    monkeypatch.setattr(sync_push, "_save_cursor", killed)
    with pytest.raises(KeyboardInterrupt):
        sync_source(p.b, peer_a, p.ctx_b)
    monkeypatch.setattr(sync_push, "_save_cursor", real_save)
    assert p.wire_a.posts == 1 and sync_push.push_cursor(p.b, peer_a) == 0

    again = sync_source(p.b, peer_a, p.ctx_b)  # resent once: A stores nothing twice
    assert again.ok, again.errors
    assert (again.pushed.posted, again.pushed.accepted, again.pushed.refused) == (3, 3, [])
    for sent in (_sighting(0, theirs[0]), _note(0, theirs[1]), _note(5, posted.id)):
        assert _held(p.a, sent.id) == 1
    for never in (_note(1, theirs[2]), _note(2, theirs[2]), _note(3, indicator(1).id)):
        assert _held(p.a, never.id) == 0

    posts = p.wire_a.posts
    assert sync_source(p.b, peer_a, p.ctx_b).pushed.posted == 0  # the cursor held
    assert p.wire_a.posts == posts
    write(p.b, [_note(4, theirs[0])], "later")
    later = sync_source(p.b, peer_a, p.ctx_b)
    assert later.pushed.posted == 1 and p.wire_a.posts == posts + 1

    # and A, pulling B, does not download the sightings and notes it was sent
    assert sync_source(p.a, p.source(p.a, "peer-b"), p.ctx_a).ok
    # B's own indicator and B's note about it (readable by A's account) came across
    assert _held(p.a, indicator(1).id) == 1 and _held(p.a, _note(3, indicator(1).id).id) == 1
    assert p.wire_b.objects == 2


def test_b_leaves_out_only_what_came_from_a_and_still_serves_what_a_is_owed(
        partners: Partners) -> None:
    """The real ``taxii2-client`` as A's account on B: with ``match[x_allsource_origin]=
    others`` B leaves out what it pulled from A and what A posted, but not B's own newer
    version of an object A posted, nor B's own objects; without the filter, everything."""
    p = partners
    assert sync_source(p.b, p.source(p.b, "peer-a"), p.ctx_b).ok  # B now holds A's objects
    root = Server(b_url(p), auth=Bearer(os.environ[A_TOKEN_ENV])).api_roots[0]
    group = next(c for c in root.collections if c.title == "a-org")
    kept, versioned = indicator(60), indicator(61)
    status = group.add_objects(orjson.dumps({"objects": [kept.stix, versioned.stix]}).decode(),
                               wait_for_completion=False)
    assert (status.success_count, status.failure_count) == (2, 0)
    # B's own source versions one of them (a newer modified), and adds one of B's own
    newer = indicator(61, modified="2025-06-01T00:00:00.000Z")
    write(p.b, [newer, indicator(62)], "b's own")
    everything = next(c for c in root.collections if c.title == "all")

    def walk(**match: str) -> set[tuple[str, str]]:
        return {(r["id"], r["version"])
                for env in as_pages(everything.get_manifest, per_request=300, **match)
                for r in env.get("objects", [])}

    full = walk()
    assert {i for i, _ in full} == p.ids | {kept.id, versioned.id, indicator(62).id}
    spared = walk(x_allsource_origin="others")
    assert spared == {(newer.id, "2025-06-01T00:00:00.000Z"),
                      (indicator(62).id, "2024-01-01T00:00:00.000Z")}
    got = everything.get_objects(x_allsource_origin="others")["objects"]
    assert sorted((o["id"], o["modified"]) for o in got) == sorted(spared)
    # every version of the object A posted is still listed to A without the filter
    versions = walk(x_allsource_origin="others", version="all", id=versioned.id)
    assert versions == {(newer.id, "2025-06-01T00:00:00.000Z")}
    assert walk(version="all", id=versioned.id) == {
        (versioned.id, "2024-01-01T00:00:00.000Z"), (newer.id, "2025-06-01T00:00:00.000Z")}


def test_a_partner_that_moves_is_not_read_again_in_full(pair: Pair) -> None:
    """The checkpoint is the collection's (API root and id), not its URL's: after A moves to
    another port, B's next pull starts where the last one ended."""
    pair.start_a()
    assert pair.pull().status == "ok"
    pair.stop_a()
    pair.port = free_port()
    source = pair.b.get_source("peer-a")
    assert source is not None
    source.location = f"http://127.0.0.1:{pair.port}/taxii2/"
    pair.b.update_source(source)
    moved = pair.start_a()
    assert pair.pull().status == "ok"
    assert moved.objects == 0 and moved.pages == 1 and moved.added_after[0] is not None
    assert pair.held() == (len(pair.ids), len(pair.ids))
    write(pair.a, [indicator(3)], "after the move")
    assert pair.pull().status == "ok" and moved.objects == 1
