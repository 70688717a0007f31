"""A source's page: what it is, its reliability grade as the reader may see it (with the
rule that gave it) and its grade history — the grade at the end of each month, replayed
from the reports the reader may read (:mod:`allsource.verify.grade_history`) — drawn as
scores on the grade thresholds, with a table of the same figures.

A source the reader may not read answers like a missing one (the store's
:meth:`~allsource.store.sql.SqlStore.readable_source`).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from allsource.model.admiralty import Reliability
from allsource.verify.audience import grade_for
from allsource.verify.grade_history import claim_rows, grade_history
from allsource.web import charts
from allsource.web.routes import StoreDep, _not_found, _page, _to_login, _viewer
from allsource.web.security import SecureRoute

router: APIRouter = APIRouter(route_class=SecureRoute, include_in_schema=False)

#: the lowest score of each grade (verify.grading), drawn as the chart's y ticks
THRESHOLDS = [("D", 0.4), ("C", 0.6), ("B", 0.75), ("A", 0.9)]
#: above this many claims the history (seconds of grading) is drawn only when asked for
HISTORY_ON_REQUEST = 3000


@router.get("/sources/{source_ref}", response_class=HTMLResponse)
def source_page(request: Request, store: StoreDep, source_ref: str,
                history: Annotated[str, Query(pattern="^(|all)$")] = "") -> Response:
    """The source, its grade, and its grade history (for a prolific source, on request:
    ``history=all``)."""
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    source = store.readable_source(source_ref, viewer.audience)
    if source is None:
        return _not_found(viewer)
    grade = grade_for(store, "source", source.id, viewer.audience)
    claims = claim_rows(store, source.id, viewer.audience)
    deferred = claims > HISTORY_ON_REQUEST and history != "all"
    points = [] if deferred else grade_history(store, source.id, source.name,
                                               viewer.audience)
    chart = charts.grade_bars([p.month for p in points], [p.score for p in points],
                              [p.grade for p in points], THRESHOLDS)
    letter = (grade or {}).get("reliability") or "F"
    return _page("source.html", viewer, source=source, grade=grade, letter=letter,
                 meaning=Reliability.parse(letter).meaning, history=points, chart=chart,
                 deferred=deferred, claims=claims,
                 full="/sources/" + quote(source.name, safe="") + "?history=all",
                 timeline="/timeline?" + urlencode({"source": source.name}),
                 nav_section="")
