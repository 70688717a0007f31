"""A MISP event's document shown the way MISP shows it: an attribute table and chips.

The misp collector (:mod:`allsource.collect.misp_event`) stores an event as one document
whose mentions (extractor ``misp``) are its attributes' observables, the indicators made from
its ``to_ids`` attributes (their STIX keeps the MISP ``type`` and ``category`` in
``x_allsource_misp``) and the entities of its galaxy clusters; its tags are the document's
``labels``. :func:`event_view` rebuilds the table from those stored rows — never from the
raw event file, whose attributes may carry their own, stricter markings: only the mentions
the reader may read are in the document view handed in, and an indicator's STIX is the one
shown to the reader (:func:`allsource.store.derived.shown_stix`).

Rows: one per indicator (MISP type, value, category, ``to_ids`` yes), then one per observable
no indicator already lists (its STIX type, value, no category, ``to_ids`` no).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from allsource.model.markings import Audience, Marking
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.sql import chunks
from allsource.web.queries import OBSERVABLE_TYPES

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

EXTRACTOR = "misp"
GALAXY_TYPES = frozenset({"intrusion-set", "threat-actor", "malware", "tool", "campaign",
                          "attack-pattern", "identity", "location", "course-of-action"})


@dataclass(frozen=True, slots=True)
class Attribute:
    object_id: str
    type: str
    value: str
    category: str
    to_ids: bool


@dataclass(frozen=True, slots=True)
class Chip:
    label: str
    kind: str          # "tlp", "galaxy", "tag" or an entity type
    object_id: str | None = None


@dataclass(frozen=True, slots=True)
class EventView:
    attributes: list[Attribute]
    tags: list[Chip]
    galaxies: list[Chip]


def event_view(store: SqlStore, view: Mapping[str, Any], audience: Audience) -> EventView | None:
    """The attribute table and chips of a ``misp-event`` document view; ``None`` for other
    documents."""
    if view.get("kind") != "misp-event":
        return None
    mentioned = [o for o in view.get("objects") or [] if o.get("extractor") == EXTRACTOR]
    by_id = {o["id"]: o for o in mentioned}
    stix = _shown_stix(store, [i for i, o in by_id.items() if o["type"] == "indicator"],
                       audience)
    rows: list[Attribute] = []
    listed: set[str] = set()
    for oid, o in by_id.items():
        if o["type"] != "indicator":
            continue
        misp = (stix.get(oid) or {}).get("x_allsource_misp")
        misp = misp if isinstance(misp, dict) else {}
        rows.append(Attribute(oid, str(misp.get("type") or "indicator"), str(o["name"]),
                              str(misp.get("category") or ""), True))
        listed.add(str(o["name"]).casefold())
    for oid, o in by_id.items():
        if o["type"] in OBSERVABLE_TYPES and o["type"] != "indicator" \
                and str(o["name"]).casefold() not in listed:
            rows.append(Attribute(oid, o["type"], str(o["name"]), "", False))
    tags = [_tag(str(x)) for x in view.get("labels") or [] if str(x).strip()]
    galaxies = [Chip(str(o["name"]), o["type"], oid) for oid, o in by_id.items()
                if o["type"] in GALAXY_TYPES]
    return EventView(rows, [c for c in tags if c.kind != "galaxy"],
                     galaxies + [c for c in tags if c.kind == "galaxy"
                                 and not any(g.label.casefold() in c.label.casefold()
                                             for g in galaxies)])


def _tag(label: str) -> Chip:
    low = label.casefold()
    if low.startswith("tlp:"):
        return Chip(label.upper(), "tlp")
    if low.startswith("misp-galaxy:"):
        # misp-galaxy:threat-actor="APT 28" → APT 28 (threat-actor)
        kind, _, value = label.partition("=")
        name = value.strip().strip('"') or kind
        return Chip(f"{name} ({kind.split(':', 1)[1]})" if ":" in kind else name, "galaxy")
    return Chip(label, "tag")


def _shown_stix(store: SqlStore, ids: Sequence[str], audience: Audience
                ) -> dict[str, dict[str, Any]]:
    o = t.objects
    out: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        for part in chunks(sorted(set(ids))):
            for r in conn.execute(sa.select(o.c.id, o.c.stix, o.c.tlp, o.c.classification,
                                            o.c.compartments, o.c.releasability)
                                  .where(o.c.id.in_(list(part)))):
                shown = derived.shown_stix(r.stix if isinstance(r.stix, dict) else {},
                                           Marking.from_columns(dict(r._mapping)), audience)
                out[r.id] = shown or {}
    return out
