"""A STIX bundle of a selection, on the small graph of tests/analyze/test_graph (SQLite and
PostgreSQL): valid STIX 2.1 (stix2-validator), and only what the reader may read."""

from __future__ import annotations

from typing import Any

from stix2validator import ValidationOptions, validate_parsed_json

from allsource.model.markings import Audience
from allsource.share.stix_export import selection_bundle
from allsource.store.sql import SqlStore
from tests.analyze.test_graph import OPS, READER, Graph, graph  # noqa: F401  (fixture)


def _valid(bundle: dict[str, Any]) -> None:
    result = validate_parsed_json(bundle, ValidationOptions(version="2.1"))
    results = result if isinstance(result, list) else [result]
    assert all(r.is_valid for r in results), [str(e) for r in results for e in r.errors]


def _ids(bundle: dict[str, Any], kind: str | None = None) -> set[str]:
    return {o["id"] for o in bundle["objects"]
            if kind is None or (o["type"] == "relationship") == (kind == "relationship")}


def test_bundle_is_valid_and_holds_the_selection(store: SqlStore, graph: Graph) -> None:  # noqa: F811
    chosen = [graph.actor.id, graph.malware[1].id, graph.tools[1][0].id, graph.place.id,
              "malware--00000000-0000-4000-8000-000000000000"]
    found = selection_bundle(store, chosen, Audience.owner())
    bundle = found.bundle
    _valid(bundle)
    # Ruritania has neither country, region nor coordinates: no valid STIX location
    assert found.left_out == [graph.place.id]
    assert _ids(bundle, "object") == set(chosen[:3])
    rels = {(o["source_ref"], o["relationship_type"], o["target_ref"])
            for o in bundle["objects"] if o["type"] == "relationship"}
    # only relationships between two selected objects
    assert rels == {(graph.actor.id, "uses", graph.malware[1].id),
                    (graph.malware[1].id, "uses", graph.tools[1][0].id)}
    actor = next(o for o in bundle["objects"] if o["id"] == graph.actor.id)
    assert actor["name"] == "APT-X" and actor["spec_version"] == "2.1"
    assert actor["object_marking_refs"] == [
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"]  # TLP:CLEAR


def test_a_reader_gets_nothing_above_them(store: SqlStore, graph: Graph) -> None:  # noqa: F811
    chosen = [graph.actor.id, graph.secret.id, graph.red.id]
    assert _ids(selection_bundle(store, chosen, Audience.owner()).bundle, "object") == set(chosen)
    for audience, seen in ((READER, {graph.actor.id}),
                           (OPS, {graph.actor.id, graph.secret.id, graph.red.id})):
        bundle = selection_bundle(store, chosen, audience).bundle
        _valid(bundle)
        assert _ids(bundle, "object") == seen
        text = str(bundle)
        if graph.secret.id not in seen:
            assert "Secret-M" not in text and graph.secret.id not in text
