"""Map data: the places (STIX ``location`` objects with coordinates, from the ``places``
stage or imported) that the matching documents mention, with how many documents mention each,
as an RFC 7946 GeoJSON ``FeatureCollection`` of points.

Documents are filtered as for the timeline (:class:`~allsource.analyze.timeline.TimelineFilter`)
except ``country``, which here selects the places in that country. Counts are of distinct
readable documents, computed in SQL. The world basemap drawn under the points ships with the
package (``allsource/web/static/basemap/countries-110m.geojson``, Natural Earth, public
domain), so the map works offline; :func:`basemap_path` finds it. :func:`countries` counts,
per country, the distinct readable documents that mention a place in it (the map's shading).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from allsource.analyze.countries import country_iso3, country_name
from allsource.analyze.graph import released
from allsource.analyze.timeline import TimelineFilter, document_filters
from allsource.errors import InputError
from allsource.model.markings import Audience
from allsource.store import schema as t
from allsource.store.sql import SqlStore

__all__ = ["basemap_path", "countries", "places"]

MAX_PLACES = 10_000


def basemap_path() -> Path:
    """The shipped Natural Earth 1:110m countries GeoJSON."""
    return (Path(__file__).resolve().parent.parent / "web" / "static" / "basemap"
            / "countries-110m.geojson")


def _coordinates(stix: dict[str, Any]) -> tuple[float, float] | None:
    lat, lon = stix.get("latitude"), stix.get("longitude")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return float(lon), float(lat)


def places(store: SqlStore, f: TimelineFilter, *, audience: Audience,
           limit: int = 2000) -> dict[str, Any]:
    """Mentioned places with coordinates, most-mentioned first, at most ``limit``."""
    if not 1 <= limit <= MAX_PLACES:
        raise InputError(f"limit must be 1–{MAX_PLACES}")
    d, m, o = t.documents, t.mentions, t.objects
    n = sa.func.count(sa.distinct(m.c.document_id)).label("documents")
    # a place is shown through the mentions the reader may read, and counted by them
    # (allsource.store.derived)
    counts = (sa.select(m.c.object_id, n).select_from(m.join(d, d.c.id == m.c.document_id))
              .where(*document_filters(store, f, audience, country=False),
                     released(m, audience))
              .group_by(m.c.object_id).subquery())
    q = (sa.select(o.c.id, o.c.name, o.c.stix, counts.c.documents)
         .join(counts, counts.c.object_id == o.c.id)
         .where(o.c.type == "location"))
    if f.country:
        q = q.where(o.c.stix["country"].as_string() == f.country.upper())
    # more rows than ``limit``: places without coordinates are skipped below
    q = q.order_by(counts.c.documents.desc(), o.c.id).limit(limit * 2 + 100)
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    features: list[dict[str, Any]] = []
    for oid, name, stix, docs in rows:
        point = _coordinates(stix or {})
        if point is None:
            continue
        features.append({
            "type": "Feature", "id": oid,
            "geometry": {"type": "Point", "coordinates": list(point)},
            "properties": {"id": oid, "name": name, "country": (stix or {}).get("country"),
                           "kind": (stix or {}).get("x_allsource_place_kind"),
                           "bbox": (stix or {}).get("x_allsource_bbox"),
                           "documents": int(docs)}})
        if len(features) == limit:
            break
    return {"type": "FeatureCollection", "features": features,
            "properties": {"places": len(features), "limit": limit,
                           "truncated": len(features) == limit}}


def countries(store: SqlStore, f: TimelineFilter, *, audience: Audience) -> list[dict[str, Any]]:
    """Per country (the ISO 3166 alpha-2 ``country`` of the mentioned places), the distinct
    documents matching ``f`` that mention a place in it, most first — through mentions the
    reader may read, in documents they may read, counted in SQL. Each row carries the
    country's name and alpha-3 code (the basemap's key)."""
    d, m, o = t.documents, t.mentions, t.objects
    code = o.c.stix["country"].as_string()
    n = sa.func.count(sa.distinct(m.c.document_id)).label("documents")
    q = (sa.select(code.label("country"), n)
         .select_from(m.join(d, d.c.id == m.c.document_id).join(o, o.c.id == m.c.object_id))
         .where(*document_filters(store, f, audience, country=False), released(m, audience),
                o.c.type == "location", code.is_not(None))
         .group_by(code).order_by(n.desc(), code))
    if f.country:
        q = q.where(code == f.country.upper())
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [{"country": c, "iso3": country_iso3(c), "name": country_name(c),
             "documents": int(k)} for c, k in rows if isinstance(c, str) and c.strip()]
