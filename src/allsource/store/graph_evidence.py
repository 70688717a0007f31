"""Each object's and relationship's least restrictive evidence marking, kept on its row by
the database, so a restricted reader's graph filters on stored columns.

The rule (:mod:`allsource.store.derived`): a derived object or relationship is visible to a
reader through one *piece of evidence* they may read — a mention they may read in a document
they may read — or, when nobody mentions it, through its own marking. Judged per row, that is
a mention probe and a document probe for each of the 60,000 relationships and 57,000 far ends
of a hub's neighbourhood. Reading it is monotone: whoever may read a marking may read every
less restrictive one. So when the evidence markings have a *least* element ``L`` (one no more
restrictive than any other), "some evidence is readable" is exactly "``L`` is readable", and
``L`` can be stored next to the row and read from the graph's covering indexes.

Columns (migration 0045) on ``objects`` and ``relationships``: ``ev_state`` and the four
marking columns ``ev_tlp``, ``ev_classification``, ``ev_compartments``, ``ev_releasability``.

* ``ev_state = 1`` — nobody mentions the row: the ``ev_*`` columns copy its own marking;
* ``ev_state = 2`` — mentioned: ``ev_*`` is the least evidence marking — a mention's marking
  combined with its document's *current* marking (``tlp``/``classification``: the higher;
  compartments: the union);
* ``ev_state`` NULL — not known: the reader falls back to the whole rule in SQL
  (:func:`allsource.store.derived.visible`) for that row. This is what a plain INSERT
  writes, so a row nothing summarised yet is judged as before, never wrongly.

Who keeps them: triggers in the database (:data:`TRIGGERS`, both backends), so every write
path — processing's mention writes, importers, rebuild, marking changes made by hand — keeps
them without the writers knowing. A new mention lowers ``L`` or leaves it (two primary-key
probes and no write in the common case); everything that can *remove* or *weaken* evidence —
a mention changed, a document's marking changed (raised or lowered) or the document
deleted — makes ``ev_state`` unknown (NULL) on the rows it evidences, in the writing
statement's transaction, so the reader's next request judges them by the whole rule at once;
a deleted mention does so only when no evidence of the stored marking is left (and a row
nobody mentions any more goes back to its own marking), so re-processing a document, which
deletes its mentions and writes them again, keeps its rows known.
Evidence whose markings the columns cannot order exactly is left unknown too: a releasability on the
mention or its document (releasability is disjunctive, so ``combine`` would be stricter than
"both readable"), or two different non-empty compartment sets. :func:`refresh` recomputes the
unknown rows exactly (the migration fills existing stores with it; :mod:`allsource.store.rebuild`
calls it after a rebuild); it only restores speed, never correctness.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.model.markings import Audience
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.access import readable

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["TABLES", "UNKNOWN", "drop_triggers", "install_triggers", "refresh", "visible"]

UNKNOWN, UNMENTIONED, MENTIONED = None, 1, 2
TABLES = ("objects", "relationships")
_MARKING = ("tlp", "classification", "compartments", "releasability")
_BATCH = 5000
_CHUNK = 500  # ids per IN list


@dataclass(frozen=True, slots=True)
class _EvidenceColumns:
    """``table``'s ``ev_*`` columns under the names :func:`readable` reads (``c.tlp`` …)."""

    table: Any

    @property
    def c(self) -> Any:
        return _Named({m: self.table.c["ev_" + m] for m in _MARKING})


class _Named:
    def __init__(self, columns: dict[str, Any]) -> None:
        self.__dict__.update(columns)


@functools.lru_cache(maxsize=64)
def visible(store: SqlStore, table: Any, audience: Audience) -> sa.ColumnElement[bool]:
    """SQL on ``objects`` or ``relationships`` rows (or aliases): the row is visible to
    ``audience`` — the same rule as :func:`allsource.store.derived.visible`, read from the
    stored least evidence marking where it is known, from the mentions where it is not."""
    if audience.unrestricted:
        return sa.true()
    state = table.c.ev_state
    # the whole rule reads the row's own marking: it is asked of a second copy of the row,
    # correlated by id alone, so a scan of the covering indexes stays index-only
    base = getattr(table, "element", table)
    row = base.alias(f"ev_{base.name}")
    rule = sa.exists().where(row.c.id == table.c.id,
                             derived.visible(store, row, audience, readable))
    return sa.or_(sa.and_(state.is_not(None), readable(_EvidenceColumns(table), audience)),
                  sa.and_(state.is_(None), rule))


# -- triggers ----------------------------------------------------------------------------------
# ``{max}``: the larger of two values; ``{X}``: objects or relationships. A new mention's
# evidence ``e`` exists only when its document does and the pair can be ordered exactly.
_EVIDENCE = (
    "SELECT {max}(NEW.tlp, d.tlp) AS tlp, {max}(NEW.classification, d.classification) AS cls, "
    "CASE WHEN NEW.compartments = '' THEN d.compartments ELSE NEW.compartments END AS comp "
    "FROM documents d WHERE d.id = NEW.document_id AND NEW.releasability = '' "
    "AND d.releasability = '' AND (NEW.compartments = '' OR d.compartments = '' "
    "OR NEW.compartments = d.compartments)")
_MENTION_INSERT = (
    # lower the stored least marking to e, or start it (the row was unmentioned) …
    "UPDATE {X} SET ev_state = 2, ev_tlp = e.tlp, ev_classification = e.cls, "
    "ev_compartments = e.comp, ev_releasability = '' FROM (" + _EVIDENCE + ") AS e "
    "WHERE {X}.id = NEW.object_id AND ({X}.ev_state = 1 OR ({X}.ev_state = 2 "
    "AND e.tlp <= {X}.ev_tlp AND e.cls <= {X}.ev_classification "
    "AND (e.comp = '' OR e.comp = {X}.ev_compartments) AND NOT (e.tlp = {X}.ev_tlp "
    "AND e.cls = {X}.ev_classification AND e.comp = {X}.ev_compartments)))",
    # … and when e is not at least the stored one (incomparable, or no evidence), unknown
    "UPDATE {X} SET ev_state = NULL WHERE {X}.id = NEW.object_id "
    "AND {X}.ev_state IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM (" + _EVIDENCE + ") AS e WHERE {X}.ev_state = 2 "
    "AND e.tlp >= {X}.ev_tlp AND e.cls >= {X}.ev_classification "
    "AND ({X}.ev_compartments = '' OR {X}.ev_compartments = e.comp))",
)
_FORGET = ("UPDATE {X} SET ev_state = NULL WHERE id = {ref}.object_id "
           "AND ev_state IS NOT NULL")
_FORGET_DOC = ("UPDATE {X} SET ev_state = NULL WHERE ev_state IS NOT NULL AND id IN "
               "(SELECT object_id FROM mentions WHERE document_id = OLD.id)")
_OWN = ("UPDATE {X} SET ev_state = 1, ev_tlp = NEW.tlp, "
        "ev_classification = NEW.classification, ev_compartments = NEW.compartments, "
        "ev_releasability = NEW.releasability WHERE id = NEW.id")
_MENTION_DELETE = (
    # nobody mentions the row any more: its own marking decides
    "UPDATE {X} SET ev_state = 1, ev_tlp = tlp, ev_classification = classification, "
    "ev_compartments = compartments, ev_releasability = releasability "
    "WHERE id = OLD.object_id AND NOT EXISTS "
    "(SELECT 1 FROM mentions WHERE object_id = OLD.object_id)",
    # the stored least marking is that of some evidence: it stays while one of that
    # marking remains (the deleted one was above it, or had a twin), else unknown
    "UPDATE {X} SET ev_state = NULL WHERE {X}.id = OLD.object_id AND {X}.ev_state = 2 "
    "AND NOT EXISTS (SELECT 1 FROM mentions m JOIN documents d ON d.id = m.document_id "
    "WHERE m.object_id = OLD.object_id AND m.releasability = '' AND d.releasability = '' "
    "AND {max}(m.tlp, d.tlp) = {X}.ev_tlp "
    "AND {max}(m.classification, d.classification) = {X}.ev_classification "
    "AND (m.compartments = '' OR d.compartments = '' OR m.compartments = d.compartments) "
    "AND CASE WHEN m.compartments = '' THEN d.compartments ELSE m.compartments END "
    "= {X}.ev_compartments)",
)
#: a mention names a relationship or an object, never both: only that table is updated
_NAMES = {"relationships": "substr({ref}.object_id, 1, 14) = 'relationship--'",
          "objects": "substr({ref}.object_id, 1, 14) <> 'relationship--'"}
_UNMENTIONED = " AND NOT EXISTS (SELECT 1 FROM mentions WHERE object_id = NEW.id)"
_CHANGED = " OR ".join(f"OLD.{c} {{isnot}} NEW.{c}" for c in _MARKING)


@dataclass(frozen=True, slots=True)
class _Trigger:
    name: str
    event: str  # e.g. "INSERT ON mentions"
    when: str | None
    body: tuple[str, ...]


def _triggers() -> list[_Trigger]:
    both = TABLES
    out = []
    for x in both:
        out += [
            _Trigger(f"graph_ev_mentions_ai_{x}", "INSERT ON mentions",
                     _NAMES[x].replace("{ref}", "NEW"),
                     tuple(s.replace("{X}", x) for s in _MENTION_INSERT)),
            _Trigger(f"graph_ev_mentions_ad_{x}", "DELETE ON mentions",
                     _NAMES[x].replace("{ref}", "OLD"),
                     tuple(s.replace("{X}", x) for s in _MENTION_DELETE)),
        ]
    out += [
        _Trigger("graph_ev_mentions_au", "UPDATE ON mentions", None,
                 tuple(_FORGET.replace("{X}", x).replace("{ref}", ref)
                       for x in both for ref in ("OLD", "NEW"))),
        _Trigger("graph_ev_documents_au",
                 "UPDATE OF tlp, classification, compartments, releasability ON documents",
                 _CHANGED, tuple(_FORGET_DOC.replace("{X}", x) for x in both)),
        _Trigger("graph_ev_documents_ad", "DELETE ON documents", None,
                 tuple(_FORGET_DOC.replace("{X}", x) for x in both)),
    ]
    for x in both:
        out.append(_Trigger(f"graph_ev_{x}_ai", f"INSERT ON {x}", None,
                            (_OWN.replace("{X}", x) + _UNMENTIONED,)))
        out.append(_Trigger(f"graph_ev_{x}_au",
                            f"UPDATE OF tlp, classification, compartments, releasability ON {x}",
                            "NEW.ev_state = 1", (_OWN.replace("{X}", x),)))
    return out


def _ddl(dialect: str) -> list[str]:
    pg = dialect == "postgresql"
    fill = {"{max}": "GREATEST" if pg else "max", "{isnot}": "IS DISTINCT FROM" if pg
            else "IS NOT"}
    out = []
    for trig in _triggers():
        body = [functools.reduce(lambda s, kv: s.replace(*kv), fill.items(), b)
                for b in trig.body]
        when = (functools.reduce(lambda s, kv: s.replace(*kv), fill.items(), trig.when)
                if trig.when else None)
        if pg:
            out.append(f"CREATE OR REPLACE FUNCTION {trig.name}() RETURNS trigger "
                       f"LANGUAGE plpgsql AS $$ BEGIN {'; '.join(body)}; RETURN NULL; END $$")
            out.append(f"CREATE TRIGGER {trig.name} AFTER {trig.event} FOR EACH ROW "
                       + (f"WHEN ({when}) " if when else "")
                       + f"EXECUTE FUNCTION {trig.name}()")
        else:
            out.append(f"CREATE TRIGGER {trig.name} AFTER {trig.event} "
                       + (f"WHEN {when} " if when else "")
                       + f"BEGIN {'; '.join(body)}; END")
    return out


def install_triggers(conn: Connection) -> None:
    """Create the triggers that keep the ``ev_*`` columns (migration 0045)."""
    for statement in _ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)


def drop_triggers(conn: Connection) -> None:
    pg = conn.dialect.name == "postgresql"
    for trig in _triggers():
        on = trig.event.rsplit(" ON ", 1)[1]
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trig.name}"
                             + (f" ON {on}" if pg else ""))
        if pg:
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {trig.name}()")


# -- exact recomputation -----------------------------------------------------------------------
def least(evidence: Iterable[Sequence[Any]]) -> tuple[int, int, int, str] | None:
    """The least of the evidence markings ``(tlp, classification, compartments,
    releasability)`` of mention and document pairs ``(m_tlp, m_cls, m_comp, m_rel, d_tlp,
    d_cls, d_comp, d_rel)`` (``d_*`` ``None``: the document is not stored, so the pair is no
    evidence), as ``(state, tlp, classification, compartments)``; ``None`` when there is no
    evidence or the markings cannot be ordered exactly (the row stays unknown)."""
    found: list[tuple[int, int, str]] = []
    for mt, mc, mcomp, mrel, dt, dc, dcomp, drel in evidence:
        if dt is None:
            continue
        if mrel or drel or (mcomp and dcomp and mcomp != dcomp):
            return None
        found.append((max(mt, dt), max(mc, dc), mcomp or dcomp))
    if not found:
        return None
    low_t, low_c = min(f[0] for f in found), min(f[1] for f in found)
    comps = {f[2] for f in found}
    floor = {f[2] for f in found if f[0] == low_t and f[1] == low_c}
    if "" in floor:
        return MENTIONED, low_t, low_c, ""
    if floor and len(comps) == 1:
        return MENTIONED, low_t, low_c, next(iter(comps))
    return None


def refresh(conn: Connection, ids: Iterable[str] | None = None, *,
            everything: bool = False) -> None:
    """Recompute the ``ev_*`` columns exactly for the rows whose ``ev_state`` is unknown —
    among ``ids`` when given (the rows a write just touched: one indexed statement per table
    and :data:`_CHUNK` ids when all are known), else in the whole store — or for all rows
    with ``everything`` (the migration). Unmentioned rows copy their own marking in one
    statement; mentioned ones are summarised from their mentions and documents
    (:func:`least`)."""
    if ids is None:
        _refresh(conn, sa.true() if everything else None)
        return
    wanted = sorted(set(ids))
    for i in range(0, len(wanted), _CHUNK):
        _refresh(conn, None, wanted[i:i + _CHUNK])


def _refresh(conn: Connection, scope: sa.ColumnElement[bool] | None,
             ids: Sequence[str] | None = None) -> None:
    m, d = t.mentions, t.documents
    for name in TABLES:
        x = t.metadata.tables[name]
        todo = scope if scope is not None else x.c.ev_state.is_(None)
        if ids is not None:
            todo = sa.and_(x.c.id.in_(ids), todo)
            if not conn.execute(sa.select(x.c.id).where(todo).limit(1)).first():
                continue
        conn.execute(x.update().where(todo, ~sa.exists().where(m.c.object_id == x.c.id))
                     .values(ev_state=UNMENTIONED, ev_tlp=x.c.tlp,
                             ev_classification=x.c.classification,
                             ev_compartments=x.c.compartments,
                             ev_releasability=x.c.releasability))
        rows = conn.execute(
            sa.select(x.c.id, m.c.tlp, m.c.classification, m.c.compartments,
                      m.c.releasability, d.c.tlp, d.c.classification, d.c.compartments,
                      d.c.releasability)
            .join(m, m.c.object_id == x.c.id).outerjoin(d, d.c.id == m.c.document_id)
            .where(todo).order_by(x.c.id)).all()
        updates: list[dict[str, Any]] = []
        for key, group in groupby(rows, itemgetter(0)):
            found = least(r[1:] for r in group)
            state, tlp, cls, comp = found if found else (UNKNOWN, None, None, None)
            updates.append({"k": key, "s": state, "t": tlp, "c": cls, "p": comp,
                            "r": None if state is None else ""})
        stmt = (x.update().where(x.c.id == sa.bindparam("k"))
                .values(ev_state=sa.bindparam("s"), ev_tlp=sa.bindparam("t"),
                        ev_classification=sa.bindparam("c"),
                        ev_compartments=sa.bindparam("p"), ev_releasability=sa.bindparam("r")))
        for i in range(0, len(updates), _BATCH):
            conn.execute(stmt, updates[i:i + _BATCH])
