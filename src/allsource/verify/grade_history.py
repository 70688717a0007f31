"""A source's reliability over time, as one reader may see it: the grade ``allsource verify``
would have given at the end of each month, from the reports dated by then.

``verify`` keeps one grade per source, the latest; the history is replayed instead of
stored, so it needs no schema, covers the time before the first ``verify`` run, and follows
the same rules. For each month end *T*, the readable reports of the source's claims
(:meth:`allsource.verify.audience._Regrade.claim_reports`: the reader's documents only, so a
figure never rests on a document above them) dated before *T* are graded again
(:func:`~allsource.verify.grading.grade_claims`: independent confirmation and contradiction
as known then) and the source's track record is read from them
(:func:`~allsource.verify.grading.track_records`). Undated reports cannot be placed in time
and are left out; an analyst's override is a decision of today, shown beside the history,
not in it.

Cost: one grading of the source's readable claim reports per month shown. The months shown
are at most :data:`MAX_MONTHS`, and fewer for a prolific source, so that the reports graded
in all (months × reports) stay within :data:`REPORT_BUDGET` — at least the last two months
are always shown (on the demo store, ATT&CK's 18,638 reports give 2 months).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from allsource.model.admiralty import Reliability
from allsource.model.markings import Audience
from allsource.store import schema as t
from allsource.store.access import readable
from allsource.store.sql import SqlStore
from allsource.verify.audience import _Regrade
from allsource.verify.grading import grade_claims, track_records

__all__ = ["MAX_MONTHS", "REPORT_BUDGET", "GradePoint", "claim_rows", "grade_history"]

MAX_MONTHS = 24
#: reports graded in all, over every month of one history
REPORT_BUDGET = 50_000


@dataclass(frozen=True, slots=True)
class GradePoint:
    #: the first day of the month; the grade is as of its end
    month: str
    grade: str
    #: the track-record score, ``None`` when too thin to judge (grade F)
    score: float | None
    confirmations: float
    refutations: float
    reports: int


def claim_rows(store: SqlStore, source_id: str, audience: Audience) -> int:
    """How many claims the source's readable documents make (one ``COUNT``): what a
    caller weighs before asking for a history, whose cost grows with it."""
    c, d = t.claim_documents, t.documents
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(
            c.join(d, d.c.id == c.c.document_id)).where(
                d.c.source_id == source_id, readable(d, audience))).scalar_one())


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def grade_history(store: SqlStore, source_id: str, name: str, audience: Audience,
                  months: int = MAX_MONTHS) -> list[GradePoint]:
    """The source's computed reliability at the end of each of its last ``months`` months
    with dated reports (oldest first); empty when it has none the reader may read."""
    with store.engine.connect() as conn:
        items = _Regrade(store, conn, audience).claim_reports([], by_source=source_id)
    dated = []
    for item in items:
        at = item.report.published_at
        if at is None:
            continue
        dated.append((at if at.tzinfo else at.replace(tzinfo=UTC), item))
    own = [at for at, item in dated if item.report.source_id == source_id]
    if not own:
        return []
    # up to the latest report of any source: another outlet's later report may still
    # confirm or refute what this source said
    last = _next_month(max(at for at, _ in dated).date().replace(day=1))
    start = min(own).date().replace(day=1)
    ends: list[date] = []
    cursor = _next_month(start)
    while cursor <= last:
        ends.append(cursor)
        cursor = _next_month(cursor)
    months = min(months, max(2, REPORT_BUDGET // max(len(dated), 1)))
    out = []
    for end in ends[-months:]:
        cutoff = datetime(end.year, end.month, end.day, tzinfo=UTC)
        known = [item for at, item in dated if at < cutoff]
        record = track_records(grade_claims(known) if known else [],
                               {source_id: name})[source_id]
        grade, _ = record.reliability()
        first = date(end.year - (end.month == 1), (end.month - 2) % 12 + 1, 1)
        out.append(GradePoint(
            first.isoformat(), grade.value,
            None if grade == Reliability.F else round(record.score, 3),
            record.confirmations, record.refutations,
            sum(1 for at, item in dated if at < cutoff and item.report.source_id == source_id)))
    return out
