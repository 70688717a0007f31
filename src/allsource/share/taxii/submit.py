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
from allsource.store.sql import SqlStore, utc_now

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


def _released(item: Collected, group: Marking, audience: Audience
              ) -> tuple[Collected | None, list[tuple[dict[str, Any], str]]]:
    """``item`` released to the group, without what the submitter may not read (refused)."""
    refused: list[tuple[dict[str, Any], str]] = []
    doc_marking = item.document.marking.combine(group)
    objects, rels = [], []
    for o in item.objects:
        m = o.marking.combine(group)
        if can_release(m, audience) and can_release(doc_marking, audience):
            objects.append(dataclasses.replace(o, marking=m))
        else:
            refused.append((o.stix, "its marking is above your access or not releasable "
                                    "to this collection's group"))
    for r in item.relationships:
        m = r.marking.combine(group)
        if can_release(m, audience) and can_release(doc_marking, audience):
            rels.append(dataclasses.replace(r, marking=m))
        else:
            refused.append((r.stix, "its marking is above your access or not releasable "
                                    "to this collection's group"))
    if not can_release(doc_marking, audience):
        return None, refused
    kept = {o.id for o in objects} | {r.id for r in rels}
    return Collected(dataclasses.replace(item.document, marking=doc_marking), objects, rels,
                     [m for m in item.mentions if m.object_id in kept]), refused


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
    written = {o.id: o.stix for item in items for o in item.objects}
    written.update({r.id: r.stix for item in items for r in item.relationships})
    if items:
        store.write_batch(_source(store, collection.group), items, [], None)
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
