"""The stage framework: ordering, phases, the store-backed runner and both engines."""

from __future__ import annotations

import pytest

from allsource.engine.inline import InlineEngine
from allsource.engine.pool import PoolEngine
from allsource.errors import InputError
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Source
from allsource.process.pipeline import build_pipeline, order_stages
from allsource.process.runner import process_store
from allsource.store.processing import annotations_of
from allsource.store.sql import SqlStore
from tests.process.stages_for_tests import ALL, IPv4

# Sentences adapted from MISP event comments in the shared samples (CIRCL OSINT), with
# documentation-range addresses (RFC 5737).
TEXTS = [
    "C2 server at 192.0.2.15 observed beaconing every 60 seconds.",
    "Second stage downloaded from 198.51.100.23 and 203.0.113.9.",
    "No indicators in this paragraph, only analysis.",
]


def _fill(store: SqlStore, texts: list[str], marking: Marking | None = None) -> Source:
    src = Source(name="notes", kind="files", location="/tmp/notes")
    store.add_source(src)
    store.write_batch(src, [Collected(Document.build(kind="note", title=f"Note {i}", text=t,
                                                     marking=marking or Marking()))
                            for i, t in enumerate(texts)], [], None)
    return src


def test_order_includes_requirements_and_rejects_cycles() -> None:
    assert order_stages(ALL, ["ipv4"]) == ["words", "ipv4"]
    with pytest.raises(InputError, match="no stage named 'nope'"):
        order_stages(ALL, ["nope"])

    class A(IPv4):
        name = "a"
        requires = ("b",)

    class B(IPv4):
        name = "b"
        requires = ("a",)

    with pytest.raises(InputError, match="cycle"):
        order_stages({"a": A, "b": B}, ["a"])


def test_phases_split_at_sequential_stages() -> None:
    p = build_pipeline(["words", "ordered", "ipv4"], classes=ALL)
    assert [(ph.sequential, [s.name for s in ph.stages]) for ph in p.phases()] == [
        (False, ["words"]), (True, ["ordered"]), (False, ["ipv4"])]


def test_process_store_writes_facts_with_spans_and_is_incremental(store: SqlStore) -> None:
    _fill(store, TEXTS, Marking(tlp=TLP.AMBER))
    pipeline = build_pipeline(classes=ALL)  # the default stages: words, ipv4
    result = process_store(store, pipeline, InlineEngine(pipeline), batch_size=2)
    assert result.documents == 3 and result.objects == 3 and result.failures == 0
    assert set(result.stage_seconds) == {"words", "ipv4"}

    ip = store.get("ipv4-addr--" + _ip_uuid("198.51.100.23"), Audience.owner())
    assert ip is not None
    [prov] = ip["provenance"]
    assert prov["extractor"] == "ipv4@1"
    doc = store.get(prov["document_id"], Audience.owner())
    assert doc is not None
    start, end = prov["span"]
    assert f"{doc['title']}\n{doc['text']}"[start:end] == "198.51.100.23"
    assert ip["marking"]["tlp"] == "TLP:AMBER"  # derived facts carry the document's marking

    notes = annotations_of(store, prov["document_id"])
    assert notes["ipv4"] == {"version": "1", "found": 2}

    again = process_store(store, pipeline, InlineEngine(pipeline))
    assert again.documents == 0


def test_version_bump_reprocesses_and_replaces_old_mentions(store: SqlStore) -> None:
    _fill(store, TEXTS)
    pipeline = build_pipeline(classes=ALL)
    process_store(store, pipeline, InlineEngine(pipeline))

    class IPv4v2(IPv4):
        version = "2"

    bumped = build_pipeline(classes={**ALL, "ipv4": IPv4v2})
    result = process_store(store, bumped, InlineEngine(bumped))
    assert result.documents == 3
    extractors = {m for m in _mention_extractors(store)}
    assert extractors == {"ipv4@2"}


def test_a_failing_document_is_recorded_and_the_rest_go_on(store: SqlStore) -> None:
    _fill(store, [*TEXTS, "POISON pill"])
    pipeline = build_pipeline(["flaky"], classes=ALL)
    result = process_store(store, pipeline, InlineEngine(pipeline))
    assert result.documents == 4 and result.failures == 1
    errors = [annotations_of(store, i)["flaky"] for i in store.document_ids()]
    assert sum("error" in e for e in errors) == 1
    assert sum(e.get("ok") is True for e in errors) == 3


def test_pool_engine_gives_the_inline_result(store: SqlStore) -> None:
    texts = [f"{t} Case {i}." for i in range(20) for t in TEXTS]
    pipeline = build_pipeline(["words", "ordered", "ipv4"], classes=ALL)
    inline = InlineEngine(pipeline)
    from allsource.process.runner import to_work
    from allsource.store.processing import documents_due

    _fill(store, texts)
    rows = documents_due(store, pipeline.versions(), limit=1000)
    expected = inline.run([to_work(r) for r in rows])
    pooled_pipeline = build_pipeline(["words", "ordered", "ipv4"], classes=ALL)
    engine = PoolEngine(pooled_pipeline, workers=2)
    try:
        got = engine.run([to_work(r) for r in rows])
    finally:
        engine.close()
    assert [(w.id, w.annotations, [m.start for m in w.mentions]) for w in got] == [
        (w.id, w.annotations, [m.start for m in w.mentions]) for w in expected]


def _ip_uuid(value: str) -> str:
    from allsource.model.types import observable

    obj = observable("ipv4", value)
    assert obj is not None
    return obj.id.split("--")[1]


def _mention_extractors(store: SqlStore) -> set[str]:
    import sqlalchemy as sa

    from allsource.store import schema as t

    with store.engine.connect() as conn:
        return set(conn.execute(sa.select(t.mentions.c.extractor).distinct()).scalars())


def test_count_due_matches_the_documents_handed_out_under_filters(store: SqlStore) -> None:
    from allsource.store.processing import count_due, documents_due

    src = _fill(store, TEXTS)
    other = Source(name="other", kind="files", location="/tmp/other")
    store.add_source(other)
    store.write_batch(other, [Collected(Document.build(kind="note", title="x", text="y"))],
                      [], None)
    versions = build_pipeline(classes=ALL).versions()
    assert count_due(store, versions) == 4
    assert count_due(store, versions, source_ids=[src.id]) == len(
        documents_due(store, versions, source_ids=[src.id], limit=100)) == 3


def test_upstream_data_changes_redo_dependent_stages() -> None:
    """A stage's stored version carries the fingerprints of the stages it requires, so a
    retrained model or an undone alias upstream redoes what was derived from it."""
    from typing import ClassVar

    from allsource.process.base import Stage, Work
    from allsource.process.pipeline import build_pipeline

    class Upstream(Stage):
        name: ClassVar[str] = "up"

        def fingerprint(self) -> str:
            return str(self.options.get("model", ""))

        def process(self, batch: list[Work]) -> None:
            pass

    class Downstream(Stage):
        name: ClassVar[str] = "down"
        requires: ClassVar[tuple[str, ...]] = ("up",)

        def process(self, batch: list[Work]) -> None:
            pass

    classes: dict[str, type[Stage]] = {"up": Upstream, "down": Downstream}
    plain = build_pipeline(["down"], classes=classes).versions()
    assert plain == {"up": "1", "down": "1"}
    a = build_pipeline(["down"], {"up": {"model": "a"}}, classes=classes).versions()
    b = build_pipeline(["down"], {"up": {"model": "b"}}, classes=classes).versions()
    assert a["up"] == "1+a" and b["up"] == "1+b"
    assert a["down"].startswith("1^") and a["down"] != b["down"]


def test_a_title_the_body_repeats_gives_no_second_mention() -> None:
    from allsource.model.records import StixObject
    from allsource.process.base import Work, title_repeated

    obj = StixObject(id="intrusion-set--x", type="intrusion-set", name="APT28", stix={})
    title = "APT28 targets Czech ministries"
    repeated = Work(id="a", title=title, text=f"{title.upper()}\n\nAPT28 sent e-mails.")
    repeated.add_object(obj, "entities@1", 0, 5)  # in the title
    repeated.add_object(obj, "entities@1", len(title) + 1, len(title) + 6)  # in the body
    assert [m.start for m in repeated.mentions] == [len(title) + 1]
    assert len(repeated.objects) == 2  # still proposed; the writer stores it once

    fresh = Work(id="b", title=title, text="The ministry confirmed an intrusion by APT28.")
    fresh.add_object(obj, "entities@1", 0, 5)
    assert [m.start for m in fresh.mentions] == [0]
    # a dateline before the repeated title; and a title too short to tell
    assert title_repeated(title, f"PRAGUE (Reuters) - {title}: officials said")
    assert not title_repeated("APT", "APT groups were seen")
