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
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from allsource.model.markings import TLP, Audience, Marking
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.access import readable
from allsource.store.sql import SqlStore, chunks

__all__ = ["MAX_SELECTION", "Export", "selection_bundle"]

MAX_SELECTION = 2000
#: STIX cyber-observable types (no created/modified/name; identified by their value)
_OBSERVABLES = frozenset({
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr",
    "email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex",
    "network-traffic", "process", "software", "url", "user-account", "windows-registry-key",
    "x509-certificate"})
_VALUED = frozenset({"domain-name", "email-addr", "ipv4-addr", "ipv6-addr", "mac-addr",
                     "url"})
#: references to objects the bundle does not carry
_DROPPED = ("created_by_ref", "object_marking_refs", "granular_markings", "extensions",
            "x_allsource_marking")
_TLP2 = {TLP.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
         TLP.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
         TLP.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
         TLP.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
         TLP.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"}


def _stamp(value: datetime | None) -> str:
    when = (value or datetime(1970, 1, 1)).replace(tzinfo=None)
    return when.isoformat(timespec="milliseconds") + "Z"


def _complete(stix: dict[str, Any], row_id: str, name: str, created: datetime | None,
              marking: Marking) -> dict[str, Any]:
    kind = row_id.partition("--")[0]
    out = {k: v for k, v in stix.items() if k not in _DROPPED}
    out.update(type=kind, id=row_id, spec_version="2.1")
    if kind in _OBSERVABLES:
        named = kind in ("file", "software")  # the observables that have a name property
        for key in ("created", "modified", *(() if named else ("name",))):
            out.pop(key, None)
        if kind in _VALUED and not isinstance(out.get("value"), str):
            out["value"] = name
        if named and not out.get("name"):
            out["name"] = name
    else:
        out.setdefault("created", _stamp(created))
        out.setdefault("modified", out["created"])
        if kind not in ("relationship", "sighting"):
            out.setdefault("name", name)
        if kind == "malware":
            # required by STIX 2.1; what the store holds without it are named families
            # (MISP galaxy and ATT&CK software entries, gazetteer proposals)
            out.setdefault("is_family", True)
    out["object_marking_refs"] = [_TLP2[marking.tlp]]
    return out


def _expressible(obj: dict[str, Any]) -> bool:
    """Whether the completed object can be valid STIX 2.1: a location needs a region, a
    country or coordinates, which nothing else the store holds could supply."""
    if obj["type"] == "location":
        return bool(obj.get("region") or obj.get("country") or (
            "latitude" in obj and "longitude" in obj))
    return True


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
        obj = _complete(stix, row.id, row.name, row.created_at, shown[row.id])
        if _expressible(obj):
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
        objects.append(_complete(stix, x.id, "", x.created_at, rel_marks[x.id]))
    return Export({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects},
                  left_out)
