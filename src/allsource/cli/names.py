"""What ``allsource show NAME`` means: from a name or alias to the one stored thing it names.

An id (a document, object, relationship or source id, or a source name) is taken as it is.
Anything else is looked up as a name, in two places that agree on most things:

* the gazetteer as the store's analysts left it (:func:`allsource.process.entities.gazetteer_for`
  with the store's alias statements): any alias of a threat actor, malware, tool, campaign or
  sector (``Fancy Bear`` → APT28) gives its canonical entity;
* stored objects whose name is the text, in any case, that are canonical themselves (a
  collected object linked to an entity answers as that entity, through the gazetteer or its
  ``canonical_id``).

One thing found is shown. Several things answer with :class:`AmbiguousName`, which lists each
candidate's type, name and full id so the user can pick one; none is a one-line error.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from allsource.errors import InputError
from allsource.store import schema as t
from allsource.store.sql import SqlStore

#: candidates named in an ambiguity error before "and N more"
MAX_LISTED = 10


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    type: str
    name: str


class AmbiguousName(InputError):
    """A name that several stored things answer to; the message lists them."""

    def __init__(self, text: str, found: list[Candidate]) -> None:
        self.candidates = found
        lines = [f"{text!r} names {len(found)} things; give one of these ids:"]
        lines += [f"  {c.type:<16} {c.name}  {c.id}" for c in found[:MAX_LISTED]]
        if len(found) > MAX_LISTED:
            lines.append(f"  … and {len(found) - MAX_LISTED} more")
        super().__init__("\n".join(lines))


def candidates(store: SqlStore, text: str) -> list[Candidate]:
    """Stored canonical objects ``text`` names (by the gazetteer or by name), in a stable
    order: the gazetteer's entity first, then by type and id."""
    text = text.strip()
    if not text:
        return []
    o = t.objects
    ids: list[str] = []
    entity = _gazetteer_entity(store, text)
    if entity is not None:
        ids.append(entity)
    with store.engine.connect() as conn:
        named = conn.execute(
            sa.select(o.c.id, o.c.canonical_id)
            .where(sa.func.lower(o.c.name) == text.lower())
            .order_by(o.c.type, o.c.id).limit(MAX_LISTED * 10)).all()
        for object_id, canonical in named:
            chosen = canonical or object_id
            if chosen not in ids:
                ids.append(chosen)
        rows = {r.id: r for r in conn.execute(
            sa.select(o.c.id, o.c.type, o.c.name).where(o.c.id.in_(ids))).all()} if ids else {}
    return [Candidate(i, rows[i].type, rows[i].name) for i in ids if i in rows]


def resolve(store: SqlStore, text: str) -> str | None:
    """The id of the one stored thing ``text`` names; ``None`` when nothing is named;
    :class:`AmbiguousName` when several are."""
    found = candidates(store, text)
    if len(found) > 1:
        raise AmbiguousName(text, found)
    return found[0].id if found else None


def _gazetteer_entity(store: SqlStore, text: str) -> str | None:
    # imported here: building the gazetteer costs a moment, paid only when a name is looked up
    from allsource.process.entities import gazetteer_for
    from allsource.store import aliases

    entity = gazetteer_for(aliases.overrides(store)).resolve(text)
    return entity.id if entity is not None else None


def labels(store: SqlStore, ids: list[str]) -> dict[str, Candidate]:
    """Type and name of each stored object among ``ids`` (for printing names, not ids)."""
    o = t.objects
    if not ids:
        return {}
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(o.c.id, o.c.type, o.c.name)
                            .where(o.c.id.in_(sorted(set(ids))))).all()
    return {r.id: Candidate(r.id, r.type, r.name) for r in rows}
