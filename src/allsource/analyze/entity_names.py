"""Entities by name: what a person types ("Fancy Bear", "apt 28", "Kyiv") to the stored
entities it names, for filters that take an entity (timeline, map).

A name is compared by its key (:func:`allsource.model.names.alias_key`: folded, single
spaces). Gazetteer entities are found through their active alias statements (every listed
name and alias of a canonical entity, indexed by key); places, which the ``places`` stage
makes without alias statements, by their stored name. Only entities the reader may see are
returned (:func:`allsource.store.derived.visible`, in SQL), so a name is no oracle for a
hidden object; a text that is already a STIX id is returned as it is for the caller to
check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from allsource.model.markings import Audience
from allsource.model.names import alias_key
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.aliases import ACTIVE
from allsource.store.sql import SqlStore

__all__ = ["NamedEntity", "entities_named", "looks_like_id"]

_ID = re.compile(r"^[a-z][a-z0-9-]*--[0-9a-fA-F-]{8,}$")
#: candidates read per name before visibility is judged
_CANDIDATES = 50


@dataclass(slots=True, frozen=True)
class NamedEntity:
    id: str
    name: str
    type: str


def looks_like_id(text: str) -> bool:
    """Whether ``text`` is shaped like a STIX id (``type--uuid``)."""
    return _ID.match(text.strip()) is not None


def entities_named(store: SqlStore, text: str, audience: Audience, *, limit: int = 10
                   ) -> list[NamedEntity]:
    """The entities visible to ``audience`` that ``text`` names, canonical ones only, best
    known first (listed names before places; then by name)."""
    key = alias_key(text)
    if not key:
        return []
    s, o = t.alias_statements, t.objects
    listed = (sa.select(s.c.entity_id).where(s.c.alias_key == key, s.c.status == ACTIVE)
              .distinct().limit(_CANDIDATES))
    with store.engine.connect() as conn:
        ids = list(conn.execute(listed).scalars())
        conds = [o.c.canonical_id.is_(None), derived.visible(store, o, audience)]
        rows = list(conn.execute(sa.select(o.c.id, o.c.name, o.c.type)
                                 .where(o.c.id.in_(ids), *conds))) if ids else []
        if len(rows) < limit:
            # places: by stored name, among locations (the type index narrows the scan)
            places = (sa.select(o.c.id, o.c.name, o.c.type)
                      .where(o.c.type == "location", sa.func.lower(o.c.name) == text.strip()
                             .lower(), *conds).limit(limit))
            rows += [r for r in conn.execute(places) if r.id not in ids]
    found = [NamedEntity(r.id, r.name, r.type) for r in rows]
    return sorted(found, key=lambda e: (e.type == "location", e.name.casefold(), e.id))[:limit]
