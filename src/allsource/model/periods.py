"""Periods of time as counted buckets: a day, an ISO week (from Monday) or a calendar month,
UTC; where each ends, and a run of buckets with the empty periods between them filled in
(so a chart's axis is real time). Pure functions over dates; the SQL that assigns rows to
periods is :func:`allsource.store.periods.period_start`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["INTERVALS", "MAX_FILLED", "Bucket", "bucket_end", "fill"]

INTERVALS = ("day", "week", "month")
#: a filled run lists at most this many buckets (then it stays sparse)
MAX_FILLED = 1500


@dataclass(slots=True)
class Bucket:
    start: str
    end: str
    count: int


def bucket_end(start: date, interval: str) -> date:
    if interval == "day":
        return start + timedelta(days=1)
    if interval == "week":
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def fill(buckets: list[Bucket], interval: str) -> list[Bucket] | None:
    """``buckets`` (oldest first) with the empty periods between the first and the last
    listed (count 0); ``None`` when that would make more than :data:`MAX_FILLED`."""
    if not buckets:
        return []
    first, last = date.fromisoformat(buckets[0].start), date.fromisoformat(buckets[-1].start)
    steps = {"day": 1, "week": 7}.get(interval)
    span = ((last - first).days // steps if steps else
            (last.year - first.year) * 12 + last.month - first.month)
    if span + 1 > MAX_FILLED:
        return None
    counts = {b.start: b.count for b in buckets}
    out: list[Bucket] = []
    start = first
    while start <= last:
        end = bucket_end(start, interval)
        out.append(Bucket(start.isoformat(), end.isoformat(), counts.get(start.isoformat(), 0)))
        start = end
    return out
