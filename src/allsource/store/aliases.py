"""Alias statements: each resolution of a name to an entity, with its provenance, kept in the
store so an analyst can see why "Fancy Bear" is APT28 — and undo it.

A statement says that ``alias`` denotes the entity ``entity_id`` (its canonical id) because of
``basis``, per ``provenance``. The basis is the gazetteer's link rule
(:class:`~allsource.model.resolution.AliasLink`): ``name``, ``alias``, ``attack-id``,
``value`` or ``derived:…`` (a source lists the name for its record ``member_id``),
``merge:<rule>`` or ``revoked-by`` (``member_id`` was merged with ``other_id``), or
``analyst-merge``. The provenance is the knowledge source and its version
(``mitre-attack-enterprise v15``, ``misp-galaxy threat-actor v336``) or ``analyst <name>``.

Two origins:

* ``gazetteer`` — what the shipped knowledge says. :func:`record` writes the current
  gazetteer's statements idempotently: the id is minted over what a statement means (entity,
  alias, records, basis), not over its source's version, so the same statement twice is one row
  and a package upgrade keeps the analysts' verdicts. A statement the gazetteer no longer makes
  is ``retired`` (and ``active`` again if it comes back). They are recorded whenever a pipeline
  with the entities stage is built over a store, from the very gazetteer the stage then uses
  (:func:`allsource.process.entities.store_gazetteer`), and by every ``allsource aliases``
  command — so the store lists exactly the resolution that processing applies.
* ``analyst`` — an analyst's merge ("X is an alias of Y"), with who, when and why.

:func:`undo` never deletes: a row's status flips to ``undone`` and who, when and why are kept on
it. :func:`overrides` turns the undone and analyst rows into the gazetteer's
:class:`~allsource.model.resolution.Overrides`, so undone statements stop merging and analyst
merges merge:

* an undone merge (``merge:*``, ``revoked-by``) keeps its two records apart;
* an undone name that is another record's own name separates that record from the entity;
* any other undone name is withdrawn from the records listing it; a name a source listed (not
  a shortened form derived from one) then names an entity of its own once no record of the
  entity lists it — text saying "Fancy Bear" still finds an actor, just no longer APT28 —
  unless an analyst merged that name somewhere;
* an active analyst merge joins the entity it named into the statement's entity, or adds the
  name to it; an undone one no longer applies.

The entities stage carries the overrides' digest in its version, so the next
``allsource process`` redoes the stage for every document (see
:mod:`allsource.process.stages.entities`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.errors import InputError
from allsource.model.ids import minted_id
from allsource.model.names import alias_key
from allsource.model.records import StixObject
from allsource.model.resolution import (
    ANALYST,
    AnalystName,
    Join,
    Overrides,
    Pair,
    ResolvedEntity,
    analyst_entry_id,
)
from allsource.store import schema as t
from allsource.store.sql import chunks, naive_utc, utc_now
from allsource.store.statements import Undoable, by_short_id, required, who_and_why

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["ACTIVE", "ANALYST", "ANALYST_MERGE", "GAZETTEER", "RETIRED", "UNDONE",
           "AliasStatement", "analyst_log",
           "find", "merge", "overrides", "record", "refresh_objects", "statements", "undo",
           "undone"]

ACTIVE, UNDONE, RETIRED = "active", "undone", "retired"
GAZETTEER = "gazetteer"
ANALYST_MERGE = "analyst-merge"
ID_TYPE = "x-allsource-alias"
#: Gazetteer links that restate an analyst's merge (the analyst's row is the statement).
_RESTATED = frozenset({"analyst", "merge:analyst"})
_BASIS_ORDER = ("name", "alias", "attack-id", "value", "derived", "analyst-merge", "merge",
                "revoked-by")
_MAX_ALIAS = 200
#: Properties of a stored entity object that other passes own (what entity linking merged
#: into it, :mod:`allsource.store.links`): kept when the object is refreshed.
_KEPT = ("x_allsource_merged",)


@dataclass(frozen=True, slots=True)
class AliasStatement(Undoable):
    """One stored statement (see the module docstring for the fields' meaning)."""

    id: str
    entity_id: str
    entity_name: str
    entity_type: str
    alias: str
    alias_key: str
    member_id: str
    other_id: str
    basis: str
    provenance: str
    origin: str
    status: str
    reason: str
    created_at: datetime
    created_by: str
    undone_at: datetime | None = None
    undone_by: str | None = None
    undo_reason: str | None = None

    @property
    def is_merge(self) -> bool:
        """Whether it merges two records (rather than naming one)."""
        return _is_merge(self.basis)


def _is_merge(basis: str) -> bool:
    return basis.startswith("merge:") or basis == "revoked-by"


def _from_row(row: sa.Row[Any]) -> AliasStatement:
    return AliasStatement(**AliasStatement.fields_of(row))


def _order(s: AliasStatement) -> tuple[Any, ...]:
    basis = s.basis.split(":", 1)[0]
    rank = _BASIS_ORDER.index(basis) if basis in _BASIS_ORDER else len(_BASIS_ORDER)
    return (s.status != ACTIVE, s.member_id != s.entity_id, rank, s.alias_key, s.id)


def statement_id(entity_id: str, alias: str, member_id: str, other_id: str, basis: str) -> str:
    """A gazetteer statement's id: the same statement always gets the same id."""
    return minted_id(ID_TYPE, "|".join((entity_id, alias, member_id, other_id, basis)))


# --- the gazetteer's statements ----------------------------------------------------------------

def record(store: SqlStore, entities: Iterable[ResolvedEntity]) -> set[str]:
    """Bring the stored gazetteer statements in line with ``entities`` (new ones inserted,
    vanished ones retired, returning ones reactivated, changed provenance updated); returns the
    ids of the entities whose statements changed. Undone rows are never touched."""
    now = utc_now()
    rows: dict[str, dict[str, Any]] = {}
    for entity in entities:
        for link in entity.links:
            if link.rule in _RESTATED:
                continue
            sid = statement_id(entity.id, link.alias, link.member_id, link.other_id, link.rule)
            rows.setdefault(sid, {
                "id": sid, "entity_id": entity.id, "entity_name": entity.name,
                "entity_type": entity.type, "alias": link.alias,
                "alias_key": alias_key(link.alias), "member_id": link.member_id,
                "other_id": link.other_id, "basis": link.rule, "provenance": link.source,
                "origin": GAZETTEER, "status": ACTIVE, "reason": "", "created_at": now,
                "created_by": GAZETTEER})
    s = t.alias_statements
    changed: set[str] = set()
    with store.engine.begin() as conn:
        stored = {r.id: r for r in conn.execute(
            sa.select(s.c.id, s.c.entity_id, s.c.status, s.c.provenance)
            .where(s.c.origin == GAZETTEER))}
        new = [row for sid, row in rows.items() if sid not in stored]
        if new:
            store._bulk_insert(conn, s, new)
            changed.update(row["entity_id"] for row in new)
        retire = [r for sid, r in stored.items() if r.status == ACTIVE and sid not in rows]
        revive = [r for sid, r in stored.items() if r.status == RETIRED and sid in rows]
        _set_status(conn, [r.id for r in retire], RETIRED)
        _set_status(conn, [r.id for r in revive], ACTIVE)
        changed.update(r.entity_id for r in (*retire, *revive))
        moved = [{"_id": sid, "_provenance": rows[sid]["provenance"]}
                 for sid, r in stored.items()
                 if sid in rows and r.provenance != rows[sid]["provenance"]]
        if moved:
            conn.execute(s.update().where(s.c.id == sa.bindparam("_id"))
                         .values(provenance=sa.bindparam("_provenance")), moved)
    return changed


def _set_status(conn: Connection, ids: Sequence[str], status: str) -> None:
    s = t.alias_statements
    for chunk in chunks(ids):
        conn.execute(s.update().where(s.c.id.in_(chunk)).values(status=status))


def refresh_objects(store: SqlStore, entities: Iterable[ResolvedEntity],
                    to_object: Callable[[ResolvedEntity], StixObject]) -> int:
    """Rewrite the stored entity objects that the entities stage proposed (those carrying
    ``x_allsource_members``) and that no longer match ``to_object`` of their entity — its
    aliases or members changed; objects a collector stored are left as they are. Returns how
    many were rewritten."""
    by_id = {e.id: e for e in entities}
    o = t.objects
    with store.engine.begin() as conn:
        updates = []
        for chunk in chunks(list(by_id)):
            for oid, stix in conn.execute(sa.select(o.c.id, o.c.stix).where(o.c.id.in_(chunk))):
                if not isinstance(stix, dict) or "x_allsource_members" not in stix:
                    continue
                now = to_object(by_id[oid])
                kept = {k: stix[k] for k in _KEPT if k in stix}  # written by the linker
                if {k: v for k, v in stix.items() if k not in _KEPT} != now.stix:
                    updates.append({"_id": oid, "_name": now.name[:10000],
                                    "_stix": {**now.stix, **kept}})
        if updates:
            conn.execute(o.update().where(o.c.id == sa.bindparam("_id"))
                         .values(name=sa.bindparam("_name"), stix=sa.bindparam("_stix")),
                         updates)
    return len(updates)


# --- reading -----------------------------------------------------------------------------------

def statements(store: SqlStore, entity_id: str, *, retired: bool = False
               ) -> list[AliasStatement]:
    """The statements about an entity: active ones first (its own names, then its members',
    then merges), then undone ones; ``retired`` ones too when asked."""
    s = t.alias_statements
    query = sa.select(s).where(s.c.entity_id == entity_id)
    if not retired:
        query = query.where(s.c.status != RETIRED)
    with store.engine.connect() as conn:
        return sorted(map(_from_row, conn.execute(query)), key=_order)


def undone(store: SqlStore) -> list[AliasStatement]:
    """Every undone statement, the latest undo first."""
    s = t.alias_statements
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(s).where(s.c.status == UNDONE)
                            .order_by(s.c.undone_at.desc(), s.c.id))
        return [_from_row(r) for r in rows]


def analyst_log(store: SqlStore) -> list[AliasStatement]:
    """What analysts did: their merges and every undone statement, the latest first."""
    s = t.alias_statements
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(s).where(sa.or_(s.c.origin == ANALYST, s.c.status == UNDONE))
            .order_by(sa.func.coalesce(s.c.undone_at, s.c.created_at).desc(), s.c.id))
        return [_from_row(r) for r in rows]


def find(store: SqlStore, entity_id: str, ref: str) -> AliasStatement | None:
    """The entity's statement with id ``ref``, or whose short id starts with ``ref``."""
    s = t.alias_statements
    row = by_short_id(store, s, ID_TYPE, ref, "statement", s.c.entity_id == entity_id)
    return _from_row(row) if row is not None else None


# --- analysts' statements ----------------------------------------------------------------------

def undo(store: SqlStore, entity_id: str, alias: str, *, analyst: str, reason: str,
         now: datetime | None = None) -> list[AliasStatement]:
    """Undo what makes ``alias`` an alias of the entity: with a statement id, that statement;
    with a name, every active statement naming it (any case or separators), analysts' merges
    included — merges of two records are undone by their id. Returns the undone statements."""
    analyst, reason = who_and_why(analyst, reason)
    current = [x for x in statements(store, entity_id) if x.status == ACTIVE]
    if not current:
        raise InputError(f"no alias statements about {entity_id!r}")
    name = current[0].entity_name
    one = find(store, entity_id, alias)
    if one is not None:
        if one.status != ACTIVE:
            raise InputError(f"statement {one.short_id} is already {one.status}")
        chosen = [one]
    else:
        key = alias_key(alias)
        chosen = [x for x in current if x.alias_key == key and not x.is_merge]
    if not chosen:
        raise InputError(f"{alias!r} is not an active alias of {name} "
                         "(see `allsource aliases show`)")
    if any(x.basis == "name" and x.member_id == x.entity_id for x in chosen):
        raise InputError(f"{alias!r} is {name}'s own name: undo one of its merges instead "
                         "(`allsource aliases show` lists them with their ids)")
    when = naive_utc(now) or utc_now()
    s = t.alias_statements
    with store.engine.begin() as conn:
        for chunk in chunks([x.id for x in chosen]):
            conn.execute(s.update().where(s.c.id.in_(chunk), s.c.status == ACTIVE).values(
                status=UNDONE, undone_at=when, undone_by=analyst, undo_reason=reason))
        rows = conn.execute(sa.select(s).where(s.c.id.in_([x.id for x in chosen]))).all()
    return sorted(map(_from_row, rows), key=_order)


def merge(store: SqlStore, entity: ResolvedEntity, alias: str, *, member_id: str = "",
          analyst: str, reason: str, now: datetime | None = None) -> AliasStatement:
    """Record an analyst's statement that ``alias`` is an alias of ``entity``: ``member_id``
    is the entity the alias names, if any (merged into ``entity``), else ``alias`` is a new name
    for it. Idempotent: an active merge of the same name into the entity is returned as is."""
    alias = required(alias, "an alias")
    analyst, reason = who_and_why(analyst, reason)
    key = alias_key(alias)
    if not key or len(alias) > _MAX_ALIAS:
        raise InputError(f"an alias needs letters or digits and at most {_MAX_ALIAS} characters")
    for x in statements(store, entity.id):
        if x.status != ACTIVE or x.alias_key != key or x.is_merge:
            continue
        if x.origin == ANALYST:
            return x
        raise InputError(f"{alias!r} is already an alias of {entity.name} ({x.provenance})")
    when = naive_utc(now) or utc_now()
    row = {"id": minted_id(ID_TYPE, f"{ANALYST}|{entity.id}|{alias}|{member_id}|{analyst}|"
                                    f"{when.isoformat()}"),
           "entity_id": entity.id, "entity_name": entity.name, "entity_type": entity.type,
           "alias": alias, "alias_key": key, "member_id": member_id, "other_id": "",
           "basis": ANALYST_MERGE, "provenance": f"{ANALYST} {analyst}", "origin": ANALYST,
           "status": ACTIVE, "reason": reason, "created_at": when, "created_by": analyst}
    s = t.alias_statements
    with store.engine.begin() as conn:
        conn.execute(s.insert().values(**row))
        return _from_row(conn.execute(sa.select(s).where(s.c.id == row["id"])).one())


# --- what resolution makes of them -------------------------------------------------------------

def overrides(store: SqlStore) -> Overrides:
    """The gazetteer overrides the store's undone and analyst statements amount to (the rules
    are in the module docstring)."""
    s = t.alias_statements
    with store.engine.connect() as conn:
        rows = [_from_row(r) for r in conn.execute(sa.select(s).where(sa.or_(
            s.c.status == UNDONE, sa.and_(s.c.origin == ANALYST, s.c.status == ACTIVE))))]
        if not rows:
            return Overrides()
        held: list[Any] = []
        for chunk in chunks(sorted({r.entity_id for r in rows})):
            held += conn.execute(
                sa.select(s.c.entity_id, s.c.member_id, s.c.other_id, s.c.alias_key,
                          s.c.basis, s.c.status)
                .where(s.c.origin == GAZETTEER, s.c.entity_id.in_(chunk))).all()
    members: dict[str, set[str]] = defaultdict(set)
    named: set[Pair] = set()  # (entity, alias key) that an active statement still gives it
    for entity, member, other, key, basis, status in held:
        members[entity].update(x for x in (member, other) if x)
        if status == ACTIVE and not _is_merge(basis):
            named.add((entity, key))
    merges = [r for r in rows if r.origin == ANALYST and r.status == ACTIVE]
    separate: list[Pair] = []
    withdrawn: list[Pair] = []
    splits: dict[Pair, list[AliasStatement]] = defaultdict(list)
    for r in rows:
        if r.origin != GAZETTEER:
            continue
        if r.is_merge:
            separate.append((r.member_id, r.other_id))
        elif r.basis == "name" and r.member_id != r.entity_id:
            separate += [(r.member_id, m) for m in members[r.entity_id]]
        else:
            withdrawn.append((r.member_id, r.alias_key))
            if not r.basis.startswith("derived:"):  # a shortened form is nobody's name
                splits[(r.entity_id, r.alias_key)].append(r)
    names: list[AnalystName] = []
    split_ids: set[str] = set()
    merged_keys = {r.alias_key for r in merges}
    for (entity, key), gone in splits.items():
        first = min(gone, key=lambda r: (r.undone_at or r.created_at, r.id))
        sid = analyst_entry_id(first.entity_type, entity, key, "split")
        split_ids.add(sid)
        if key in merged_keys or (entity, key) in named:
            continue
        shown = min((r.alias for r in gone), key=lambda a: (a.isupper(), a))
        names.append(AnalystName(sid, first.entity_type, shown,
                                 f"{ANALYST} {first.undone_by}, split from {first.entity_name}"))
        separate += [(sid, m) for m in members[entity]]
    joins: list[Join] = []
    for r in merges:
        source = f"{ANALYST} {r.created_by}"
        if r.member_id and r.member_id not in split_ids:
            joins.append((r.entity_id, r.member_id, r.alias, source))
        else:  # a new name, or one an earlier undo had split off
            names.append(AnalystName(analyst_entry_id(r.entity_type, r.entity_id, r.alias,
                                                      "alias"),
                                     r.entity_type, r.alias, source, join=r.entity_id))
    return Overrides.make(separate, withdrawn, names, joins)
