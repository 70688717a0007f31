"""Objects POSTed to a group's collection, and the status resource that answers them.

An envelope is mapped exactly as the STIX collector maps a bundle
(:func:`allsource.collect.stix.map_bundle`: checked, 2.0 upgraded, each bad object refused on
its own) and written through the store's one write path, under a source of the group
(``taxii-in-<group>``), so the objects get their provenance, their versions and their place in
the ingest sequence like any collected object.

**Marking.** What a member posts is *released to their group*: every object's marking (from
its own TLP references) is combined with releasability to the group — an object already
released elsewhere ends up released to nobody and is refused. The result is checked against
the submitter's own access: nobody writes what they could not read back (a GREEN-cleared
partner cannot post TLP:RED; the refusal names only the object's own id).

**Versions come from their creator.** A newer version of an object becomes the current one
(STIX versioning), so a member could otherwise rewrite an actor or indicator that another
source collected. An object or relationship id the store already holds is refused unless
everything it is known from was posted to this same group's collection: a partner versions
only what their group published, and says what they think of anyone else's objects with a
sighting, note or opinion of its own (new ids).

**Origin.** The versions written keep the submitter's user id as their origin, so the
submitter can ask not to be sent them back (``match[x_allsource_origin]=others``,
:mod:`.origin`).

The write is done when the request returns, so the status is ``complete`` at once; it is
kept (``taxii_status``) for its submitter to read again, from any server process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from typing import Any

import orjson
import sqlalchemy as sa

from allsource.collect.stix import ParsedBundle, map_bundle
from allsource.errors import SourceError
from allsource.model.markings import Audience, Marking, can_release
from allsource.model.records import Collected, Rejected, Source
from allsource.share.taxii.collections import Collection
from allsource.share.taxii.pages import TaxiiInputError, added
from allsource.store import schema as t
from allsource.store.sql import SqlStore, chunks, utc_now

__all__ = ["MAX_OBJECT_BYTES", "read_status", "submit"]

#: the largest single object accepted (the envelope's own cap is the route's)
MAX_OBJECT_BYTES = 2 * 1024 * 1024


def _source(store: SqlStore, group: str) -> Source:
    name = f"taxii-in-{group}"
    found = store.get_source(name)
    if found is not None:
        return found
    source = Source(name=name, kind="taxii-post", location=f"taxii2 POST ({group})",
                    marking=Marking(releasability=frozenset({group})))
    with contextlib.suppress(SourceError):  # another request created it meanwhile
        store.add_source(source)
    return source


def _entry(obj: dict[str, Any], message: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(obj.get("id", ""))}
    version = obj.get("modified") or obj.get("created")
    if isinstance(version, str):
        out["version"] = version
    if message is not None:
        out["message"] = message
    return out


_ABOVE = "its marking is above your access or not releasable to this collection's group"


def _release_each(records: list[Any], group: Marking, doc_marking: Marking,
                  audience: Audience, refused: list[tuple[dict[str, Any], str]]) -> list[Any]:
    """The objects or relationships among ``records`` released to the group that the
    submitter may read; the others are added to ``refused``."""
    kept = []
    for rec in records:
        m = rec.marking.combine(group)
        if can_release(m, audience) and can_release(doc_marking, audience):
            kept.append(dataclasses.replace(rec, marking=m))
        else:
            refused.append((rec.stix, _ABOVE))
    return kept


def _released(item: Collected, group: Marking, audience: Audience
              ) -> tuple[Collected | None, list[tuple[dict[str, Any], str]]]:
    """``item`` released to the group, without what the submitter may not read (refused)."""
    refused: list[tuple[dict[str, Any], str]] = []
    doc_marking = item.document.marking.combine(group)
    objects = _release_each(item.objects, group, doc_marking, audience, refused)
    rels = _release_each(item.relationships, group, doc_marking, audience, refused)
    if not can_release(doc_marking, audience):
        return None, refused
    return _with_mentions(dataclasses.replace(item.document, marking=doc_marking), objects,
                          rels, item), refused


def _with_mentions(document: Any, objects: list[Any], rels: list[Any],
                   item: Collected) -> Collected:
    """A write of ``document`` with ``objects`` and ``rels``, keeping ``item``'s mentions of
    those alone."""
    kept = {o.id for o in objects} | {r.id for r in rels}
    return Collected(document, objects, rels,
                     [m for m in item.mentions if m.object_id in kept])


def _foreign(store: SqlStore, own_source: str, ids: list[str]) -> set[str]:
    """Those of ``ids`` already stored and known from anything but ``own_source``'s documents
    (or from no document at all: a gazetteer entity, an ATT&CK object's canonical)."""
    m, d = t.mentions, t.documents
    out: set[str] = set()
    with store.engine.connect() as conn:
        for part in chunks(sorted(set(ids))):
            held = set(conn.execute(sa.select(t.objects.c.id)
                                    .where(t.objects.c.id.in_(part))).scalars())
            held |= set(conn.execute(sa.select(t.relationships.c.id)
                                     .where(t.relationships.c.id.in_(part))).scalars())
            if not held:
                continue
            own = set(conn.execute(
                sa.select(m.c.object_id).join(d, d.c.id == m.c.document_id)
                .where(m.c.object_id.in_(sorted(held)), d.c.source_id == own_source)
                .distinct()).scalars())
            other = set(conn.execute(
                sa.select(m.c.object_id).join(d, d.c.id == m.c.document_id)
                .where(m.c.object_id.in_(sorted(held)), d.c.source_id != own_source)
                .distinct()).scalars())
            out |= {i for i in held if i in other or i not in own}
    return out


def _without(item: Collected, refused: set[str]) -> Collected:
    """``item`` without the objects and relationships in ``refused`` (a new relationship to a
    refused object stays: that object is stored already, so nothing dangles)."""
    return _with_mentions(item.document, [o for o in item.objects if o.id not in refused],
                          [r for r in item.relationships if r.id not in refused], item)


def submit(store: SqlStore, user_id: str, audience: Audience, collection: Collection,
           body: bytes) -> dict[str, Any]:
    """Write the envelope ``body`` to ``collection`` (a group's) as ``user_id`` reading as
    ``audience``; returns the status resource. :class:`TaxiiInputError` for a body that is
    not an envelope."""
    assert collection.group is not None, "only a group's collection takes objects"
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise TaxiiInputError("the body is not JSON") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("objects"), list):
        raise TaxiiInputError("the body is not a TAXII envelope with an objects list")
    status_id = str(uuid.uuid4())
    now = utc_now()
    group = Marking(releasability=frozenset({collection.group}))
    objects = envelope["objects"]
    parsed = ParsedBundle(f"TAXII {collection.title} {status_id}", None, None, objects,
                          len(body))
    blob = store.blobs.put(body)
    items: list[Collected] = []
    failures: list[dict[str, Any]] = []
    for out in map_bundle(parsed, blob, group, f"taxii:{status_id}", MAX_OBJECT_BYTES):
        if isinstance(out, Rejected):
            failures.append(_entry(_loads(out.raw), out.reason))
            continue
        kept, refused = _released(out, group, audience)
        failures += [_entry(obj, why) for obj, why in refused]
        if kept is not None:
            items.append(kept)
    source = _source(store, collection.group)
    own_source = source.id
    posted = [o.id for item in items for o in item.objects]
    posted += [r.id for item in items for r in item.relationships]
    foreign = _foreign(store, own_source, posted)
    if foreign:
        for item in items:
            dropped = [o.stix for o in item.objects if o.id in foreign]
            dropped += [r.stix for r in item.relationships if r.id in foreign]
            failures += [_entry(obj, "a version of an object another source published: "
                                     "only its creator versions it (post a sighting, note "
                                     "or opinion instead)") for obj in dropped]
        items = [_without(item, foreign) for item in items]
    written = {o.id: o.stix for item in items for o in item.objects}
    written.update({r.id: r.stix for item in items for r in item.relationships})
    if items:
        store.write_batch(source, items, [], None, origin=user_id)
    successes = [_entry(obj) for obj in written.values()]
    status = {"id": status_id, "status": "complete", "request_timestamp": added(now),
              "total_count": len(objects), "success_count": len(successes),
              "successes": successes, "failure_count": len(failures), "failures": failures,
              "pending_count": 0, "pendings": []}
    with store.engine.begin() as conn:
        conn.execute(t.taxii_status.insert().values(
            id=status_id, user_id=user_id, collection=collection.id, request_timestamp=now,
            total_count=len(objects), success_count=len(successes),
            failure_count=len(failures),
            details={"successes": successes, "failures": failures}))
    return status


def _loads(raw: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def read_status(store: SqlStore, user_id: str, status_id: str) -> dict[str, Any] | None:
    """The status ``status_id`` if ``user_id`` submitted it (``None`` otherwise, as for one
    that does not exist: a status names the objects posted)."""
    s = t.taxii_status
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(s).where(s.c.id == status_id,
                                              s.c.user_id == user_id)).first()
    if row is None:
        return None
    details = row.details if isinstance(row.details, dict) else {}
    return {"id": row.id, "status": "complete",
            "request_timestamp": added(row.request_timestamp),
            "total_count": row.total_count, "success_count": row.success_count,
            "successes": details.get("successes", []), "failure_count": row.failure_count,
            "failures": details.get("failures", []), "pending_count": 0, "pendings": []}
