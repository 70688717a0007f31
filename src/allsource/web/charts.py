"""Bar charts over time, drawn server-side as SVG geometry for the templates (no script, no
library: the page's CSP forbids inline script and a chart of counts needs none).

:func:`time_bars` lays out one bar per bucket of a filled timeline
(:func:`allsource.analyze.timeline.filled`, so empty periods keep their place and the x axis
is real time), a y axis with round ticks, and x-axis labels chosen so that at most about
:data:`MAX_LABELS` fit: years when the span is long, months when it is months, days
otherwise. Each bar carries the link and the accessible label the template puts on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from allsource.model.periods import Bucket

__all__ = ["Bar", "Chart", "Tick", "bucket_label", "time_bars"]

WIDTH, HEIGHT = 960, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36
#: a bar is never wider than this (a timeline of two weeks is not two walls)
MAX_BAR = 48
MAX_LABELS = 14
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(slots=True, frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    label: str
    href: str


@dataclass(slots=True, frozen=True)
class Tick:
    at: float
    label: str


@dataclass(slots=True)
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    bottom: float = HEIGHT - BOTTOM
    right: float = WIDTH - RIGHT
    bars: list[Bar] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)


def bucket_label(start: str, interval: str) -> str:
    """"2024-03-01", "month" → "March 2024"; weeks and days by their first day."""
    day = date.fromisoformat(start)
    if interval == "month":
        return day.strftime("%B %Y")
    prefix = "week of " if interval == "week" else ""
    return f"{prefix}{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _round_step(peak: int) -> int:
    """A step of 1, 2 or 5 × 10ⁿ giving at most four ticks above zero."""
    raw = max(peak / 4, 1)
    power = 10 ** math.floor(math.log10(raw))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _x_labels(days: Sequence[date], interval: str) -> list[tuple[int, str]]:
    """(bucket index, label) pairs: at each new year, month or day as the span calls for."""
    if not days:
        return []
    span = (days[-1] - days[0]).days
    if span > 3 * 365:
        marks = [(i, str(d.year)) for i, d in enumerate(days)
                 if i == 0 or d.year != days[i - 1].year]
    elif span > 62 or interval == "month":
        marks = [(i, _MONTHS[d.month - 1] + (f" {d.year}" if i == 0 or d.month == 1 or
                                              d.year != days[i - 1].year else ""))
                 for i, d in enumerate(days)
                 if i == 0 or (d.month, d.year) != (days[i - 1].month, days[i - 1].year)]
    else:
        marks = [(i, f"{d.day} {_MONTHS[d.month - 1]}" + (f" {d.year}" if i == 0 else ""))
                 for i, d in enumerate(days)]
    step = max(1, math.ceil(len(marks) / MAX_LABELS))
    return marks[::step]


def time_bars(buckets: Sequence[Bucket], interval: str,
              href: Callable[[str], str] | None = None, unit: str = "document(s)") -> Chart:
    """The chart of ``buckets`` (oldest first); ``href`` gives a bucket's link from its
    start day (none: the bars are not links); ``unit`` names what is counted."""
    chart = Chart()
    if not buckets:
        return chart
    counts = [b.count for b in buckets]
    starts = [b.start for b in buckets]
    peak = max(counts)
    step = _round_step(peak)
    top_value = max(step, math.ceil(peak / step) * step)
    plot_w, plot_h = chart.right - chart.left, chart.bottom - chart.top
    slot = plot_w / len(buckets)
    width = min(max(slot - min(2.0, slot * 0.2), 0.5), MAX_BAR)
    for i, (start, n) in enumerate(zip(starts, counts, strict=True)):
        h = plot_h * n / top_value if n else 0.0
        if n and h < 2:
            h = 2.0  # a bucket with documents is never invisible
        chart.bars.append(Bar(round(chart.left + i * slot + (slot - width) / 2, 2),
                              round(chart.bottom - h, 2), round(width, 2),
                              round(h, 2), n,
                              f"{bucket_label(start, interval)}: {n:,} {unit}",
                              href(start) if href is not None else ""))
    chart.y_ticks = [Tick(round(chart.bottom - plot_h * v / top_value, 2), f"{v:,}")
                     for v in range(0, top_value + 1, step)]
    days = [date.fromisoformat(s) for s in starts]
    chart.x_ticks = [Tick(round(chart.left + (i + 0.5) * slot, 2), label)
                     for i, label in _x_labels(days, interval)]
    return chart
