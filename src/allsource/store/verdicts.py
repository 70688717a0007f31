"""Analysts' verdicts on extracted mentions, kept as statements: who, when, why, undoable.

Three verdicts, as an analyst reading a document says them:

* ``here`` — "not this entity here": the entities stage no longer maps that name (or, with no
  name, any name) to the entity *in this document*;
* ``other`` — "this is a different entity": in this document the name denotes ``other_id``;
* ``never`` — "this name is never this entity": nowhere, from the next processing on.

A ``here`` or ``other`` verdict makes its document due for processing again (its entities
result is dropped, so the next ``allsource process`` redoes the document); a ``never`` verdict
changes the entities stage's fingerprint, which redoes every document — as an undone alias does
(:mod:`allsource.store.aliases`). Undoing a verdict does the same.

Verdicts are evidence too: a name that analysts rejected for an entity in
:data:`DOUBT_AFTER` different documents is *doubtful* for that entity — it is then accepted
only where the document names the entity in another way as well (:func:`overrides`).

The store keeps the statements; applying them is the entities stage's work
(:mod:`allsource.process.stages.entities`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from allsource.errors import InputError
from allsource.model.ids import minted_id
from allsource.model.names import alias_key
from allsource.store import schema as t
from allsource.store.sql import naive_utc, utc_now
from allsource.store.statements import Undoable, by_short_id, who_and_why

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["ACTIVE", "DOUBT_AFTER", "UNDONE", "VERDICTS", "Verdict", "find", "list_verdicts",
           "overrides", "record", "undo"]

VERDICTS = ("here", "other", "never")
ACTIVE, UNDONE = "active", "undone"
#: Rejections in this many documents make a name doubtful for an entity.
DOUBT_AFTER = 3
ID_TYPE = "x-allsource-verdict"
#: Stage whose stored result a document verdict drops (so the document is processed again).
STAGE = "entities"


@dataclass(frozen=True, slots=True)
class Verdict(Undoable):
    id: str
    verdict: str
    document_id: str
    entity_id: str
    entity_name: str
    name: str
    name_key: str
    other_id: str
    status: str
    reason: str
    created_at: datetime
    created_by: str
    undone_at: datetime | None = None
    undone_by: str | None = None
    undo_reason: str | None = None

    def describe(self, short: bool = False) -> str:
        """One line: what the analyst said (``short``: the document by its short id)."""
        said = f"{self.name!r}" if self.name else "any name"
        where = self.document_id
        if short:
            where = f"document {where.rsplit('--', 1)[-1][:8]}"
        if self.verdict == "never":
            return f"{said} is never {self.entity_name}"
        if self.verdict == "other":
            return f"{said} is {self.other_id}, not {self.entity_name}, in {where}"
        return f"{said} is not {self.entity_name} in {where}"


def _from_row(row: sa.Row[Any]) -> Verdict:
    return Verdict(**Verdict.fields_of(row))


def _entity_name(store: SqlStore, entity_id: str) -> str:
    o = t.objects
    with store.engine.connect() as conn:
        name = conn.execute(sa.select(o.c.name).where(o.c.id == entity_id)).scalar()
    if name is None:
        raise InputError(f"no stored entity with id {entity_id!r}")
    return str(name)


def _surfaces(store: SqlStore, document_id: str, entity_id: str) -> list[str]:
    """The names by which the document's stored mentions name the entity."""
    d, m = t.documents, t.mentions
    with store.engine.connect() as conn:
        doc = conn.execute(sa.select(d.c.title, d.c.text).where(d.c.id == document_id)).first()
        if doc is None:
            raise InputError(f"no document with id {document_id!r}")
        spans = conn.execute(sa.select(m.c.span_start, m.c.span_end).where(
            m.c.document_id == document_id, m.c.object_id == entity_id,
            m.c.extractor.startswith(f"{STAGE}@"))).all()
    full = f"{doc.title}\n{doc.text}" if doc.title else doc.text
    return [full[s:e] for s, e in spans if 0 <= s < e <= len(full)]


def record(store: SqlStore, verdict: str, entity_id: str, *, document_id: str = "",
           name: str = "", other_id: str = "", other_name: str = "", analyst: str,
           reason: str, now: datetime | None = None) -> Verdict:
    """Record a verdict (see the module docstring); idempotent for an active identical one.

    ``here``/``other`` need the document, which must mention the entity (by ``name``, when
    given); ``never`` needs a name (the one seen in ``document_id`` when only that is given).
    ``other`` needs ``other_id``: a stored entity, or one the caller knows (the gazetteer's)
    and names with ``other_name``."""
    if verdict not in VERDICTS:
        raise InputError(f"a verdict is one of {', '.join(VERDICTS)}")
    analyst, reason = who_and_why(analyst, reason)
    entity_name = _entity_name(store, entity_id)
    key = alias_key(name)
    if verdict in ("here", "other") or document_id:
        if not document_id:
            raise InputError("give the document the mention is in")
        seen = _surfaces(store, document_id, entity_id)
        if not seen or (key and key not in {alias_key(s) for s in seen}):
            named = f" as {name!r}" if name else ""
            raise InputError(f"document {document_id} has no mention of {entity_name}{named}")
        if verdict == "never" and not key:
            distinct = sorted({alias_key(s) for s in seen})
            if len(distinct) > 1:
                raise InputError(f"{entity_name} is named several ways there "
                                 f"({', '.join(distinct)}): say which name is never it")
            key, name = distinct[0], seen[0]
    if verdict == "never" and not key:
        raise InputError("say which name is never this entity")
    if verdict == "other":
        if not other_id or other_id == entity_id:
            raise InputError("give the entity the mention denotes instead")
        if not other_name:
            _entity_name(store, other_id)
    elif other_id:
        raise InputError("only an `other` verdict names another entity")
    scope = "" if verdict == "never" else document_id
    v = t.mention_verdicts
    with store.engine.begin() as conn:
        same = conn.execute(sa.select(v).where(
            v.c.verdict == verdict, v.c.document_id == scope, v.c.entity_id == entity_id,
            v.c.name_key == key, v.c.other_id == other_id, v.c.status == ACTIVE)).first()
        if same is not None:
            return _from_row(same)
        when = naive_utc(now) or utc_now()
        row = {"id": minted_id(ID_TYPE, f"{verdict}|{scope}|{entity_id}|{key}|{other_id}|"
                                        f"{analyst}|{when.isoformat()}"),
               "verdict": verdict, "document_id": scope, "entity_id": entity_id,
               "entity_name": entity_name, "name": name.strip()[:500], "name_key": key[:500],
               "other_id": other_id, "status": ACTIVE, "reason": reason, "created_at": when,
               "created_by": analyst}
        conn.execute(v.insert().values(**row))
        _redo(conn, scope)
        return _from_row(conn.execute(sa.select(v).where(v.c.id == row["id"])).one())


def _redo(conn: sa.Connection, document_id: str) -> None:
    if document_id:  # a global verdict changes the stage's fingerprint instead
        a = t.stage_annotations
        conn.execute(a.delete().where(a.c.document_id == document_id, a.c.stage == STAGE))


def find(store: SqlStore, ref: str) -> Verdict | None:
    """The verdict with id ``ref`` or whose short id starts with it."""
    row = by_short_id(store, t.mention_verdicts, ID_TYPE, ref, "verdict")
    return _from_row(row) if row is not None else None


def undo(store: SqlStore, ref: str, *, analyst: str, reason: str,
         now: datetime | None = None) -> Verdict:
    """Take a verdict back (kept, marked undone with who, when and why)."""
    analyst, reason = who_and_why(analyst, reason)
    found = find(store, ref)
    if found is None:
        raise InputError(f"no verdict {ref!r} (see `allsource mentions list`)")
    if found.status != ACTIVE:
        raise InputError(f"verdict {found.short_id} is already {found.status}")
    v = t.mention_verdicts
    with store.engine.begin() as conn:
        conn.execute(v.update().where(v.c.id == found.id, v.c.status == ACTIVE).values(
            status=UNDONE, undone_at=naive_utc(now) or utc_now(), undone_by=analyst,
            undo_reason=reason))
        _redo(conn, found.document_id)
        return _from_row(conn.execute(sa.select(v).where(v.c.id == found.id)).one())


def list_verdicts(store: SqlStore, *, document_id: str | None = None,
                  entity_id: str | None = None, undone: bool = False) -> list[Verdict]:
    """Verdicts, the latest first: active ones (and undone ones with ``undone``)."""
    v = t.mention_verdicts
    query = sa.select(v)
    if document_id is not None:
        query = query.where(sa.or_(v.c.document_id == document_id, v.c.document_id == ""))
    if entity_id is not None:
        query = query.where(sa.or_(v.c.entity_id == entity_id, v.c.other_id == entity_id))
    if not undone:
        query = query.where(v.c.status == ACTIVE)
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(v.c.created_at.desc(), v.c.id)).all()
    return [_from_row(r) for r in rows]


def overrides(store: SqlStore) -> dict[str, Any]:
    """The active verdicts as the entities stage's option (plain JSON): per document
    ``here`` [name key or "", entity] and ``other`` [name key or "", entity, other] pairs,
    and globally ``never`` and ``doubtful`` [name key, entity] pairs; ``digest`` fingerprints
    the global part."""
    here: dict[str, list[list[str]]] = defaultdict(list)
    other: dict[str, list[list[str]]] = defaultdict(list)
    never: set[tuple[str, str]] = set()
    rejected: dict[tuple[str, str], set[str]] = defaultdict(set)
    v = t.mention_verdicts
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(v).where(v.c.status == ACTIVE)).all()
    for r in rows:
        if r.verdict == "never":
            never.add((r.name_key, r.entity_id))
        elif r.verdict == "here":
            here[r.document_id].append([r.name_key, r.entity_id])
            if r.name_key:
                rejected[(r.name_key, r.entity_id)].add(r.document_id)
        else:
            other[r.document_id].append([r.name_key, r.entity_id, r.other_id])
            if r.name_key:
                rejected[(r.name_key, r.entity_id)].add(r.document_id)
    doubtful = sorted(pair for pair, docs in rejected.items()
                      if len(docs) >= DOUBT_AFTER and pair not in never)
    glob = {"never": sorted([list(p) for p in never]), "doubtful": [list(p) for p in doubtful]}
    if not (here or other or never or doubtful):
        return {}
    digest = hashlib.sha256(orjson.dumps(glob)).hexdigest()[:12] if (never or doubtful) else ""
    return {"here": dict(here), "other": dict(other), **glob, "digest": digest}
