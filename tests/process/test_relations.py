"""Sentence-level relations with evidence, stored on both backends.

Sentences paraphrase public reporting on APT28 (ATT&CK G0007 procedure examples); the IP is
from the documentation range (RFC 5737)."""

from __future__ import annotations

from allsource.engine.inline import InlineEngine
from allsource.model.markings import Audience
from allsource.model.records import Collected, Document, Source, StixObject
from allsource.process.base import Work
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.process.stages.relations import RelationsStage, distinct
from allsource.store.sql import SqlStore

TEXT = ("APT28 used X-Agent against government targets in Ukraine. "
        "The X-Agent implant beaconed to 192.0.2.77 over HTTPS. "
        "Separately, APT28 was described in Ukraine's press.")
STAGES = ["observables", "entities", "relations"]


def _run(text: str) -> Work:
    [work] = InlineEngine(build_pipeline(STAGES)).run([Work(id="d", title="", text=text)])
    return work


def test_rules_and_evidence() -> None:
    work = _run(TEXT)
    kinds = {(r.relationship_type, r.stix["x_allsource_rule"]) for r in work.relationships}
    assert ("uses", "co-occurrence") in kinds
    assert ("targets", "targeting-verb") in kinds
    assert ("related-to", "co-occurrence") in kinds
    evidence = {m.object_id: (m.start, m.end) for m in work.mentions
                if m.extractor.startswith("relations@")}
    uses = next(r for r in work.relationships if r.relationship_type == "uses")
    start, end = evidence[uses.id]
    assert TEXT[start:end] == "APT28 used X-Agent against government targets in Ukraine."
    # the third sentence names APT28 and Ukraine but has no targeting verb
    targets = [r for r in work.relationships if r.relationship_type == "targets"]
    assert all(evidence[r.id][0] == 0 for r in targets)


def test_relations_are_stored_with_sentence_provenance(store: SqlStore) -> None:
    src = Source("reports", "files", "/tmp/r")
    store.add_source(src)
    doc = Document.build(kind="report", title="", text=TEXT)
    store.write_batch(src, [Collected(doc)], [], None)
    pipeline = build_pipeline(STAGES, store=store)
    process_store(store, pipeline, InlineEngine(pipeline))
    uses = next(r for r in _run(TEXT).relationships if r.relationship_type == "uses")
    view = store.get(uses.id, Audience.owner())
    assert view is not None and view["record"] == "relationship"
    [prov] = view["provenance"]
    assert prov["document_id"] == doc.id
    assert prov["extractor"] == f"relations@{RelationsStage.version}"
    assert prov["span"] == [0, len("APT28 used X-Agent against government targets in Ukraine.")]


def _obj(kind: str, name: str, country: str = "") -> StixObject:
    stix = {"country": country} if country else {}
    return StixObject(id=f"{kind}--{name.lower()}", type=kind, name=name, stix=stix)


def test_nothing_relates_to_itself_or_to_the_place_its_name_came_from() -> None:
    cuba_malware, cuba = _obj("malware", "Cuba"), _obj("location", "Cuba")
    turkish, turkey = _obj("malware", "Turkish"), _obj("location", "Turkey")
    istanbul = _obj("location", "Istanbul", "TR")
    assert not distinct(cuba_malware, cuba_malware)
    assert not distinct(cuba_malware, cuba)
    assert not distinct(turkish, turkey) and not distinct(turkish, istanbul)
    assert distinct(cuba_malware, turkey) and distinct(turkish, cuba)


def test_a_namesake_place_is_no_victim_in_the_pipeline() -> None:
    text = ("The Cuba ransomware used PowerShell and a backdoor to attack targets in Cuba "
            "and Ukraine.")
    work = _run(text)
    names = {o.id: o.name for o in work.objects}
    targets = {(names[r.source_ref], names[r.target_ref]) for r in work.relationships
               if r.relationship_type == "targets"}
    assert ("Cuba", "Ukraine") in targets
    assert ("Cuba", "Cuba") not in targets


def test_objects_are_placed_per_sentence_in_mention_order_as_a_scan_would() -> None:
    from allsource.process.stages.relations import _per_sentence

    objs = [StixObject(id=f"malware--{i}", type="malware", name=f"m{i}", stix={})
            for i in range(6)]
    # mention order is not position order; one position falls between sentences
    placed = [(40, objs[0]), (3, objs[1]), (41, objs[2]), (25, objs[3]), (0, objs[4]),
              (12, objs[5])]

    def scan(sentences: list[tuple[int, int]]) -> list[list[StixObject]]:
        return [[o for pos, o in placed if s <= pos < e] for s, e in sentences]

    apart = [(0, 10), (12, 24), (30, 45)]
    assert _per_sentence(apart, placed) == scan(apart) == [
        [objs[1], objs[4]], [objs[5]], [objs[0], objs[2]]]
    overlapping = [(0, 30), (20, 45)]  # not what the splitter makes, still handled
    assert _per_sentence(overlapping, placed) == scan(overlapping)
    assert _per_sentence([(5, 2), (0, 41)], placed) == scan([(5, 2), (0, 41)])
