"""Graph neighbourhoods against a straightforward implementation, on a generated store.

The store is random but seeded: a centre, 40 first-hop objects and their neighbours, extra
relationships between first-hop objects, back to the centre, self-loops, parallel
relationships and ends that are not stored; markings on objects, relationships, mentions and
documents (some documents raised above their mentions after the fact, some objects never
mentioned). The reference below reads the raw tables, decides visibility with
:func:`can_release` row by row (not the SQL of :mod:`allsource.store.access`), expands
node by node and partitions with plain loops, following the module's documented rules. On
SQLite the rows come in index order, which the reference reproduces, so the two views must
be equal to the byte; on PostgreSQL the order rows come in is the planner's, which may only
change which of two equal-ranked groups is listed first, so the views are compared with
clusters named by their content.

A second test counts the statements one neighbourhood costs: a fixed number per 500-ID
chunk of the frontier, whatever the number of relationships.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from allsource.analyze import graph
from allsource.analyze.graph import neighbourhood
from allsource.model.markings import TLP, Audience, Classification, Marking, can_release
from allsource.store import schema as t
from allsource.store.sql import SqlStore

SEED = 20261207
KINDS = ["malware", "tool", "intrusion-set", "indicator", "ipv4-addr"]
AUDIENCES = [
    Audience.owner(),
    Audience(max_tlp=TLP.AMBER, clearance=Classification.UNCLASSIFIED),
    Audience(max_tlp=TLP.CLEAR),
    Audience(max_tlp=TLP.AMBER, compartments=frozenset({"ops"})),
    Audience(max_tlp=TLP.RED, groups=frozenset({"fvey"})),
]
BUDGETS = [(300, None), (40, None), (12, 10), (5, None), (2, None)]


def _marking(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    return {"tlp": rng.choice([0, 0, 1, 1, 2, 3]), "classification": 0,
            "compartments": "ops" if roll < 0.1 else "",
            "releasability": "fvey" if 0.1 <= roll < 0.18 else ""}


@dataclass
class Generated:
    center: str
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    relationships: list[dict[str, Any]] = field(default_factory=list)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    mentions: list[dict[str, Any]] = field(default_factory=list)


def generate(store: SqlStore, seed: int = SEED, second: int = 8) -> Generated:
    """Write the random store; ``second``: relationships per first-hop object."""
    rng = random.Random(seed)
    now = datetime(2025, 1, 1)
    ids = [f"{rng.choice(KINDS)}--{rng.getrandbits(48):012x}" for _ in range(500)]
    g = Generated(center=ids[0])
    for i, oid in enumerate(ids):
        g.objects[oid] = {"id": oid, "type": oid.partition("--")[0], "name": f"object {i}",
                          "stix": {}, "created_at": now, **_marking(rng)}
    g.objects[g.center].update(tlp=0, compartments="", releasability="")
    first = rng.sample(ids[1:], 40)
    pairs = [(g.center, f) if rng.random() < 0.7 else (f, g.center) for f in first]
    for f in first:
        for _ in range(rng.randrange(second + 1)):
            other = rng.choice(ids[1:])
            pairs.append((f, other) if rng.random() < 0.6 else (other, f))
    pairs += [(rng.choice(first), rng.choice(first)) for _ in range(30)]
    pairs += [(f, f) for f in first[:3]] + [(rng.choice(first), g.center) for _ in range(5)]
    pairs += [(rng.choice(first), f"malware--ghost{n}") for n in range(4)]
    pairs += pairs[:20]  # parallel relationships (other IDs and types)
    for n, (a, b) in enumerate(pairs):
        g.relationships.append({
            "id": f"relationship--{rng.getrandbits(48):012x}{n:04d}",
            "relationship_type": rng.choice(["uses", "targets", "related-to"]),
            "source_ref": a, "target_ref": b, "stix": {}, "created_at": now,
            **_marking(rng)})
    for n in range(30):
        did = f"report--{n:04d}"
        g.documents[did] = {
            "id": did, "source_id": "gen", "kind": "article", "title": did, "text": "",
            "url": None, "language": "en", "media_type": None, "published_at": now,
            "collected_at": now, "content_hash": f"{n:064d}", "blob_sha256": None,
            "blob_ref": None, "labels": [], "meta": {}, **_marking(rng)}
    docs = list(g.documents)
    mentioned = [r["id"] for r in g.relationships if rng.random() < 0.85]
    mentioned += [oid for oid in ids if rng.random() < 0.5]
    for oid in mentioned:
        for did in rng.sample(docs, rng.choice([1, 1, 2, 3])):
            # usually the evidence's marking; sometimes lower than the document's now
            m = _marking(rng) if rng.random() < 0.3 else {
                k: g.documents[did][k] for k in ("tlp", "classification", "compartments",
                                                  "releasability")}
            g.mentions.append({"object_id": oid, "document_id": did, "extractor": "gen",
                               "span_start": 0, "span_end": 1, **m})
    with store.engine.begin() as conn:
        conn.execute(t.objects.insert(), list(g.objects.values()))
        conn.execute(t.relationships.insert(), g.relationships)
        conn.execute(t.documents.insert(), list(g.documents.values()))
        conn.execute(t.mentions.insert(), g.mentions)
    return g


# -- the straightforward implementation ---------------------------------------------------------
def _released(row: dict[str, Any], audience: Audience) -> bool:
    return can_release(Marking.from_columns(row), audience)


def _visible(g: Generated, row: dict[str, Any], audience: Audience) -> bool:
    if audience.unrestricted:
        return True
    evidence = [m for m in g.mentions if m["object_id"] == row["id"]]
    if evidence:
        return any(_released(m, audience) and _released(g.documents[m["document_id"]],
                                                        audience) for m in evidence)
    return _released(row, audience)


def _shown(g: Generated, oid: str, audience: Audience) -> bool:
    return oid in g.objects and _visible(g, g.objects[oid], audience)


@dataclass
class _Ref:
    distance: dict[str, int]
    edges: dict[str, tuple[str, str, str]]
    ties: list[tuple[str, str]]


def _expand(g: Generated, depth: int, audience: Audience, chunk: int) -> _Ref:
    """Breadth-first, one frontier chunk at a time, outgoing then incoming relationships in
    the order of the (end, other end, type, id) indexes."""
    ref = _Ref({g.center: 0}, {}, [])
    frontier = [g.center]
    for dist in range(1, depth + 1):
        for i in range(0, len(frontier), chunk):
            ids = set(frontier[i:i + chunk])
            for near, far in (("source_ref", "target_ref"), ("target_ref", "source_ref")):
                rows = sorted((r for r in g.relationships if r[near] in ids),
                              key=lambda r: (r[near], r[far], r["relationship_type"], r["id"]))
                for r in rows:
                    if not _visible(g, r, audience) or not _shown(g, r[far], audience):
                        continue
                    ref.distance.setdefault(r[far], dist)
                    if r[far] == r[near] or r["id"] in ref.edges:
                        continue
                    ref.edges[r["id"]] = (r["relationship_type"], r["source_ref"],
                                          r["target_ref"])
                    if dist == 2 and ref.distance[r[far]] == 2:
                        ref.ties.append((r[far], r[near]))
        frontier = sorted(n for n, d in ref.distance.items() if d == dist)
    return ref


@dataclass
class _G:
    type: str
    members: list[str]
    level: int
    anchor: str | None = None
    rest: bool = False


def _reference(g: Generated, depth: int, audience: Audience, max_nodes: int,
               max_edges: int | None, chunk: int = 500) -> dict[str, Any] | None:
    if not _shown(g, g.center, audience):
        return None
    ref = _expand(g, depth, audience, chunk)
    cap = 4 * max_nodes if max_edges is None else max_edges
    deg: Counter[str] = Counter()
    for _, s, d in ref.edges.values():
        deg[s] += 1
        deg[d] += 1
    rest_nodes = [n for n in ref.distance if n != g.center]
    if len(ref.distance) <= max_nodes:
        return _render(g, ref, [_G(n.partition("--")[0], [n], 2) for n in rest_nodes], deg,
                       cap, False)
    budget = max_nodes - 1
    # strongest first-hop neighbour of each second-hop node
    tie_count = Counter(ref.ties)
    anchor: dict[str, str] = {}
    for (far, near), n in tie_count.items():
        best = anchor.get(far)
        if best is None or (n, deg[near], _neg(near)) > (tie_count[(far, best)], deg[best],
                                                         _neg(best)):
            anchor[far] = near
    by_type: dict[tuple[str, int], list[str]] = defaultdict(list)
    for n in rest_nodes:
        by_type[(n.partition("--")[0], ref.distance[n])].append(n)
    types = sorted(by_type.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    groups = [_G(kind, ms, 0) for (kind, _), ms in types[:budget]]
    if len(types) > budget:
        groups = [*groups[:budget - 1],
                  _G("mixed", [m for _, ms in types[budget - 1:] for m in ms], 2, rest=True)]
    final = [x for x in groups if not (x.level < 2 and len(x.members) > 1)]
    heap = [(-len(x.members), i, x) for i, x in
            enumerate(x for x in groups if x.level < 2 and len(x.members) > 1)]
    seq = len(heap)
    heapq.heapify(heap)
    while heap:
        free = budget - len(final) - len(heap)
        _, _, group = heapq.heappop(heap)
        if free <= 0 or (group.level == 1 and len(group.members) - 1 > free):
            final.append(group)
            continue
        parts = _parts(group, ref, anchor)
        if len(parts) == 1:
            parts = _parts(parts[0], ref, anchor)
        parts.sort(key=lambda p: (-len(p.members), -max(deg[m] for m in p.members),
                                  min(p.members)))
        allowed = min(len(parts), max(1, free // (len(heap) + 1)) + 1)
        if allowed < len(parts):
            rest = [m for p in parts[allowed - 1:] for m in p.members]
            parts = [*parts[:allowed - 1], _G(group.type, rest, 2, group.anchor, True)]
        for p in parts:
            if p.level < 2 and len(p.members) > 1:
                heapq.heappush(heap, (-len(p.members), seq, p))
                seq += 1
            else:
                final.append(p)
    return _render(g, ref, final, deg, cap, True)


def _neg(s: str) -> tuple[int, ...]:
    """Orders strings backwards (the smaller ID wins a tie)."""
    return (*(-ord(ch) for ch in s), 1)


def _parts(group: _G, ref: _Ref, anchor: dict[str, str]) -> list[_G]:
    if group.level == 0 and ref.distance[group.members[0]] > 1:
        by: dict[str, list[str]] = {}
        for m in group.members:
            by.setdefault(anchor.get(m, m), []).append(m)
        return [_G(group.type, ms, 1 if len(ms) > 1 else 2, key if len(ms) > 1 else None)
                for key, ms in by.items()]
    return [_G(group.type, [m], 2) for m in group.members]


def _render(g: Generated, ref: _Ref, groups: list[_G], deg: Counter[str], cap: int,
            summarised: bool) -> dict[str, Any]:
    def label(oid: str) -> str:
        return g.objects[oid]["name"] if oid in g.objects else oid

    def kind(oid: str) -> str:
        return oid.partition("--")[0]

    near = {id(x): min(ref.distance[m] for m in x.members) for x in groups}
    ordered = sorted(groups, key=lambda x: (near[id(x)], -len(x.members), x.type,
                                            x.members[0]))
    nodes = [{"id": g.center, "label": label(g.center), "type": kind(g.center), "count": 1,
              "kind": "object", "distance": 0, "degree": deg[g.center],
              "members_sample": []}]
    shown = {g.center: g.center}
    for i, x in enumerate(ordered):
        if len(x.members) == 1 and not x.rest:
            m = x.members[0]
            shown[m] = m
            nodes.append({"id": m, "label": label(m), "type": kind(m), "count": 1,
                          "kind": "object", "distance": ref.distance[m], "degree": deg[m],
                          "members_sample": []})
            continue
        cid = f"cluster:{i}"
        shown.update(dict.fromkeys(x.members, cid))
        top = sorted(x.members, key=lambda m: (-deg[m], m))[:graph.SAMPLE]
        text = f"{len(x.members)} {x.type}"
        if x.anchor is not None:
            text += f" via {label(x.anchor)}"
        nodes.append({"id": cid, "label": text + (" (other)" if x.rest else ""),
                      "type": x.type, "count": len(x.members), "kind": "cluster",
                      "distance": near[id(x)], "degree": sum(deg[m] for m in x.members),
                      "members_sample": [{"id": m, "label": label(m), "type": kind(m)}
                                         for m in top]})
    weights: Counter[tuple[str, str, str]] = Counter()
    inside = 0
    for rtype, s, d in ref.edges.values():
        if shown[s] == shown[d]:
            inside += 1
        else:
            weights[(shown[s], shown[d], rtype)] += 1
    ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    clusters = [n for n in nodes if n["kind"] == "cluster"]
    return {
        "center": g.center, "nodes": nodes,
        "edges": [{"source": s, "target": d, "type": k, "weight": w}
                  for (s, d, k), w in ranked[:cap]],
        "summarised": summarised,
        "summary": {
            "nodes_total": len(ref.distance), "relationships_total": len(ref.edges),
            "nodes_shown": len(nodes), "clusters": len(clusters),
            "objects_in_clusters": sum(n["count"] for n in clusters),
            "edges_shown": min(cap, len(ranked)),
            "edges_dropped": max(0, len(ranked) - cap),
            "relationships_inside_clusters": inside, "truncated": False,
            "grouping": "type, then strongest neighbour" if summarised else None}}


def _by_content(view: dict[str, Any]) -> tuple[Any, ...]:
    """The view with clusters named by what they hold, and in a fixed order."""
    def key(node: dict[str, Any]) -> str:
        if node["kind"] != "cluster":
            return node["id"]
        return repr(sorted((k, repr(v)) for k, v in node.items() if k != "id"))

    name = {n["id"]: key(n) for n in view["nodes"]}
    return (sorted(name.values()),
            sorted((name[e["source"]], name[e["target"]], e["type"], e["weight"])
                   for e in view["edges"]),
            view["summary"], view["summarised"])


# -- the tests ------------------------------------------------------------------------------------
@pytest.fixture
def generated(store: SqlStore) -> Iterator[Generated]:
    yield generate(store)


@pytest.mark.parametrize("chunk", [500, 7])
def test_views_equal_the_straightforward_implementation(
        store: SqlStore, generated: Generated, chunk: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every audience, depth 1 and 2, five node budgets; ``chunk`` 7 splits the frontier
    into six ``IN`` lists, so relationships between first-hop objects in different lists are
    fetched twice and must be counted once."""
    monkeypatch.setattr(graph, "_CHUNK", chunk)
    exact = store.engine.dialect.name == "sqlite"
    checked = summarised = 0
    for audience in AUDIENCES:
        for depth in (1, 2):
            for max_nodes, max_edges in BUDGETS:
                want = _reference(generated, depth, audience, max_nodes, max_edges, chunk)
                got = neighbourhood(store, generated.center, depth=depth, audience=audience,
                                    max_nodes=max_nodes, max_edges=max_edges)
                assert (got is None) == (want is None)
                if got is None or want is None:
                    continue
                view = got.as_dict()
                if exact:
                    assert view == want, (audience, depth, max_nodes)
                else:
                    assert _by_content(view) == _by_content(want), (audience, depth, max_nodes)
                checked += 1
                summarised += view["summarised"]
    # the generated store is big enough that the partition is exercised for every audience
    assert checked == len(AUDIENCES) * 2 * len(BUDGETS)
    assert summarised >= len(AUDIENCES) * 6


class _Statements:
    """Counts the statements sent to the database."""

    def __init__(self, store: SqlStore) -> None:
        self.count = 0
        self.engine = store.engine
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def close(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


@pytest.mark.parametrize("audience", [AUDIENCES[0], AUDIENCES[1]], ids=["owner", "reader"])
def test_statements_are_counted_per_frontier_chunk_not_per_node(
        store: SqlStore, audience: Audience, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Any) -> None:
    """A depth-2 neighbourhood costs one statement for the centre, a fetch and one
    far-end check per direction and ``IN`` list of each hop (for a restricted reader also a
    check of the distinct evidencing documents and, when one of them is hidden, a re-check
    of the rows it evidenced), and one names lookup per list of shown objects — the same
    whether the first-hop objects have 0–2 or 0–40 relationships each (the second store
    has several times as many)."""
    monkeypatch.setattr(graph, "_CHUNK", 7)
    counts = []
    for second in (2, 40):
        with store.engine.begin() as conn:
            for table in (t.mentions, t.relationships, t.documents, t.objects):
                conn.execute(table.delete())
        g = generate(store, second=second)
        stmts = _Statements(store)
        try:
            view = neighbourhood(store, g.center, depth=2, audience=audience, max_nodes=30)
        finally:
            stmts.close()
        assert view is not None
        first = sum(1 for n in _expand(g, 1, audience, 7).distance.values() if n == 1)
        shown = view.summary["nodes_shown"]
        names = math.ceil(shown * (graph.SAMPLE + 1) / 7)
        per = 2 if audience.unrestricted else 4
        assert stmts.count <= 1 + 2 * per + 2 * per * math.ceil(first / 7) + names
        counts.append(view.summary["relationships_total"])
    assert counts[1] > 3 * counts[0]
