"""Names for the ids the workspace would otherwise print: objects, documents, watchlists.

Pages show a person names; an id stays available as a secondary, copyable detail. Every
lookup here is a read path of its own, so it goes through the same rules as the page it
serves: an object's name only when the object is visible to the reader
(:func:`allsource.store.derived.visible`), a document's title only when they may read the
document, a watchlist's name only when they may read the watchlist (its marking). Anything
else gets a neutral phrase — never the id, which would prove the hidden thing exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from allsource.model.markings import Audience
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.sql import chunks
from allsource.web.grade_tables import titles

if TYPE_CHECKING:
    from allsource.assess.alerts import Alert
    from allsource.store.sql import SqlStore

#: a STIX id (``type--uuid``)
STIX_ID = re.compile(r"^[a-z0-9][a-z0-9-]*--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
                     r"-[0-9a-f]{12}$")
NOT_SHOWN = "(not shown)"


def object_names(store: SqlStore, ids: Iterable[str], audience: Audience) -> dict[str, str]:
    """Object id → name, for the objects among ``ids`` visible to the reader."""
    o = t.objects
    wanted = sorted({i for i in ids if i})
    out: dict[str, str] = {}
    with store.engine.connect() as conn:
        for part in chunks(wanted):
            rows = conn.execute(sa.select(o.c.id, o.c.name).where(
                o.c.id.in_(list(part)), derived.visible(store, o, audience))).all()
            shown = derived.visible_ids(store, conn, o, [r.id for r in rows], audience)
            out.update({r.id: r.name for r in rows if r.id in shown})
    return out


def watchlist_names(store: SqlStore, ids: Iterable[str], audience: Audience) -> dict[str, str]:
    """Watchlist id → name, for the watchlists among ``ids`` the reader may read."""
    return derived.readable_labels(store, t.watchlists, "name", ids, audience)


def shown_value(value: str, names: dict[str, str]) -> str:
    """``value`` for a person: a STIX id becomes its object's name (or :data:`NOT_SHOWN`),
    other text is kept."""
    if STIX_ID.match(value.strip()):
        return names.get(value.strip(), NOT_SHOWN)
    return value


@dataclass(frozen=True, slots=True)
class End:
    id: str
    name: str


def relationship_ends(store: SqlStore, rel_id: str, audience: Audience
                      ) -> tuple[End, str, End] | None:
    """A relationship the reader was shown (through :meth:`SqlStore.get`, which checks both
    ends) as ``(source, type, target)`` by name."""
    r = t.relationships
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(r.c.source_ref, r.c.relationship_type, r.c.target_ref)
                           .where(r.c.id == rel_id)).first()
    if row is None:
        return None
    found = object_names(store, [row.source_ref, row.target_ref], audience)
    return (End(row.source_ref, found.get(row.source_ref, NOT_SHOWN)),
            row.relationship_type.replace("-", " "),
            End(row.target_ref, found.get(row.target_ref, NOT_SHOWN)))


def shown_statements(store: SqlStore, found: Sequence[Any], audience: Audience) -> list[Any]:
    """Alias statements the reader may see: none that names a stored object hidden from
    them (a partner's linked object would give away its name, and that it exists)."""
    ids = {i for s in found for i in (s.member_id, s.other_id) if i}
    if not ids:
        return list(found)
    visible = object_names(store, ids, audience)
    o = t.objects
    stored: set[str] = set()
    with store.engine.connect() as conn:
        for part in chunks(sorted(ids)):
            stored.update(conn.execute(sa.select(o.c.id).where(o.c.id.in_(list(part))))
                          .scalars())
    return [s for s in found if not any(i in stored and i not in visible
                                        for i in (s.member_id, s.other_id) if i)]


@dataclass(frozen=True, slots=True)
class AlertNames:
    """What the alert rows print instead of ids: the subject of each group key and the
    title of each document the reader may read."""

    groups: dict[str, str]
    documents: dict[str, str]

    def subject(self, alert: Alert) -> str:
        return self.groups.get(alert.group_key, "")

    def readable(self, alert: Alert, limit: int = 5) -> list[tuple[str, str]]:
        """``(id, title)`` of the alert's first readable documents."""
        return [(d, self.documents[d]) for d in alert.documents if d in self.documents][:limit]


def alert_names(store: SqlStore, alerts: Sequence[Alert], audience: Audience) -> AlertNames:
    watched = {a.group_key.removeprefix("watchlist:") for a in alerts
               if a.group_key.startswith("watchlist:")}
    lists = watchlist_names(store, watched, audience)
    groups: dict[str, str] = {}
    for a in alerts:
        kind, _, rest = a.group_key.partition(":")
        if kind == "watchlist":
            found = lists.get(rest)
            groups[a.group_key] = (found if found is not None
                                   else "a watchlist not shown to you" if STIX_ID.match(rest)
                                   else rest)
        elif kind == "warning":
            groups[a.group_key] = ""  # the kind says it; its title names the series
        else:
            groups[a.group_key] = "" if STIX_ID.match(rest) else a.group_key
    docs = titles(store, [d for a in alerts for d in a.documents[:20]], audience)
    return AlertNames(groups, docs)
