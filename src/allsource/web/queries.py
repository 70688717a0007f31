"""The reads the workspace pages need beyond the store's ``search`` and ``get``: story
membership of search hits, a story's documents, and the documents that share or dispute a
document's graded claims. Every document read is filtered for the reader with the store's
marking filter and :func:`~allsource.model.markings.can_release`, like the store's own reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from allsource.analyze.graph import released
from allsource.model.markings import Audience, Marking, can_release
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.sql import aware, chunks
from allsource.store.story_views import StoryView, stories_of_documents
from allsource.verify.audience import ReaderGrades

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

MAX_RELATED = 50


@dataclass(frozen=True, slots=True)
class DocRef:
    id: str
    title: str
    kind: str
    published_at: datetime | None


def stories_of(store: SqlStore, doc_ids: Sequence[str]) -> dict[str, str]:
    """The story ID of each of ``doc_ids`` that has one."""
    m = t.story_members
    out: dict[str, str] = {}
    with store.engine.connect() as conn:
        for part in chunks(list(doc_ids)):
            rows = conn.execute(sa.select(m.c.document_id, m.c.story_id)
                                .where(m.c.document_id.in_(list(part))))
            out.update({d: s for d, s in rows})
    return out


def _refs(conn: sa.Connection, stmt: sa.Select[Any], audience: Audience) -> list[DocRef]:
    return [DocRef(r.id, r.title, r.kind, aware(r.published_at))
            for r in conn.execute(stmt)
            if can_release(Marking.from_columns(dict(r._mapping)), audience)]


def _doc_columns() -> list[sa.ColumnElement[Any]]:
    d = t.documents
    return [d.c.id, d.c.title, d.c.kind, d.c.published_at, d.c.tlp, d.c.classification,
            d.c.compartments, d.c.releasability]


def story_of(store: SqlStore, doc_id: str, audience: Audience) -> StoryView | None:
    """The document's story as ``audience`` sees it (see :mod:`allsource.store.story_views`)."""
    with store.engine.connect() as conn:
        return stories_of_documents(conn, store, [doc_id], audience).get(doc_id)


def story_documents(store: SqlStore, story_id: str, audience: Audience,
                    limit: int = MAX_RELATED) -> list[DocRef]:
    """The story's documents the audience may read, earliest first."""
    d, m = t.documents, t.story_members
    stmt = (sa.select(*_doc_columns()).join(m, m.c.document_id == d.c.id)
            .where(m.c.story_id == story_id, store._readable(d, audience))
            .order_by(sa.func.coalesce(d.c.published_at, d.c.collected_at), d.c.id)
            .limit(limit))
    with store.engine.connect() as conn:
        return _refs(conn, stmt, audience)


def claim_neighbours(store: SqlStore, doc_id: str, audience: Audience
                     ) -> tuple[list[DocRef], list[DocRef]]:
    """Documents that report one of this document's graded claims with the same value
    (corroborating) and with another value (contradicting), from ``allsource verify``."""
    c, d = t.claim_documents, t.documents
    with store.engine.connect() as conn:
        own = conn.execute(sa.select(c.c.key, c.c.value).where(c.c.document_id == doc_id)
                           ).all()
        if not own:
            return [], []
        same = sa.or_(*[sa.and_(c.c.key == k, c.c.value == v) for k, v in own])
        keys = [k for k, _ in own]
        base = (sa.select(*_doc_columns()).distinct().join(c, c.c.document_id == d.c.id)
                .where(d.c.id != doc_id, store._readable(d, audience))
                .order_by(d.c.id).limit(MAX_RELATED))
        agree = _refs(conn, base.where(same), audience)
        differ = _refs(conn, base.where(c.c.key.in_(keys), sa.not_(same)), audience)
    agreed = {r.id for r in agree}
    return agree, [r for r in differ if r.id not in agreed]


# --- entity page -----------------------------------------------------------------------------

#: STIX cyber-observable types (shown as "observables" on an entity page)
OBSERVABLE_TYPES = frozenset({
    "ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file", "mac-addr",
    "autonomous-system", "windows-registry-key", "x509-certificate", "mutex", "directory",
    "process", "network-traffic", "user-account", "software", "indicator",
    "x-cryptocurrency-wallet", "x-cve", "vulnerability"})
TECHNIQUE_TYPES = frozenset({"attack-pattern"})


@dataclass(frozen=True, slots=True)
class Related:
    id: str
    type: str
    name: str
    via: str       # a relationship type, or "co-mentioned"
    weight: int    # relationships, or shared documents


def _when_column() -> sa.ColumnElement[Any]:
    d = t.documents
    return sa.func.coalesce(d.c.published_at, d.c.collected_at)


def mention_months(store: SqlStore, object_id: str, audience: Audience,
                   limit: int = 120) -> list[tuple[str, int]]:
    """Readable documents mentioning the object per month (``YYYY-MM``), oldest first."""
    d, m = t.documents, t.mentions
    stmt = (sa.select(d.c.id, _when_column().label("at"), d.c.tlp, d.c.classification,
                      d.c.compartments, d.c.releasability).distinct()
            .join(m, m.c.document_id == d.c.id)
            .where(m.c.object_id == object_id, store._readable(d, audience),
                   released(m, audience)))  # the mention is evidence of its own marking
    counts: dict[str, int] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(stmt):
            if not can_release(Marking.from_columns(dict(row._mapping)), audience):
                continue
            at = aware(row.at) if isinstance(row.at, datetime) else None
            if at is None and row.at:
                try:
                    at = datetime.fromisoformat(str(row.at))
                except ValueError:
                    at = None
            if at is None:
                continue
            key = f"{at.year:04d}-{at.month:02d}"
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items())[-limit:]


def related_objects(store: SqlStore, object_id: str, audience: Audience,
                    limit: int = MAX_RELATED) -> list[Related]:
    """Objects linked to this one by a readable relationship, then objects co-mentioned in
    the same readable documents (most shared documents first)."""
    r, o, m, d = t.relationships, t.objects, t.mentions, t.documents
    out: dict[str, Related] = {}
    with store.engine.connect() as conn:
        rels = conn.execute(
            sa.select(r.c.relationship_type, r.c.source_ref, r.c.target_ref)
            .where(sa.or_(r.c.source_ref == object_id, r.c.target_ref == object_id),
                   derived.visible(store, r, audience)).limit(limit * 4)).all()
        linked: dict[str, tuple[str, int]] = {}
        for rtype, src, dst in rels:
            other = dst if src == object_id else src
            if other == object_id:
                continue
            via, n = linked.get(other, (rtype, 0))
            linked[other] = (via, n + 1)
        other_m = m.alias("other")
        shared = sa.func.count(sa.distinct(m.c.document_id)).label("n")
        co = conn.execute(
            sa.select(other_m.c.object_id, shared)
            .select_from(m.join(other_m, other_m.c.document_id == m.c.document_id)
                         .join(d, d.c.id == m.c.document_id))
            .where(m.c.object_id == object_id, other_m.c.object_id != object_id,
                   released(d, audience), released(m, audience), released(other_m, audience))
            .group_by(other_m.c.object_id).order_by(shared.desc(), other_m.c.object_id)
            .limit(limit)).all()
        ids = list(linked) + [oid for oid, _ in co if oid not in linked]
        found: dict[str, Any] = {}
        for part in chunks(ids):
            for row in conn.execute(sa.select(o.c.id, o.c.type, o.c.name)
                                    .where(o.c.id.in_(list(part)),
                                           derived.visible(store, o, audience))):
                found[row.id] = row
    for oid, (via, n) in linked.items():
        if oid in found:
            out[oid] = Related(oid, found[oid].type, found[oid].name, via, n)
    for oid, n in co:
        if oid in found and oid not in out:
            out[oid] = Related(oid, found[oid].type, found[oid].name, "co-mentioned", int(n))
    return list(out.values())[:limit * 2]


# --- search facets ---------------------------------------------------------------------------

#: object types offered as the search page's entity facet
ENTITY_TYPES = ("intrusion-set", "threat-actor", "malware", "tool", "campaign")


@dataclass(slots=True)
class WindowFacts:
    """What the search facets need about each document of a window of hits. ``entity_names``
    starts empty: names are read for the entities a facet shows (:func:`entity_names`)."""

    sectors: dict[str, set[str]]
    countries: dict[str, set[str]]
    entities: dict[str, set[str]]
    entity_names: dict[str, str]
    credibility: dict[str, int]


def _entity_id(column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """SQL: the STIX id in ``column`` is of one of :data:`ENTITY_TYPES` (a STIX id is
    ``type--uuid``, so the type is read from the id, without the ``objects`` row)."""
    return sa.or_(*[column.like(f"{kind}--%") for kind in ENTITY_TYPES])


def window_facts(store: SqlStore, doc_ids: Sequence[str], audience: Audience) -> WindowFacts:
    """Topics (sectors), countries, readable entities and document credibility of ``doc_ids``,
    read in bulk: one query per facet over chunked ``IN`` lists.

    The entity facet reads the window's readable mentions only (about twenty a document on
    the benchmark store, so ~10,000 rows for a 500-document window): the entity's type comes
    from its id, and its name is read later for the few entities a facet shows
    (:func:`entity_names`) — joining every mention to its object row cost about two thirds
    of the read. A mention's marking is checked once per distinct marking."""
    a, m = t.stage_annotations, t.mentions
    ids = list(dict.fromkeys(doc_ids))
    facts = WindowFacts({}, {}, {}, {}, {})
    with store.engine.connect() as conn:
        for part in chunks(ids):
            for doc, stage, data in conn.execute(
                    sa.select(a.c.document_id, a.c.stage, a.c.data)
                    .where(a.c.document_id.in_(list(part)),
                           a.c.stage.in_(["topics", "places"]))):
                if not isinstance(data, dict):
                    continue
                if stage == "topics":
                    names = {str(x["topic"]) for x in data.get("topics") or []
                             if isinstance(x, dict) and x.get("topic")}
                    if names:
                        facts.sectors.setdefault(doc, set()).update(names)
                else:
                    codes = {str(c).upper() for c in data.get("countries") or [] if c}
                    if codes:
                        facts.countries.setdefault(doc, set()).update(codes)
        released_: dict[tuple[Any, ...], bool] = {}
        for part in chunks(ids):
            for doc, oid, *marking in conn.execute(
                    sa.select(m.c.document_id, m.c.object_id, m.c.tlp, m.c.classification,
                              m.c.compartments, m.c.releasability)
                    .where(m.c.document_id.in_(list(part)), _entity_id(m.c.object_id),
                           store._readable(m, audience))):
                key = tuple(marking)
                ok = released_.get(key)
                if ok is None:
                    ok = released_[key] = can_release(Marking.of_values(*marking), audience)
                if ok:
                    facts.entities.setdefault(doc, set()).add(oid)
        # each grade as this reader sees it: stored, or recomputed from what they may read
        # where the stored one rests on something they may not (allsource.verify.audience);
        # the facet needs the credibility only, so no source is regraded for it
        facts.credibility = ReaderGrades(store, conn, audience).credibilities(ids)
    return facts


def entity_names(store: SqlStore, ids: Sequence[str]) -> dict[str, str]:
    """Name of each of ``ids`` stored as an object of :data:`ENTITY_TYPES` (an id missing
    here is not an entity and is left out of the facet). The ids come from
    :func:`window_facts`: each has a mention the reader may read in a document they may
    read, which makes the object visible to them (:func:`allsource.store.derived.visible`),
    so no further rule applies."""
    o = t.objects
    out: dict[str, str] = {}
    with store.engine.connect() as conn:
        for part in chunks(list(dict.fromkeys(ids))):
            out.update({oid: name for oid, name in conn.execute(
                sa.select(o.c.id, o.c.name).where(o.c.id.in_(list(part)),
                                                  o.c.type.in_(ENTITY_TYPES)))})
    return out
