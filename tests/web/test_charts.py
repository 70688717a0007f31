"""The one chart helper: month buckets on a continuous axis, counts as bars, an early-warning
series with its band, line and flags, and grade bars on a fixed axis — geometry checked by
number, labels as a person reads them, bounded size on hostile input."""

from __future__ import annotations

from allsource.model.periods import Bucket
from allsource.web.charts import (
    MAX_MONTHS,
    grade_bars,
    month_buckets,
    series_chart,
    time_bars,
)


def test_empty_months_are_kept_on_the_axis() -> None:
    months = month_buckets([("2024-11", 2), ("2025-02", 5)])
    assert [(b.start, b.count) for b in months] == [
        ("2024-11-01", 2), ("2024-12-01", 0), ("2025-01-01", 0), ("2025-02-01", 5)]


def test_bad_keys_are_ignored_and_a_long_span_keeps_the_latest_months() -> None:
    assert month_buckets([("garbage", 3), ("2024-13", 1), ("<svg>", 1), ("0000-01", 2)]) == []
    months = month_buckets([("1900-01", 1), ("2024-06", 3)])
    assert len(months) == MAX_MONTHS and months[-1].start == "2024-06-01"
    assert sum(b.count for b in months) == 3  # 1900 is outside the window


def test_bars_are_in_proportion_and_carry_their_period_and_link() -> None:
    chart = time_bars(month_buckets([("2024-11", 2), ("2025-02", 5)]), "month",
                      lambda start: f"/t?start={start}")
    drawn = [b for b in chart.bars if b.count]
    assert [b.label for b in drawn] == ["November 2024: 2 document(s)",
                                        "February 2025: 5 document(s)"]
    assert drawn[0].href == "/t?start=2024-11-01"
    # the y axis goes up in round steps of 2 to 6, the first above the peak
    assert [t.label for t in chart.y_ticks] == ["0", "2", "4", "6"]
    plot = chart.bottom - chart.top
    assert abs(drawn[1].height - plot * 5 / 6) < 0.01
    assert abs(drawn[0].height / drawn[1].height - 2 / 5) < 1e-3


def test_a_small_count_is_never_invisible() -> None:
    chart = time_bars([Bucket("2024-01-01", "", 1), Bucket("2024-01-02", "", 100_000)], "day")
    assert chart.bars[0].height == 2.0


def test_series_chart_draws_band_line_and_flags_where_they_exist() -> None:
    starts = ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"]
    chart = series_chart(starts, [3, None, 4, 30], [None, None, 4.0, 5.0],
                         [None, None, 1, 1], [None, None, 9, 11], [False, False, False, True])
    # the flagged day is ringed at the top of its bar, with what a reader needs
    [mark] = chart.marks
    assert mark.label == "4 Mar 2024: 30 document(s), 5.0 expected (ordinary 1–11), flagged"
    assert mark.cy == chart.bars[3].y
    # a day without coverage says so and has no bar
    assert chart.bars[1].count == 0 and chart.bars[1].label.endswith("no coverage")
    # line and band only over the two days with a baseline: one segment each
    assert chart.line.count("M") == 1 and chart.line.count("L") == 1
    assert chart.band.count("M") == 1 and chart.band.endswith("Z")
    # the axis reaches the highest of observed and band
    assert chart.bars[3].height == chart.bottom - chart.top


def test_grade_bars_on_a_fixed_axis() -> None:
    chart = grade_bars(["2024-01-01", "2024-02-01"], [None, 0.8], ["F", "B"],
                       [("A", 0.9), ("B", 0.75)])
    assert chart.bars[0].count == 0 and chart.bars[0].tag == "F"
    assert chart.bars[1].tag == "B" and chart.bars[1].label.endswith("grade B, score 0.80")
    plot = chart.bottom - chart.top
    assert abs(chart.bars[1].height - 0.8 * plot) < 0.01
    assert [t.label for t in chart.y_ticks] == ["0", "A 0.9", "B 0.75"]


def test_nothing_to_draw() -> None:
    assert time_bars([], "month").bars == []
    assert series_chart([], [], [], [], [], []).bars == []
    assert grade_bars([], [], [], []).bars == []
