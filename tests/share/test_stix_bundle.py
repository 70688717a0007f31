"""STIX 2.1 bundles of every selection shape (SQLite and PostgreSQL): valid per the OASIS
validator, only what the reader may read, grades, provenance, sightings, indicators and
markings carried, and import(export) then export again giving the same objects."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from stix2patterns.validator import validate as validate_pattern  # type: ignore[import-untyped]

from allsource.collect.stix import map_bundle, parse_bundle
from allsource.model.markings import Audience, Marking
from allsource.model.records import Collected
from allsource.share import selection as selection_module
from allsource.share import stix_markings as sm
from allsource.share.selection import select
from allsource.share.stix_bundle import ADMIRALTY_CONFIDENCE, export_bundle, report_id
from allsource.store.sql import SqlStore
from allsource.verify.audience import grade_for
from tests.share.conftest import CLEARED, READER, RESTRICTED, Native, validate

OWNER = Audience.owner()


def _by_type(bundle: dict[str, Any]) -> Counter[str]:
    return Counter(o["type"] for o in bundle["objects"])


def _objects(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [o for o in bundle["objects"] if o["type"] == kind]


def _doc(native: Native, key: str) -> str:
    return native.docs[key]


SHAPES = [{}, {"query": "203.0.113.45"}, {"watchlist": "Hosting scans"},
          {"entity": "203.0.113.45"}]


@pytest.mark.parametrize("shape", SHAPES, ids=["window", "query", "watchlist", "entity"])
def test_every_selection_shape_validates(native: Native, shape: dict[str, str]) -> None:
    for audience in (OWNER, READER, CLEARED):
        sel = select(native.store, audience, **shape)
        found = export_bundle(native.store, sel, audience)
        validate(found.bundle)
        assert found.bundle["objects"], shape


def test_story_and_case_selections(native: Native) -> None:
    first = _doc(native, "sh-001")
    story = select(native.store, OWNER, story=first)
    assert first in story.documents
    validate(export_bundle(native.store, story, OWNER).bundle)
    sel = select(native.store, OWNER, case=native.case_id)
    assert sel.documents == [first]
    bundle = export_bundle(native.store, sel, OWNER).bundle
    validate(bundle)
    [note] = _objects(bundle, "note")
    assert note["object_refs"] == [report_id(first)]
    assert "registered two days before" in note["content"]


def test_reports_carry_grade_provenance_and_sightings(graded: Native) -> None:
    native = graded
    bundle = export_bundle(native.store, select(native.store, OWNER), OWNER).bundle
    reports = {o["extensions"][sm.MARKING_EXTENSION_ID]["document_id"]: o
               for o in _objects(bundle, "report")}
    first = reports[_doc(native, "sh-001")]
    ext = first["extensions"][sm.MARKING_EXTENSION_ID]
    view = native.store.get(_doc(native, "sh-001"), OWNER)
    assert view is not None
    assert ext["source"] in ("desk", "desk-copy")
    assert first["external_references"][0]["url"] == view["url"]
    stored = grade_for(native.store, "document", _doc(native, "sh-001"), OWNER)
    assert stored is not None and stored["credibility"] is not None
    assert ext["credibility"] == stored["credibility"]
    assert ext["admiralty"] == f"{stored['reliability']}{stored['credibility']}"
    if stored["credibility"] in ADMIRALTY_CONFIDENCE:
        assert first["confidence"] == ADMIRALTY_CONFIDENCE[stored["credibility"]]
    # the report holds what its document mentions
    objects = {o["id"]: o for o in bundle["objects"]}
    values = {objects[r].get("value") for r in first["object_refs"] if r in objects}
    assert {"203.0.113.45", "invoice-portal.example.net"} <= values
    # sh-001 was also read by desk-copy: a sighting of its report where that source is
    sightings = [s for s in _objects(bundle, "sighting")
                 if s["sighting_of_ref"] == first["id"]]
    where = {objects[s["where_sighted_refs"][0]]["name"] for s in sightings}
    assert "desk-copy" in where


def test_indicators_have_valid_patterns_for_extracted_observables(native: Native) -> None:
    bundle = export_bundle(native.store, select(native.store, OWNER), OWNER).bundle
    indicators = _objects(bundle, "indicator")
    patterns = {i["pattern"] for i in indicators}
    assert "[ipv4-addr:value = '203.0.113.45']" in patterns
    assert "[domain-name:value = 'invoice-portal.example.net']" in patterns
    assert all(validate_pattern(p, stix_version="2.1", print_errs=False) for p in patterns)
    ids = {o["id"] for o in bundle["objects"]}
    based = {(r["source_ref"], r["target_ref"]) for r in _objects(bundle, "relationship")
             if r["relationship_type"] == "related-to"}
    for ind in indicators:
        obs = ind["extensions"][sm.MARKING_EXTENSION_ID]["observable"]
        assert obs in ids and (ind["id"], obs) in based


def test_markings_travel_as_tlp2_and_the_allsource_extension(native: Native) -> None:
    bundle = export_bundle(native.store, select(native.store, CLEARED), CLEARED).bundle
    validate(bundle)
    defs = {o["id"]: o for o in _objects(bundle, "marking-definition")}
    ours = sm.marking_definition(RESTRICTED)
    assert ours is not None and ours["id"] in defs
    assert sm.MARKING_EXTENSION_ID in {o["id"] for o in _objects(bundle, "extension-definition")}
    restricted = next(o for o in _objects(bundle, "report")
                      if o["id"] == report_id(_doc(native, "sh-r01")))
    assert restricted["object_marking_refs"] == [sm.TLP2_DEFINITIONS and
                                                 "marking-definition--55d920b0-5e8b-4f79-"
                                                 "9ee9-91f868d9b421", ours["id"]]
    # every reference resolves inside the bundle
    for obj in bundle["objects"]:
        for ref in obj.get("object_marking_refs", []):
            assert ref in defs


def test_a_reader_gets_nothing_above_them(native: Native) -> None:
    for shape in [*SHAPES, {"case": native.case_id}]:
        try:
            sel = select(native.store, READER, **shape)
        except Exception as exc:
            assert "case" in shape, exc
            continue
        text = orjson.dumps(export_bundle(native.store, sel, READER).bundle).decode()
        assert "192.0.2.77" not in text and "cdn-sync.example.net" not in text
        assert _doc(native, "sh-r01") not in text
        assert "SECRET" not in text and "alpha" not in text and "nato" not in text
        # the GREEN copy's sighting source is readable to READER; the AMBER desk is not
        assert "restricted-desk" not in text


def test_work_is_bounded_by_counted_pages(native: Native, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    full = export_bundle(native.store, select(native.store, OWNER), OWNER)
    monkeypatch.setattr(selection_module, "MAX_DOCUMENTS", 2)
    small = select(native.store, OWNER)
    assert small.truncated and len(small.documents) == 2
    cut = export_bundle(native.store, small, OWNER)
    assert len(_objects(cut.bundle, "report")) <= 2
    # statements and pages: a constant per PAGE ids, the same for 2 documents as for all
    assert cut.pages <= full.pages <= 40


def _reimport(bundle: dict[str, Any], tmp_path: Path, store: SqlStore) -> dict[str, Any]:
    """Map an exported bundle with the STIX collector into ``store``'s shape and return
    the objects as the collector read them, by id, with their resolved markings."""
    raw = orjson.dumps(bundle)
    items = list(map_bundle(parse_bundle(raw, "export.json"), "0" * 64, Marking(), "export",
                            len(raw) + 1))
    out: dict[str, Any] = {}
    for item in items:
        assert isinstance(item, Collected), item
        for obj in item.objects:
            out[obj.id] = (obj.stix, obj.marking)
        for rel in item.relationships:
            out[rel.id] = (rel.stix, rel.marking)
    return out


def test_import_of_an_export_keeps_objects_ids_and_markings(native: Native, tmp_path: Path
                                                            ) -> None:
    bundle = export_bundle(native.store, select(native.store, CLEARED), CLEARED).bundle
    back = _reimport(bundle, tmp_path, native.store)
    exported = {o["id"]: o for o in bundle["objects"]}
    for oid, (stix, marking) in back.items():
        assert stix == exported[oid]
        assert marking == sm.marking_from_refs(stix.get("object_marking_refs"), {
            o["id"]: o for o in _objects(bundle, "marking-definition")}, Marking())
    restricted = back[report_id(_doc(native, "sh-r01"))][1]
    assert restricted == RESTRICTED
    assert set(exported) - set(back) <= {o["id"] for o in _objects(bundle, "marking-definition")}
