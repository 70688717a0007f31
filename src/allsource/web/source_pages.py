"""A source's page: what it is, its reliability grade as the reader may see it (with the
rule that gave it) and its grade history — the grade at the end of each month, replayed
from the reports the reader may read (:mod:`allsource.verify.grade_history`) — drawn as
scores on the grade thresholds, with a table of the same figures.

A source the reader may not read answers like a missing one (the store's
:meth:`~allsource.store.sql.SqlStore.readable_source`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from allsource.model.admiralty import Reliability
from allsource.verify.audience import grade_for
from allsource.verify.grade_history import grade_history
from allsource.web import charts
from allsource.web.routes import StoreDep, _not_found, _page, _to_login, _viewer
from allsource.web.security import SecureRoute

router: APIRouter = APIRouter(route_class=SecureRoute, include_in_schema=False)

#: the lowest score of each grade (verify.grading), drawn as the chart's y ticks
THRESHOLDS = [("D", 0.4), ("C", 0.6), ("B", 0.75), ("A", 0.9)]


@router.get("/sources/{source_ref}", response_class=HTMLResponse)
def source_page(request: Request, store: StoreDep, source_ref: str) -> Response:
    viewer = _viewer(request, store)
    if viewer is None:
        return _to_login(request)
    source = store.readable_source(source_ref, viewer.audience)
    if source is None:
        return _not_found(viewer)
    grade = grade_for(store, "source", source.id, viewer.audience)
    history = grade_history(store, source.id, source.name, viewer.audience)
    chart = charts.grade_bars([p.month for p in history], [p.score for p in history],
                              [p.grade for p in history], THRESHOLDS)
    letter = (grade or {}).get("reliability") or "F"
    return _page("source.html", viewer, source=source, grade=grade, letter=letter,
                 meaning=Reliability.parse(letter).meaning, history=history, chart=chart,
                 timeline="/timeline?" + urlencode({"source": source.name}),
                 nav_section="")
