"""Where the graph explorer starts when no object is chosen yet: objects found by name.

A name finds an object two ways, both under the reader's access rule
(:func:`allsource.store.derived.visible`): through the alias statements of the canonical
entities (``alias_key`` is indexed, so "Fancy Bear" finds the intrusion set it is an alias
of), and by the start of the stored name, case-insensitive (a scan of ``objects.name``,
capped by ``limit``). Relationship-like rows are not objects here; the matches are ordered by
how well they match (alias or exact name first, then shorter names). An object collected for
a canonical entity (``canonical_id`` set) is not listed: its entity is.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from allsource.model.markings import Audience
from allsource.process.aliases import alias_key
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.access import readable
from allsource.store.sql import SqlStore

__all__ = ["Match", "find_objects"]


@dataclass(frozen=True, slots=True)
class Match:
    id: str
    name: str
    type: str


def find_objects(store: SqlStore, q: str, audience: Audience, limit: int = 20) -> list[Match]:
    """The objects named ``q`` or whose name starts with it, visible to ``audience``."""
    q = q.strip()
    if not q:
        return []
    o, a = t.objects, t.alias_statements
    # an object collected for a canonical entity is shown as that entity, once
    seen = sa.and_(o.c.canonical_id.is_(None), derived.visible(store, o, audience, readable))
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    with store.engine.connect() as conn:
        by_alias = conn.execute(
            sa.select(o.c.id, o.c.name, o.c.type)
            .where(o.c.id.in_(sa.select(a.c.entity_id).where(a.c.alias_key == alias_key(q),
                                                             a.c.status == "active")),
                   seen).limit(limit)).all()
        by_name = conn.execute(
            sa.select(o.c.id, o.c.name, o.c.type)
            .where(sa.func.lower(o.c.name).like(escaped + "%", escape="\\"), seen)
            .order_by(sa.func.length(o.c.name), o.c.name).limit(limit)).all()
    out: dict[str, Match] = {}
    for row in [*by_alias, *by_name]:
        out.setdefault(row.id, Match(row.id, row.name, row.type))
    return list(out.values())[:limit]
