"""Partner sync between two allsource instances on loopback: instance B's TAXII collector
pulls instance A's ``all`` collection (ATT&CK for ICS 18.1, the shared samples) page by page
with its ``added_after`` checkpoint. The sync resumes after either side stops mid-way, asks A
only for what it has not committed yet, never stores a version twice, and a later run pulls
only the delta."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn

from allsource.api import create_app
from allsource.collect.base import CollectContext
from allsource.collect.runner import RunResult, run_source
from allsource.collect.taxii import TaxiiCollector
from allsource.config import Settings
from allsource.model.records import Source
from allsource.store import open_store, users
from allsource.store import schema as t
from allsource.store.blobs import BlobStore
from allsource.store.sql import SqlStore
from tests.api.test_taxii import indicator, write
from tests.share.taxii.test_interop import _load_ics

TOKEN_ENV = "ALLSOURCE_TEST_SYNC_TOKEN"
PAGE = 200
Scope = MutableMapping[str, Any]


@dataclass
class Counting:
    """ASGI middleware in front of instance A: counts object pages and can stop the server
    once ``stop_after`` pages were served (the next request finds it gone)."""

    app: Callable[..., Awaitable[None]]
    pages: int = 0
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
        await self.app(scope, receive, send)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        server = uvicorn.Server(uvicorn.Config(front, host="127.0.0.1", port=self.port,
                                               log_level="warning", lifespan="on"))
        front.server = server
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("instance A did not start")
            time.sleep(0.02)
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
    port = _free_port()
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
