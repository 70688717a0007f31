"""The ``places`` stage: place names (continents, countries, first-level divisions and counties
worldwide, cities ≥ 15,000 inhabitants and nationality adjectives) resolved offline to GeoNames
places by :mod:`allsource.process.geocode`.

Each resolved place becomes a STIX ``location`` with a deterministic id minted from its
GeoNames id (the same place found in two documents is one object), mentioned at its span in
:attr:`Work.full_text`; ``annotations["places"]`` lists the ISO2 countries and the count. The
stage is the only producer of locations in the pipeline (the entity gazetteer reads no place
galaxies), so "Ukraine" is one object. Areas carry ``x_allsource_bbox`` ([south, west, north,
east]); the point of a country is its centroid, not its capital.
"""

from __future__ import annotations

from typing import Any, ClassVar

from allsource.hookspecs import hookimpl
from allsource.model.ids import minted_id
from allsource.model.records import StixObject
from allsource.process.base import Stage, Work
from allsource.process.geocode import Geocoder, Place, countries, default_geocoder


def location_object(place: Place) -> StixObject:
    """The STIX 2.1 ``location`` of ``place``."""
    object_id = minted_id("location", f"geonames:{place.geonameid}")
    stix: dict[str, Any] = {"type": "location", "spec_version": "2.1", "id": object_id,
                            "name": place.name, "x_allsource_geonameid": place.geonameid,
                            "x_allsource_place_kind": place.kind}
    if place.country_code:  # a continent has none
        stix["country"] = place.country_code
    if place.latitude is not None and place.longitude is not None:
        stix["latitude"], stix["longitude"] = place.latitude, place.longitude
    if place.region:
        stix["region"] = place.region
    if place.bbox:
        stix["x_allsource_bbox"] = list(place.bbox)
    return StixObject(id=object_id, type="location", name=place.name, stix=stix)


class PlacesStage(Stage):
    name: ClassVar[str] = "places"
    version: ClassVar[str] = "2"
    description: ClassVar[str] = "offline geoparsing of place names (GeoNames)"
    order: ClassVar[int] = 45

    def setup(self) -> None:
        self.geocoder: Geocoder = default_geocoder()

    def process(self, batch: list[Work]) -> None:
        if not hasattr(self, "geocoder"):
            self.setup()
        for work in batch:
            places = self.geocoder.find(work.full_text)
            for place in places:
                work.add_object(location_object(place), self.extractor, place.start, place.end)
            work.annotations[self.name] = {"countries": countries(places),
                                           "places": len(places)}


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [PlacesStage]
