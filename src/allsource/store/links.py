"""Links from collected objects to the canonical entity they denote, kept in the store.

Collectors store objects under their own ids: ATT&CK's APT1, the MISP galaxy's APT1, a MISP
event's "APT1 - G0006" and a partner's STIX "APT1" are four rows. Entity resolution
(:mod:`allsource.process.linking`) decides which of them denote one entity; this module
persists that decision so every read path sees one thing:

* ``objects.canonical_id`` of a linked object names its canonical entity (``NULL``: the
  object is canonical itself, or not an entity). Lists leave linked objects out.
* Relationships that name a linked object at either end are re-pointed at the canonical
  entity (their ``stix`` keeps the ends as collected, so the link can be undone).
* Mentions move onto the canonical entity and remember the object they were recorded for
  (``mentions.via``). Two mentions that become one (one document naming two objects that are
  one entity, by the same extractor at the same place) are kept once.
* Each link is an alias statement (``alias_statements``, origin ``linker``, basis
  ``object:<rule>``) with its evidence, so ``allsource aliases show`` lists it and ``aliases
  undo`` takes it back: :func:`release` restores the object, its mentions and relationship
  ends, and the linker never links that pair again.

:func:`settle` re-applies the links to what was stored since (a collector writing a new
relationship to a linked object): set-based statements over the indexed ``canonical_id``, so
a pass costs in proportion to the linked objects, not to the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.model.markings import Marking
from allsource.model.names import alias_key
from allsource.model.records import StixObject
from allsource.store import object_log
from allsource.store import schema as t
from allsource.store.aliases import ACTIVE, UNDONE, statement_id
from allsource.store.sql import chunks, utc_now

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["LINKER", "Candidate", "Link", "candidates", "ensure_objects", "link", "linked",
           "refused", "release", "set_merged", "settle"]

LINKER = "linker"
BASIS = "object:"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored object that may denote an entity."""

    id: str
    type: str
    name: str
    stix: Mapping[str, Any]
    marking: Marking
    created_at: datetime
    canonical_id: str | None


@dataclass(frozen=True, slots=True)
class Link:
    """``object_id`` denotes the entity ``entity_id`` because of ``rule`` (``member``,
    ``attack-id``, ``name``, ``same-name``, ``country``) on ``evidence``."""

    object_id: str
    object_name: str
    entity_id: str
    entity_name: str
    entity_type: str
    rule: str
    evidence: str


def candidates(store: SqlStore, types: Iterable[str]) -> list[Candidate]:
    """Every stored object of ``types``, linked or not, oldest first."""
    o = t.objects
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(o).where(o.c.type.in_(list(types)))
                            .order_by(o.c.created_at, o.c.id)).all()
    return [Candidate(r.id, r.type, r.name, r.stix if isinstance(r.stix, dict) else {},
                      Marking.from_columns(dict(r._mapping)), r.created_at, r.canonical_id)
            for r in rows]


def refused(store: SqlStore) -> set[tuple[str, str]]:
    """(object id, entity id) pairs whose link an analyst undid: never linked again."""
    s = t.alias_statements
    with store.engine.connect() as conn:
        return {(r.member_id, r.entity_id) for r in conn.execute(
            sa.select(s.c.member_id, s.c.entity_id)
            .where(s.c.origin == LINKER, s.c.status == UNDONE))}


def linked(store: SqlStore) -> dict[str, str]:
    """Linked object id → canonical entity id, as stored."""
    o = t.objects
    with store.engine.connect() as conn:
        return {r.id: r.canonical_id for r in conn.execute(
            sa.select(o.c.id, o.c.canonical_id).where(o.c.canonical_id.is_not(None)))}


def ensure_objects(store: SqlStore, objects: Sequence[StixObject]) -> int:
    """Store the canonical entities that no collector stored yet; returns how many."""
    if not objects:
        return 0
    now = utc_now()
    rows: list[dict[str, Any]] = [
        {"id": x.id, "type": x.type, "name": x.name[:10000], "stix": x.stix,
         "created_at": now, **x.marking.to_columns()} for x in objects]
    with store.engine.begin() as conn:
        before = store._existing(conn, t.objects.c.id, [r["id"] for r in rows])
        fresh = [r for r in rows if r["id"] not in before]
        if fresh:
            store._bulk_insert(conn, t.objects, fresh)
            object_log.record(conn, t.objects, fresh, before, now, insert=store._bulk_insert)
    return len(fresh)


def link(store: SqlStore, links: Sequence[Link]) -> int:
    """Record ``links`` (statements and ``canonical_id``); returns how many objects were
    newly linked or moved to another entity. :func:`settle` then applies them."""
    if not links:
        return 0
    now = utc_now()
    s, o = t.alias_statements, t.objects
    with store.engine.begin() as conn:
        current: dict[str, str | None] = {}
        for chunk in chunks([x.object_id for x in links]):
            current.update(conn.execute(sa.select(o.c.id, o.c.canonical_id)
                                        .where(o.c.id.in_(chunk))).all())
        changed = [x for x in links if current.get(x.object_id, "") != x.entity_id]
        rows = {}
        for x in links:
            sid = statement_id(x.entity_id, x.object_name, x.object_id, "", BASIS + x.rule)
            rows[sid] = {
                "id": sid, "entity_id": x.entity_id, "entity_name": x.entity_name,
                "entity_type": x.entity_type, "alias": x.object_name[:1000],
                "alias_key": alias_key(x.object_name)[:1000], "member_id": x.object_id,
                "other_id": "", "basis": BASIS + x.rule, "provenance": x.evidence[:1000],
                "origin": LINKER, "status": ACTIVE, "reason": "", "created_at": now,
                "created_by": LINKER}
        stored = store._existing(conn, s.c.id, list(rows))
        fresh = [r for sid, r in rows.items() if sid not in stored]
        if fresh:
            store._bulk_insert(conn, s, fresh)
        if changed:
            moves = [{"_id": x.object_id, "_to": x.entity_id} for x in changed]
            # an object moved to another entity: its older link statements are retired
            conn.execute(s.update().where(
                s.c.origin == LINKER, s.c.member_id == sa.bindparam("_id"),
                s.c.status == ACTIVE, s.c.entity_id != sa.bindparam("_to"))
                .values(status="retired"), moves)
            conn.execute(o.update().where(o.c.id == sa.bindparam("_id"))
                         .values(canonical_id=sa.bindparam("_to")), moves)
    return len(changed)


def settle(store: SqlStore) -> None:
    """Re-apply the stored links to relationships and mentions written since."""
    with store.engine.begin() as conn:
        _settle(conn)


def _settle(conn: Connection) -> None:
    o, r, m = t.objects, t.relationships, t.mentions
    # chains: an object linked to one that is itself linked now points at the end
    for _ in range(8):
        inner = o.alias("inner")
        hop = (sa.select(inner.c.canonical_id).where(inner.c.id == o.c.canonical_id)
               .scalar_subquery())
        done = conn.execute(o.update().where(o.c.canonical_id.in_(
            sa.select(inner.c.id).where(inner.c.canonical_id.is_not(None))))
            .values(canonical_id=hop)).rowcount
        if not done:
            break
    target = {row.id: row.canonical_id for row in conn.execute(
        sa.select(o.c.id, o.c.canonical_id).where(o.c.canonical_id.is_not(None)))}
    if not target:
        return
    ids = list(target)
    for end in (r.c.source_ref, r.c.target_ref):
        for chunk in chunks(ids):
            rows = conn.execute(sa.select(r.c.id, end).where(end.in_(chunk))).all()
            if rows:
                conn.execute(r.update().where(r.c.id == sa.bindparam("_id"))
                             .values({end.name: sa.bindparam("_to")}),
                             [{"_id": x[0], "_to": target[x[1]]} for x in rows])
    moves: list[Any] = []
    for chunk in chunks(ids):
        moves += conn.execute(sa.select(m).where(m.c.object_id.in_(chunk))).all()
    if not moves:
        return
    taken: set[tuple[str, str, str, int]] = set()
    for chunk in chunks(sorted({target[x.object_id] for x in moves})):
        taken.update((x.object_id, x.document_id, x.extractor, x.span_start)
                     for x in conn.execute(sa.select(m).where(m.c.object_id.in_(chunk))))
    updates, drops = [], []
    for x in moves:
        key = (target[x.object_id], x.document_id, x.extractor, x.span_start)
        old = {"_o": x.object_id, "_d": x.document_id, "_e": x.extractor, "_s": x.span_start}
        if key in taken:
            drops.append(old)
        else:
            taken.add(key)
            updates.append({**old, "_to": key[0], "_via": x.via or x.object_id})
    where = (m.c.object_id == sa.bindparam("_o"), m.c.document_id == sa.bindparam("_d"),
             m.c.extractor == sa.bindparam("_e"), m.c.span_start == sa.bindparam("_s"))
    if drops:
        conn.execute(m.delete().where(*where), drops)
    if updates:
        conn.execute(m.update().where(*where).values(object_id=sa.bindparam("_to"),
                                                     via=sa.bindparam("_via")), updates)


def release(store: SqlStore, object_ids: Iterable[str]) -> int:
    """Undo the links of ``object_ids``: each is its own object again, with its mentions and
    the relationship ends collected for it. Returns how many were released."""
    ids = sorted(set(object_ids))
    if not ids:
        return 0
    o, r, m = t.objects, t.relationships, t.mentions
    released = 0
    with store.engine.begin() as conn:
        for chunk in chunks(ids):
            targets = dict(conn.execute(sa.select(o.c.id, o.c.canonical_id).where(
                o.c.id.in_(chunk), o.c.canonical_id.is_not(None))).all())
            if not targets:
                continue
            released += len(targets)
            conn.execute(o.update().where(o.c.id.in_(list(targets))).values(canonical_id=None))
            conn.execute(m.update().where(m.c.via.in_(list(targets)))
                         .values(object_id=m.c.via, via=None))
            ends = sorted(set(targets.values()))
            rows = conn.execute(sa.select(r.c.id, r.c.source_ref, r.c.target_ref, r.c.stix)
                                .where(sa.or_(r.c.source_ref.in_(ends),
                                              r.c.target_ref.in_(ends)))).all()
            fixes = []
            for row in rows:
                stix = row.stix if isinstance(row.stix, dict) else {}
                src, dst = stix.get("source_ref"), stix.get("target_ref")
                new_src = src if src in targets and row.source_ref == targets[src] else None
                new_dst = dst if dst in targets and row.target_ref == targets[dst] else None
                if new_src or new_dst:
                    fixes.append({"_id": row.id, "_s": new_src or row.source_ref,
                                  "_t": new_dst or row.target_ref})
            if fixes:
                conn.execute(r.update().where(r.c.id == sa.bindparam("_id")).values(
                    source_ref=sa.bindparam("_s"), target_ref=sa.bindparam("_t")), fixes)
    return released


def set_merged(store: SqlStore, merged: Mapping[str, Mapping[str, Any]]) -> int:
    """Store each canonical entity's ``x_allsource_merged`` view (what its linked objects
    add); returns how many rows changed."""
    o = t.objects
    changed = []
    with store.engine.begin() as conn:
        for chunk in chunks(sorted(merged)):
            for oid, stix in conn.execute(sa.select(o.c.id, o.c.stix).where(o.c.id.in_(chunk))):
                current = dict(stix) if isinstance(stix, dict) else {}
                value = dict(merged[oid])
                if current.get("x_allsource_merged") == (value or None):
                    continue
                if value:
                    current["x_allsource_merged"] = value
                else:
                    current.pop("x_allsource_merged", None)
                changed.append({"_id": oid, "_stix": current})
        if changed:
            conn.execute(o.update().where(o.c.id == sa.bindparam("_id"))
                         .values(stix=sa.bindparam("_stix")), changed)
    return len(changed)
