"""``/export``: a selection as a STIX 2.1 bundle or a MISP event, for the caller (see
:mod:`allsource.share.exports`; the same file ``allsource export`` writes). Sharing is a read
like any other: the caller's audience decides what the file holds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from allsource.api.deps import AudienceDep, StoreDep, utc
from allsource.share import exports

router = APIRouter(prefix="/export", tags=["export"])

Text = Annotated[str | None, Query(max_length=300)]


@router.get("", responses={200: {"content": {"application/stix+json": {},
                                             "application/json": {}}}})
def export_selection(
    store: StoreDep, audience: AudienceDep,
    format: Annotated[Literal["stix", "misp"], Query(
        description="stix: a STIX 2.1 bundle; misp: one MISP event.")] = "stix",
    story: Text = None, case: Text = None, query: Text = None, entity: Text = None,
    watchlist: Text = None, since: datetime | None = None, until: datetime | None = None,
) -> Response:
    """Export a story, a case, a search's matches, an entity with its neighbourhood, a
    watchlist's hits or (with none of these) the documents collected in since/until."""
    found = exports.export(store, audience, format, story=story, case=case, query=query,
                           entity=entity, watchlist=watchlist, since=utc(since),
                           until=utc(until))
    name = f"allsource-{found.selection.kind}.{'stix' if format == 'stix' else 'misp'}.json"
    return Response(found.body, media_type=found.media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Allsource-Objects": str(found.objects),
        "X-Allsource-Truncated": "1" if found.selection.truncated else "0"})
