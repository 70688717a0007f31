"""Scoring a detector's warnings against events: lead time and false alarms, per month.

Events — what a warning should have announced — are either *labelled* (a list of onset days,
e.g. a hurricane's landfall) or found in hindsight by :func:`surge_episodes`:

* each day gets a reference: the median of the same weekday's counts 1-4 weeks before and
  1-4 weeks after it (a centred window — the future is fair game for the label, never for the
  detector); its excess ratio is ``(x + 1) / (reference + 1)``;
* an *event day* has an excess ratio at or above the series' own ``q`` quantile of ratios
  (default 0.99, over the days scored), at least ``min_ratio`` (1.5: half as much again as
  usual for that weekday and time) and at least ``min_count`` items;
* event days less than ``merge_gap`` days apart form one *episode*: onset (first day), peak
  (largest count) and end (last day).

So events are "unusually high for that weekday and that time of year", whatever the trend and
weekly rhythm — a detector gains nothing by warning on every regular Monday peak.

Scoring, with ``horizon`` (default 7 days):

* a warning is a *hit* if it falls in ``[onset - horizon, end]`` of some episode, else a
  *false alarm*;
* an episode is *detected* if some warning hits it; its *lead time* is ``onset - first
  warning`` (positive: warned before the onset; 0: on the onset day; negative: a late warning
  during the episode).

:func:`by_month` groups warnings and false alarms by the warning's month and episodes, their
detection and median lead time by the onset's month.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import median
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "Episode",
    "MonthRow",
    "Score",
    "by_month",
    "labelled_episodes",
    "score_warnings",
    "surge_episodes",
]


@dataclass(frozen=True, slots=True)
class Episode:
    """An event to be warned of, as day indexes into the series."""

    onset: int
    peak: int
    end: int
    label: str = ""


@dataclass(slots=True)
class Score:
    """Which warnings hit which episode, and each episode's lead time."""

    warnings: list[int]
    false_alarms: list[int]
    episodes: list[Episode]
    leads: list[int | None]  #: per episode; None when no warning hit it

    @property
    def detected(self) -> int:
        return sum(lead is not None for lead in self.leads)

    def summary(self) -> dict[str, Any]:
        leads = [lead for lead in self.leads if lead is not None]
        return {"warnings": len(self.warnings), "false_alarms": len(self.false_alarms),
                "events": len(self.episodes), "detected": self.detected,
                "median_lead_days": median(leads) if leads else None,
                "warned_before_onset": sum(lead > 0 for lead in leads)}


@dataclass(slots=True)
class MonthRow:
    month: str
    warnings: int = 0
    false_alarms: int = 0
    events: int = 0
    detected: int = 0
    leads: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, "warnings": self.warnings,
                "false_alarms": self.false_alarms, "events": self.events,
                "detected": self.detected,
                "median_lead_days": median(self.leads) if self.leads else None}


def _references(x: npt.NDArray[np.float64], weeks: int) -> npt.NDArray[np.float64]:
    """Median of the same weekday's values ``1..weeks`` weeks before and after each day."""
    n = len(x)
    ref = np.full(n, np.nan)
    for t in range(n):
        around = [x[t + 7 * k] for k in range(-weeks, weeks + 1)
                  if k != 0 and 0 <= t + 7 * k < n and not np.isnan(x[t + 7 * k])]
        if around:
            ref[t] = float(np.median(around))
    return ref


def surge_episodes(values: npt.ArrayLike, *, lo: int = 0, hi: int | None = None,
                   q: float = 0.99, min_ratio: float = 1.5, min_count: float = 5,
                   merge_gap: int = 2, weeks: int = 4) -> list[Episode]:
    """Episodes of unusually high counts among days ``lo..hi-1`` (see the module docstring);
    days outside that range still serve as references."""
    x = np.asarray(values, dtype=np.float64)
    hi = len(x) if hi is None else hi
    if hi <= lo:
        return []
    ratio = (x + 1) / (_references(x, weeks) + 1)
    scored = ratio[lo:hi]
    finite = scored[np.isfinite(scored)]
    if not len(finite):
        return []
    cut = max(float(np.quantile(finite, q)), min_ratio)
    with np.errstate(invalid="ignore"):
        hot = (scored >= cut) & (x[lo:hi] >= min_count)
    days = [lo + i for i in np.flatnonzero(hot)]
    episodes: list[Episode] = []
    run: list[int] = []
    for day in days:
        if run and day - run[-1] > merge_gap:
            episodes.append(_episode(x, run))
            run = []
        run.append(int(day))
    if run:
        episodes.append(_episode(x, run))
    return episodes


def _episode(x: npt.NDArray[np.float64], days: list[int]) -> Episode:
    peak = max(days, key=lambda d: (x[d], -d))
    return Episode(onset=days[0], peak=peak, end=days[-1])


def labelled_episodes(onsets: Sequence[tuple[int, str]], duration: int = 7) -> list[Episode]:
    """Episodes from labelled onset days (index, label), each lasting ``duration`` days."""
    return [Episode(onset=day, peak=day, end=day + duration - 1, label=label)
            for day, label in sorted(onsets)]


def score_warnings(warning: npt.ArrayLike, episodes: Sequence[Episode], *, horizon: int = 7,
                   lo: int = 0, hi: int | None = None) -> Score:
    """Hits, false alarms and lead times of the warnings among days ``lo..hi-1``."""
    mask = np.asarray(warning, dtype=bool)
    hi = len(mask) if hi is None else hi
    days = [int(d) for d in np.flatnonzero(mask) if lo <= d < hi]
    false_alarms = [d for d in days
                    if not any(e.onset - horizon <= d <= e.end for e in episodes)]
    leads: list[int | None] = []
    for e in episodes:
        hits = [d for d in days if e.onset - horizon <= d <= e.end]
        leads.append(e.onset - hits[0] if hits else None)
    return Score(warnings=days, false_alarms=false_alarms, episodes=list(episodes), leads=leads)


def by_month(score: Score, start: date, days: range | None = None) -> list[MonthRow]:
    """Figures per calendar month (day 0 of the series is ``start``); every month touched by
    ``days`` gets a row, quiet ones too."""
    rows: dict[str, MonthRow] = {}

    def row(day: int) -> MonthRow:
        key = (start + timedelta(days=day)).strftime("%Y-%m")
        return rows.setdefault(key, MonthRow(key))

    for day in days or ():
        row(day)

    for d in score.warnings:
        row(d).warnings += 1
    for d in score.false_alarms:
        row(d).false_alarms += 1
    for e, lead in zip(score.episodes, score.leads, strict=True):
        r = row(e.onset)
        r.events += 1
        if lead is not None:
            r.detected += 1
            r.leads.append(lead)
    return [rows[k] for k in sorted(rows)]
