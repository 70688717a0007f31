"""Graph neighbourhoods: expand from one object, and summarise server-side when the
neighbourhood is bigger than a browser can draw.

Fetching. Adjacency comes from ``relationships`` in bulk: one query per direction for the
first hop, and one per direction and 500 frontier IDs for the second, never one query per
node; the indexes of migration 0026 hold the four columns read (``id, relationship_type,
source_ref, target_ref``), so the owner's reads touch no table row. Marking filters are SQL
(:func:`released`: the whole release rule; for other readers each relationship is visible
through a readable mention in a readable document, :mod:`allsource.store.derived`, checked
from migration 0027's index on mentions; the documents behind those mentions are judged
once per distinct document, :func:`_evidenced`), so nothing the audience may not read is
fetched or counted. The far end must be a stored object the audience may see: instead of
joining ``objects`` per row, one statement judges each distinct far end once, in sorted
order, and returns those that fail (usually none; with the cap reached and rows dropped,
the join decides).

Integer codes. Fetched rows are recorded column-wise (C-level ``map``/``compress`` passes,
not one Python step per row), with the garbage collector paused
(:func:`allsource.gcpause.paused_gc`): each node gets an integer code when first met (in
discovery order; the centre is 0) and each fetch appends numpy arrays of its edges' end and
type codes, so the summary — degrees (``bincount``), each second-hop node's strongest
neighbour (one ``lexsort``), the partition (stable ``argsort`` runs) and the edge counts
between shown nodes (``unique``) — runs as array passes over 57,000 nodes instead of
dictionaries of 45-character IDs; IDs are compared as strings only where the rules break
ties by them (a few hundred candidates). Only the relationships whose both ends lie in a
frontier can be fetched twice, so only their IDs are looked up to count them once.

A node's type is the prefix of its STIX ID (``malware--…``); names are read only for the nodes
the answer shows. A depth-2
neighbourhood holds the relationships that touch a node at distance 0 or 1; relationships
between two nodes at distance 2 would need a third hop and are not fetched. ``fetch_limit``
caps the relationships read (``summary["truncated"]``). Optionally the objects co-mentioned
with the centre in the same documents join the first hop (edge type ``co-mentioned``, weight
= shared documents; the ``COMENTION_LIMIT`` strongest).

Filters. A relationship (or a co-mention) counts only if a document that evidences it — a
``mentions`` row of the relationship's ID, which the ``relations`` stage and the importers
write — is readable, was published (else collected) in ``[since, until)`` and, with
``min_credibility``, has an Admiralty credibility at least that good (1 = confirmed … 6 =
cannot be judged, so ``min_credibility=3`` keeps documents graded 1, 2 or 3; ungraded
documents are dropped). The credibility is the one the reader sees
(:class:`allsource.verify.audience.ReaderGrades`): the stored grade where they may read its
marking, else recomputed from what they may read, for those documents only.

Summarising. When the neighbourhood has more than ``max_nodes`` nodes, the centre stays and
the rest is partitioned greedily: first one cluster per object type and distance; then the
largest clusters are split, each in turn: first-hop objects into single objects (highest
degree first), second-hop objects by *strongest neighbour* — each goes with the first-hop
object it has most relationships with (the one it was reached through) — and those groups
into single objects, until the node budget is spent. Each split of a type takes at most its
fair share of the remaining budget (what does not fit stays in an "other" cluster); a
neighbour's group opens into objects only when all of them fit. Clusters carry their member
count, the highest-degree members and the distance of their nearest member; edges are
aggregated between the shown nodes per relationship type, with weight = number of
relationships, and capped at ``max_edges`` (heaviest first). ``GraphView.summary`` says what
was grouped, dropped or truncated.

Why not community detection: on ``benchmarks/graph.py``'s 57,000-node neighbourhoods networkx
Louvain takes 1.6–2 s and label propagation 0.4–0.5 s on top of the 0.3 s fetch, against a
one-second budget; strongest-neighbour grouping is linear and, for a neighbourhood grown from
one centre, follows its actual branches.
"""

from __future__ import annotations

import functools
import heapq
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

import numpy as np
import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from allsource.errors import InputError
from allsource.gcpause import paused_gc
from allsource.model.markings import Audience
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.access import readable
from allsource.store.sql import SqlStore, chunks, naive_utc
from allsource.verify.audience import ReaderGrades, credible

__all__ = ["GraphEdge", "GraphNode", "GraphView", "neighbourhood", "released", "time_bound"]

MAX_NODES = 2000
FETCH_LIMIT = 400_000
COMENTION_LIMIT = 500
SAMPLE = 5
_LABEL = 200
_CHUNK = 500  # IDs per ``IN (…)`` list


@dataclass(slots=True)
class GraphNode:
    """An object, or a cluster of ``count`` objects (``kind == "cluster"``)."""

    id: str
    label: str
    type: str
    count: int = 1
    kind: str = "object"
    distance: int = 0
    degree: int = 0
    members_sample: list[dict[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class GraphEdge:
    """Relationships of one type between two shown nodes; ``weight`` counts them (shared
    documents for ``co-mentioned``)."""

    source: str
    target: str
    type: str
    weight: int = 1


@dataclass(slots=True)
class GraphView:
    center: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    summarised: bool
    summary: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def released(table: sa.Table | Any, audience: Audience) -> sa.ColumnElement[bool]:
    """The whole of :func:`can_release` as SQL (:func:`allsource.store.access.readable`), so
    aggregates (counts) respect it."""
    return readable(table, audience)


def time_bound(store: SqlStore, value: datetime) -> sa.ColumnElement[Any]:
    """``value`` as a bound for ``documents`` times. On SQLite, datetimes are text, and the
    store's bulk insert writes them without a fraction when it is zero (``2024-05-01
    00:00:00``) while SQLAlchemy binds ``…00:00:00.000000``, which sorts after it; binding the
    same short form keeps ``>=``/``<`` exact for rows written either way."""
    naive = naive_utc(value)
    assert naive is not None
    if store.engine.dialect.name == "sqlite":
        return sa.literal(naive.isoformat(" "), sa.String)
    return sa.literal(naive, sa.DateTime)


def _window(store: SqlStore, since: datetime | None, until: datetime | None
            ) -> list[sa.ColumnElement[bool]]:
    d = t.documents
    when = sa.func.coalesce(d.c.published_at, d.c.collected_at)
    conds = []
    if since is not None:
        conds.append(when >= time_bound(store, since))
    if until is not None:
        conds.append(when < time_bound(store, until))
    return conds


def evidence_documents(store: SqlStore, objects: sa.Select[Any] | Sequence[str], *,
                       since: datetime | None, until: datetime | None, audience: Audience
                       ) -> sa.Select[Any]:
    """The readable, in-window documents with a readable mention of one of ``objects``:
    the candidates whose grades a ``min_credibility`` filter must judge
    (:meth:`allsource.verify.audience.ReaderGrades.passing`)."""
    m, d = t.mentions, t.documents
    return (sa.select(m.c.document_id).join(d, d.c.id == m.c.document_id)
            .where(m.c.object_id.in_(objects), released(d, audience), released(m, audience),
                   *_window(store, since, until)))


def evidence_filter(store: SqlStore, object_id: sa.ColumnElement[Any], *,
                    since: datetime | None, until: datetime | None,
                    min_credibility: int | None, audience: Audience,
                    passing: Sequence[str] = ()) -> sa.ColumnElement[bool] | None:
    """``EXISTS`` a readable document evidencing ``object_id`` within the time window and
    grade; ``None`` without filters. A document's grade is the one the reader sees
    (:func:`allsource.verify.audience.credible`): ``passing`` lists the documents whose
    stored grade is hidden from them and whose recomputed grade passes."""
    if since is None and until is None and min_credibility is None:
        return None
    m, d = t.mentions, t.documents
    conds = [m.c.object_id == object_id, released(d, audience), released(m, audience),
             *_window(store, since, until)]
    if min_credibility is not None:
        conds.append(credible(d.c.id, min_credibility, audience, passing))
    src = m.join(d, d.c.id == m.c.document_id)
    return sa.exists(sa.select(sa.literal(1)).select_from(src).where(*conds))


# -- fetching ------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Hood:
    """The fetched neighbourhood, recorded in integer codes as it arrives: ``code`` numbers
    the nodes in discovery order (the centre is 0) and ``dist`` holds each one's distance;
    each fetch adds arrays of its new edges' end codes, type codes (``kinds``) and weights
    (1, or shared documents for co-mentions), and the second hop the (far, near) ends of
    its edges, from which :func:`_anchors` takes the ties of second-hop nodes. ``seen``
    holds the relationship IDs recorded (a relationship can be fetched twice)."""

    center: str
    code: dict[str, int] = field(default_factory=dict)
    dist: list[int] = field(default_factory=list)
    seen: dict[str, None] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    src: list[Any] = field(default_factory=list)
    dst: list[Any] = field(default_factory=list)
    kind: list[Any] = field(default_factory=list)
    weight: list[Any] = field(default_factory=list)
    tie_far: list[Any] = field(default_factory=list)
    tie_near: list[Any] = field(default_factory=list)
    edges: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    truncated: bool = False

    def nodes(self, names: Iterable[str], dist: int) -> Any:
        """The codes of ``names``; those not met before get the next codes, at ``dist``."""
        code, before = self.code, len(self.code)
        # dict.update consumes the filter lazily, so a name repeated in ``names`` is new once
        code.update(zip(itertools.filterfalse(code.__contains__, names),
                        itertools.count(before)))
        self.dist.extend(itertools.repeat(dist, len(code) - before))
        return code

    def record(self, src: Any, dst: Any, kinds: Sequence[str], weight: Any) -> None:
        kind = self.kinds
        kind.update(zip(itertools.filterfalse(kind.__contains__, kinds),
                        itertools.count(len(kind))))
        self.src.append(src)
        self.dst.append(dst)
        self.kind.append(_codes(kinds, kind, len(kinds)))
        self.weight.append(weight)
        self.edges += len(src)


def object_type(object_id: str) -> str:
    """A STIX identifier is ``<type>--<UUID>``, so the type needs no lookup."""
    return object_id.partition("--")[0]


def _hop(store: SqlStore, conn: Connection, hood: _Hood, frontier: Sequence[str], dist: int,
         evidence: Callable[[Sequence[str]], sa.ColumnElement[bool] | None],
         audience: Audience, limit: int, *, last: bool) -> None:
    r, o = t.relationships, t.objects
    # the owner reads everything: only the far object's existence is checked, from the
    # primary-key index alone; others see a relationship and an object through a mention
    # they may read (allsource.store.derived; ``released`` is all of can_release in SQL)
    rules = _rules(store, audience)
    seen_r, seen_o = rules.seen_r, rules.seen_o
    start = len(hood.code)
    for ids in chunks(frontier, _CHUNK):
        for near, far in ((r.c.source_ref, r.c.target_ref), (r.c.target_ref, r.c.source_ref)):
            left = limit - hood.edges
            if left <= 0:
                hood.truncated = True
                return
            q = (sa.select(r.c.id, r.c.relationship_type, r.c.source_ref, r.c.target_ref)
                 .where(near.in_(ids) if len(ids) > 1 else near == ids[0]))
            cond = evidence(ids)
            fetched = None
            if cond is None and not audience.unrestricted:
                fetched = _evidenced(conn, q, rules, left)
            if cond is not None:
                q = q.where(cond)
            q = q.where(seen_r)
            kept = _shown_ends(conn, q, 3 if far is r.c.target_ref else 2, left, seen_o,
                               fetched)
            rows = kept if kept is not None else conn.execute(
                q.join(o, o.c.id == far).where(seen_o).limit(left + 1)).all()
            if len(rows) > left:
                rows, hood.truncated = rows[:left], True
            _add(hood, rows, dist, start, outgoing=near is r.c.source_ref, last=last)


@dataclass(frozen=True, slots=True)
class _Rules:
    """A restricted audience's visibility conditions, built once per store and audience
    (building and aliasing them was a tenth of a reader's call): ``seen_r``/``seen_o``
    are :func:`derived.visible` on relationships and objects; ``mentioned``, ``evidence``
    and ``unmentioned`` the halves of ``seen_r`` that :func:`_evidenced` splits; ``doc_ok``
    the reader's release rule on ``documents``."""

    seen_r: sa.ColumnElement[bool]
    seen_o: sa.ColumnElement[bool]
    mentioned: sa.ColumnElement[bool]
    evidence: sa.Label[Any]
    unmentioned: sa.ColumnElement[bool]
    doc_ok: sa.ColumnElement[bool]


@functools.lru_cache(maxsize=32)
def _rules(store: SqlStore, audience: Audience) -> _Rules:
    r, o = t.relationships, t.objects
    m, any_m = t.mentions.alias("ev_m"), t.mentions.alias("ev_any")
    mentioned = sa.and_(m.c.object_id == r.c.id, released(m, audience))
    return _Rules(
        seen_r=derived.visible(store, r, audience, released),
        seen_o=derived.visible(store, o, audience, released),
        mentioned=sa.exists().where(mentioned),
        evidence=sa.select(m.c.document_id).where(mentioned).limit(1).scalar_subquery()
        .label("evidence"),
        unmentioned=sa.and_(~sa.exists().where(any_m.c.object_id == r.c.id),
                            released(r, audience)),
        doc_ok=released(t.documents, audience))


def _evidenced(conn: Connection, q: sa.Select[Any], rules: _Rules, left: int
               ) -> list[Any] | None:
    """The rows of ``q`` (relationships) that ``rules.seen_r`` (:func:`derived.visible`)
    keeps for a restricted audience, with the documents judged once each rather than once
    per row.

    A relationship is visible when one of its mentions the reader may read lies in a
    document they may read, or when nobody mentions it and its own marking is readable.
    One statement reads the rows that pass the *mention* half of that rule from the
    mentions index alone, each with the document of its first readable mention; a second
    judges each distinct document once, in sorted order, returning those the reader may not
    read (usually none: a mention carries its document's marking, so only a document raised
    after the fact fails). A row whose document passes is visible; a row whose document
    fails may still be visible through another mention, so only those rows are judged again
    by ``seen_r`` itself. Per row this costs one mention probe instead of a mention and a
    document probe (62,000 rows, ~19,000 documents on ``benchmarks/graph.py``'s hubs).
    ``None`` when the cap was reached and rows were dropped: only the whole rule in SQL then
    knows which rows the cap keeps."""
    r = t.relationships
    rows = list(conn.execute(q.add_columns(rules.evidence).where(
        sa.or_(rules.mentioned, rules.unmentioned)).limit(left + 1)).all())
    docs = sorted({row[4] for row in rows if row[4] is not None})
    if not docs:
        return rows
    hidden = set(conn.execute(_failing(t.documents, docs, rules.doc_ok,
                                       conn.dialect.name)).scalars())
    if not hidden:
        return rows
    if len(rows) > left:
        return None
    again = [row[0] for row in rows if row[4] in hidden]
    still: set[str] = set()
    for part in chunks(sorted(again), _CHUNK):
        still.update(conn.execute(sa.select(r.c.id).where(r.c.id.in_(part), rules.seen_r))
                     .scalars())
    return [row for row in rows if row[4] not in hidden or row[0] in still]


def _shown_ends(conn: Connection, q: sa.Select[Any], at: int, left: int,
                shown: sa.ColumnElement[bool], fetched: list[Any] | None = None
                ) -> list[Any] | None:
    """The rows of ``q`` (or ``fetched``: those rows, read already) whose far end
    (``row[at]``) is a stored object that ``shown`` (SQL on ``objects``: the audience's
    visibility) keeps, as the join with ``objects`` would give them, but judging each
    distinct far end once, in one sorted pass (probing and judging the object once per row,
    in relationship order, cost twice as much at 60,000 rows). The statement returns the
    ends that *fail* — usually few, so the 55,000 others are not copied back out of the
    database. ``None`` when the cap was reached and rows were dropped: only the join then
    knows which rows the cap keeps."""
    rows = fetched if fetched is not None else list(conn.execute(q.limit(left + 1)).all())
    # distinct ends in row order keep the index's sorted runs, which the sort then merges
    ends = sorted(dict.fromkeys(map(itemgetter(at), rows)))
    if not ends:
        return rows
    failing = set(conn.execute(_failing(t.objects, ends, shown, conn.dialect.name)).scalars())
    if not failing:
        return rows
    if len(rows) > left:
        return None
    return [row for row in rows if row[at] not in failing]


def _failing(table: sa.Table, ids: Sequence[str], shown: sa.ColumnElement[bool],
             dialect: str) -> sa.Select[Any]:
    """SQL: those of ``ids`` that are not the key of a stored row of ``table`` that
    ``shown`` keeps (one index probe each, in the order given)."""
    if dialect == "postgresql":
        each = sa.func.unnest(sa.bindparam(None, list(ids), type_=postgresql.ARRAY(sa.String))
                              ).table_valued("value").render_derived()
    else:
        each = sa.func.json_each(sa.bindparam(None, orjson.dumps(list(ids)).decode(),
                                              type_=sa.String)).table_valued("value")
    return sa.select(each.c.value).where(~sa.exists().where(table.c.id == each.c.value,
                                                            shown))


def _add(hood: _Hood, rows: Sequence[Any], dist: int, start: int, *, outgoing: bool,
         last: bool) -> None:
    """Record fetched rows ``(id, type, source, target)``, column-wise with C-level and
    numpy passes rather than one Python step per row: the first row that reaches a node
    fixes its distance and code (a row's near end is always known already, so a self-loop
    fixes nothing), a relationship is kept once, self-loops are no edges, and a second-hop
    node keeps a tie to the first-hop node of each of its relationships.

    A relationship is fetched again only from its other end, so only when both ends are in
    a frontier: when its far end was met before this hop (a code below ``start``, the node
    count when the hop began), or at this hop and another hop follows. Only those rows are
    looked up in, and added to, ``hood.seen`` (at the second hop of 57,000 nodes, 2,000 of
    63,000)."""
    if not rows:
        return
    n = len(rows)
    srcs, dsts = list(map(itemgetter(2), rows)), list(map(itemgetter(3), rows))
    code = hood.nodes(dsts if outgoing else srcs, dist)
    src, dst = _codes(srcs, code, n), _codes(dsts, code, n)
    far, near = (dst, src) if outgoing else (src, dst)
    keep = src != dst
    known = keep & (far < start)
    if known.any():
        at = np.flatnonzero(known)
        again = np.fromiter(map(hood.seen.__contains__, map(itemgetter(0), map(
            rows.__getitem__, at.tolist()))), bool, len(at))
        keep[at[again]] = False
    track = keep if not last else keep & (far < start)
    hood.seen.update(dict.fromkeys(map(itemgetter(0), map(rows.__getitem__,
                                                          np.flatnonzero(track).tolist()))))
    hood.record(src[keep], dst[keep], list(itertools.compress(map(itemgetter(1), rows),
                                                              keep.tolist())),
                np.ones(int(keep.sum()), np.int64))
    if dist > 1:  # a tie if the far end is a second-hop node (see _anchors)
        hood.tie_far.append(far[keep])
        hood.tie_near.append(near[keep])


def _comentions(store: SqlStore, conn: Connection, hood: _Hood, *, since: datetime | None,
                until: datetime | None, min_credibility: int | None, audience: Audience,
                grades: ReaderGrades, limit: int) -> None:
    """Objects sharing a readable, in-window, graded-enough document with the centre."""
    m1, m2 = t.mentions.alias("m1"), t.mentions.alias("m2")
    o, d = t.objects, t.documents
    src = (m1.join(m2, m2.c.document_id == m1.c.document_id)
           .join(o, o.c.id == m2.c.object_id).join(d, d.c.id == m1.c.document_id))
    conds = [m1.c.object_id == hood.center, m2.c.object_id != hood.center,
             released(m1, audience), released(m2, audience), released(d, audience),
             *_window(store, since, until)]
    if min_credibility is not None:
        passing = grades.passing(evidence_documents(
            store, [hood.center], since=since, until=until, audience=audience),
            min_credibility)
        conds.append(credible(d.c.id, min_credibility, audience, passing))
    shared = sa.func.count(sa.distinct(m1.c.document_id)).label("shared")
    rows = conn.execute(
        sa.select(o.c.id, shared)
        .select_from(src).where(*conds).group_by(o.c.id)
        .order_by(shared.desc(), o.c.id).limit(limit)).all()
    if rows:
        code = hood.nodes([oid for oid, _ in rows], 1)
        hood.record(np.zeros(len(rows), np.int64), _codes((oid for oid, _ in rows), code,
                                                          len(rows)),
                    ["co-mentioned"] * len(rows), np.array([int(n) for _, n in rows]))


def _fetch(store: SqlStore, node_id: str, *, depth: int, since: datetime | None,
           until: datetime | None, min_credibility: int | None, audience: Audience,
           comentions: bool, fetch_limit: int) -> _Hood | None:
    o, r = t.objects, t.relationships
    with store.engine.connect() as conn:
        grades = ReaderGrades(store, conn, audience)

        def evidence(ids: Sequence[str]) -> sa.ColumnElement[bool] | None:
            # documents evidencing a relationship of this chunk whose stored grade is
            # hidden from the reader are regraded for them, each once per request
            passing: list[str] = []
            if min_credibility is not None:
                touching = sa.select(r.c.id).where(sa.or_(r.c.source_ref.in_(ids),
                                                          r.c.target_ref.in_(ids)))
                passing = grades.passing(evidence_documents(
                    store, touching, since=since, until=until, audience=audience),
                    min_credibility)
            return evidence_filter(store, r.c.id, since=since, until=until,
                                   min_credibility=min_credibility, audience=audience,
                                   passing=passing)

        row = conn.execute(sa.select(sa.func.substr(o.c.name, 1, _LABEL))
                           .where(o.c.id == node_id,
                                  derived.visible(store, o, audience, released))).first()
        if row is None:
            return None
        hood = _Hood(center=node_id, labels={node_id: row[0]})
        hood.nodes([node_id], 0)
        _hop(store, conn, hood, [node_id], 1, evidence, audience, fetch_limit,
             last=depth == 1)
        if comentions:
            _comentions(store, conn, hood, since=since, until=until,
                        min_credibility=min_credibility, audience=audience, grades=grades,
                        limit=COMENTION_LIMIT)
        if depth == 2 and not hood.truncated:
            first = sorted(itertools.compress(hood.code, (d == 1 for d in hood.dist)))
            _hop(store, conn, hood, first, 2, evidence, audience, fetch_limit, last=True)
    return hood


def _labels(store: SqlStore, hood: _Hood, ids: Iterable[str]) -> None:
    """Names of the objects the view shows (only those: a neighbourhood can be 50,000)."""
    o = t.objects
    wanted = sorted(set(ids) - hood.labels.keys())
    with store.engine.connect() as conn:
        for chunk in chunks(wanted, _CHUNK):
            hood.labels.update((r[0], r[1]) for r in conn.execute(
                sa.select(o.c.id, sa.func.substr(o.c.name, 1, _LABEL))
                .where(o.c.id.in_(chunk))))


# -- summarising ---------------------------------------------------------------------------------
@dataclass(slots=True)
class _Coded:
    """The fetched neighbourhood in integer codes, so the summary runs as numpy passes
    rather than per-node Python steps: node ``i`` is ``ids[i]`` (discovery order, the centre
    is 0), and the arrays hold each node's distance, degree, type (an index into ``types``)
    and strongest first-hop neighbour, and each edge's ends, type (into ``kinds``) and
    weight."""

    ids: list[str]
    dist: Any
    deg: Any
    types: list[str]
    type_of: Any
    anchor: Any
    src: Any
    dst: Any
    kinds: list[str]
    kind: Any
    weight: Any


def _codes(values: Iterable[str], code: dict[str, int], count: int) -> Any:
    return np.fromiter(map(code.__getitem__, values), np.int64, count)


def _joined(parts: list[Any]) -> Any:
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _coded(hood: _Hood) -> _Coded:
    ids = list(hood.code)
    n = len(ids)
    src, dst = _joined(hood.src), _joined(hood.dst)
    # a node's degree counts the relationships it ends, whatever they weigh
    deg = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    names = list(map(itemgetter(0), map(str.partition, ids, itertools.repeat("--"))))
    types = list(dict.fromkeys(names))
    type_of = _codes(names, dict(zip(types, range(len(types)), strict=True)), n)
    return _Coded(ids=ids, dist=np.asarray(hood.dist, np.int64), deg=deg, types=types,
                  type_of=type_of, anchor=_anchors(hood, ids, deg), src=src, dst=dst,
                  kinds=list(hood.kinds), kind=_joined(hood.kind),
                  weight=_joined(hood.weight))


def _runs(keys: Any) -> tuple[Any, Any]:
    """Where the runs of equal values of the sorted ``keys`` start, and end."""
    if not len(keys):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return starts, np.r_[starts[1:], len(keys)]


def _anchors(hood: _Hood, ids: list[str], deg: Any) -> Any:
    """Each second-hop node's strongest first-hop neighbour (most relationships, then the
    higher degree, then the smaller ID); every other node is its own. The (second-hop,
    first-hop) ties are counted once per pair, then one lexicographic sort ranks each node's
    candidates; only the few first-hop candidates are ranked by ID."""
    n = len(ids)
    anchor = np.arange(n)
    far, near = _joined(hood.tie_far), _joined(hood.tie_near)
    # a node's distance is fixed when it is first met: the second-hop rows whose far end
    # was met at the second hop are its ties
    tied = np.asarray(hood.dist)[far] == 2
    far, near = far[tied], near[tied]
    if not len(far):
        return anchor
    pairs, count = np.unique(far * n + near, return_counts=True)
    far, near = np.divmod(pairs, n)
    candidates = np.unique(near).tolist()
    by_id = np.zeros(n, np.int64)
    by_id[sorted(candidates, key=ids.__getitem__)] = np.arange(len(candidates))
    order = np.lexsort((by_id[near], -deg[near], -count, far))
    far, near = far[order], near[order]
    first, _ = _runs(far)
    anchor[far[first]] = near[first]
    return anchor


@dataclass(slots=True)
class _Group:
    type: str
    members: Any  # node codes, in discovery order (or ranked, for a split's rest)
    level: int  # 0: a type; 1: a type via one neighbour; 2: final (no further split)
    anchor: int | None = None
    rest: bool = False


def _split(group: _Group, c: _Coded, cap: int) -> list[_Group]:
    """``group``'s parts, largest first (then the highest degree, then the smallest ID), at
    most ``cap``: what does not fit is one final "other" group. A type at distance 2 splits
    by strongest neighbour (into objects at once when one neighbour holds them all), any
    other group into objects."""
    ms = group.members
    starts: Any = np.arange(len(ms))
    ends: Any = starts + 1
    if group.level == 0 and c.dist[ms[0]] > 1:
        # a stable sort keeps discovery order inside each neighbour's run
        grouped = ms[np.argsort(c.anchor[ms], kind="stable")]
        first, last = _runs(c.anchor[grouped])
        if len(first) > 1:
            ms, starts, ends = grouped, first, last
    sizes = ends - starts
    top = np.maximum.reduceat(c.deg[ms], starts)
    names = list(map(c.ids.__getitem__, ms.tolist()))
    least = names if len(starts) == len(ms) else [min(names[a:b]) for a, b in
                                                   zip(starts.tolist(), ends.tolist(),
                                                       strict=True)]
    ranked = [i for *_, i in sorted(zip((-sizes).tolist(), (-top).tolist(), least,
                                        range(len(starts)), strict=True))]
    single = len(starts) == len(ms)
    keep = ranked if len(ranked) <= cap else ranked[:cap - 1]
    parts = []
    for i in keep:
        part = ms[starts[i]:ends[i]]
        many = len(part) > 1
        parts.append(_Group(group.type, part, 1 if many else 2,
                            anchor=int(c.anchor[part[0]]) if many else None))
    if len(keep) < len(ranked):
        left = ranked[len(keep):]
        rest = (ms[left] if single else
                np.concatenate([ms[starts[i]:ends[i]] for i in left]))
        parts.append(_Group(group.type, rest, 2, group.anchor, True))
    return parts


def _partition(c: _Coded, budget: int) -> list[_Group]:
    """Greedy split of the non-centre nodes into at most ``budget`` groups (see module doc)."""
    nodes = np.flatnonzero(c.dist)  # all but the centre, in discovery order
    key = c.type_of[nodes] * 3 + c.dist[nodes]
    order = np.argsort(key, kind="stable")
    nodes, key = nodes[order], key[order]
    starts, ends = _runs(key)
    types = sorted(((-(b - a), c.types[k // 3], k % 3, a, b) for a, b, k in
                    zip(starts.tolist(), ends.tolist(), key[starts].tolist(), strict=True)))
    groups = [_Group(kind, nodes[a:b], 0) for _, kind, _, a, b in types[:budget]]
    if len(types) > budget:
        rest = np.concatenate([nodes[a:b] for *_, a, b in types[budget - 1:]])
        groups = [*groups[:budget - 1], _Group("mixed", rest, 2, rest=True)]
    final: list[_Group] = []
    heap: list[tuple[int, int, _Group]] = []
    seq = 0
    for g in groups:
        if g.level < 2 and len(g.members) > 1:
            heap.append((-len(g.members), seq, g))
            seq += 1
        else:
            final.append(g)
    heapq.heapify(heap)
    while heap:
        free = budget - len(final) - len(heap)
        _, _, group = heapq.heappop(heap)
        if free <= 0 or (group.level == 1 and len(group.members) - 1 > free):
            final.append(group)  # a neighbour's group opens whole or not at all
            continue
        # each split takes at most its fair share of what is left
        for p in _split(group, c, max(1, free // (len(heap) + 1)) + 1):
            if p.level < 2 and len(p.members) > 1:
                heapq.heappush(heap, (-len(p.members), seq, p))
                seq += 1
            else:
                final.append(p)
    return final


def _cluster_label(group: _Group, hood: _Hood, c: _Coded) -> str:
    label = f"{len(group.members)} {group.type}"
    if group.anchor is not None:
        anchor = c.ids[group.anchor]
        label += f" via {hood.labels.get(anchor, anchor)}"
    return label + (" (other)" if group.rest else "")


def _top(members: Any, c: _Coded) -> list[str]:
    """The ``SAMPLE`` members of highest degree (then smallest ID): those at least as high
    as the ``SAMPLE``-th degree are the only candidates."""
    deg = c.deg[members]
    if len(members) > SAMPLE:
        keep = deg >= np.partition(deg, len(deg) - SAMPLE)[len(deg) - SAMPLE]
        members, deg = members[keep], deg[keep]
    return [m for _, m in heapq.nsmallest(SAMPLE, zip((-deg).tolist(),
                                                      map(c.ids.__getitem__,
                                                          members.tolist()),
                                                      strict=True))]


def _view(store: SqlStore, hood: _Hood, c: _Coded, groups: list[_Group], max_edges: int,
          summarised: bool) -> GraphView:
    ids, deg = c.ids, c.deg
    nearest = [int(c.dist[g.members].min()) for g in groups]
    ordered = [g for *_, g in sorted(
        ((near, -len(g.members), g.type, ids[g.members[0]], g) for near, g in
         zip(nearest, groups, strict=True)), key=lambda k: k[:4])]
    samples = {id(g): _top(g.members, c) for g in ordered if len(g.members) > 1 or g.rest}
    _labels(store, hood, itertools.chain(
        (ids[g.members[0]] for g in ordered if id(g) not in samples),
        (ids[g.anchor] for g in ordered if g.anchor is not None),
        itertools.chain.from_iterable(samples.values())))
    label = hood.labels
    shown = [hood.center]
    node_of = np.zeros(len(ids), np.int64)  # node code → index in ``shown`` (centre: 0)
    nodes = [GraphNode(hood.center, label[hood.center], object_type(hood.center),
                       degree=int(deg[0]))]
    for i, g in enumerate(ordered):
        node_of[g.members] = len(shown)
        top = samples.get(id(g))
        if top is None:
            m = ids[g.members[0]]
            shown.append(m)
            nodes.append(GraphNode(m, label.get(m, m), object_type(m),
                                   distance=int(c.dist[g.members[0]]),
                                   degree=int(deg[g.members[0]])))
            continue
        cid = f"cluster:{i}"
        shown.append(cid)
        nodes.append(GraphNode(
            cid, _cluster_label(g, hood, c), g.type, count=len(g.members), kind="cluster",
            distance=int(c.dist[g.members].min()), degree=int(deg[g.members].sum()),
            members_sample=[{"id": m, "label": label.get(m, m), "type": object_type(m)}
                            for m in top]))
    # relationships between two shown nodes, counted per (source, target, type) with their
    # weights (1, or shared documents for co-mentions) in one numpy pass
    a, b = node_of[c.src], node_of[c.dst]
    inside = a == b
    out = ~inside
    width, kinds = len(shown), len(c.kinds)
    triples, where = np.unique((a[out] * width + b[out]) * kinds + c.kind[out],
                               return_inverse=True)
    weights = np.bincount(where.reshape(-1), weights=c.weight[out],
                          minlength=len(triples)).round().astype(np.int64)
    pair, kind = np.divmod(triples, kinds)
    x, y = np.divmod(pair, width)
    ranked = sorted(zip((-weights).tolist(), map(shown.__getitem__, x.tolist()),
                        map(shown.__getitem__, y.tolist()), map(c.kinds.__getitem__,
                                                                kind.tolist()), strict=True))
    edges = [GraphEdge(s, d, k, -w) for w, s, d, k in ranked[:max_edges]]
    clusters = [n for n in nodes if n.kind == "cluster"]
    summary = {
        "nodes_total": len(hood.code), "relationships_total": hood.edges,
        "nodes_shown": len(nodes), "clusters": len(clusters),
        "objects_in_clusters": sum(n.count for n in clusters),
        "edges_shown": len(edges), "edges_dropped": max(0, len(ranked) - max_edges),
        "relationships_inside_clusters": int(c.weight[inside].sum()),
        "truncated": hood.truncated,
        "grouping": "type, then strongest neighbour" if summarised else None,
    }
    return GraphView(hood.center, nodes, edges, summarised, summary)


def neighbourhood(store: SqlStore, node_id: str, *, depth: int = 1,
                  since: datetime | None = None, until: datetime | None = None,
                  min_credibility: int | None = None, audience: Audience,
                  max_nodes: int = 300, max_edges: int | None = None,
                  comentions: bool = False, fetch_limit: int = FETCH_LIMIT
                  ) -> GraphView | None:
    """The neighbourhood of ``node_id`` as at most ``max_nodes`` nodes and ``max_edges`` edges
    (default ``4 × max_nodes``); ``None`` if the object does not exist or the audience may not
    read it."""
    if depth not in (1, 2):
        raise InputError("depth must be 1 or 2")
    if not 2 <= max_nodes <= MAX_NODES:
        raise InputError(f"max_nodes must be between 2 and {MAX_NODES}")
    if min_credibility is not None and not 1 <= min_credibility <= 6:
        raise InputError("min_credibility must be an Admiralty credibility from 1 to 6")
    with paused_gc():
        hood = _fetch(store, node_id, depth=depth, since=since, until=until,
                      min_credibility=min_credibility, audience=audience,
                      comentions=comentions, fetch_limit=fetch_limit)
        if hood is None:
            return None
        return _summarise(store, hood, max_nodes,
                          max_edges if max_edges is not None else 4 * max_nodes)


def _summarise(store: SqlStore, hood: _Hood, max_nodes: int, cap: int) -> GraphView:
    c = _coded(hood)
    if len(hood.code) <= max_nodes:
        groups = [_Group(c.types[c.type_of[i]], np.array([i]), 2)
                  for i in range(1, len(c.ids))]
        return _view(store, hood, c, groups, cap, summarised=False)
    return _view(store, hood, c, _partition(c, max_nodes - 1), cap, summarised=True)
