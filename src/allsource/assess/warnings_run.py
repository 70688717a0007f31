"""Running the early-warning detectors over the store: today's warnings, and the backtest.

:func:`run_warnings` builds every series (:mod:`allsource.assess.baseline`) over the days it
needs — two detector windows plus the cool-down before the first day evaluated — runs the
count detector (or the tone detector on ``tone:`` keys) over them, and keeps the warnings that
fall on the evaluated day(s). Each new warning is stored once per (key, day, method) in the
``warnings`` table and raised as an alert (kind ``warning``, group ``warning:<key>``) whose
details say why: observed vs expected, the baseline window, the weekday factor, the
dispersion and the p-value (or the z-score for tone). Re-running a day stores and raises
nothing new. The warning and its alert are marked no lower than the most restrictive document
counted in the series up to that day.

:func:`backtest` replays the detector over a historical period — a day's verdict only ever
uses the days before it — and scores its warnings against the surge episodes of
:mod:`allsource.assess.backtest` (lead time, false alarms), per month.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa

from allsource.assess.backtest import MonthRow, Score, by_month, score_warnings, surge_episodes
from allsource.assess.baseline import FAMILIES, Series, SeriesSet, build_series, match_keys
from allsource.assess.early_warning import (
    CountParams,
    Detection,
    ThresholdParams,
    ToneParams,
    detect_counts,
    detect_threshold,
    detect_tone,
)
from allsource.errors import InputError, StoreError
from allsource.model.ids import minted_id
from allsource.model.markings import TLP, Audience, Classification, Marking, can_release
from allsource.store import schema as t
from allsource.store.base import RunRecord
from allsource.store.sql import SqlStore, new_run_id, utc_now

__all__ = [
    "BacktestReport",
    "RunSummary",
    "WarningRecord",
    "backtest",
    "list_warnings",
    "run_warnings",
]

WARNING_TYPE = "x-allsource-warning"
COUNT_FAMILIES = tuple(f for f in FAMILIES if f != "tone")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class WarningRecord:
    """One warning: a key departing from its baseline on a day."""

    key: str
    label: str
    day: date
    method: str
    observed: float
    expected: float
    score: float
    details: dict[str, Any]
    marking: Marking = field(default_factory=Marking)
    alert_id: str | None = None
    created_at: datetime | None = None

    @property
    def id(self) -> str:
        return minted_id(WARNING_TYPE, f"{self.key}|{self.day.isoformat()}|{self.method}")

    @property
    def explanation(self) -> str:
        return str(self.details.get("explanation", ""))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "label": self.label,
                "day": self.day.isoformat(), "method": self.method,
                "observed": self.observed, "expected": round(self.expected, 3),
                "score": self.score, "details": self.details, "alert_id": self.alert_id,
                "marking": self.marking.as_dict(),
                "created_at": self.created_at.isoformat() if self.created_at else None}


@dataclass(slots=True)
class RunSummary:
    """What one ``warn run`` did."""

    first_day: date
    last_day: date
    series: int = 0
    new: list[WarningRecord] = field(default_factory=list)
    already: int = 0
    alert_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0
    build_seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.first_day.isoformat(), "to": self.last_day.isoformat(),
                "series": self.series, "new_warnings": [w.as_dict() for w in self.new],
                "already_stored": self.already, "alerts": self.alert_ids,
                "seconds": round(self.seconds, 3),
                "build_seconds": {k: round(v, 4) for k, v in self.build_seconds.items()}}


def _history_days(count: CountParams, tone: ToneParams) -> int:
    return 2 * max(count.window, tone.window) + max(count.cooldown, tone.cooldown)


def _detect(series: Series, count: CountParams, tone: ToneParams) -> Detection:
    if series.tone is not None:
        return detect_tone(series.tone, series.counts, tone)
    return detect_counts(series.counts, series.first_weekday, count)


def _marking(series: Series, index: int) -> Marking:
    return Marking(tlp=TLP(int(series.tlp[:index + 1].max(initial=0))),
                   classification=Classification(
                       int(series.classification[:index + 1].max(initial=0))))


def _record(series: Series, det: Detection, i: int, count: CountParams,
            tone: ToneParams) -> WarningRecord:
    day = series.day(i)
    why = det.explain(i)
    observed = float(series.tone[i] if series.tone is not None else series.counts[i])
    expected = float(det.expected[i])
    n = int(why.get("history_days") or 0)
    window = [series.day(max(0, i - (tone.window if series.tone is not None
                                      else count.window))).isoformat(),
              series.day(i - 1).isoformat()]
    if series.tone is not None:
        sd = why.get("sd") or 0.0
        text = (f"mean tone {observed:+.2f} over {int(series.counts[i])} events on {day} vs "
                f"{expected:+.2f} usual (sd {sd:.2f}, {n} days with events in "
                f"{window[0]}..{window[1]}): z = {det.score[i]:+.1f}, "
                f"|z| ≥ {tone.z:g}")
        params = tone.as_dict()
    else:
        factor = why.get("weekday_factor") or 1.0
        weekday = _WEEKDAYS[day.weekday()]
        p_day, p_run = why.get("p_day") or 1.0, why.get("p_run") or 1.0
        test = (f"the day: p = {p_day:.2g}" if p_day <= p_run else
                f"the last {count.run_days} days: {why.get('run_observed') or 0:g} vs "
                f"{why.get('run_expected') or 0:.1f} expected, p = {p_run:.2g}")
        text = (f"{observed:g} items on {weekday} {day} vs {expected:.1f} expected: level "
                f"{why.get('level') or 0:.2f}/day × {weekday} factor {factor:.2f}, from the "
                f"{n} days {window[0]}..{window[1]}; negative binomial (dispersion "
                f"{why.get('dispersion') or 0:.3f}), {test}; adjusted p = "
                f"{det.score[i]:.2g} < alpha {count.alpha:g}")
        params = count.as_dict()
    details = {"explanation": text, "window": window, "params": params, **why,
               "day_count": float(series.counts[i]), "weekday": _WEEKDAYS[day.weekday()]}
    return WarningRecord(key=series.key, label=series.label, day=day, method=det.method,
                         observed=observed, expected=expected, score=float(det.score[i]),
                         details=details, marking=_marking(series, i))


def evaluate(series_set: SeriesSet, first: date, last: date, *,
             count: CountParams | None = None, tone: ToneParams | None = None
             ) -> list[WarningRecord]:
    """Warnings of every series that fall on ``first..last``."""
    cp, tp = count or CountParams(), tone or ToneParams()
    found: list[WarningRecord] = []
    for series in series_set.series.values():
        det = _detect(series, cp, tp)
        lo, hi = max(series.index(first), 0), min(series.index(last), len(series.counts) - 1)
        found.extend(_record(series, det, i, cp, tp) for i in range(lo, hi + 1)
                     if det.warning[i])
    return sorted(found, key=lambda w: (w.day, w.key))


def _severity_name(w: WarningRecord, count: CountParams, tone: ToneParams) -> str:
    if w.method == tone.method:
        return "HIGH" if abs(w.score) >= tone.z + 2 else "MEDIUM"
    return "HIGH" if w.score < count.alpha / 1000 else "MEDIUM"


def _title(w: WarningRecord) -> str:
    name = w.key if w.label in ("", w.key.split(":", 1)[1]) else f"{w.key} ({w.label})"
    if w.key.startswith("tone:"):
        return f"Early warning: tone shift for {name} on {w.day}: {w.observed:+.2f} " \
               f"vs {w.expected:+.2f} usual"
    return f"Early warning: {name} on {w.day}: {w.observed:g} vs {w.expected:.1f} expected"


def run_warnings(store: SqlStore, day: date, *, days: int = 1,
                 count: CountParams | None = None, tone: ToneParams | None = None,
                 families: Iterable[str] = FAMILIES, patterns: Sequence[str] = (),
                 audience: Audience | None = None, raise_alerts: bool = True,
                 min_total: int = 3) -> RunSummary:
    """Evaluate ``days`` days ending with ``day``; store and raise what is new."""
    if days < 1:
        raise InputError("--days must be at least 1")
    began = time.perf_counter()
    cp, tp = count or CountParams(), tone or ToneParams()
    first = day - timedelta(days=days - 1)
    summary = RunSummary(first_day=first, last_day=day)
    run = RunRecord(id=new_run_id(), plugin="warnings", source_id=None,
                    started_at=datetime.now(UTC))
    store.save_run(run)
    try:
        built = build_series(store, first - timedelta(days=_history_days(cp, tp)), day,
                             families=families, audience=audience, min_total=min_total,
                             patterns=patterns)
        summary.series, summary.build_seconds = len(built.series), built.timings
        found = evaluate(built, first, day, count=cp, tone=tp)
        summary.new = _store_new(store, found)
        summary.already = len(found) - len(summary.new)
        if raise_alerts and summary.new:
            summary.alert_ids = _raise(store, summary.new, cp, tp)
            summary.new = [_with_alert(w, a) for w, a in
                           zip(summary.new, summary.alert_ids, strict=True)]
    except Exception as exc:
        run.status, run.errors = "failed", [str(exc)[:2000]]
        run.finished_at = datetime.now(UTC)
        store.save_run(run)
        raise
    summary.seconds = time.perf_counter() - began
    run.status, run.finished_at = "ok", datetime.now(UTC)
    run.counts = {"series": summary.series, "new": len(summary.new),
                  "already": summary.already, "alerts": len(summary.alert_ids),
                  "from": first.isoformat(), "to": day.isoformat()}
    store.save_run(run)
    return summary


def _with_alert(w: WarningRecord, alert_id: str) -> WarningRecord:
    return WarningRecord(key=w.key, label=w.label, day=w.day, method=w.method,
                         observed=w.observed, expected=w.expected, score=w.score,
                         details=w.details, marking=w.marking, alert_id=alert_id,
                         created_at=w.created_at)


def _store_new(store: SqlStore, found: list[WarningRecord]) -> list[WarningRecord]:
    """Insert the warnings not stored yet; returns those."""
    if not found:
        return []
    w = t.early_warnings
    now = utc_now()
    by_id = {rec.id: rec for rec in found}
    try:
        with store.engine.begin() as conn:
            existing = store._existing(conn, w.c.id, list(by_id))
            new = [rec for i, rec in by_id.items() if i not in existing]
            if new:
                conn.execute(store._insert_ignore(w), [
                    {"id": rec.id, "key": rec.key, "label": rec.label[:2000], "day": rec.day,
                     "method": rec.method, "observed": rec.observed,
                     "expected": rec.expected, "score": rec.score, "details": rec.details,
                     "alert_id": None, "created_at": now, **rec.marking.to_columns()}
                    for rec in new])
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"storing warnings failed: {exc.orig}") from exc
    return [WarningRecord(key=r.key, label=r.label, day=r.day, method=r.method,
                          observed=r.observed, expected=r.expected, score=r.score,
                          details=r.details, marking=r.marking, created_at=now) for r in new]


def _raise(store: SqlStore, new: list[WarningRecord], count: CountParams,
           tone: ToneParams) -> list[str]:
    from allsource.assess.alerts import AlertDraft, Severity, raise_alerts

    drafts = [AlertDraft(kind="warning", severity=Severity[_severity_name(w, count, tone)],
                         title=_title(w), group_key=f"warning:{w.key}"[:500],
                         details={"warning_id": w.id, "key": w.key, "label": w.label,
                                  "day": w.day.isoformat(), "method": w.method,
                                  "observed": w.observed, "expected": round(w.expected, 3),
                                  "score": w.score, **w.details},
                         marking=w.marking, occurrence_key=w.id)
              for w in new]
    ids = raise_alerts(store, drafts)
    with store.engine.begin() as conn:
        for rec, alert_id in zip(new, ids, strict=True):
            conn.execute(t.early_warnings.update().where(t.early_warnings.c.id == rec.id)
                         .values(alert_id=alert_id))
    return ids


def list_warnings(store: SqlStore, *, since: date | None = None, until: date | None = None,
                  patterns: Sequence[str] = (), limit: int = 100,
                  audience: Audience | None = None) -> list[WarningRecord]:
    """Stored warnings, newest day first, that ``audience`` may read."""
    who = audience or Audience.owner()
    w = t.early_warnings
    q = sa.select(w).where(SqlStore._readable(w, who)).order_by(w.c.day.desc(), w.c.key)
    if since:
        q = q.where(w.c.day >= since)
    if until:
        q = q.where(w.c.day <= until)
    out: list[WarningRecord] = []
    with store.engine.connect() as conn:
        for r in conn.execute(q):
            m = dict(r._mapping)
            marking = Marking.from_columns(m)
            if not can_release(marking, who) or (patterns and not match_keys([r.key],
                                                                              patterns)):
                continue
            out.append(WarningRecord(key=r.key, label=r.label, day=_day(r.day),
                                     method=r.method, observed=r.observed,
                                     expected=r.expected, score=r.score,
                                     details=dict(r.details or {}), marking=marking,
                                     alert_id=r.alert_id, created_at=r.created_at))
            if len(out) >= limit:
                break
    return out


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# --- backtest -------------------------------------------------------------------------------

@dataclass(slots=True)
class BacktestReport:
    """A backtest's figures, per month and per key."""

    start: date
    end: date
    method: str
    params: dict[str, Any]
    events: dict[str, Any]
    months: list[dict[str, Any]]
    keys: list[dict[str, Any]]
    totals: dict[str, Any]
    coverage: list[str | None]
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(),
                "method": self.method, "params": self.params, "events": self.events,
                "months": self.months, "keys": self.keys, "totals": self.totals,
                "coverage": self.coverage,
                "seconds": round(self.seconds, 3)}


def detect_series(values: Any, first_weekday: int, method: str,
                  count: CountParams, threshold: ThresholdParams) -> Detection:
    """The named method over a count series: ``nb-weekday`` or the ``threshold`` baseline."""
    if method == count.method:
        return detect_counts(values, first_weekday, count)
    if method == threshold.method:
        return detect_threshold(values, threshold)
    raise InputError(f"unknown method {method!r}: use {count.method} or {threshold.method}")


def backtest_series(values: Any, start: date, lo: int, hi: int, *, method: str,
                    count: CountParams, threshold: ThresholdParams, horizon: int = 7,
                    quantile: float = 0.99, min_ratio: float = 1.5) -> tuple[Score, int]:
    """Replay one count series (day 0 = ``start``) and score the warnings in ``lo..hi-1``;
    also how many of those days were tested (had enough history)."""
    det = detect_series(values, start.weekday(), method, count, threshold)
    episodes = surge_episodes(values, lo=lo, hi=hi, q=quantile, min_ratio=min_ratio,
                              min_count=count.min_count)
    tested = int(np.count_nonzero(~np.isnan(det.score[lo:hi])))
    return score_warnings(det.warning, episodes, horizon=horizon, lo=lo, hi=hi), tested


def backtest(store: SqlStore, start: date, end: date, *, method: str = "nb-weekday",
             count: CountParams | None = None, threshold: ThresholdParams | None = None,
             families: Iterable[str] = COUNT_FAMILIES, patterns: Sequence[str] = (),
             horizon: int = 7, quantile: float = 0.99, min_ratio: float = 1.5,
             min_total: int = 3, audience: Audience | None = None,
             today: date | None = None) -> BacktestReport:
    """Replay ``method`` over ``[start, end]`` with only past data, per count series."""
    if end < start:
        raise InputError(f"--to {end} is before --from {start}")
    fams = [f for f in families if f != "tone"]
    if not fams:
        raise InputError("the backtest scores count series: choose a family other than tone")
    began = time.perf_counter()
    cp, tp = count or CountParams(), threshold or ThresholdParams()
    history = 2 * max(cp.window, tp.window) + cp.cooldown
    # Four weeks after the period serve the event labels (never the detector).
    last = min(end + timedelta(days=28), today or datetime.now(UTC).date())
    built = build_series(store, start - timedelta(days=history), max(last, end),
                         families=fams, audience=audience, min_total=min_total,
                         patterns=patterns)
    lo, hi = history, history + (end - start).days + 1
    total = Score([], [], [], [])
    keys: list[dict[str, Any]] = []
    tested = 0
    months = {row.month: row for row in by_month(total, built.start, range(lo, hi))}
    for series in built.series.values():
        sc, days = backtest_series(series.counts, built.start, lo, hi, method=method,
                                   count=cp, threshold=tp, horizon=horizon,
                                   quantile=quantile, min_ratio=min_ratio)
        tested += days
        if sc.warnings or sc.episodes:
            keys.append({"key": series.key, "label": series.label, "days_tested": days,
                         **sc.summary()})
        for row in by_month(sc, built.start):
            acc = months.setdefault(row.month, MonthRow(row.month))
            acc.warnings += row.warnings
            acc.false_alarms += row.false_alarms
            acc.events += row.events
            acc.detected += row.detected
            acc.leads += row.leads
        total.warnings += sc.warnings
        total.false_alarms += sc.false_alarms
        total.episodes += sc.episodes
        total.leads += sc.leads
    params = cp.as_dict() if method == cp.method else tp.as_dict()
    return BacktestReport(
        start=start, end=end, method=method, params=params,
        events={"definition": "surge episodes (allsource.assess.backtest)",
                "quantile": quantile, "min_ratio": min_ratio, "min_count": cp.min_count,
                "horizon_days": horizon},
        months=[months[m].as_dict() for m in sorted(months)],
        keys=sorted(keys, key=lambda k: (-k["warnings"], k["key"])),
        totals={"series": len(built.series), "series_days_tested": tested,
                **total.summary()},
        coverage=[d.isoformat() if d else None for d in built.coverage],
        seconds=time.perf_counter() - began)


def parse_day(text: str | None, *, default: date | None = None) -> date:
    """``YYYY-MM-DD`` as a date (one-line error otherwise)."""
    if not text:
        if default is None:
            raise InputError("a date is required (YYYY-MM-DD)")
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"cannot read date {text!r}: use YYYY-MM-DD") from None
