"""Push-back: our analysts' sightings, notes and opinions about a partner's objects go back
to the partner, once each.

**What is pushed.** The versions (``object_versions``) of ``sighting``, ``note`` and
``opinion`` objects that

* refer to an object that came from the partner — their ``sighting_of_ref`` or
  ``object_refs`` name an object mentioned by a document of the partner's source (an object
  we pulled from them) or of the ``taxii-in-<group>`` source of one of ``partner_user``'s
  groups (an object they POSTed to us) — and that did not come from the partner themselves
  (no echo);
* the partner may see on *this* instance: the source option ``partner_user`` names the
  account the partner reads us with, and its access (TLP, classification, compartments,
  groups) is the one release rule, :func:`~allsource.model.markings.can_release`, checked in
  SQL and again per object. TLP:RED is never pushed, whoever the partner is.

**Where.** A TAXII ``POST`` of one envelope per batch to the partner's collection named by
the option ``push_collection`` (id or title), else the first collection the partner lists as
``can_write`` for our credentials (the collector's discovery, same authentication). The
answer must be a TAXII status resource (HTTP 202); objects the partner refuses are counted
and named in the result, not retried (the partner decided).

**Once each.** A cursor per partner source (``sync_push.seq``, the last ``object_versions``
sequence number handled) moves past a batch only after the partner's status answer, in its
own transaction. A kill between the POST and the cursor's commit sends that batch again;
the partner's store is idempotent on (id, version), so this repeats bytes, never objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from allsource.collect.base import CollectContext
from allsource.collect.taxii import (
    TAXII_MEDIA_TYPE,
    TaxiiCollection,
    TaxiiCollector,
    auth_headers,
)
from allsource.errors import ConfigError, FetchError, SourceError
from allsource.model.markings import TLP, Audience, Marking, can_release
from allsource.model.records import Source
from allsource.share.stix_objects import complete
from allsource.store import schema as t
from allsource.store import users
from allsource.store.access import readable
from allsource.store.sql import SqlStore, chunks, utc_now

__all__ = ["PUSHED_TYPES", "PushResult", "push_back", "push_cursor"]

#: the object types that flow back to the originator of what they are about
PUSHED_TYPES = ("sighting", "note", "opinion")
#: versions examined (and at most posted) per request
BATCH = 500
_COLUMNS = t.MARKING_NAMES


@dataclass(slots=True)
class PushResult:
    """What one push-back did: versions examined, objects posted and accepted, requests."""

    examined: int = 0
    posted: int = 0
    accepted: int = 0
    refused: list[str] = field(default_factory=list)
    requests: int = 0


def push_cursor(store: SqlStore, source: Source) -> int:
    """The last ``object_versions.seq`` handled for ``source`` (0: none yet)."""
    p = t.sync_push
    with store.engine.connect() as conn:
        seq = conn.execute(sa.select(p.c.seq).where(p.c.source_id == source.id)).scalar()
    return int(seq or 0)


def _save_cursor(store: SqlStore, source: Source, seq: int, pushed: int) -> None:
    p = t.sync_push
    with store.engine.begin() as conn:
        done = conn.execute(p.update().where(p.c.source_id == source.id).values(
            seq=seq, pushed=p.c.pushed + pushed, updated_at=utc_now()))
        if done.rowcount == 0:
            conn.execute(p.insert().values(source_id=source.id, seq=seq, pushed=pushed,
                                           updated_at=utc_now()))


def _partner_audience(store: SqlStore, source: Source) -> Audience | None:
    """The partner's access on this instance (``None``: push-back is off for ``source``)."""
    name = source.config.get("partner_user")
    if not name:
        return None
    user = users.get_user(store, str(name))
    if user is None or user.disabled:
        raise ConfigError(f"source {source.name!r}: partner_user={name!r} is not an enabled "
                          "user of this instance (the account the partner reads us with)")
    return user.audience


def _refs(stix: Any) -> set[str]:
    if not isinstance(stix, dict):
        return set()
    out = {stix["sighting_of_ref"]} if isinstance(stix.get("sighting_of_ref"), str) else set()
    refs = stix.get("object_refs")
    if isinstance(refs, list):
        out.update(r for r in refs if isinstance(r, str))
    return out


def _origins(store: SqlStore, source: Source, audience: Audience) -> list[str]:
    """The ids of the sources the partner's objects reach us through: the partner source
    itself, and the TAXII POST source of each of the partner account's groups."""
    found = [store.get_source(f"taxii-in-{group}") for group in sorted(audience.groups)]
    return [source.id, *(s.id for s in found if s is not None)]


def _from_partner(store: SqlStore, origins: list[str], ids: set[str]) -> set[str]:
    """Those of ``ids`` mentioned by a document of one of the ``origins`` sources (as
    collected, or since linked to a canonical entity: ``via``)."""
    m, d = t.mentions, t.documents
    out: set[str] = set()
    with store.engine.connect() as conn:
        for part in chunks(sorted(ids)):
            found = conn.execute(
                sa.select(m.c.object_id, m.c.via).join(d, d.c.id == m.c.document_id)
                .where(d.c.source_id.in_(origins),
                       sa.or_(m.c.object_id.in_(part), m.c.via.in_(part))))
            for object_id, via in found:
                out.update(x for x in (object_id, via) if x in ids)
    return out


def _candidates(store: SqlStore, audience: Audience, after: int) -> list[Any]:
    v = t.object_versions
    with store.engine.connect() as conn:
        return list(conn.execute(
            sa.select(v).where(v.c.seq > after, v.c.type.in_(PUSHED_TYPES),
                               v.c.tlp < int(TLP.RED), readable(v, audience))
            .order_by(v.c.seq).limit(BATCH)))


def _render(rows: list[Any], audience: Audience) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        marking = Marking.from_columns({c: getattr(row, c) for c in _COLUMNS})
        if marking.tlp >= TLP.RED or not can_release(marking, audience):
            continue
        stix = row.stix if isinstance(row.stix, dict) else {}
        out.append(complete(stix, row.id, row.name or "", row.date_added, marking))
    return out


def _target(source: Source, ctx: CollectContext) -> TaxiiCollection:
    listed = TaxiiCollector(source, ctx).listed()
    wanted = source.config.get("push_collection")
    if wanted:
        key = str(wanted).strip()
        match = [c for c in listed if c.id == key or c.title.lower() == key.lower()]
        if not match:
            raise SourceError(f"push_collection {key!r} not found at {source.location}")
        if not match[0].can_write:
            raise SourceError(f"push_collection {key!r} at {source.location} is not writable "
                              "with these credentials (can_write is false)")
        return match[0]
    writable = [c for c in listed if c.can_write]
    if not writable:
        raise SourceError(f"no writable TAXII collection at {source.location} to push "
                          "sightings and notes back to (set -o push_collection=…)")
    return writable[0]


def _post(source: Source, ctx: CollectContext, collection: TaxiiCollection,
          objects: list[dict[str, Any]]) -> dict[str, Any]:
    """POST ``objects`` as one envelope; the status resource the partner answered."""
    headers = {"Accept": TAXII_MEDIA_TYPE, "Content-Type": TAXII_MEDIA_TYPE,
               **auth_headers(source.config)}
    url = collection.objects_url
    try:
        resp = ctx.http(source).post(url, content=orjson.dumps({"objects": objects}),
                                     headers=headers)
    except httpx.HTTPError as exc:
        raise FetchError(f"POST {url} failed: {exc}") from exc
    if resp.status_code not in (200, 201, 202):
        raise FetchError(f"POST {url} answered HTTP {resp.status_code}: "
                         f"{resp.text[:200]}")
    try:
        status = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        status = None
    if not isinstance(status, dict) or not isinstance(status.get("success_count"), int):
        raise FetchError(f"POST {url} did not answer with a TAXII status resource")
    return status


def push_back(store: SqlStore, source: Source, ctx: CollectContext) -> PushResult:
    """Push our sightings, notes and opinions about ``source``'s objects back to it (see the
    module docstring); nothing when the source has no ``partner_user`` option."""
    result = PushResult()
    audience = _partner_audience(store, source)
    if audience is None:
        return result
    after = push_cursor(store, source)
    origins = _origins(store, source, audience)
    target: TaxiiCollection | None = None
    while rows := _candidates(store, audience, after):
        result.examined += len(rows)
        own = _from_partner(store, origins, {r.id for r in rows})
        about = _from_partner(store, origins, set().union(*(_refs(r.stix) for r in rows)))
        chosen = [r for r in rows if r.id not in own and _refs(r.stix) & about]
        objects = _render(chosen, audience)
        accepted = 0
        if objects:
            target = target or _target(source, ctx)
            status = _post(source, ctx, target, objects)
            result.requests += 1
            result.posted += len(objects)
            accepted = int(status["success_count"])
            result.accepted += accepted
            failures = status.get("failures")
            if isinstance(failures, list):
                result.refused += [f"{f.get('id')}: {f.get('message', 'refused')}"
                                   for f in failures if isinstance(f, dict)]
        after = int(rows[-1].seq)
        _save_cursor(store, source, after, accepted)
        if len(rows) < BATCH:
            break
    return result
