"""The ``places`` stage: place names (continents, countries, first-level divisions and counties
worldwide, cities ≥ 15,000 inhabitants and nationality adjectives) resolved offline to GeoNames
places by :mod:`allsource.process.geocode`.

Each resolved place becomes a STIX ``location`` with a deterministic id minted from its
GeoNames id (the same place found in two documents is one object), mentioned at its span in
:attr:`Work.full_text`; ``annotations["places"]`` lists the ISO2 countries and the count. The
stage is the only producer of locations in the pipeline (the entity gazetteer reads no place
galaxies), so "Ukraine" is one object. It runs after ``entities`` and drops a place inside the
name of a threat actor, malware, tool or campaign found there ("Mustang Panda", "BRONZE
KEYSTONE", "Windy Phoenix"). Areas carry ``x_allsource_bbox`` ([south, west, north,
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


#: Entity types whose names are never places ("Mustang Panda", "BRONZE KEYSTONE", "Nexus Zeta").
THREAT_TYPES = frozenset({"intrusion-set", "threat-actor", "malware", "tool", "campaign"})


def _threat_spans(work: Work) -> list[tuple[int, int]]:
    """Spans of the threat actors, malware, tools and campaigns the ``entities`` stage found."""
    threats = {o.id for o in work.objects if o.type in THREAT_TYPES}
    return [(m.start, m.end) for m in work.mentions
            if m.object_id in threats and m.start is not None and m.end is not None]


class PlacesStage(Stage):
    name: ClassVar[str] = "places"
    # 4: a tie between same-named cities goes to the division the other places lie in
    # 5: a place inside a longer name through common words ("Santander Central Hispano");
    # distinctive divisions ("Kentucky"), "Ky." after a town, datelines ("COLUMBUS --"),
    # a big city beats a small namesake without local evidence (Moscow, not Moscow, Idaho)
    version: ClassVar[str] = "5"
    description: ClassVar[str] = "offline geoparsing of place names (GeoNames)"
    requires: ClassVar[tuple[str, ...]] = ("entities",)
    order: ClassVar[int] = 45

    def setup(self) -> None:
        self.geocoder: Geocoder = default_geocoder()

    def process(self, batch: list[Work]) -> None:
        if not hasattr(self, "geocoder"):
            self.setup()
        for work in batch:
            taken = _threat_spans(work)
            places = [p for p in self.geocoder.find(work.full_text)
                      if not any(p.start < end and start < p.end for start, end in taken)]
            for place in places:
                work.add_object(location_object(place), self.extractor, place.start, place.end)
            work.annotations[self.name] = {"countries": countries(places),
                                           "places": len(places)}


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [PlacesStage]
