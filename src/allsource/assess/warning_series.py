"""One early-warning series as a reader may see it: observed counts per day, the detector's
expectation and band, and the days it flags — what the workspace's early-warning chart draws.

The series is counted again for the reader (:func:`allsource.assess.baseline.build_series`
with their audience: only documents they may read), and the count detector is run over it
as ``warn run`` runs it (:func:`~allsource.assess.early_warning.detect_counts`, the default
:class:`~allsource.assess.early_warning.CountParams`), with
:func:`~allsource.assess.early_warning.count_band` for the band. So a reader who may not read
some of the documents sees the series, the expectation and the flags their own documents
give, never a figure that rests on a document above them; the stored warnings listed beside
it are filtered by their marking (:func:`~allsource.assess.warnings_run.list_warnings`).

The detector needs history before the days shown — two windows and the cool-down, as
``warn run`` reads — so the series is built from that far back and only the last
:data:`SHOWN_DAYS` days are returned. Days outside the store's coverage (before its first or
after its last readable document) are ``None``: nothing was collected then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from allsource.assess.baseline import FAMILIES, build_series
from allsource.assess.early_warning import CountParams, count_band, detect_counts
from allsource.errors import InputError
from allsource.model.markings import Audience
from allsource.store.sql import SqlStore

__all__ = ["SHOWN_DAYS", "SeriesView", "series_view"]

#: days drawn, ending at the day asked for
SHOWN_DAYS = 91


@dataclass(slots=True)
class SeriesView:
    key: str
    label: str
    starts: list[str] = field(default_factory=list)
    observed: list[float | None] = field(default_factory=list)
    expected: list[float | None] = field(default_factory=list)
    lower: list[float | None] = field(default_factory=list)
    upper: list[float | None] = field(default_factory=list)
    flagged: list[bool] = field(default_factory=list)
    params: CountParams = field(default_factory=CountParams)


def _num(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def series_view(store: SqlStore, key: str, end: date, audience: Audience,
                params: CountParams | None = None, days: int = SHOWN_DAYS) -> SeriesView | None:
    """The count series ``key`` (``topic:…``, ``country:…``, ``entity:…``, ``source:…``,
    ``gdelt:…``) over the ``days`` days ending at ``end`` as ``audience`` sees it; ``None``
    when it has no readable document in that time."""
    family = key.partition(":")[0]
    if family not in FAMILIES or family == "tone" or ":" not in key:
        raise InputError(f"not a count series: {key!r}")
    p = params or CountParams()
    first_shown = end - timedelta(days=days - 1)
    start = first_shown - timedelta(days=2 * p.window + p.cooldown)
    found = build_series(store, start, end, families=[family], audience=audience,
                         min_total=1, patterns=[key]).series.get(key)
    if found is None:
        return None
    det = detect_counts(found.counts, found.first_weekday, p)
    lower, upper = count_band(found.counts, found.first_weekday, p)
    lo = found.index(first_shown)
    view = SeriesView(key, found.label, params=p)
    for i in range(lo, len(found.counts)):
        view.starts.append(found.day(i).isoformat())
        view.observed.append(_num(found.counts[i]))
        view.expected.append(_num(det.expected[i]))
        view.lower.append(_num(lower[i]))
        view.upper.append(_num(upper[i]))
        view.flagged.append(bool(det.warning[i]))
    if all(v is None or v == 0 for v in view.observed):
        return None
    return view
