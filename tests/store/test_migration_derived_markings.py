"""Migration 0021 on a store holding data (both backends): existing mentions get their
document's marking combined with their object's, case events their case's and their
document's, and stored grades the most restrictive marking until ``verify`` runs again."""

from __future__ import annotations

import sqlalchemy as sa

from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Document, Mention, Source, StixObject
from allsource.store import cases as cs
from allsource.store import schema as t
from allsource.store.sql import SqlStore, utc_now
from tests.store.migrating import alembic

IP = "ipv4-addr--6a3c1e3e-0d0a-5b8e-9d0f-1f2e3d4c5b6a"


def test_existing_rows_are_marked_conservatively(store: SqlStore) -> None:
    src = Source("feed", "rss", "x")
    store.add_source(src)
    red = Document.build(kind="report", title="r", text="198.51.100.3",
                         marking=Marking(tlp=TLP.RED, compartments=frozenset({"ops"})))
    clear = Document.build(kind="report", title="c", text="198.51.100.3 again")
    obj = StixObject(IP, "ipv4-addr", "198.51.100.3", {"type": "ipv4-addr", "id": IP},
                     Marking(tlp=TLP.GREEN))
    store.write_batch(src, [Collected(red, [obj], [], [Mention(IP, "t")]),
                            Collected(clear, [obj], [], [Mention(IP, "t")])], [], None)
    case = cs.create_case(store, "c", owner="ana")
    cs.add_evidence(store, case.id, actor="ana", document_id=red.id)
    with store.engine.begin() as conn:
        conn.execute(t.grades.insert().values(
            subject_type="document", subject_id=clear.id, reliability="B", credibility=2,
            corroboration=1, explanation={}, computed_at=utc_now()))

    alembic(store, "downgrade", "0020")
    alembic(store, "upgrade", "head")

    with store.engine.connect() as conn:
        ments = {r.document_id: Marking.from_columns(dict(r._mapping))
                 for r in conn.execute(sa.select(t.mentions))}
        events = [(r.action, Marking.from_columns(dict(r._mapping)).tlp)
                  for r in conn.execute(sa.select(t.case_events).order_by(t.case_events.c.id))]
        grade = conn.execute(sa.select(t.grades)).one()
    assert ments[red.id] == Marking(tlp=TLP.RED, compartments=frozenset({"ops"}))
    assert ments[clear.id] == Marking(tlp=TLP.GREEN)  # the object's first proposal: GREEN
    assert events == [("created", TLP.RED), ("marking-raised", TLP.RED),
                      ("evidence-added", TLP.RED)]
    assert Marking.from_columns(dict(grade._mapping)).tlp is TLP.RED


def test_a_lowered_case_keeps_its_earlier_events_closed(store: SqlStore) -> None:
    src = Source("feed", "rss", "x")
    store.add_source(src)
    red = Document.build(kind="report", title="Closed tip", text="t", marking=Marking(tlp=TLP.RED))
    store.write_batch(src, [Collected(red)], [], None)
    case = cs.create_case(store, "c", owner="ana")
    ev = cs.add_evidence(store, case.id, actor="ana", document_id=red.id)
    cs.update_evidence(store, case.id, ev.id, actor="ana", description="Closed tip, again")
    cs.delete_evidence(store, case.id, ev.id, actor="ana")
    cs.update_case(store, case.id, actor="ana", marking=Marking())

    alembic(store, "downgrade", "0020")
    alembic(store, "upgrade", "head")

    with store.engine.connect() as conn:
        tlps = {Marking.from_columns(dict(r._mapping)).tlp
                for r in conn.execute(sa.select(t.case_events))}
    assert tlps == {TLP.RED}
