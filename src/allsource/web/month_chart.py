"""Small charts drawn on the server as inline SVG (no script, no CDN: the page's CSP allows
neither inline script nor other hosts).

:func:`month_bars` draws counts per month as bars on a continuous month axis — months
without a count are drawn as gaps, not skipped — with a few year labels and a count scale.
The SVG is built from numbers and labels this module formats itself; the only text taken
from the caller is the accessible title, escaped here. Each bar carries a ``<title>`` (the
month and its count) so a pointer or a screen reader can read it; a table of the same
figures stays on the page for those who would rather read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 160
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 10, 24
#: at most this many months are drawn (the latest ones)
MAX_MONTHS = 240


@dataclass(frozen=True, slots=True)
class Month:
    key: str   # YYYY-MM
    count: int


def _months_between(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    ly, lm = int(last[:4]), int(last[5:7])
    out = []
    while (y, m) <= (ly, lm):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def continuous(counts: Sequence[tuple[str, int]]) -> list[Month]:
    """Every month from the first to the last counted one (at most :data:`MAX_MONTHS`, the
    latest), with zero where nothing was counted."""
    valid = sorted((k, n) for k, n in counts if len(k) == 7 and k[:4].isdigit()
                   and k[4] == "-" and k[5:7].isdigit() and 1 <= int(k[5:7]) <= 12)
    if not valid:
        return []
    found = dict(valid)
    keys = _months_between(valid[0][0], valid[-1][0])[-MAX_MONTHS:]
    return [Month(k, found.get(k, 0)) for k in keys]


def month_bars(counts: Sequence[tuple[str, int]], title: str) -> Markup:
    """An SVG bar chart of ``counts`` (``(YYYY-MM, n)``), or empty markup when none."""
    months = continuous(counts)
    if not months:
        return Markup("")
    peak = max(m.count for m in months) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(months)
    bar = min(max(1.0, step * 0.8), 28.0)  # a few months must not make slabs
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" '
        f'y2="{TOP + plot_h}"/>',
    ]
    for value in sorted({0, peak // 2, peak}):
        y = TOP + plot_h - plot_h * value / peak
        parts.append(f'<text class="tick" x="{LEFT - 4}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{value}</text>')
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
                     f'y2="{y:.1f}"/>')
    every = max(1, len(months) // 8)
    for i, month in enumerate(months):
        x = LEFT + i * step
        if month.count:
            h = plot_h * month.count / peak
            parts.append(f'<rect class="bar" x="{x + (step - bar) / 2:.1f}" '
                         f'y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                         f'<title>{month.key}: {month.count}</title></rect>')
        first_of_year = month.key.endswith("-01")
        # the first month is labelled unless a year label follows within a few months
        lone_start = i == 0 and (len(months) <= 24 or int(month.key[5:7]) <= 9)
        if (len(months) <= 24 and i % every == 0) or (len(months) > 24 and first_of_year) \
                or lone_start:
            label = month.key if len(months) <= 24 or i == 0 else month.key[:4]
            parts.append(f'<text class="tick" x="{x + step / 2:.1f}" y="{HEIGHT - 6}" '
                         f'text-anchor="middle">{label}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
