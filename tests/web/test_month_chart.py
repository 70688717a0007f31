"""The server-drawn month chart: a continuous axis (empty months drawn as gaps, not
skipped), one bar per counted month with its figure in a ``<title>``, escaped caller text,
and a bounded size on hostile input."""

from __future__ import annotations

import re

from allsource.web.month_chart import MAX_MONTHS, continuous, month_bars


def test_empty_months_are_kept_on_the_axis() -> None:
    months = continuous([("2024-11", 2), ("2025-02", 5)])
    assert [(m.key, m.count) for m in months] == [
        ("2024-11", 2), ("2024-12", 0), ("2025-01", 0), ("2025-02", 5)]


def test_bars_carry_their_month_and_count() -> None:
    svg = str(month_bars([("2024-11", 2), ("2025-02", 5)], "Mentions of <b>X</b>"))
    assert svg.count('<rect class="bar"') == 2
    assert "<title>2024-11: 2</title>" in svg and "<title>2025-02: 5</title>" in svg
    assert "Mentions of &lt;b&gt;X&lt;/b&gt;" in svg and "<b>" not in svg
    # the tallest bar fills the plot (160 - 10 - 24 px), the other is in proportion
    heights = [float(h) for h in re.findall(r'height="([\d.]+)"><title>', svg)]
    assert heights[1] == 126.0 and abs(heights[0] / heights[1] - 2 / 5) < 1e-3


def test_nothing_to_draw_and_bad_keys() -> None:
    assert str(month_bars([], "x")) == ""
    assert continuous([("garbage", 3), ("2024-13", 1), ("<svg>", 1)]) == []


def test_a_long_span_is_cut_to_the_latest_months() -> None:
    months = continuous([("1900-01", 1), ("2024-06", 3)])
    assert len(months) == MAX_MONTHS and months[-1].key == "2024-06"
    assert str(month_bars([("1900-01", 1), ("2024-06", 3)], "x")).count("<rect") == 1
