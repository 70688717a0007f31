"""The early-warning page: the stored warnings a reader may read, and one series drawn with
its baseline — observed counts per day as bars, the detector's expectation as a line, the
band it takes as ordinary shaded, the days it flags ringed (:mod:`allsource.web.charts`),
with the same figures in a table.

The series, its band and its flags are computed for the reader from the documents they may
read (:mod:`allsource.assess.warning_series`); the warnings listed are those whose marking
they may read. A series with no readable document reads as an empty chart, whatever the
store holds. Reading only: warnings are raised by ``allsource warn run``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from allsource.assess import warning_series
from allsource.assess.warnings_run import list_warnings
from allsource.errors import AllsourceError
from allsource.web import charts
from allsource.web.routes import StoreDep, _page, _to_login, _viewer
from allsource.web.security import SecureRoute

router: APIRouter = APIRouter(route_class=SecureRoute, include_in_schema=False)

LISTED = 200
#: days drawn after a warning's day, when a warning is chosen
AFTER = 14


def _family(key: str) -> str:
    return {"topic": "topic", "country": "country", "entity": "entity", "source": "source",
            "gdelt": "GDELT events in", "tone": "GDELT tone in"}.get(key.partition(":")[0],
                                                                      "series")


def table_rows(view: warning_series.SeriesView) -> list[tuple[int, int]]:
    """The series table's rows as ``(first, last)`` index ranges: a day with documents, or
    a flagged one, is a row of its own; a run of quiet days — no coverage (a feed that was
    not collected then), or no documents and no flag — is one row, so a series that is
    mostly silent is not a table of 91 identical lines."""

    def quiet(i: int) -> str:
        observed = view.observed[i]
        if observed is None:
            return "gap"
        return "none" if observed == 0 and not view.flagged[i] else ""

    rows: list[tuple[int, int]] = []
    for i in range(len(view.observed)):
        kind = quiet(i)
        if kind and rows and rows[-1][1] == i - 1 and quiet(rows[-1][0]) == kind:
            rows[-1] = (rows[-1][0], i)
        else:
            rows.append((i, i))
    return rows


@router.get("/warnings", response_class=HTMLResponse)
def warnings_page(request: Request, store: StoreDep,
                  key: Annotated[str, Query(max_length=300)] = "",
                  day: Annotated[str, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = "") -> Response:
    """Recent warnings, and the series ``key`` around ``day`` (default: the newest
    warning's)."""
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    found = list_warnings(store, limit=LISTED, audience=viewer.audience)
    counted = [w for w in found if not w.key.startswith("tone:")]
    if not key and counted:
        key, day = counted[0].key, counted[0].day.isoformat()
    view, error = None, ""
    if key:
        try:
            chosen = date.fromisoformat(day) if day else date.today()
            view = warning_series.series_view(store, key, chosen + timedelta(days=AFTER)
                                              if day else chosen, viewer.audience)
        except (AllsourceError, ValueError) as exc:
            error = str(exc)
        if view is None and not error:
            error = "No document you may read counts in this series then."
    chart = None
    if view is not None:
        chart = charts.series_chart(view.starts, view.observed, view.expected, view.lower,
                                    view.upper, view.flagged)
    label = view.label if view is not None else next(
        (w.label for w in found if w.key == key), key.partition(":")[2])
    return _page("warnings.html", viewer, warnings=found, view=view, chart=chart,
                 rows=table_rows(view) if view is not None else [],
                 key=key, day=day, error=error, family=_family(key), label=label,
                 family_of=_family, nav_section="warnings",
                 link=lambda k, d: "/warnings?" + urlencode({"key": k, "day": d}))
