"""The least evidence marking kept on objects and relationships (migration 0045,
``store/graph_evidence.py``), on SQLite and PostgreSQL: the triggers keep it on every write,
a reader's filter on it equals the whole rule (``derived.visible``) for every audience after
every kind of change, and a relationship whose only evidence is raised to TLP:RED leaves a
TLP:GREEN reader's graph at once."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from allsource.analyze.graph import neighbourhood
from allsource.model.markings import TLP, Audience, Classification
from allsource.store import derived, graph_evidence
from allsource.store import schema as t
from allsource.store.access import readable
from allsource.store.sql import SqlStore

NOW = datetime(2024, 1, 1)
GREEN = Audience(max_tlp=TLP.GREEN)
AUDIENCES = [
    Audience(max_tlp=TLP.CLEAR), GREEN, Audience(max_tlp=TLP.AMBER),
    Audience(max_tlp=TLP.RED, clearance=Classification.SECRET),
    Audience(max_tlp=TLP.AMBER, compartments=frozenset({"ops"})),
    Audience(max_tlp=TLP.RED, groups=frozenset({"nato"})),
    Audience(max_tlp=TLP.RED, clearance=Classification.SECRET,
             compartments=frozenset({"ops", "sig"}), groups=frozenset({"nato"})),
]


def _marking(tlp: int = 0, cls: int = 0, comp: str = "", rel: str = "") -> dict[str, Any]:
    return {"tlp": tlp, "classification": cls, "compartments": comp, "releasability": rel}


#: documents: CLEAR, GREEN, AMBER, RED, SECRET, compartment "ops", releasable to NATO
DOCS = {"clear": _marking(), "green": _marking(1), "amber": _marking(2), "red": _marking(4),
        "secret": _marking(0, 2), "ops": _marking(1, 0, "ops"), "nato": _marking(0, 0, "",
                                                                                 "nato")}
#: object ids; x0..x11 are mentioned below, u0/u1 nobody mentions
OBJECTS = {**{f"x{i}": _marking() for i in range(12)}, "u0": _marking(1), "u1": _marking(4)}
#: mentions: (object, document, the mention's own marking)
MENTIONS = [
    ("x0", "clear", _marking()), ("x0", "red", _marking(4)),  # CLEAR and RED: CLEAR
    ("x1", "red", _marking(4)),  # RED only
    ("x2", "green", _marking()), ("x2", "amber", _marking(2)),
    ("x3", "secret", _marking()), ("x3", "amber", _marking(2)),  # incomparable: unknown
    ("x4", "ops", _marking(1, 0, "ops")), ("x4", "amber", _marking(2, 0, "ops")),
    ("x5", "nato", _marking()),  # releasability: unknown
    ("x6", "green", _marking(2)),  # the mention is stricter than its document
    ("x7", "amber", _marking()), ("x7", "green", _marking()),  # lowered by the second
    ("x8", "ops", _marking()), ("x8", "clear", _marking()),
    ("x9", "green", _marking()),
    ("x10", "clear", _marking(0, 0, "sig")), ("x10", "ops", _marking()),  # two compartments
    ("x11", "missing", _marking()),  # its document is not stored: no evidence
]


def _oid(name: str) -> str:
    return f"malware--{name}"


def _did(name: str) -> str:
    return f"report--{name}"


def _fill(store: SqlStore) -> None:
    """Objects, relationships between them (each relationship evidenced like its source
    object), documents and mentions, written one after another as processing does."""
    names = list(OBJECTS)
    rels = {f"r{i}": (a, b) for i, (a, b) in enumerate(zip(names, names[1:] + names[:1],
                                                           strict=True))}
    with store.engine.begin() as conn:
        conn.execute(t.documents.insert(), [
            {"id": _did(d), "source_id": "s", "kind": "article", "title": d, "text": "",
             "url": None, "language": "en", "media_type": None, "published_at": NOW,
             "collected_at": NOW, "content_hash": f"{i:064d}", "blob_sha256": None,
             "blob_ref": None, "labels": [], "meta": {}, **m}
            for i, (d, m) in enumerate(DOCS.items())])
        conn.execute(t.objects.insert(), [
            {"id": _oid(n), "type": "malware", "name": n, "stix": {}, "created_at": NOW, **m}
            for n, m in OBJECTS.items()])
        conn.execute(t.relationships.insert(), [
            {"id": f"relationship--{k}", "relationship_type": "uses",
             "source_ref": _oid(a), "target_ref": _oid(b), "stix": {}, "created_at": NOW,
             **OBJECTS[a]} for k, (a, b) in rels.items()])
        for k, (a, _) in rels.items():
            for obj, doc, m in MENTIONS:
                if obj == a:
                    conn.execute(t.mentions.insert(), [
                        {"object_id": oid, "document_id": _did(doc), "extractor": "e",
                         "span_start": 0, "span_end": 1, **m}
                        for oid in (_oid(obj), f"relationship--{k}")])


def _agree(store: SqlStore) -> None:
    """For every audience and both tables, the stored-marking filter keeps exactly the
    rows the whole rule keeps."""
    with store.engine.connect() as conn:
        for table, audience in itertools.product((t.objects, t.relationships), AUDIENCES):
            fast = set(conn.execute(sa.select(table.c.id).where(
                graph_evidence.visible(store, table, audience))).scalars())
            rule = set(conn.execute(sa.select(table.c.id).where(
                derived.visible(store, table, audience, readable))).scalars())
            assert fast == rule, (table.name, audience)


def _states(store: SqlStore, table: sa.Table = t.objects) -> dict[str, Any]:
    # an unknown state's marking columns mean nothing
    with store.engine.connect() as conn:
        return {r[0].split("--")[1]: r[1:] if r[1] is not None else (None,) for r in conn.execute(
            sa.select(table.c.id, table.c.ev_state, table.c.ev_tlp, table.c.ev_classification,
                      table.c.ev_compartments))}


def test_the_triggers_keep_the_least_evidence_marking(store: SqlStore) -> None:
    _fill(store)
    s = _states(store)
    assert s["x0"] == (2, 0, 0, "")  # CLEAR and RED evidence: CLEAR
    assert s["x1"] == (2, 4, 0, "")
    assert s["x2"] == (2, 1, 0, "")
    assert s["x4"] == (2, 1, 0, "ops")
    assert s["x6"] == (2, 2, 0, "")  # the mention's AMBER over its GREEN document
    assert s["x7"] == (2, 1, 0, "")  # AMBER first, then lowered by a GREEN document
    assert s["x8"] == (2, 0, 0, "")  # ops first, then lowered to no compartment
    assert s["u0"] == (1, 1, 0, "") and s["u1"] == (1, 4, 0, "")  # unmentioned: own
    # what the columns cannot order exactly stays unknown: the rule decides
    for name in ("x3", "x5", "x10", "x11"):
        assert s[name][0] is None, name
    assert _states(store, t.relationships)["r0"] == (2, 0, 0, "")
    _agree(store)
    # the exact recomputation agrees with what the triggers kept
    with store.engine.begin() as conn:
        graph_evidence.refresh(conn, everything=True)
    assert _states(store) == s


@pytest.mark.parametrize("change", ["raise", "lower", "delete mention", "change mention",
                                    "delete document", "own marking", "new mention"])
def test_every_change_keeps_the_filter_equal_to_the_rule(store: SqlStore, change: str) -> None:
    _fill(store)
    m, d, o = t.mentions, t.documents, t.objects
    with store.engine.begin() as conn:
        if change == "raise":
            conn.execute(d.update().where(d.c.id == _did("clear")).values(tlp=4))
        elif change == "lower":
            conn.execute(d.update().where(d.c.id == _did("red")).values(tlp=0))
        elif change == "delete mention":
            conn.execute(m.delete().where(m.c.document_id == _did("clear")))
        elif change == "change mention":
            conn.execute(m.update().where(m.c.document_id == _did("green"))
                         .values(tlp=4))
        elif change == "delete document":
            conn.execute(d.delete().where(d.c.id == _did("clear")))
        elif change == "own marking":
            conn.execute(o.update().values(tlp=2))
        else:
            conn.execute(m.insert(), [
                {"object_id": _oid(n), "document_id": _did(doc), "extractor": "late",
                 "span_start": 5, "span_end": 6, **_marking()}
                for n, doc in (("x1", "clear"), ("u1", "red"), ("x2", "amber"),
                               ("x4", "green"), ("u0", "missing"))])
    _agree(store)
    with store.engine.begin() as conn:
        graph_evidence.refresh(conn)
    _agree(store)


def test_a_relationship_evidenced_only_by_a_raised_document_leaves_the_graph_at_once(
        store: SqlStore) -> None:
    """A GREEN reader sees a relationship through its only GREEN-readable document; the
    document is raised to RED: the next request neither shows nor counts it, the owner
    still does, and with the document lowered again it is back; :func:`refresh` makes the
    row known again in between."""
    _fill(store)
    # r2 (x2 → x3) is evidenced like x2: a GREEN and an AMBER document
    center = _oid("x3")

    def edges(audience: Audience) -> set[tuple[str, str]]:
        view = neighbourhood(store, center, audience=audience)
        assert view is not None
        assert view.summary["relationships_total"] == len(view.edges)
        return {(e.source.split("--")[1], e.target.split("--")[1]) for e in view.edges}

    assert edges(GREEN) == {("x2", "x3")}  # x3 → x4: x4 is in compartment "ops"
    assert _states(store, t.relationships)["r2"] == (2, 1, 0, "")
    d = t.documents
    with store.engine.begin() as conn:
        conn.execute(d.update().where(d.c.id == _did("green")).values(tlp=int(TLP.RED)))
    assert edges(GREEN) == set()
    assert ("x2", "x3") in edges(Audience.owner())
    with store.engine.begin() as conn:
        graph_evidence.refresh(conn)
    assert _states(store, t.relationships)["r2"] == (2, 2, 0, "")  # the AMBER evidence
    assert edges(GREEN) == set()
    with store.engine.begin() as conn:
        conn.execute(d.update().where(d.c.id == _did("green")).values(tlp=int(TLP.GREEN)))
    assert _states(store, t.relationships)["r2"] == (None,)
    assert edges(GREEN) == {("x2", "x3")}


def test_reprocessing_a_document_leaves_its_objects_known(store: SqlStore) -> None:
    """Processing deletes a document's stage mentions before writing them again, which
    makes the stored evidence marking of what they named unknown; the write recomputes
    those rows (``store/processing.py`` calls :func:`graph_evidence.refresh`)."""
    from allsource.model.records import Collected, Document, Mention, Source, StixObject
    from allsource.process.base import Work
    from allsource.store.processing import write_results

    src = Source(name="feed", kind="rss", location="http://example.test/feed")
    store.add_source(src)
    doc = Document.build(kind="article", title="t", text="APT-X")
    store.write_batch(src, [Collected(doc, [], [], [])], [], None)
    oid = "intrusion-set--00000000-0000-4000-8000-000000000001"
    for _ in range(2):
        work = Work(id=doc.id, title="t", text="APT-X")
        work.objects.append(StixObject(oid, "intrusion-set", "APT-X",
                                       {"type": "intrusion-set", "id": oid, "name": "APT-X"}))
        work.mentions.append(Mention(oid, "entities@1", 0, 5))
        write_results(store, [work], {"entities": "1"})
        assert _states(store)["00000000-0000-4000-8000-000000000001"] == (2, 0, 0, "")
