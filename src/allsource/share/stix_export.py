"""A STIX 2.1 bundle of a selection of objects, holding only what the reader may read.

The graph explorer exports the nodes an analyst selected. :func:`selection_bundle` reads them
under the same access rule as every other read (:func:`allsource.store.derived.visible`, the
rule of :mod:`allsource.store.access` in SQL, then the per-row re-check
:func:`allsource.store.derived.reader_markings`): an id the reader may not see is left out
as if it did not exist, and so is a relationship whose own evidence is hidden from them or
whose other end is not in the bundle. What a reader sees of an object is what the workspace
shows them (:func:`allsource.store.derived.shown_stix`: only its identifying properties when
the first proposal came from a document they may not read), under the marking they are shown
(:func:`allsource.store.derived.shown_marking`), expressed as a TLP 2.0 marking reference.

Stored objects keep the STIX their source sent, which may be partial (an entity the gazetteer
proposed holds a name and little else), so each one is completed to a valid STIX 2.1 object:
``spec_version``, ``created``/``modified`` for domain objects (from the store's timestamp when
missing), the name as ``value`` for cyber observables that lack one, ``is_family`` for
malware (the named families the store holds), and the properties that point at objects the
bundle does not carry (``created_by_ref``, markings, extensions) cut. An object that still
cannot be valid (a location with neither region, country nor coordinates) is left out, with
its relationships, and named in :attr:`Export.left_out`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from allsource.model.markings import Audience
from allsource.share.stix_objects import complete, expressible
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.access import readable
from allsource.store.sql import SqlStore, chunks

__all__ = ["MAX_SELECTION", "Export", "selection_bundle"]

MAX_SELECTION = 2000
@dataclass(frozen=True, slots=True)
class Export:
    """The bundle, and the readable objects left out because they cannot be valid STIX."""

    bundle: dict[str, Any]
    left_out: list[str]


def selection_bundle(store: SqlStore, ids: Sequence[str], audience: Audience) -> Export:
    """A STIX 2.1 bundle of the objects among ``ids`` that ``audience`` may see, and the
    visible relationships between them (at most :data:`MAX_SELECTION` ids are read)."""
    wanted = sorted(set(ids))[:MAX_SELECTION]
    o, r = t.objects, t.relationships
    objects: list[dict[str, Any]] = []
    with store.engine.connect() as conn:
        rows: list[Any] = []
        for chunk in chunks(wanted, 500):
            rows += conn.execute(sa.select(o.c.id, o.c.name, o.c.stix, o.c.created_at)
                                 .where(o.c.id.in_(chunk),
                                        derived.visible(store, o, audience, readable))).all()
        shown = derived.reader_markings(store, conn, o, [row.id for row in rows], audience)
        kept = [row for row in rows if row.id in shown]
        present = {row.id for row in kept}
        rels: list[Any] = []
        for chunk in chunks(sorted(present), 500):
            rels += conn.execute(
                sa.select(r.c.id, r.c.relationship_type, r.c.source_ref, r.c.target_ref,
                          r.c.stix, r.c.created_at)
                .where(r.c.source_ref.in_(chunk),
                       derived.visible(store, r, audience, readable))).all()
        rels = [x for x in rels if x.target_ref in present]
        rel_marks = derived.reader_markings(store, conn, r, [x.id for x in rels], audience)
        own = derived.reader_markings(store, conn, o, list(present), Audience.owner())
    left_out = []
    for row in kept:
        stix = derived.shown_stix(dict(row.stix or {}), own[row.id], audience) or {}
        obj = complete(stix, row.id, row.name, row.created_at, shown[row.id])
        if expressible(obj):
            objects.append(obj)
        else:
            left_out.append(row.id)
    for x in rels:
        if x.id not in rel_marks or x.source_ref in left_out or x.target_ref in left_out:
            continue
        stix = {k: v for k, v in dict(x.stix or {}).items()
                if k in ("description", "start_time", "stop_time", "confidence")}
        stix.update(relationship_type=x.relationship_type, source_ref=x.source_ref,
                    target_ref=x.target_ref)
        objects.append(complete(stix, x.id, "", x.created_at, rel_marks[x.id]))
    return Export({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects},
                  left_out)
