"""The partner sync's manifest walk against medallion (OASIS's reference TAXII 2.1 server,
the reference remote of the collector's tests): it is plain TAXII 2.1, so a first sync gets
every object of the collection, and a sync from the start again — the checkpoint dropped, as
when a partner sends back what we already hold — reads the manifest and fetches no object."""

from __future__ import annotations

from allsource.collect.base import CollectContext
from allsource.collect.runner import run_source
from allsource.model.records import StixObject
from allsource.share.sync import held_ids, sync_collector
from allsource.store.sql import SqlStore
from tests.collect.test_taxii import (  # noqa: F401  (fixtures)
    ICS,
    Taxii,
    _source,
    password,
    served,
    taxii,
)


def test_manifest_walk_against_medallion_fetches_only_what_is_not_held(
        store: SqlStore, ctx: CollectContext, taxii: Taxii, password: None) -> None:  # noqa: F811
    source = _source(taxii.discovery, collection="ATT&CK for ICS", page_size=20)
    store.add_source(source)
    first = run_source(store, source, ctx, collector_cls=sync_collector(store))
    assert first.status == "ok", first.errors
    fetched = [q for p, q, _ in taxii.front.log if p.endswith(f"/{ICS}/objects/")]
    listed = [q for p, q, _ in taxii.front.log if p.endswith(f"/{ICS}/manifest/")]
    assert listed and fetched and all("match[id]" in q for q in fetched)
    held = first.counts.objects + first.counts.relationships
    assert held > 20

    taxii.front.log.clear()
    again = run_source(store, source, ctx, use_checkpoint=False,
                       collector_cls=sync_collector(store))
    assert again.status == "ok", again.errors
    assert [p for p, _, _ in taxii.front.log if p.endswith(f"/{ICS}/objects/")] == []
    assert len([p for p, _, _ in taxii.front.log if p.endswith(f"/{ICS}/manifest/")]) >= 2
    assert again.counts.objects + again.counts.relationships == 0


def test_held_ids_compares_versions_and_takes_an_observable_by_its_id(
        store: SqlStore) -> None:
    from tests.api.test_taxii import indicator, write

    ip = "ipv4-addr--5e0c8a4f-0b9e-5f1d-9c3e-2a7b6d4c8e10"
    write(store, [indicator(1), StixObject(ip, "ipv4-addr", "203.0.113.9", {
        "type": "ipv4-addr", "spec_version": "2.1", "id": ip, "value": "203.0.113.9"})],
        "held")
    oid = indicator(1).id
    assert held_ids(store, [(oid, "2024-01-01T00:00:00Z"), (oid + "x", "")]) == {oid}
    assert held_ids(store, [(oid, "2025-01-01T00:00:00.000Z")]) == set()  # a newer version
    # an observable has no modified: the partner's manifest shows its date added
    assert held_ids(store, [(ip, "2026-12-07T20:00:00.000000Z")]) == {ip}
