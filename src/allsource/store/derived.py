"""Derived objects are seen through their evidence, one mention at a time.

An entity, observable or relationship extracted from documents exists in the store once,
but it rests on many pieces of evidence — its ``mentions``, each in one document. A piece of
evidence has its own marking (stored on the mention): the object as that document proposed
it, combined with the document's marking (:func:`allsource.store.sql.add_rows`). The object
is then shown to a reader through the evidence that reader may read:

* **visible** when the reader may read at least one of its mentions *and* that mention's
  document (the document is checked too, so a document whose marking was raised after the
  mention was written still hides it). An object nobody mentions — reference data such as
  an ATT&CK technique loaded on its own — is visible when its own marking is readable;
* **what they see of it** comes only from readable evidence: provenance, relationships
  (relationships are derived objects too: a relationship a document asserts carries that
  document's marking on its mention), documents, counts, first and last seen;
* its stored STIX is its **first proposal's**: when the reader may not read the object's own
  marking (the first proposal came from a document they cannot read), the STIX shown is cut
  to what identifies the object (type, id, name), since the rest may come from that document.

So an entity seen in a TLP:CLEAR and a TLP:RED document is visible to a CLEAR reader, with the
CLEAR mention only. Every predicate here builds on :meth:`SqlStore._readable`, the one place
markings become SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from allsource.model.markings import Audience, Marking, can_release
from allsource.store import schema as t

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

#: the STIX properties kept when the reader may not read an object's first proposal
IDENTIFYING = ("type", "id", "spec_version", "name", "value", "x_allsource_name")


Readable = Callable[[Any, Audience], sa.ColumnElement[bool]]
#: ids re-checked per statement by :func:`reader_markings`
_BATCH = 500


def readable_evidence(store: SqlStore, audience: Audience, mentions: Any = None,
                      documents: Any = None, readable: Readable | None = None
                      ) -> sa.ColumnElement[bool]:
    """``mentions`` row readable, and its document too (pass aliases when the query joins
    these tables itself; the condition does not join them). ``readable`` is the marking
    condition (default :meth:`SqlStore._readable`)."""
    ok = readable or store._readable
    m = t.mentions if mentions is None else mentions
    d = t.documents if documents is None else documents
    return sa.and_(ok(m, audience), ok(d, audience))


def readable_labels(store: SqlStore, table: sa.Table, label: str, ids: Iterable[str],
                    audience: Audience, *, blank: str = "") -> dict[str, str]:
    """Id → ``label`` column (``blank`` when empty) of the rows of a marked table (documents,
    watchlists) among ``ids`` that the reader may read: filtered in SQL, then each row's
    marking checked again with :func:`~allsource.model.markings.can_release`."""
    out: dict[str, str] = {}
    wanted = sorted(set(ids))
    columns = [table.c.id, table.c[label], *_marking(table, "")]
    with store.engine.connect() as conn:
        for i in range(0, len(wanted), _BATCH):
            for r in conn.execute(sa.select(*columns).where(
                    table.c.id.in_(wanted[i:i + _BATCH]), store._readable(table, audience))):
                if can_release(_from(r, ""), audience):
                    out[r.id] = r._mapping[label] or blank
    return out


def visible(store: SqlStore, table: Any, audience: Audience,
            readable: Readable | None = None) -> sa.ColumnElement[bool]:
    """SQL: the row of ``table`` (objects or relationships, or an alias) is visible to
    ``audience`` — one readable mention, or no mention at all and its own marking readable
    (``readable``: the marking condition, default :meth:`SqlStore._readable`)."""
    if audience.unrestricted:
        return sa.true()
    ok = readable or store._readable
    m, d = t.mentions.alias("vis_m"), t.documents.alias("vis_d")
    any_m = t.mentions.alias("vis_any")
    seen = (sa.exists().where(m.c.object_id == table.c.id, d.c.id == m.c.document_id,
                              readable_evidence(store, audience, m, d, ok)))
    unmentioned = ~sa.exists().where(any_m.c.object_id == table.c.id)
    return sa.or_(seen, sa.and_(unmentioned, ok(table, audience)))


def ends_visible(store: SqlStore, relationships: Any, audience: Audience
                 ) -> sa.ColumnElement[bool]:
    """SQL on relationship rows: neither end is a stored object hidden from ``audience``. A
    relationship to a hidden object would name that object's id (and so prove it exists); an
    end that is not stored at all is only a reference."""
    if audience.unrestricted:
        return sa.true()
    o = t.objects.alias("end_o")
    r = relationships.c
    return ~sa.exists().where(o.c.id.in_([r.source_ref, r.target_ref]),
                              sa.not_(visible(store, o, audience)))


def is_visible(store: SqlStore, conn: sa.Connection, table: sa.Table, object_id: str,
               audience: Audience) -> bool:
    """Whether one object (or relationship) is visible to ``audience``; the per-row re-check
    with ``can_release`` covers what ``_readable`` leaves to it."""
    return reader_marking(store, conn, table, object_id, audience) is not None


def read_row_visible(store: SqlStore, conn: sa.Connection, table: sa.Table, object_id: str,
                     audience: Audience) -> bool:
    """:func:`is_visible` for a row the caller has just read from ``table`` on ``conn``
    (through :func:`visible`): an unrestricted audience sees every stored row as it is —
    :func:`reader_marking` returns the row's own marking whenever it exists — so only a
    restricted reader pays the re-check (for many rows at once: :func:`visible_ids`)."""
    return audience.unrestricted or is_visible(store, conn, table, object_id, audience)


def reader_marking(store: SqlStore, conn: sa.Connection, table: sa.Table, object_id: str,
                   audience: Audience) -> Marking | None:
    """The marking ``audience`` is shown for one object or relationship (see
    :func:`shown_marking`), or ``None`` when it is not visible to them."""
    own_row = conn.execute(sa.select(table).where(table.c.id == object_id)).first()
    if own_row is None:
        return None
    own = Marking.from_columns(dict(own_row._mapping))
    if audience.unrestricted:
        return own
    m, d = t.mentions, t.documents
    rows = conn.execute(
        sa.select(*_marking(m, "m_"), *_marking(d, "d_m_"))
        .join(d, d.c.id == m.c.document_id)
        .where(m.c.object_id == object_id, readable_evidence(store, audience))).all()
    readable = [r for r in rows if evidence_ok(r, audience)]
    if readable:
        return shown_marking(own, readable, audience)
    if conn.execute(sa.select(m.c.object_id).where(m.c.object_id == object_id).limit(1)
                    ).first() is not None:
        return None
    return own if can_release(own, audience) else None


def reader_markings(store: SqlStore, conn: sa.Connection, table: sa.Table,
                    ids: Collection[str], audience: Audience) -> dict[str, Marking]:
    """:func:`reader_marking` for many rows of ``table`` at once: the visible ones' ids to
    the marking ``audience`` is shown (hidden and missing ids are left out), in two
    statements per :data:`_BATCH` ids whatever their number — a view listing a hundred
    relationships re-checks them together, not one statement each."""
    out: dict[str, Marking] = {}
    wanted = sorted(set(ids))
    m, d = t.mentions, t.documents
    any_m = t.mentions.alias("any_m")
    for i in range(0, len(wanted), _BATCH):
        chunk = wanted[i:i + _BATCH]
        own = {r.id: (Marking.from_columns(dict(r._mapping)), bool(r.mentioned))
               for r in conn.execute(
                   sa.select(table.c.id, *_marking(table, ""),
                             sa.exists().where(any_m.c.object_id == table.c.id)
                             .label("mentioned"))
                   .where(table.c.id.in_(chunk)))}
        if audience.unrestricted:
            out.update({k: marking for k, (marking, _) in own.items()})
            continue
        evidence: dict[str, list[Any]] = {}
        for r in conn.execute(
                sa.select(m.c.object_id, *_marking(m, "m_"), *_marking(d, "d_m_"))
                .join(d, d.c.id == m.c.document_id)
                .where(m.c.object_id.in_(list(own)), readable_evidence(store, audience))):
            if evidence_ok(r, audience):
                evidence.setdefault(r.object_id, []).append(r)
        for key, (marking, mentioned) in own.items():
            if key in evidence:
                out[key] = shown_marking(marking, evidence[key], audience)
            elif not mentioned and can_release(marking, audience):
                out[key] = marking
    return out


def visible_ids(store: SqlStore, conn: sa.Connection, table: sa.Table, ids: Collection[str],
                audience: Audience) -> set[str]:
    """The ids among ``ids`` visible to ``audience`` (:func:`reader_markings`); for rows
    just read through :func:`visible`, an unrestricted audience sends no statement (see
    :func:`read_row_visible`)."""
    if audience.unrestricted:
        return set(ids)
    return set(reader_markings(store, conn, table, ids, audience))


def _marking(table: Any, prefix: str) -> list[Any]:
    return [table.c[c].label(prefix + c)
            for c in t.MARKING_NAMES]


def _from(row: Any, prefix: str) -> Marking:
    m = row._mapping
    return Marking.of_values(m[prefix + "tlp"], m[prefix + "classification"],
                             m[prefix + "compartments"], m[prefix + "releasability"])


def evidence_columns(prefix: str = "m_") -> list[Any]:
    """The mention's and the document's marking columns, labelled for :func:`evidence_ok`."""
    return [*_marking(t.mentions, prefix), *_marking(t.documents, "d_" + prefix)]


def evidence_ok(row: Any, audience: Audience, prefix: str = "m_") -> bool:
    """The per-row re-check of a row selected with :func:`evidence_columns`."""
    return (can_release(_from(row, prefix), audience)
            and can_release(_from(row, "d_" + prefix), audience))


def shown_stix(stix: dict[str, Any] | None, marking: Marking,
               audience: Audience) -> dict[str, Any] | None:
    """The STIX a reader is shown: all of it when they may read the first proposal's
    marking, otherwise only what identifies the object."""
    if stix is None or can_release(marking, audience):
        return stix
    return {k: stix[k] for k in IDENTIFYING if k in stix}


def shown_marking(marking: Marking, evidence: list[Any], audience: Audience,
                  prefix: str = "m_") -> Marking:
    """The marking a reader is shown for an object: its own when they may read it, else the
    combined marking of the readable evidence they see it through (its own would tell them
    how the hidden first proposal was marked)."""
    if can_release(marking, audience) or not evidence:
        return marking if can_release(marking, audience) else Marking()
    shown = _from(evidence[0], prefix)
    for row in evidence[1:]:
        shown = shown.combine(_from(row, prefix))
    return shown


def reader_watchlist_note(conn: sa.Connection, store: SqlStore, notes: dict[str, Any],
                          audience: Audience) -> dict[str, Any]:
    """A document's stage annotations with the ``watchlist`` stage's hits cut to the
    watchlists ``audience`` may read: a hit names its watchlist and term, and a watchlist's
    terms are marked with it (they can say what an organisation is watching)."""
    note = notes.get("watchlist")
    if audience.unrestricted or not isinstance(note, dict) or not note.get("watchlists"):
        return notes
    w = t.watchlists
    names = [str(n) for n in note.get("watchlists") or []]
    readable = {r.name for r in conn.execute(
        sa.select(w.c.name, w.c.tlp, w.c.classification, w.c.compartments, w.c.releasability)
        .where(w.c.name.in_(names), store._readable(w, audience)))
        if can_release(Marking.from_columns(dict(r._mapping)), audience)}
    hits = [h for h in note.get("hits") or []
            if isinstance(h, dict) and h.get("watchlist") in readable]
    return {**notes, "watchlist": {**note, "hits": hits,
                                   "watchlists": [n for n in names if n in readable]}}


def first_seen(store: SqlStore, conn: sa.Connection, table: sa.Table, object_id: str,
               audience: Audience) -> Any:
    """When ``audience`` first saw the object: its stored ``created_at`` when they may read
    its first proposal, else when the first document they may read that mentions it was
    collected (the stored time is that of a proposal they may not read)."""
    own = conn.execute(sa.select(table).where(table.c.id == object_id)).first()
    if own is None:
        return None
    if can_release(Marking.from_columns(dict(own._mapping)), audience):
        return own.created_at
    m, d = t.mentions, t.documents
    rows = conn.execute(
        sa.select(d.c.collected_at, *evidence_columns())
        .join(d, d.c.id == m.c.document_id)
        .where(m.c.object_id == object_id, readable_evidence(store, audience))).all()
    return min((r.collected_at for r in rows if evidence_ok(r, audience)), default=None)
