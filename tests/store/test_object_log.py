"""Object versions and the ingest sequence (both backends): every written version is
numbered once, in commit order, without gaps or ties, across concurrent writers; newer
``modified`` wins, older versions stay; the migration numbers what was stored before it."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Document, Mention, Relationship, Source, StixObject
from allsource.process.base import Work
from allsource.process.stages.relations import relationship
from allsource.store import object_log
from allsource.store import schema as t
from allsource.store.processing import write_results
from allsource.store.sql import SqlStore
from tests.store.migrating import alembic

UUIDS = [f"0b6a7a2e-6b1c-4a39-9d58-1f5e8f0a{n:04d}" for n in range(10000)]


def _indicator(n: int, modified: str = "2024-01-01T00:00:00Z",
               marking: Marking | None = None) -> StixObject:
    oid = f"indicator--{UUIDS[n]}"
    stix = {"type": "indicator", "id": oid, "spec_version": "2.1",
            "created": "2024-01-01T00:00:00Z", "modified": modified, "name": f"ind {n}",
            "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']", "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z"}
    return StixObject(oid, "indicator", f"ind {n}", stix, marking or Marking())


def _item(n: int, objects: list[StixObject], rels: list[Relationship] = ()) -> Collected:  # type: ignore[assignment]
    doc = Document.build(kind="bundle", title=f"bundle {n}", text=f"bundle number {n}")
    return Collected(doc, list(objects), list(rels),
                     [Mention(o.id, "stix") for o in [*objects, *rels]])


def _source(store: SqlStore) -> Source:
    src = Source(name="feed", kind="stix", location="/tmp/feed")
    store.add_source(src)
    return src


def _versions(store: SqlStore) -> list[Any]:
    v = t.object_versions
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(v).order_by(v.c.seq)))


def test_every_new_object_and_relationship_gets_one_numbered_version(store: SqlStore) -> None:
    src = _source(store)
    objs = [_indicator(n) for n in range(5)]
    rel = Relationship("relationship--" + UUIDS[9000], "related-to", objs[0].id, objs[1].id,
                       {"type": "relationship", "id": "relationship--" + UUIDS[9000],
                        "relationship_type": "related-to", "source_ref": objs[0].id,
                        "target_ref": objs[1].id})
    store.write_batch(src, [_item(0, objs[:3], [rel]), _item(1, objs[3:])], [], None)
    rows = _versions(store)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert sorted(r.id for r in rows) == sorted([o.id for o in objs] + [rel.id])
    assert all(a.date_added < b.date_added for a, b in itertools.pairwise(rows))
    assert all(r.is_current for r in rows)
    assert {r.type for r in rows} == {"indicator", "relationship"}
    # the same objects again: nothing new to number
    store.write_batch(src, [_item(2, objs)], [], None)
    assert len(_versions(store)) == 6


def test_newer_modified_wins_and_older_versions_stay(store: SqlStore) -> None:
    src = _source(store)
    store.write_batch(src, [_item(0, [_indicator(1, "2024-01-01T00:00:00Z")])], [], None)
    newer = _indicator(1, "2024-03-01T00:00:00.5Z", Marking(tlp=TLP.GREEN))
    store.write_batch(src, [_item(1, [newer])], [], None)
    late = _indicator(1, "2024-02-01T00:00:00Z")  # older than the current one, arrives last
    store.write_batch(src, [_item(2, [late])], [], None)
    rows = _versions(store)
    assert [(r.seq, r.modified, r.is_current) for r in rows] == [
        (1, "2024-01-01T00:00:00.000000Z", False),
        (2, "2024-03-01T00:00:00.500000Z", True),
        (3, "2024-02-01T00:00:00.000000Z", False)]
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(t.objects).where(t.objects.c.id == newer.id)).one()
    assert row.stix["modified"] == "2024-03-01T00:00:00.5Z"
    assert row.tlp == int(TLP.GREEN)
    # the same version written with another precision is the same version
    store.write_batch(src, [_item(3, [_indicator(1, "2024-03-01T00:00:00.500Z")])], [], None)
    assert len(_versions(store)) == 3


def test_a_stage_finding_a_stored_relationship_again_adds_no_version(store: SqlStore) -> None:
    """The relations stage stamps ``modified`` with the time it runs: the same relationship
    found in later documents is one relationship (its mentions grow), not a version per
    document, and the stored STIX stays the one first written."""
    src = _source(store)
    a, b = _indicator(1), _indicator(2)
    store.write_batch(src, [_item(0, [a, b])], [], None)
    works = []
    for n, stamp in enumerate(["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"]):
        rel = relationship("indicates", a, b, "test")
        rel.stix["modified"] = stamp
        work = Work(id=f"x-allsource-document--{UUIDS[5000 + n]}", title="t", text="t")
        work.relationships.append(rel)
        works.append(work)
    write_results(store, works[:1], {"relations": "2"})
    write_results(store, works[1:], {"relations": "2"})
    rels = [r for r in _versions(store) if r.type == "relationship"]
    assert [(r.modified, r.is_current) for r in rels] == [("2026-01-01T00:00:00.000000Z", True)]
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(t.relationships.c.stix)).scalar_one()
    assert stored["modified"] == "2026-01-01T00:00:00Z"


def test_concurrent_writers_get_gapless_tie_free_numbers(store: SqlStore) -> None:
    src = _source(store)
    writers, batches, per = 4, 5, 20
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            for b in range(batches):
                base = (w * batches + b) * per
                store.write_batch(src, [_item(base, [_indicator(base + i)
                                                     for i in range(per)])], [], None)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    rows = _versions(store)
    total = writers * batches * per
    assert [r.seq for r in rows] == list(range(1, total + 1))
    assert len({r.id for r in rows}) == total
    assert all(a.date_added < b.date_added for a, b in itertools.pairwise(rows))
    with store.engine.connect() as conn:
        head = conn.execute(sa.select(t.object_log_head)).one()
    assert head.seq == total and head.date_added == rows[-1].date_added


def test_migration_numbers_the_objects_stored_before_it(store: SqlStore) -> None:
    alembic(store, "downgrade", "0032")
    made = datetime(2025, 1, 1)
    with store.engine.begin() as conn:
        conn.execute(t.objects.insert(), [
            {"id": f"indicator--{UUIDS[n]}", "type": "indicator", "name": f"i{n}",
             "stix": {"modified": "2024-05-05T00:00:00Z"} if n % 2 else {},
             "created_at": made} for n in range(7)])
        conn.execute(t.relationships.insert(), [
            {"id": "relationship--" + UUIDS[9000], "relationship_type": "uses",
             "source_ref": "a--1", "target_ref": "b--2", "stix": {}, "created_at": made}])
    alembic(store, "upgrade", "head")
    rows = _versions(store)
    assert [r.seq for r in rows] == list(range(1, 9))
    assert sum(1 for r in rows if r.modified == "2024-05-05T00:00:00.000000Z") == 3
    assert all(a.date_added < b.date_added for a, b in itertools.pairwise(rows))
    # writing goes on after the backfilled numbers
    store.write_batch(_source(store), [_item(0, [_indicator(100)])], [], None)
    assert [r.seq for r in _versions(store)][-1] == 9


def test_normalize_modified() -> None:
    norm = object_log.normalize_modified
    assert norm("2024-01-01T00:00:00Z") == norm("2024-01-01T00:00:00.000Z")
    assert norm("2024-01-01T00:00:00.1Z") > norm("2024-01-01T00:00:00Z")
    assert norm("2024-01-01T01:00:00+01:00") == norm("2024-01-01T00:00:00Z")
    assert norm("yesterday") == norm(None) == norm(5) == ""
