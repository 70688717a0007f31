"""Charts over time, drawn server-side as SVG geometry for the templates (no script, no
library: the page's CSP forbids inline script and a chart of figures needs none). One layout
serves every chart of the workspace; ``_chart.html`` draws it.

Layout. A chart has one slot per period of a run with no gaps — empty periods keep their
place, so the x axis is real time (:func:`allsource.model.periods.fill`) — and a bar per slot
whose height is its value on a y axis starting at zero. x-axis labels are chosen so that at
most about :data:`MAX_LABELS` fit: years when the span is long, months when it is months,
days otherwise. Each bar carries the text a pointer or a screen reader reads (its period and
value) and, when the chart is clickable, the link the template wraps it in, so every bar is a
keyboard-reachable, named link.

Kinds of chart, all the same :class:`Chart`:

* :func:`time_bars` — counts per day, week or month (the timeline, alert volume, and an
  entity's mentions per month through :func:`month_buckets`); the y axis has at most four
  round ticks (1, 2 or 5 × 10ⁿ).
* :func:`series_chart` — an early-warning series: observed counts per day as bars, the
  detector's expectation as a line and its band (what it accepts as ordinary) as a shaded
  area, the days it flagged marked with a ring; the y axis reaches the band's top too.
* :func:`grade_bars` — a source's reliability score per period on a fixed 0–1 axis whose
  ticks are the grade thresholds, each bar labelled with its grade; a period whose record
  was too thin to judge (grade F) has no bar, only its label.

Every chart's figures also go in a table on the page (the templates' "as a table"), so
nothing is said by the drawing alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from allsource.model.periods import Bucket, fill

__all__ = ["Bar", "Chart", "Mark", "Tick", "bucket_label", "grade_bars", "month_buckets",
           "series_chart", "time_bars"]

WIDTH, HEIGHT = 960, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36
#: a bar is never wider than this (a timeline of two weeks is not two walls)
MAX_BAR = 48
MAX_LABELS = 14
#: a month chart shows at most this many months (the latest)
MAX_MONTHS = 240
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
    #: what the bar's value reads as in a table (a count, a score, a grade)
    value: str = ""
    #: a short tag drawn above the bar (a grade letter)
    tag: str = ""
    #: the centre of the slot
    cx: float = 0.0


@dataclass(slots=True, frozen=True)
class Tick:
    at: float
    label: str


@dataclass(slots=True, frozen=True)
class Mark:
    """A flagged point: drawn as a ring at (cx, cy) with its label."""

    cx: float
    cy: float
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
    #: SVG path of a shaded band (closed areas between two lines), or ""
    band: str = ""
    #: SVG path of a line (an expectation), or ""
    line: str = ""
    marks: list[Mark] = field(default_factory=list)


def bucket_label(start: str, interval: str) -> str:
    """"2024-03-01", "month" → "March 2024"; weeks and days by their first day."""
    day = date.fromisoformat(start)
    if interval == "month":
        return day.strftime("%B %Y")
    prefix = "week of " if interval == "week" else ""
    return f"{prefix}{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _round_step(peak: float) -> int:
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
    marks = marks[::step]
    # a first label only a sliver before the next would print over it ("Aug 2025Sep"):
    # the next one takes its year instead
    gap = max(2.0, len(days) / (MAX_LABELS * 1.5))
    if len(marks) > 1 and marks[1][0] - marks[0][0] < gap and " " in marks[0][1]:
        year = marks[0][1].rpartition(" ")[2]
        second = marks[1][1]
        marks = [(marks[1][0], second if year in second else f"{second} {year}"), *marks[2:]]
    return marks


class _Frame:
    """The plot area of ``n`` slots and a y axis from 0 to ``top_value``."""

    def __init__(self, chart: Chart, n: int, top_value: float) -> None:
        self.chart, self.top_value = chart, top_value
        self.plot_h = chart.bottom - chart.top
        self.slot = (chart.right - chart.left) / n
        self.width = min(max(self.slot - min(2.0, self.slot * 0.2), 0.5), MAX_BAR)

    def x(self, i: int) -> float:
        """The centre of slot ``i``."""
        return round(self.chart.left + (i + 0.5) * self.slot, 2)

    def y(self, value: float) -> float:
        return round(self.chart.bottom - self.plot_h * min(value, self.top_value)
                     / self.top_value, 2)

    def bar(self, i: int, value: float, label: str, href: str = "", shown: str = "",
            tag: str = "") -> Bar:
        h = self.plot_h * min(value, self.top_value) / self.top_value if value > 0 else 0.0
        if value > 0 and h < 2:
            h = 2.0  # a period with something in it is never invisible
        c = self.chart
        # ``count`` is the figure for counts; a fraction (a score) counts as 1, so a
        # template's "bars with something" test keeps it
        count = int(value) if value == int(value) else 1
        return Bar(round(c.left + i * self.slot + (self.slot - self.width) / 2, 2),
                   round(c.bottom - h, 2), round(self.width, 2), round(h, 2), count, label,
                   href, shown, tag, self.x(i))

    def x_ticks(self, starts: Sequence[str], interval: str) -> list[Tick]:
        days = [date.fromisoformat(s) for s in starts]
        return [Tick(self.x(i), label) for i, label in _x_labels(days, interval)]


def _count_ticks(frame: _Frame, step: int) -> list[Tick]:
    return [Tick(frame.y(v), f"{v:,}") for v in range(0, int(frame.top_value) + 1, step)]


def time_bars(buckets: Sequence[Bucket], interval: str,
              href: Callable[[str], str] | None = None, unit: str = "document(s)") -> Chart:
    """The chart of ``buckets`` (oldest first); ``href`` gives a bucket's link from its
    start day (none: the bars are not links); ``unit`` names what is counted."""
    chart = Chart()
    if not buckets:
        return chart
    peak = max(b.count for b in buckets)
    step = _round_step(peak)
    frame = _Frame(chart, len(buckets), max(step, math.ceil(peak / step) * step))
    chart.bars = [frame.bar(i, b.count, f"{bucket_label(b.start, interval)}: {b.count:,} {unit}",
                            href(b.start) if href is not None else "", f"{b.count:,}")
                  for i, b in enumerate(buckets)]
    chart.y_ticks = _count_ticks(frame, step)
    chart.x_ticks = frame.x_ticks([b.start for b in buckets], interval)
    return chart


def month_buckets(counts: Sequence[tuple[str, int]]) -> list[Bucket]:
    """``(YYYY-MM, n)`` pairs as month buckets, every month from the first to the last
    counted one with zero where nothing was counted, at most :data:`MAX_MONTHS` (the
    latest); keys that are not months are ignored."""
    valid = sorted((k, n) for k, n in counts if len(k) == 7 and k[:4].isdigit()
                   and k[4] == "-" and k[5:7].isdigit() and 1 <= int(k[5:7]) <= 12
                   and int(k[:4]) >= 1)
    if not valid:
        return []
    last = date(int(valid[-1][0][:4]), int(valid[-1][0][5:7]), 1)
    first_kept = last.year * 12 + last.month - MAX_MONTHS  # months since year 0, exclusive
    found: dict[str, int] = {}
    for key, n in valid:
        if int(key[:4]) * 12 + int(key[5:7]) > first_kept:
            found[f"{key}-01"] = found.get(f"{key}-01", 0) + n
        else:  # older than the window: the window starts at its first month, not later
            y, m = divmod(first_kept, 12)
            found.setdefault(date(y, m + 1, 1).isoformat(), 0)
    listed = [Bucket(start, start, n) for start, n in sorted(found.items())]
    return fill(listed, "month") or listed


def series_chart(starts: Sequence[str], observed: Sequence[float | None],
                 expected: Sequence[float | None], lower: Sequence[float | None],
                 upper: Sequence[float | None], flagged: Sequence[bool], *,
                 unit: str = "document(s)", interval: str = "day") -> Chart:
    """Observed values as bars, the expectation as a line, the band ``lower..upper`` as a
    shaded area and the ``flagged`` periods marked; ``None`` where a figure is missing (no
    coverage, or no baseline yet: the line and band are drawn only where it exists, and
    break where it does not)."""
    chart = Chart()
    n = len(starts)
    if not n:
        return chart
    peak = max([v for v in (*observed, *upper) if v is not None and math.isfinite(v)],
               default=0.0)
    step = _round_step(peak)
    frame = _Frame(chart, n, max(step, math.ceil(peak / step) * step))
    for i, start in enumerate(starts):
        value = observed[i]
        when = bucket_label(start, interval)
        if value is None:
            chart.bars.append(frame.bar(i, 0, f"{when}: no coverage", shown="no coverage"))
            continue
        words = f"{when}: {value:g} {unit}"
        if expected[i] is not None:
            words += f", {expected[i]:.1f} expected"
        if lower[i] is not None and upper[i] is not None:
            words += f" (ordinary {lower[i]:g}–{upper[i]:g})"
        if flagged[i]:
            words += ", flagged"
        chart.bars.append(frame.bar(i, value, words, shown=f"{value:g}"))
        if flagged[i]:
            chart.marks.append(Mark(frame.x(i), frame.y(value), words))
    chart.line = _line(frame, expected)
    chart.band = " ".join(
        "M" + " L".join([f"{frame.x(i)},{frame.y(upper[i] or 0.0)}" for i in run]
                        + [f"{frame.x(i)},{frame.y(lower[i] or 0.0)}" for i in reversed(run)])
        + " Z" for run in _segments(lower, upper))
    chart.y_ticks = _count_ticks(frame, step)
    chart.x_ticks = frame.x_ticks(starts, interval)
    return chart


def _segments(lower: Sequence[float | None], upper: Sequence[float | None]) -> list[list[int]]:
    """Runs of consecutive indices where both ends of the band exist."""
    runs: list[list[int]] = []
    for i, (lo, hi) in enumerate(zip(lower, upper, strict=True)):
        if lo is None or hi is None:
            continue
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _line(frame: _Frame, values: Sequence[float | None]) -> str:
    """An SVG path through ``values``; a missing value breaks it (a new ``M``)."""
    parts: list[str] = []
    previous = False
    for i, v in enumerate(values):
        if v is None:
            previous = False
            continue
        parts.append(("L" if previous else "M") + f"{frame.x(i)},{frame.y(v)}")
        previous = True
    return " ".join(parts)


def grade_bars(starts: Sequence[str], scores: Sequence[float | None],
               grades: Sequence[str], thresholds: Sequence[tuple[str, float]], *,
               interval: str = "month", href: Callable[[str], str] | None = None) -> Chart:
    """A score per period (0–1) as bars tagged with their grade, on an axis whose ticks are
    ``thresholds`` (grade, lowest score); a ``None`` score (not judged) draws no bar."""
    chart = Chart()
    if not starts:
        return chart
    frame = _Frame(chart, len(starts), 1.0)
    for i, (start, score, grade) in enumerate(zip(starts, scores, grades, strict=True)):
        when = bucket_label(start, interval)
        if score is None:
            words = f"{when}: {grade}, too few confirmations or refutations to judge"
            chart.bars.append(frame.bar(i, 0, words, href(start) if href else "", grade, grade))
        else:
            words = f"{when}: grade {grade}, score {score:.2f}"
            chart.bars.append(frame.bar(i, score, words, href(start) if href else "",
                                        f"{grade} ({score:.2f})", grade))
    chart.y_ticks = [Tick(frame.y(0.0), "0")] + [
        Tick(frame.y(value), f"{grade} {value:g}") for grade, value in thresholds]
    chart.x_ticks = frame.x_ticks(starts, interval)
    return chart
