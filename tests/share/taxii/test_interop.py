"""Interoperability of the TAXII 2.1 server, served by uvicorn on 127.0.0.1 over a store
holding MITRE ATT&CK for ICS 18.1 (the shared samples): the real ``taxii2-client`` walks
discovery → API root → collections → objects page by page → add → status, and the allsource
TAXII collector pulls the collection into a second store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import requests
from taxii2client.v21 import Server, as_pages

from allsource.api import create_app
from allsource.collect.base import CollectContext
from allsource.collect.runner import run_source
from allsource.collect.stix import map_bundle, parse_bundle
from allsource.collect.taxii import TaxiiCollector
from allsource.config import Settings
from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Source
from allsource.store import open_store, users
from allsource.store.blobs import BlobStore
from allsource.store.sql import SqlStore
from tests.serving import free_port, serve

TOKEN_ENV = "ALLSOURCE_TEST_TAXII_TOKEN"


class Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


@dataclass
class Served:
    url: str
    store: SqlStore
    owner: str
    partner: str
    ids: set[str]


def _load_ics(store: SqlStore, samples: Path) -> set[str]:
    """ATT&CK for ICS through the STIX collector's mapping and the store's write path; the
    ids it stored."""
    data = (samples / "attack/ics-attack-18.1.json").read_bytes()
    bundle = parse_bundle(data, "ics-attack-18.1.json")
    items = [i for i in map_bundle(bundle, store.blobs.put(data), Marking(tlp=TLP.CLEAR),
                                   "ics", 10 * 1024 * 1024) if isinstance(i, Collected)]
    src = Source("attack-ics", "stix", str(samples))
    store.add_source(src)
    for i in range(0, len(items), 200):
        store.write_batch(src, items[i:i + 200], [], None)
    return {o.id for i in items for o in [*i.objects, *i.relationships]}


@pytest.fixture
def served(store: SqlStore, settings: Settings, samples: Path) -> Iterator[Served]:
    ids = _load_ics(store, samples)
    _, owner = users.create_token(store, users.add_user(store, "owner", "admin"))
    _, partner = users.create_token(store, users.add_user(
        store, "acme-bot", "partner", max_tlp=TLP.AMBER, groups=["acme"]))
    port = free_port()
    server, thread = serve(create_app(settings, store=store), port)
    yield Served(f"http://127.0.0.1:{port}/taxii2/", store, owner, partner, ids)
    server.should_exit = True
    thread.join(10)


def test_taxii2_client_pages_adds_and_reads_the_status(served: Served) -> None:
    server = Server(served.url, auth=Bearer(served.owner))
    assert server.default is not None
    [root] = server.api_roots
    assert root.versions == ["application/taxii+json;version=2.1"]
    everything = next(c for c in root.collections if c.title == "all")
    assert everything.can_read and not everything.can_write
    seen: list[str] = []
    pages = 0
    for envelope in as_pages(everything.get_objects, per_request=250):
        pages += 1
        seen += [o["id"] for o in envelope.get("objects", [])]
    assert len(seen) == len(set(seen)) == len(served.ids)
    assert set(seen) == served.ids
    assert pages == -(-len(served.ids) // 250)
    manifest = [r["id"] for env in as_pages(everything.get_manifest, per_request=1000)
                for r in env.get("objects", [])]
    assert sorted(manifest) == sorted(seen)

    # a partner adds a sighting of an ICS technique to its group's collection
    partner_root = Server(served.url, auth=Bearer(served.partner)).api_roots[0]
    acme = next(c for c in partner_root.collections if c.title == "acme")
    assert acme.can_write
    technique = next(i for i in seen if i.startswith("attack-pattern--"))
    sighting = {"type": "sighting", "spec_version": "2.1",
                "id": "sighting--4e4a8b0e-5c1f-4f9b-9a0d-2b7c3e6f1a90",
                "created": "2026-01-05T10:00:00.000Z", "modified": "2026-01-05T10:00:00.000Z",
                "sighting_of_ref": technique, "count": 3}
    status = acme.add_objects(orjson.dumps({"objects": [sighting]}).decode(),
                              wait_for_completion=False)
    assert (status.status, status.success_count, status.failure_count) == ("complete", 1, 0)
    status.refresh()
    assert status.successes[0]["id"] == sighting["id"]
    got = acme.get_object(sighting["id"])["objects"]
    assert [o["id"] for o in got] == [sighting["id"]]
    assert got[0]["sighting_of_ref"] == technique


def test_the_taxii_collector_pulls_from_allsource(served: Served, settings: Settings,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, served.owner)
    other = settings.model_copy(update={
        "database_url": f"sqlite:///{tmp_path / 'partner.db'}",
        "blob_dir": tmp_path / "partner-blobs"})
    target = open_store(other)
    try:
        source = Source("allsource-peer", "taxii", served.url, allow_private=True,
                        config={"token_env": TOKEN_ENV, "collection": "all",
                                "page_size": "400"})
        target.add_source(source)
        ctx = CollectContext(settings=other, blobs=BlobStore(other.blob_dir))
        first = run_source(target, source, ctx, collector_cls=TaxiiCollector)
        assert first.status == "ok", first.errors
        assert target.count("objects") + target.count("relationships") == len(served.ids)
        # a second run asks only for what was added since: nothing new
        again = run_source(target, source, ctx, collector_cls=TaxiiCollector)
        assert again.status == "ok" and (again.counts.items, again.counts.objects) == (0, 0)
        assert target.count("objects") + target.count("relationships") == len(served.ids)
    finally:
        target.close()
