"""Graph neighbourhoods on a small graph of known shape, on SQLite and PostgreSQL.

    APT-X ─uses→ M0..M3 (malware) ─uses→ 5 tools each (T<i>.<j>)
          ─targets→ Ruritania (location)
          ─uses→ Secret-M (compartment "ops")     ─uses→ RedTool (TLP:RED)

Evidence: APT-X→M0 only in a 2019 document graded 5; every other relationship in a 2024
document graded 2.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from allsource.analyze.graph import GraphView, neighbourhood, released
from allsource.errors import InputError
from allsource.model.ids import minted_id
from allsource.model.markings import TLP, Audience, Classification, Marking, can_release
from allsource.model.records import Collected, Document, Mention, Relationship, Source, StixObject
from allsource.store import schema as t
from allsource.store.sql import SqlStore

READER = Audience(max_tlp=TLP.AMBER, clearance=Classification.UNCLASSIFIED)
OPS = Audience(max_tlp=TLP.RED, clearance=Classification.UNCLASSIFIED,
               compartments=frozenset({"ops"}))
OLD = datetime(2019, 3, 1, tzinfo=UTC)
NEW = datetime(2024, 6, 1, tzinfo=UTC)


def obj(kind: str, name: str, marking: Marking | None = None) -> StixObject:
    oid = minted_id(kind, name)
    return StixObject(oid, kind, name, {"type": kind, "id": oid, "name": name},
                      marking or Marking())


def rel(kind: str, a: StixObject, b: StixObject) -> Relationship:
    rid = minted_id("relationship", f"{kind}|{a.id}|{b.id}")
    return Relationship(rid, kind, a.id, b.id, {"type": "relationship", "id": rid},
                        a.marking.combine(b.marking))


class Graph:
    def __init__(self) -> None:
        self.actor = obj("intrusion-set", "APT-X")
        self.malware = [obj("malware", f"M{i}") for i in range(4)]
        self.tools = [[obj("tool", f"T{i}.{j}") for j in range(5)] for i in range(4)]
        self.place = obj("location", "Ruritania")
        self.secret = obj("malware", "Secret-M", Marking(compartments=frozenset({"ops"})))
        self.red = obj("tool", "RedTool", Marking(tlp=TLP.RED))
        self.old_rels = [rel("uses", self.actor, self.malware[0])]
        self.new_rels = [
            *(rel("uses", self.actor, m) for m in self.malware[1:]),
            rel("targets", self.actor, self.place), rel("uses", self.actor, self.secret),
            rel("uses", self.secret, self.red),
            *(rel("uses", m, tool) for m, ts in zip(self.malware, self.tools, strict=True)
              for tool in ts)]

    @property
    def objects(self) -> list[StixObject]:
        return [self.actor, *self.malware, *itertools.chain(*self.tools), self.place,
                self.secret, self.red]


def _doc(title: str, when: datetime) -> Document:
    return Document.build(kind="article", title=title, text=title, published_at=when)


def write(store: SqlStore, g: Graph) -> tuple[Document, Document]:
    src = Source(name="feed", kind="rss", location="http://example.test/feed")
    store.add_source(src)
    old, new = _doc("old report", OLD), _doc("new report", NEW)
    items = [Collected(old, g.objects, g.old_rels, [Mention(r.id, "relations@1", 0, 5)
                                                    for r in g.old_rels]),
             Collected(new, [], g.new_rels, [Mention(r.id, "relations@1", 0, 5)
                                             for r in g.new_rels])]
    store.write_batch(src, items, [], None)
    with store.engine.begin() as conn:
        conn.execute(t.grades.insert(), [
            {"subject_type": "document", "subject_id": d.id, "reliability": "B",
             "credibility": cred, "corroboration": 0, "explanation": {},
             "computed_at": datetime(2024, 7, 1)} for d, cred in ((old, 5), (new, 2))])
    return old, new


@pytest.fixture
def graph(store: SqlStore) -> Iterator[Graph]:
    g = Graph()
    write(store, g)
    yield g


def ids(view: GraphView) -> set[str]:
    return {n.id for n in view.nodes}


def test_depth_one_lists_neighbours_with_their_relationships(store: SqlStore,
                                                             graph: Graph) -> None:
    view = neighbourhood(store, graph.actor.id, audience=Audience.owner())
    assert view is not None and not view.summarised
    assert ids(view) == {graph.actor.id, *(m.id for m in graph.malware), graph.place.id,
                         graph.secret.id}
    kinds = {(e.source, e.target): e.type for e in view.edges}
    assert kinds[(graph.actor.id, graph.place.id)] == "targets"
    assert {n.distance for n in view.nodes if n.id != graph.actor.id} == {1}
    assert view.as_dict()["nodes"][0]["label"] == "APT-X"


def test_depth_two_reaches_tools(store: SqlStore, graph: Graph) -> None:
    view = neighbourhood(store, graph.actor.id, depth=2, audience=Audience.owner())
    assert view is not None
    assert len(view.nodes) == 1 + 4 + 20 + 1 + 1 + 1
    assert {n.distance for n in view.nodes if n.type == "tool"} == {2}
    assert view.summary["nodes_total"] == 28


def test_summary_stays_under_the_budget_and_conserves_counts(store: SqlStore,
                                                             graph: Graph) -> None:
    for budget in (2, 3, 5, 8, 12, 27):
        view = neighbourhood(store, graph.actor.id, depth=2, max_nodes=budget,
                             max_edges=10, audience=Audience.owner())
        assert view is not None and view.summarised
        assert len(view.nodes) <= budget
        assert len(view.edges) <= 10
        assert sum(n.count for n in view.nodes) == 28
        assert view.nodes[0].id == graph.actor.id
        shown = ids(view)
        assert all(e.source in shown and e.target in shown for e in view.edges)
        relationships = sum(e.weight for e in view.edges) + view.summary[
            "relationships_inside_clusters"]
        if view.summary["edges_dropped"] == 0:
            assert relationships == view.summary["relationships_total"] == 27


def test_summary_groups_by_type_then_strongest_neighbour(store: SqlStore,
                                                         graph: Graph) -> None:
    view = neighbourhood(store, graph.actor.id, depth=2, max_nodes=4,
                         audience=Audience.owner())
    assert view is not None
    assert {(n.type, n.count) for n in view.nodes if n.kind == "cluster"} >= {("tool", 21)}
    view = neighbourhood(store, graph.actor.id, depth=2, max_nodes=12,
                         audience=Audience.owner())
    assert view is not None
    labels = {n.label for n in view.nodes if n.kind == "cluster"}
    assert "5 tool via M0" in labels
    tools = next(n for n in view.nodes if n.label == "5 tool via M0")
    assert {m["label"] for m in tools.members_sample} == {f"T0.{j}" for j in range(5)}
    holder = next(n.id for n in view.nodes if n.id == graph.malware[0].id
                  or graph.malware[0].id in {m["id"] for m in n.members_sample})
    assert any(e.source == holder and e.target == tools.id and e.weight == 5
               for e in view.edges)


def test_time_filter_uses_the_evidencing_documents(store: SqlStore, graph: Graph) -> None:
    recent = neighbourhood(store, graph.actor.id, since=datetime(2024, 1, 1),
                           audience=Audience.owner())
    assert recent is not None and graph.malware[0].id not in ids(recent)
    assert graph.malware[1].id in ids(recent)
    before = neighbourhood(store, graph.actor.id, until=datetime(2020, 1, 1, tzinfo=UTC),
                           audience=Audience.owner())
    assert before is not None and ids(before) == {graph.actor.id, graph.malware[0].id}


def test_grade_filter_keeps_credible_evidence(store: SqlStore, graph: Graph) -> None:
    good = neighbourhood(store, graph.actor.id, min_credibility=3, audience=Audience.owner())
    assert good is not None and graph.malware[0].id not in ids(good)
    anything = neighbourhood(store, graph.actor.id, min_credibility=6,
                             audience=Audience.owner())
    assert anything is not None and graph.malware[0].id in ids(anything)
    with pytest.raises(InputError):
        neighbourhood(store, graph.actor.id, min_credibility=7, audience=Audience.owner())


def test_markings_hide_objects_and_what_lies_behind_them(store: SqlStore,
                                                         graph: Graph) -> None:
    view = neighbourhood(store, graph.actor.id, depth=2, audience=READER)
    assert view is not None
    assert graph.secret.id not in ids(view) and graph.red.id not in ids(view)
    summary = neighbourhood(store, graph.actor.id, depth=2, max_nodes=3, audience=READER)
    assert summary is not None
    assert sum(n.count for n in summary.nodes) == 26
    members = {m["id"] for n in summary.nodes for m in n.members_sample}
    assert graph.secret.id not in members
    cleared = neighbourhood(store, graph.actor.id, depth=2, audience=OPS)
    assert cleared is not None and {graph.secret.id, graph.red.id} <= ids(cleared)
    assert neighbourhood(store, graph.secret.id, audience=READER) is None
    assert neighbourhood(store, "malware--missing", audience=READER) is None


def test_comentions_are_optional(store: SqlStore, graph: Graph) -> None:
    src = store.get_source("feed")
    assert src is not None
    doc = _doc("both named", NEW)
    loner = obj("threat-actor", "Loner")
    store.write_batch(src, [Collected(doc, [loner], [], [Mention(graph.actor.id, "e", 0, 1),
                                                         Mention(loner.id, "e", 2, 3)])],
                      [], None)
    plain = neighbourhood(store, graph.actor.id, audience=Audience.owner())
    assert plain is not None and loner.id not in ids(plain)
    view = neighbourhood(store, graph.actor.id, comentions=True, audience=Audience.owner())
    assert view is not None and loner.id in ids(view)
    assert any(e.type == "co-mentioned" and e.target == loner.id and e.weight == 1
               for e in view.edges)


def test_released_matches_can_release(store: SqlStore) -> None:
    """The SQL marking filter agrees with the one release decision on every combination."""
    markings = [Marking(tlp=tlp, classification=cls, compartments=frozenset(comp),
                        releasability=frozenset(rel))
                for tlp in (TLP.CLEAR, TLP.RED) for cls in (Classification.UNCLASSIFIED,
                                                           Classification.SECRET)
                for comp in ((), ("a",), ("a", "b"), ("b", "c"), ("a_b",))
                for rel in ((), ("g1",), ("g%", "g2"))]
    audiences = [Audience.owner(), READER,
                 Audience(max_tlp=TLP.RED, clearance=Classification.SECRET,
                          compartments=frozenset({"a", "b"}), groups=frozenset({"g2"})),
                 Audience(compartments=frozenset({"a"}), groups=frozenset({"g1", "g"}))]
    rows = [{"id": f"x--{i}", "type": "x", "name": str(i), "stix": {},
             "created_at": datetime(2024, 1, 1), **m.to_columns()}
            for i, m in enumerate(markings)]
    with store.engine.begin() as conn:
        conn.execute(t.objects.insert(), rows)
    for audience in audiences:
        with store.engine.connect() as conn:
            got = set(conn.execute(t.objects.select().with_only_columns(t.objects.c.id)
                                   .where(released(t.objects, audience))).scalars())
        want = {f"x--{i}" for i, m in enumerate(markings) if can_release(m, audience)}
        assert got == want, audience


def test_bad_arguments_are_refused(store: SqlStore, graph: Graph) -> None:
    with pytest.raises(InputError):
        neighbourhood(store, graph.actor.id, depth=3, audience=Audience.owner())
    with pytest.raises(InputError):
        neighbourhood(store, graph.actor.id, max_nodes=5000, audience=Audience.owner())


def test_fetch_limit_truncates_and_says_so(store: SqlStore, graph: Graph) -> None:
    view = neighbourhood(store, graph.actor.id, depth=2, fetch_limit=3,
                         audience=Audience.owner())
    assert view is not None and view.summary["truncated"]
    assert view.summary["relationships_total"] == 3


def test_the_graph_is_drawn_from_readable_mentions(store: SqlStore) -> None:
    """Issue 10: an address seen in a CLEAR and a RED report is a CLEAR reader's node; the
    relationship only the RED report asserts, and the actor only it names, are not."""
    from tests.store.test_derived import ACTOR, IP, fill

    fill(store)
    clear = Audience(max_tlp=TLP.CLEAR)
    seen = neighbourhood(store, IP, audience=clear, comentions=True)
    assert seen is not None
    assert [n.id for n in seen.nodes] == [IP] and seen.edges == []
    assert neighbourhood(store, ACTOR, audience=clear) is None
    owner = neighbourhood(store, IP, audience=Audience.owner(), comentions=True)
    assert owner is not None and {n.id for n in owner.nodes} >= {IP, ACTOR}
    assert ("uses", ACTOR, IP) in {(e.type, e.source, e.target) for e in owner.edges}


def test_min_credibility_judges_the_grade_the_reader_sees(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The relationship APT28 → CHOPSTICK is evidenced by a CLEAR report graded 1 on RED
    support (3 for a CLEAR reader) and by the RED reports: a CLEAR reader's graph keeps it
    from ``min_credibility=3`` on, co-mentions too; only that report is regraded."""
    from tests.verify.test_audience import CLEAR_READER, Spy, hidden_support

    clear, _ = hidden_support(store)
    apt28 = next(o for o in _objects(store) if o[1] == "APT28")[0]
    spy = Spy(monkeypatch)
    for c in range(1, 7):
        view = neighbourhood(store, apt28, min_credibility=c, audience=CLEAR_READER,
                             comentions=True)
        assert view is not None
        kinds = sorted(e.type for e in view.edges)
        assert kinds == (["co-mentioned", "uses"] if c >= 3 else []), c
    assert spy.recomputed == [clear.id] * 6  # one per request (hop and co-mentions share it)
    owner = neighbourhood(store, apt28, min_credibility=1, audience=Audience.owner())
    assert owner is not None and [e.type for e in owner.edges] == ["uses"]


def _objects(store: SqlStore) -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        return [(r.id, r.name) for r in conn.execute(
            t.objects.select().order_by(t.objects.c.name))]


def test_relationships_to_objects_not_stored_are_left_out(store: SqlStore,
                                                          graph: Graph) -> None:
    """A relationship whose far end is only a reference (no stored object) is not drawn, for
    the owner as for a reader — also when the fetch cap is reached, where the rows kept are
    those of existing ends."""
    ghost = obj("malware", "Ghost")  # never written
    dangling = rel("uses", graph.actor, ghost)
    src = Source(name="feed2", kind="rss", location="http://example.test/feed2")
    store.add_source(src)
    store.write_batch(src, [Collected(_doc("ghost report", NEW), [], [dangling],
                                      [Mention(dangling.id, "relations@1", 0, 5)])], [], None)
    for audience in (Audience.owner(), READER):
        view = neighbourhood(store, graph.actor.id, audience=audience)
        assert view is not None and ghost.id not in ids(view)
        assert graph.malware[1].id in ids(view)
    whole = neighbourhood(store, graph.actor.id, audience=Audience.owner())
    assert whole is not None
    total = whole.summary["relationships_total"]
    capped = neighbourhood(store, graph.actor.id, audience=Audience.owner(),
                           fetch_limit=total - 1)
    assert capped is not None and ghost.id not in ids(capped)
    assert capped.summary["truncated"] and capped.summary["relationships_total"] == total - 1


def test_a_raised_document_hides_only_what_no_other_readable_document_evidences(
        store: SqlStore) -> None:
    """A reader's relationships are judged by their mentions first and each evidencing
    document once (``graph._evidenced``): a relationship whose first readable mention lies in
    a document raised to TLP:RED after the fact is still drawn through another readable
    document's mention, and hidden when the raised document was its only evidence — at the
    first hop, at the second, and when the fetch cap is reached."""
    now = datetime(2024, 1, 1)
    clear = {"tlp": 0, "classification": 0, "compartments": "", "releasability": ""}
    names = ["center", "x", "y", "z", "w", "v", "u"]
    oid = {n: f"malware--{i:04d}" for i, n in enumerate(names)}
    pairs = {"r1": ("center", "x"), "r2": ("center", "y"), "r3": ("center", "z"),
             "r4": ("w", "x"), "r5": ("w", "z"), "r6": ("v", "x"), "r7": ("u", "x")}
    rid = {k: f"relationship--{i:04d}" for i, k in enumerate(pairs)}
    # "report--a" sorts first, so it is each relationship's first readable mention
    evidence = {"r1": ["a", "b"], "r2": ["a"], "r3": ["b"], "r4": ["a"], "r5": ["a"],
                "r6": ["b"], "r7": ["b"]}
    with store.engine.begin() as conn:
        conn.execute(t.objects.insert(), [
            {"id": oid[n], "type": "malware", "name": n, "stix": {}, "created_at": now,
             **clear} for n in names])
        conn.execute(t.relationships.insert(), [
            {"id": rid[k], "relationship_type": "uses", "source_ref": oid[a],
             "target_ref": oid[b], "stix": {}, "created_at": now, **clear}
            for k, (a, b) in pairs.items()])
        conn.execute(t.documents.insert(), [
            {"id": f"report--{d}", "source_id": "s", "kind": "article", "title": d,
             "text": "", "url": None, "language": "en", "media_type": None,
             "published_at": now, "collected_at": now, "content_hash": d * 64,
             "blob_sha256": None, "blob_ref": None, "labels": [], "meta": {}, **clear}
            for d in "ab"])
        conn.execute(t.mentions.insert(), [
            {"object_id": rid[k], "document_id": f"report--{d}", "extractor": "relations@1",
             "span_start": 0, "span_end": 1, **clear}
            for k, docs in evidence.items() for d in docs])
        # raised after its mentions were written: they keep their TLP:CLEAR marking
        conn.execute(t.documents.update().where(t.documents.c.id == "report--a")
                     .values(tlp=int(TLP.RED)))
    owner = neighbourhood(store, oid["center"], depth=2, audience=Audience.owner())
    assert owner is not None and owner.summary["relationships_total"] == 7
    name = {v: k for k, v in oid.items()}
    # the second hop's last fetch (into x and z) reads in index order center→x (again),
    # w→x (hidden), v→x, u→x: with the cap at 3 only the first fits, and the view says
    # that visible relationships were cut
    for limit, edges, truncated in (
            (100, {("center", "x"), ("center", "z"), ("v", "x"), ("u", "x")}, False),
            (3, {("center", "x"), ("center", "z")}, True)):
        view = neighbourhood(store, oid["center"], depth=2, audience=READER,
                             fetch_limit=limit)
        assert view is not None
        assert {(name[e.source], name[e.target]) for e in view.edges} == edges
        assert view.summary["relationships_total"] == len(edges)
        assert view.summary["truncated"] is truncated
        assert {n.id for n in view.nodes} == {oid[a] for e in edges for a in e}
