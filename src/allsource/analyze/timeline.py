"""Timelines: how many documents (articles, GDELT events, MISP events …) per day, week or
month match a filter, and the documents of one bucket, a page at a time.

A document's time is ``published_at``, or ``collected_at`` when the source gave no date (as
in search): the ``either`` basis. The ``report`` basis counts report dates only (undated
documents are left out and counted apart, :attr:`Timeline.undated`), the ``collected`` basis
collection dates only, so the two can be read apart.

Filters combine with AND: ``entity_id`` (the document mentions the object),
``topic`` (the ``topics`` stage assigned it), ``source`` (name or ID; a source that sighted
it), ``country`` (ISO 3166 alpha-2; it mentions a place in that country), ``kinds``,
``[since, until)`` and ``min_credibility`` (Admiralty credibility of the document, 1 = best,
as the reader sees it: :class:`allsource.verify.audience.ReaderGrades`).
Counting happens in SQL, with the whole marking decision in SQL too
(:func:`allsource.analyze.graph.released`), so a count never includes a document the audience
may not read. Buckets start on the day, on Monday (ISO weeks) or on the 1st of the month, UTC.
With ``fill``, the periods between the first and the last bucket that hold no document are
listed too (count 0), so a chart's axis is real time; at most :data:`MAX_FILLED` buckets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from allsource.analyze.graph import released, time_bound
from allsource.errors import InputError, SourceError
from allsource.model.markings import TLP, Audience
from allsource.model.periods import INTERVALS, MAX_FILLED, Bucket, bucket_end, fill
from allsource.store import schema as t
from allsource.store.periods import period_start
from allsource.store.sql import SqlStore, aware
from allsource.verify.audience import ReaderGrades, credible

__all__ = ["INTERVALS", "MAX_FILLED", "Bucket", "DocumentPage", "Timeline", "TimelineFilter",
           "bucket_documents", "bucket_end", "document_filters", "filled", "timeline"]

#: ``either``: the report date, else the collection date; ``report``: report dates only;
#: ``collected``: collection dates only
BASES = ("either", "report", "collected")
MAX_PAGE = 500


@dataclass(slots=True, frozen=True)
class TimelineFilter:
    entity_id: str | None = None
    topic: str | None = None
    source: str | None = None
    country: str | None = None
    kinds: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    min_credibility: int | None = None
    #: which date places a document in time (:data:`BASES`)
    basis: str = "either"


@dataclass(slots=True)
class Timeline:
    interval: str
    buckets: list[Bucket]
    total: int
    basis: str = "either"
    #: documents the other filters keep that have no report date (``report`` basis only)
    undated: int = 0
    #: whether empty periods are listed (see ``fill``)
    filled: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class DocumentPage:
    start: str
    end: str
    total: int
    limit: int
    offset: int
    items: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def when(basis: str = "either") -> sa.ColumnElement[Any]:
    """The date that places a document in time on ``basis`` (:data:`BASES`)."""
    d = t.documents
    if basis == "report":
        return d.c.published_at
    if basis == "collected":
        return d.c.collected_at
    if basis != "either":
        raise InputError(f"dates must be one of {', '.join(BASES)}")
    return sa.func.coalesce(d.c.published_at, d.c.collected_at)


def _topic(store: SqlStore, topic: str) -> sa.ColumnElement[bool]:
    """The ``topics`` stage stores ``{"topics": [{"topic": …, "score": …}, …]}``."""
    if store.engine.dialect.name == "postgresql":
        return sa.text(
            "EXISTS (SELECT 1 FROM annotations a WHERE a.document_id = documents.id "
            "AND a.stage = 'topics' AND (a.data -> 'topics') @> CAST(:topic_json AS jsonb))"
        ).bindparams(topic_json=orjson.dumps([{"topic": topic}]).decode())  # type: ignore[return-value]
    return sa.text(
        "EXISTS (SELECT 1 FROM annotations a, json_each(a.data, '$.topics') j "
        "WHERE a.document_id = documents.id AND a.stage = 'topics' "
        "AND json_extract(j.value, '$.topic') = :topic_name)"
    ).bindparams(topic_name=topic)  # type: ignore[return-value]


def document_filters(store: SqlStore, f: TimelineFilter, audience: Audience, *,
                     country: bool = True) -> list[sa.ColumnElement[bool]]:
    """Conditions on ``documents`` for ``f`` (``country=False`` leaves the country out, for
    callers that filter places themselves)."""
    d = t.documents
    m = t.mentions.alias("filter_mentions")  # callers may join ``mentions`` themselves
    conds: list[sa.ColumnElement[bool]] = [released(d, audience)]
    if f.entity_id:
        conds.append(sa.exists().where(m.c.document_id == d.c.id, m.c.object_id == f.entity_id,
                                       released(m, audience)).correlate(d))
    if f.topic:
        conds.append(_topic(store, f.topic))
    if f.source:
        src = store.readable_source(f.source, audience)
        if src is None:  # hidden or missing: the same answer
            raise SourceError(f"unknown source {f.source!r} (see `allsource source list`)")
        conds.append(sa.exists().where(t.sightings.c.document_id == d.c.id,
                                       t.sightings.c.source_id == src.id).correlate(d))
    if f.country and country:
        o = t.objects.alias("filter_places")
        conds.append(sa.exists().select_from(m.join(o, o.c.id == m.c.object_id)).where(
            m.c.document_id == d.c.id, o.c.type == "location",
            o.c.stix["country"].as_string() == f.country.upper(), released(m, audience))
            .correlate(d))
    if f.kinds:
        conds.append(d.c.kind.in_(f.kinds))
    if f.basis == "report":
        conds.append(d.c.published_at.is_not(None))
    if f.since is not None:
        conds.append(when(f.basis) >= time_bound(store, f.since))
    if f.until is not None:
        conds.append(when(f.basis) < time_bound(store, f.until))
    if f.min_credibility is not None:
        if not 1 <= f.min_credibility <= 6:
            raise InputError("min_credibility must be an Admiralty credibility from 1 to 6")
        # each grade as the reader sees it (allsource.verify.audience): the stored one where
        # they may read its marking, else recomputed from what they may read — only for the
        # documents the other filters keep whose stored grade is hidden from them
        with store.engine.connect() as conn:
            passing = ReaderGrades(store, conn, audience).passing(
                sa.select(d.c.id).where(*conds), f.min_credibility)
        conds.append(credible(d.c.id, f.min_credibility, audience, passing))
    return conds


def _bucket_expr(store: SqlStore, interval: str, basis: str = "either"
                 ) -> sa.ColumnElement[Any]:
    return period_start(store.engine.dialect.name, when(basis), interval)


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def timeline(store: SqlStore, f: TimelineFilter, *, audience: Audience,
             interval: str = "day", fill: bool = False) -> Timeline:
    """Documents matching ``f`` per ``interval``, oldest first (empty buckets omitted unless
    ``fill``: see the module docstring)."""
    when(f.basis)  # an unknown basis is the caller's error, before any statement
    bucket = _bucket_expr(store, interval, f.basis).label("bucket")
    conds = document_filters(store, f, audience)
    q = (sa.select(bucket, sa.func.count().label("n")).select_from(t.documents)
         .where(*conds).group_by(bucket).order_by(bucket))
    undated = 0
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
        if f.basis == "report":
            d = t.documents
            others = document_filters(store, replace(f, basis="either", since=None, until=None),
                                      audience)
            undated = int(conn.execute(sa.select(sa.func.count()).select_from(d).where(
                *others, d.c.published_at.is_(None))).scalar_one())
    buckets = [Bucket(_day(b).isoformat(), bucket_end(_day(b), interval).isoformat(), int(n))
               for b, n in rows if b is not None]
    found = Timeline(interval, buckets, sum(b.count for b in buckets), f.basis, undated)
    return filled(found) if fill else found


def filled(found: Timeline) -> Timeline:
    """``found`` with the empty periods between its first and last bucket listed (count 0),
    unless that would make more than :data:`~allsource.model.periods.MAX_FILLED` buckets."""
    buckets = fill(found.buckets, found.interval)
    return found if buckets is None else replace(found, buckets=buckets, filled=True)


def bucket_documents(store: SqlStore, f: TimelineFilter, start: date, *, audience: Audience,
                     interval: str = "day", limit: int = 50, offset: int = 0) -> DocumentPage:
    """The documents of the bucket starting at ``start``, newest first, paginated."""
    if interval not in INTERVALS:
        raise InputError(f"interval must be one of {', '.join(INTERVALS)}")
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InputError(f"limit must be 1–{MAX_PAGE} and offset ≥ 0")
    end = bucket_end(start, interval)
    lo, hi = datetime(start.year, start.month, start.day), datetime(end.year, end.month, end.day)
    d = t.documents
    at = when(f.basis)
    conds = [*document_filters(store, f, audience), at >= time_bound(store, lo),
             at < time_bound(store, hi)]
    with store.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(d).where(*conds)
                             ).scalar_one()
        rows = conn.execute(
            sa.select(d.c.id, d.c.kind, d.c.title, d.c.url, d.c.published_at, d.c.collected_at,
                      d.c.source_id, d.c.tlp, t.sources.c.name)
            .outerjoin(t.sources, t.sources.c.id == d.c.source_id).where(*conds)
            .order_by(at.desc(), d.c.id).limit(limit).offset(offset)).all()
    items = [{"id": r.id, "kind": r.kind, "title": r.title, "url": r.url,
              "published_at": _iso(r.published_at), "collected_at": _iso(r.collected_at),
              "source": r.name or r.source_id, "tlp": TLP(r.tlp).label} for r in rows]
    return DocumentPage(start.isoformat(), end.isoformat(), int(total), limit, offset, items)


def _iso(value: datetime | None) -> str | None:
    dt = aware(value)
    return dt.isoformat() if dt is not None else None
