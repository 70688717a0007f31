"""Watchlists: analysts' priority intelligence requirements, matched against every document as
it is processed.

A watchlist has a name, a severity, an owner, a marking (what an organisation watches can
itself be sensitive) and terms of five kinds, each normalised when it is added. The marking
defaults to its creator's TLP ceiling (:func:`default_marking`: TLP:RED for the local
operator, the role's or user's ceiling over the API), never to TLP:CLEAR: a new watchlist's
terms are seen by those who may see what its creator sees, until the creator marks it for
wider sharing (``--tlp``, ``tlp``).

* ``keyword`` — any phrase, matched in any case on whole words of the document text;
* ``entity`` — a threat actor, malware, tool, campaign, sector or country the gazetteer knows,
  stored as its canonical entity id, so watching "Fancy Bear" matches a document that says
  "APT28" (the ``entities`` stage resolved it to the same id);
* ``observable`` — an IP, CIDR, domain, URL, e-mail, hash, CVE …, refanged and cleaned by the
  value types; it matches the observables the ``observables`` stage found (defanged ones
  included). A domain also matches its subdomains and URLs or e-mail addresses on it; a CIDR
  matches the addresses inside it;
* ``place`` — a country (any place the ``places`` stage found in it, by ISO 3166 code), or a
  city, state or coordinate pair with a radius (places found within that many kilometres,
  great-circle distance);
* ``sector`` — a topic of the ``topics`` classifier (``cyber``, ``economic`` …) assigned to
  the document, or a sector the gazetteer knows ("Energy") mentioned in it.

Matching (:class:`Matcher`) compiles every term once. Keywords go into Aho–Corasick automata
(``pyahocorasick``). A keyword of words (letters, digits, ``_``) is matched as the gazetteer
matches names (:mod:`allsource.process.entities`): the text is folded — lower case, every other
character a space, same length, so offsets carry over — and padded with spaces, and so is the
keyword, so one linear pass reports exactly the whole-word occurrences ("power grid" also
matches "Power-Grid" or a line break between the words, never "superpower gridlock"). A keyword
with punctuation ("U.S.", "C++") goes into a second automaton over the lower-cased text, and
its word boundaries are checked on the original text per occurrence. Everything else is
a dictionary lookup per object the earlier stages proposed (entity ids, observable values,
each parent domain of a domain, one network per CIDR prefix length in use, ISO codes,
GeoNames ids, assigned topics); radius terms sit in a grid of one-degree cells covering the
box around their circle, so a place is compared only with the terms of its cell. Cost grows
with the document and the number of hits, not with the number of terms (see
``benchmarks/watchlists.py``).

A hit is one (term, document) pair with its first evidence: the matched text and span, or the
object or topic that matched, and how often it occurred. Matching is incremental — the
``watchlist`` stage (:mod:`allsource.process.stages.watchlist`) matches each document as it is
processed, records new hits in ``watchlist_hits`` (unique per term and document, so
reprocessing adds nothing) and raises one alert per watchlist and document through
:func:`allsource.assess.alerts.raise_alerts`, grouped there per story. A term added later
applies to documents processed from then on; :func:`backfill` applies it to the documents
already processed by looking them up — every full-text match of a keyword (unranked and
uncapped: :meth:`SqlStore.matching_ids`, not ranked search, which stops at its caps), stored
mentions and objects for entities, observables and places, stored topic results for sectors —
not by reading every text again.
"""

from __future__ import annotations

import ipaddress
import math
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ahocorasick
import sqlalchemy as sa

from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
from allsource.assess.watchlist_hits import readable_counts
from allsource.errors import InputError
from allsource.model.ids import minted_id
from allsource.model.markings import TLP, Audience, Marking, can_release
from allsource.model.types import clean
from allsource.process.aliases import alias_key, fold
from allsource.process.observables import extract_observables
from allsource.store import schema as t
from allsource.store.sql import aware, chunks, utc_now

if TYPE_CHECKING:
    from allsource.process.base import Work
    from allsource.process.entities import Gazetteer
    from allsource.process.geocode import Geocoder
    from allsource.store.sql import SqlStore

__all__ = [
    "DEFAULT_RADIUS_KM", "KINDS", "Hit", "Matcher", "StoredHit", "Term", "TermSpec", "Watchlist",
    "add_terms", "backfill", "deliver", "entity_spec", "get_watchlist", "haversine_km",
    "keyword_spec", "list_hits", "list_watchlists", "load_active", "observable_spec",
    "place_spec", "remove_term", "remove_watchlist", "save_watchlist", "sector_spec",
]

KINDS = ("entity", "keyword", "observable", "place", "sector")
WATCHLIST_TYPE = "x-allsource-watchlist"
DEFAULT_RADIUS_KM = 25.0
MAX_RADIUS_KM = 2000.0
EARTH_RADIUS_KM = 6371.0088
MAX_KEYWORD = 200
#: hits listed in a document's ``annotations["watchlist"]`` (all are in ``watchlist_hits``)
MAX_LISTED = 100
#: what a whole-string observable term is tried as when extraction finds none in it (a file
#: name must have a known extension, which extraction already recognises)
_OBSERVABLE_ORDER = ("ipv4", "ipv6", "cidr", "url", "email", "md5", "sha1", "sha256", "sha512",
                     "cve", "attack-id", "asn", "btc", "domain", "regkey")
_COORDS = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
_SPACES = re.compile("[\t\n\r\x0b\x0c\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
                     "\u205f\u3000]")
_ASCII_LOWER = bytes(c + 32 if 65 <= c <= 90 else 32 if c in b"\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
                     else c for c in range(256))


# --- terms ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TermSpec:
    """A normalised term, before it is stored. ``value`` is what matching compares: a keyword
    lower-cased with single spaces, an entity id, a cleaned observable, ``country:UA``,
    ``geonames:698740`` or ``point:46.4857,30.7438``, a topic name."""

    kind: str
    value: str
    display: str
    value_type: str = ""
    radius_km: float | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class Term:
    id: int
    watchlist_id: str
    kind: str
    value: str
    display: str
    value_type: str = ""
    radius_km: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    #: the entity id an entity or sector term resolves to now (set by :func:`resolve_refs`)
    ref: str = ""

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Term:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Watchlist:
    id: str
    name: str
    severity: int
    owner: str = "analyst"
    description: str = ""
    enabled: bool = True
    marking: Marking = field(default_factory=Marking)
    created_at: datetime | None = None
    terms: tuple[Term, ...] = ()

    @property
    def severity_label(self) -> str:
        return Severity(self.severity).label

    def as_json(self) -> dict[str, Any]:
        """Plain JSON (stage options travel to pool and Dask workers)."""
        return {"id": self.id, "name": self.name, "severity": self.severity,
                "owner": self.owner, "description": self.description, "enabled": self.enabled,
                "marking": self.marking.to_columns(),
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "terms": [term.as_json() for term in self.terms]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Watchlist:
        created = data.get("created_at")
        return cls(id=data["id"], name=data["name"], severity=int(data["severity"]),
                   owner=data.get("owner", "analyst"), description=data.get("description", ""),
                   enabled=bool(data.get("enabled", True)),
                   marking=Marking.from_columns(dict(data.get("marking") or {})),
                   created_at=datetime.fromisoformat(created) if created else None,
                   terms=tuple(Term.from_json(x) for x in data.get("terms", ())))


def keyword_key(text: str) -> str:
    """A keyword as matching compares it: lower-case, single spaces."""
    return " ".join(_lowered(text).split())


def keyword_spec(text: str) -> TermSpec:
    key = keyword_key(text)
    if not any(c.isalnum() for c in key) or len(key) > MAX_KEYWORD:
        raise InputError(f"not a keyword: {text!r} (needs a letter or digit, at most "
                         f"{MAX_KEYWORD} characters)")
    return TermSpec("keyword", key, " ".join(text.split()))


def entity_spec(text: str, gazetteer: Gazetteer) -> TermSpec:
    """An entity term: the canonical id of the entity the gazetteer knows by ``text``."""
    entity = gazetteer.resolve(text)
    if entity is None:
        raise InputError(f"no entity known as {text!r} (ATT&CK and MISP galaxy names and "
                         "aliases); watch it as a keyword instead (--keyword)")
    shown = " ".join(text.split())
    if alias_key(shown) != alias_key(entity.name):
        shown = f"{shown} ({entity.name})"
    return TermSpec("entity", entity.id, shown, entity.type)


def observable_spec(text: str) -> TermSpec:
    """An observable term, refanged and cleaned by its value type (``evil[.]com`` →
    ``evil.com``)."""
    raw = text.strip()
    whole = [f for f in extract_observables(raw) if f.start == 0 and f.end == len(raw)]
    if whole:
        return TermSpec("observable", whole[0].value.lower(), whole[0].value, whole[0].type)
    for kind in _OBSERVABLE_ORDER:
        value = clean(kind, raw)
        if value is not None and (kind != "domain" or "." in value):
            return TermSpec("observable", value.lower(), value, kind)
    raise InputError(f"not an observable: {text!r} (IP, CIDR, domain, URL, e-mail, hash, "
                     "CVE, ATT&CK id, ASN, bitcoin address, file name or registry key)")


def place_spec(text: str, geocoder: Geocoder, radius_km: float | None = None) -> TermSpec:
    """A place term: a country (by ISO code; ``radius_km`` does not apply), or a city, state
    or ``lat,lon`` pair with a radius (default :data:`DEFAULT_RADIUS_KM`). ``Name, Country``
    or ``Name, State`` picks among places of one name; otherwise the geocoder's order
    (country, state, city; then population) decides."""
    radius = DEFAULT_RADIUS_KM if radius_km is None else float(radius_km)
    if not 0 <= radius <= MAX_RADIUS_KM:
        raise InputError(f"a radius is 0-{MAX_RADIUS_KM:.0f} km, not {radius_km}")
    coords = _COORDS.match(text)
    if coords:
        lat, lon = float(coords.group(1)), float(coords.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise InputError(f"not a latitude,longitude pair: {text!r}")
        return TermSpec("place", f"point:{lat:.4f},{lon:.4f}", f"{lat:.4f},{lon:.4f}", "point",
                        radius, lat, lon)
    name, _, qualifier = text.partition(",")
    entry = geocoder.keys.get(alias_key(name))
    if entry is None or not alias_key(name):
        raise InputError(f"unknown place {text!r}: give a continent, a country, a state or "
                         "province, a county, a city of 15,000+ inhabitants (GeoNames), or "
                         "latitude,longitude")
    records = [(i, geocoder.records[i]) for i in entry[0]]
    if not qualifier.strip():  # the geocoder's kind rules: "Odesa" the city, not the oblast
        records = [(i, geocoder.records[i]) for i in geocoder.shortlist(entry[0])]
    else:
        within = _qualifying(geocoder, qualifier)
        records = [(i, r) for i, r in records
                   if r[2] in within or r[3] in within or f"{r[2]}.{r[3]}" in within]
        if not records:
            raise InputError(f"no place {name.strip()!r} in {qualifier.strip()!r}")
    from allsource.process.geocode import KIND_RANK

    _, best = max(records, key=lambda ir: (KIND_RANK[ir[1][1]], ir[1][6], -ir[0]))
    place_name, kind, iso, _, lat_, lon_, _, geonameid, *_ = best
    if kind == "country":
        return TermSpec("place", f"country:{iso}", place_name, "country")
    return TermSpec("place", f"geonames:{geonameid}", f"{place_name} ({iso})", kind, radius,
                    lat_, lon_)


def _qualifying(geocoder: Geocoder, qualifier: str) -> set[str]:
    """ISO codes (``UA``), first-level division codes (``DC``) and ``ISO.state`` keys
    (``US.TX``) a qualifier may name."""
    found = {"".join(c for c in qualifier.upper() if c.isalnum())}
    entry = geocoder.keys.get(alias_key(qualifier))
    for i in entry[0] if entry else ():
        _, kind, iso, admin1, *_ = geocoder.records[i]
        if kind != "continent":
            found.add(iso if kind == "country" else f"{iso}.{admin1}")
    return found


def sector_spec(text: str, topics: Iterable[str], gazetteer: Gazetteer) -> TermSpec:
    """A sector term: a topic of the classifier, or a sector the gazetteer knows."""
    key = "-".join(text.strip().lower().replace("_", " ").replace("/", " ").split())
    if key in set(topics):
        return TermSpec("sector", key, key, "topic")
    entity = gazetteer.resolve(text)
    if entity is not None and entity.type == "sector":
        return TermSpec("sector", key, entity.name, "sector")
    raise InputError(f"unknown sector {text!r}: use a topic ({', '.join(sorted(topics))}) or a "
                     "MISP sector (Energy, Finance, Health …)")


def resolve_refs(watchlists: Sequence[Watchlist], gazetteer: Gazetteer) -> list[Watchlist]:
    """The watchlists with each entity and sector term's current entity id in ``ref``: an
    analyst's merge or undo since the term was added moves it with the entity."""
    out = []
    for wl in watchlists:
        terms = []
        for term in wl.terms:
            if term.kind in ("entity", "sector"):
                entity = gazetteer.resolve(term.value) or gazetteer.resolve(term.display)
                ok = entity is not None and (term.kind == "entity" or entity.type == "sector")
                term = replace(term, ref=entity.id if entity is not None and ok else "")
            terms.append(term)
        out.append(replace(wl, terms=tuple(terms)))
    return out


# --- matching ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Hit:
    """A term found in a document: the first evidence (matched text and span, or the object
    or topic that matched) and how many times it occurred."""

    term: Term
    matched: str
    start: int | None = None
    end: int | None = None
    evidence: str = ""
    occurrences: int = 1

    def as_json(self) -> dict[str, Any]:
        return {"term_id": self.term.id, "kind": self.term.kind, "term": self.term.display,
                "matched": self.matched,
                "span": [self.start, self.end] if self.start is not None else None,
                "evidence": self.evidence, "occurrences": self.occurrences}


def _lowered(text: str) -> str:
    """Lower case and whitespace as spaces, same length as ``text`` (offsets carry over)."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_LOWER).decode("ascii")
    low = text.lower()
    if len(low) != len(text):  # "İ" lowercases to two characters: keep such ones as they are
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    return _SPACES.sub(" ", low)


def _url_host(url: str) -> str:
    """The host of a cleaned URL (``urlsplit`` costs ten times more)."""
    authority = url.partition("://")[2].partition("/")[0].partition("?")[0].partition("#")[0]
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return host[1:host.find("]")]
    return host.partition(":")[0]


def _word(c: str) -> bool:
    return c.isalnum() or c == "_"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _cells(lat: float, lon: float, radius: float) -> Iterator[tuple[int, int]]:
    """The one-degree cells that the box around a circle overlaps."""
    dlat = radius / 110.574
    cos = math.cos(math.radians(min(89.9, abs(lat) + dlat)))
    dlon = radius / (111.320 * cos) if cos > 0 else 360.0
    lons = (range(-180, 180) if dlon >= 180
            else [((x + 180) % 360) - 180 for x in range(math.floor(lon - dlon),
                                                         math.floor(lon + dlon) + 1)])
    for y in range(math.floor(max(-90.0, lat - dlat)), math.floor(min(90.0, lat + dlat)) + 1):
        for x in lons:
            yield y, x


class Matcher:
    """Every term of the given watchlists, compiled for matching (see the module doc)."""

    def __init__(self, watchlists: Iterable[Watchlist]) -> None:
        self.watchlists = {w.id: w for w in watchlists if w.enabled}
        self.terms: list[Term] = [term for w in self.watchlists.values() for term in w.terms]
        keywords: dict[str, list[int]] = defaultdict(list)
        self._objects: dict[str, list[int]] = defaultdict(list)  # entity ids
        self._values: dict[str, list[int]] = defaultdict(list)  # observables, exact
        self._domains: dict[str, list[int]] = defaultdict(list)
        #: (IP version, prefix length) → network address >> host bits → terms
        self._networks: dict[tuple[int, int], dict[int, list[int]]] = defaultdict(
            lambda: defaultdict(list))
        self._countries: dict[str, list[int]] = defaultdict(list)
        self._geonames: dict[int, list[int]] = defaultdict(list)
        self._grid: dict[tuple[int, int], list[int]] = defaultdict(list)
        self._topics: dict[str, list[int]] = defaultdict(list)
        for i, term in enumerate(self.terms):
            self._add(i, term, keywords)
        # keywords of words and single spaces are matched padded in the padded, folded text
        # (whole words by construction); the few with punctuation ("U.S.", "C++") in the
        # lower-cased text, with the word boundaries checked per occurrence
        self._words: Any = ahocorasick.Automaton()
        self._others: Any = ahocorasick.Automaton()
        for key, indices in keywords.items():
            if alias_key(key) == key:
                self._words.add_word(f" {key} ", (len(key) + 2, tuple(indices)))
            else:
                self._others.add_word(key, (len(key), tuple(indices), _word(key[0]),
                                            _word(key[-1])))
        for automaton in (self._words, self._others):
            if len(automaton):
                automaton.make_automaton()

    def _add(self, i: int, term: Term, keywords: dict[str, list[int]]) -> None:
        if term.kind == "keyword":
            keywords[term.value].append(i)
        elif term.kind == "entity":
            self._objects[term.ref or term.value].append(i)
        elif term.kind == "observable":
            self._values[term.value].append(i)
            if term.value_type == "domain":
                self._domains[term.value].append(i)
            elif term.value_type == "cidr":
                net = ipaddress.ip_network(term.value, strict=False)
                host_bits = net.max_prefixlen - net.prefixlen
                self._networks[net.version, net.prefixlen][
                    int(net.network_address) >> host_bits].append(i)
        elif term.kind == "place":
            self._place_term(i, term)
        elif term.kind == "sector":
            self._topics[term.value].append(i)
            if term.ref:
                self._objects[term.ref].append(i)

    def _place_term(self, i: int, term: Term) -> None:
        kind, _, value = term.value.partition(":")
        if kind == "country":
            self._countries[value].append(i)
            return
        if kind == "geonames":
            self._geonames[int(value)].append(i)
        if term.latitude is not None and term.longitude is not None and term.radius_km:
            for cell in _cells(term.latitude, term.longitude, term.radius_km):
                self._grid[cell].append(i)

    def __len__(self) -> int:
        return len(self.terms)

    def match(self, work: Work) -> list[Hit]:
        """The terms found in a processed document, one :class:`Hit` per term."""
        found: dict[int, Hit] = {}
        self._keywords(work.full_text, found)
        if work.objects:
            self._match_objects(work, found)
        if self._topics:
            for i, hit in self._topic_hits(work.annotations.get("topics")):
                found.setdefault(i, hit)
        return sorted(found.values(), key=lambda h: (h.start if h.start is not None else -1,
                                                     h.term.id))

    def match_topics(self, result: Mapping[str, Any] | None) -> list[Hit]:
        """Sector terms among the topics a ``topics`` stage result assigned."""
        return [hit for _, hit in self._topic_hits(result)]

    def _topic_hits(self, result: Mapping[str, Any] | None) -> Iterator[tuple[int, Hit]]:
        for entry in (result or {}).get("topics") or []:
            topic = str(entry.get("topic", ""))
            for i in self._topics.get(topic, ()):
                yield i, Hit(self.terms[i], topic, evidence=f"topic:{topic}")

    @property
    def entity_ids(self) -> list[str]:
        """Entity ids that entity and sector terms match."""
        return list(self._objects)

    @property
    def watches_observables(self) -> bool:
        return bool(self._values)

    @property
    def watches_places(self) -> bool:
        return bool(self._countries or self._geonames or self._grid)

    @property
    def watches_topics(self) -> bool:
        return bool(self._topics)

    def match_text(self, text: str) -> list[Hit]:
        """Keyword terms only, in ``text``."""
        found: dict[int, Hit] = {}
        self._keywords(text, found)
        return list(found.values())

    def _keywords(self, text: str, found: dict[int, Hit]) -> None:
        first: dict[tuple[int, ...], tuple[int, int]] = {}
        counts: dict[tuple[int, ...], int] = defaultdict(int)
        if len(self._words):
            for last, (length, indices) in self._words.iter(f" {fold(text)} "):
                first.setdefault(indices, (last - length + 1, last - 1))
                counts[indices] += 1
        if len(self._others):
            end_of_text = len(text) - 1
            for end, (length, indices, word_start, word_end) in self._others.iter(
                    _lowered(text)):
                start = end - length + 1
                if word_start and start > 0 and _word(text[start - 1]):
                    continue
                if word_end and end < end_of_text and _word(text[end + 1]):
                    continue
                first.setdefault(indices, (start, end + 1))
                counts[indices] += 1
        for indices, (start, end) in first.items():
            for i in indices:
                found[i] = Hit(self.terms[i], text[start:end], start, end, "text",
                               counts[indices])

    def object_terms(self, obj_id: str, obj_type: str, name: str, stix: Mapping[str, Any]
                     ) -> list[int]:
        """Indices of the terms a stored or proposed object matches."""
        out = list(self._objects.get(obj_id, ()))
        value_type = stix.get("x_allsource_value_type")
        if value_type:
            out += self._observable(str(value_type), name.lower())
        elif obj_type == "location":
            out += self._place(stix)
        return out

    def _match_objects(self, work: Work, found: dict[int, Hit]) -> None:
        matched: dict[str, list[int]] = {}
        names: dict[str, str] = {}
        for obj in work.objects:
            if obj.id not in matched:
                matched[obj.id] = self.object_terms(obj.id, obj.type, obj.name, obj.stix)
                names[obj.id] = obj.name
        if not any(matched.values()):
            return
        spans: dict[str, tuple[int | None, int | None]] = {}
        counts: dict[str, int] = defaultdict(int)
        for m in work.mentions:
            if matched.get(m.object_id):
                spans.setdefault(m.object_id, (m.start, m.end))
                counts[m.object_id] += 1
        for obj_id, indices in matched.items():
            start, end = spans.get(obj_id, (None, None))
            for i in indices:
                if i not in found:
                    found[i] = Hit(self.terms[i], names[obj_id], start, end, obj_id,
                                   max(1, counts[obj_id]))

    def _observable(self, value_type: str, value: str) -> list[int]:
        out = list(self._values.get(value, ()))
        host = value
        if value_type == "url":
            host = _url_host(value)
        elif value_type == "email":
            host = value.rpartition("@")[2]
        if self._domains and value_type in ("domain", "url", "email"):
            labels = host.split(".")
            first = 1 if host == value else 0  # the value itself was looked up already
            for k in range(first, len(labels) - 1):
                out += self._domains.get(".".join(labels[k:]), ())
        if self._networks and value_type in ("ipv4", "ipv6", "url"):
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                return out
            number, bits = int(address), address.max_prefixlen
            for (version, prefix), nets in self._networks.items():
                if version == address.version:
                    out += nets.get(number >> (bits - prefix), ())
        return out

    def _place(self, stix: Mapping[str, Any]) -> list[int]:
        out: list[int] = []
        country = stix.get("country")
        if country:
            out += self._countries.get(str(country), ())
        gid = stix.get("x_allsource_geonameid")
        if gid is not None:
            out += self._geonames.get(int(gid), ())
        lat, lon = stix.get("latitude"), stix.get("longitude")
        # countries and states carry a representative point, not an area: only a city is
        # somewhere within a radius
        if lat is None or lon is None or stix.get("x_allsource_place_kind") != "city":
            return out
        for i in self._grid.get((math.floor(lat), math.floor(lon)), ()):
            term = self.terms[i]
            if i not in out and haversine_km(term.latitude, term.longitude,  # type: ignore[arg-type]
                                             lat, lon) <= (term.radius_km or 0.0):
                out.append(i)
        return out


# --- store ---------------------------------------------------------------------------------

def _watchlist(row: sa.Row[Any], terms: Iterable[Term] = ()) -> Watchlist:
    m = row._mapping
    return Watchlist(id=m["id"], name=m["name"], severity=int(m["severity"]), owner=m["owner"],
                     description=m["description"], enabled=bool(m["enabled"]),
                     marking=Marking.from_columns(dict(m)), created_at=aware(m["created_at"]),
                     terms=tuple(terms))


def _term(row: sa.Row[Any]) -> Term:
    m = row._mapping
    return Term(id=int(m["id"]), watchlist_id=m["watchlist_id"], kind=m["kind"], value=m["value"],
                display=m["display"], value_type=m["value_type"], radius_km=m["radius_km"],
                latitude=m["latitude"], longitude=m["longitude"])


def default_marking(creator: Audience) -> Marking:
    """A new watchlist's marking when none is given: its creator's TLP ceiling."""
    return Marking(tlp=TLP.RED if creator.unrestricted else creator.max_tlp)


def save_watchlist(store: SqlStore, name: str, *, severity: int | None = None,
                   owner: str | None = None, description: str | None = None,
                   marking: Marking | None = None, enabled: bool | None = None,
                   creator: Audience | None = None) -> tuple[Watchlist, bool]:
    """Create the watchlist ``name`` (severity default medium; marking default
    :func:`default_marking` of ``creator``, the local operator when not given), or update
    the fields given of the one ``creator`` may read; returns it and whether it was created.

    Names are unique among the watchlists one reader may read, not across the store: a
    watchlist the creator may not read never blocks a name (see :func:`get_watchlist`)."""
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise InputError("a watchlist name is 1-200 characters")
    audience = creator or Audience.owner()
    w = t.watchlists
    values: dict[str, Any] = {k: v for k, v in (
        ("severity", None if severity is None else int(Severity(severity))),
        ("owner", owner), ("description", description), ("enabled", enabled)) if v is not None}
    if marking is not None:
        values.update(marking.to_columns())
    with store.engine.begin() as conn:
        row = _named(conn, name, audience)
        created = row is None
        if row is None:
            ident = minted_id(WATCHLIST_TYPE, f"{name}\x00{uuid.uuid4()}")
            conn.execute(w.insert().values(**{
                "id": ident, "name": name, "severity": 2,
                "owner": "analyst", "description": "", "enabled": True,
                "created_at": utc_now(),
                **default_marking(audience).to_columns(), **values}))
        else:
            ident = row.id
            if values:
                conn.execute(w.update().where(w.c.id == ident).values(**values))
    found = get_watchlist(store, ident)
    assert found is not None
    return found, created


def add_terms(store: SqlStore, watchlist: Watchlist, specs: Iterable[TermSpec]
              ) -> list[tuple[Term, bool]]:
    """Add terms to ``watchlist``; each comes back with whether it is new (a term already
    on the watchlist is kept as it was)."""
    wt = t.watchlist_terms
    out: list[tuple[Term, bool]] = []
    with store.engine.begin() as conn:
        for spec in specs:
            where = (wt.c.watchlist_id == watchlist.id, wt.c.kind == spec.kind,
                     wt.c.value == spec.value)
            row = conn.execute(sa.select(wt).where(*where)).first()
            if row is None:
                conn.execute(wt.insert().values(
                    watchlist_id=watchlist.id, kind=spec.kind, value=spec.value,
                    display=spec.display, value_type=spec.value_type, radius_km=spec.radius_km,
                    latitude=spec.latitude, longitude=spec.longitude, created_at=utc_now()))
                out.append((_term(conn.execute(sa.select(wt).where(*where)).one()), True))
            else:
                out.append((_term(row), False))
    return out


def list_watchlists(store: SqlStore, *, enabled_only: bool = False) -> list[Watchlist]:
    """Every watchlist with its terms, by name."""
    w, wt = t.watchlists, t.watchlist_terms
    with store.engine.connect() as conn:
        stmt = sa.select(w).order_by(w.c.name)
        if enabled_only:
            stmt = stmt.where(w.c.enabled.is_(True))
        rows = conn.execute(stmt).all()
        terms: dict[str, list[Term]] = defaultdict(list)
        for row in conn.execute(sa.select(wt).order_by(wt.c.id)):
            terms[row.watchlist_id].append(_term(row))
    return [_watchlist(r, terms.get(r.id, ())) for r in rows]


def get_watchlist(store: SqlStore, name_or_id: str, audience: Audience | None = None
                  ) -> Watchlist | None:
    """The watchlist with this id, or else the one of this name that ``audience`` (the local
    operator when not given) may read; ``None`` when there is none.

    Two readers who cannot see each other's watchlists may each have one named "Ransomware";
    whoever may read both (the operator) names one by its id — an ambiguous name is an
    :class:`InputError` listing the ids. A watchlist ``audience`` may not read is returned
    by id only for the caller to refuse like a missing one (the routes check the marking)."""
    w, wt = t.watchlists, t.watchlist_terms
    ref = name_or_id.strip()
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(w).where(w.c.id == ref)).first()
        if row is None:
            row = _named(conn, " ".join(ref.split()), audience or Audience.owner())
        if row is None:
            return None
        terms = [_term(r) for r in conn.execute(
            sa.select(wt).where(wt.c.watchlist_id == row.id).order_by(wt.c.id))]
    return _watchlist(row, terms)


def name_taken(store: SqlStore, name: str, audience: Audience) -> bool:
    """Whether ``audience`` already sees a watchlist called ``name`` (ids are not names)."""
    with store.engine.connect() as conn:
        return _named(conn, " ".join(name.split()), audience) is not None


def _named(conn: sa.Connection, name: str, audience: Audience) -> sa.Row[Any] | None:
    """The one watchlist called ``name`` that ``audience`` may read (an :class:`InputError`
    when several are)."""
    w = t.watchlists
    rows = [r for r in conn.execute(sa.select(w).where(w.c.name == name).order_by(w.c.id))
            if can_release(Marking.from_columns(dict(r._mapping)), audience)]
    if len(rows) > 1:
        raise InputError(f"{len(rows)} watchlists are named {name!r}; name one by its id: "
                         + ", ".join(r.id for r in rows))
    return rows[0] if rows else None


def load_active(store: SqlStore) -> list[Watchlist]:
    """Enabled watchlists, their entity and sector terms resolved with the store's gazetteer
    (analysts' merges and undos applied): what the ``watchlist`` stage matches."""
    return _with_refs(store, list_watchlists(store, enabled_only=True))


def _with_refs(store: SqlStore, watchlists: list[Watchlist]) -> list[Watchlist]:
    if any(term.kind in ("entity", "sector") for wl in watchlists for term in wl.terms):
        from allsource.process.entities import gazetteer_for
        from allsource.store import aliases

        return resolve_refs(watchlists, gazetteer_for(aliases.overrides(store)))
    return watchlists


def remove_watchlist(store: SqlStore, name_or_id: str) -> bool:
    """Remove a watchlist with its terms and hits (alerts it raised stay)."""
    found = get_watchlist(store, name_or_id)
    if found is None:
        return False
    with store.engine.begin() as conn:
        conn.execute(t.watchlist_hits.delete().where(t.watchlist_hits.c.watchlist_id == found.id))
        conn.execute(t.watchlist_terms.delete().where(
            t.watchlist_terms.c.watchlist_id == found.id))
        conn.execute(t.watchlists.delete().where(t.watchlists.c.id == found.id))
    return True


def remove_term(store: SqlStore, name_or_id: str, term_id: int) -> bool:
    """Remove one term (and its hits) from a watchlist."""
    found = get_watchlist(store, name_or_id)
    if found is None or term_id not in {term.id for term in found.terms}:
        return False
    with store.engine.begin() as conn:
        conn.execute(t.watchlist_hits.delete().where(t.watchlist_hits.c.term_id == term_id))
        conn.execute(t.watchlist_terms.delete().where(t.watchlist_terms.c.id == term_id))
    return True


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """What recording a hit needs of its document."""

    id: str
    title: str
    marking: Marking


@dataclass(frozen=True, slots=True)
class Delivered:
    hits: int
    documents: int
    alerts: list[str]


def deliver(store: SqlStore, found: Sequence[tuple[DocumentRef, Sequence[Hit]]],
            watchlists: Mapping[str, Watchlist], *, via: str = "process") -> Delivered:
    """Record the hits not recorded yet and raise one alert per watchlist and document that
    has new ones (grouped per story by :func:`~allsource.assess.alerts.raise_alerts`).

    Alerts are raised before the hits are written: if raising fails, nothing is recorded
    and the next attempt raises them again (``raise_alerts`` is idempotent per document)."""
    h = t.watchlist_hits
    doc_ids = [doc.id for doc, hits in found if hits]
    if not doc_ids:
        return Delivered(0, 0, [])
    with store.engine.connect() as conn:
        known: set[tuple[int, str]] = set()
        for chunk in chunks(doc_ids):
            known.update((r.term_id, r.document_id) for r in conn.execute(
                sa.select(h.c.term_id, h.c.document_id).where(h.c.document_id.in_(chunk))))
    now = utc_now()
    rows: list[dict[str, Any]] = []
    drafts: list[AlertDraft] = []
    for doc, hits in found:
        fresh = [hit for hit in hits if (hit.term.id, doc.id) not in known]
        by_list: dict[str, list[Hit]] = defaultdict(list)
        for hit in fresh:
            known.add((hit.term.id, doc.id))
            by_list[hit.term.watchlist_id].append(hit)
        for wid, wl_hits in by_list.items():
            wl = watchlists[wid]
            marking = wl.marking.combine(doc.marking)
            rows += [{"term_id": hit.term.id, "document_id": doc.id, "watchlist_id": wid,
                      "matched": hit.matched[:2000], "span_start": hit.start,
                      "span_end": hit.end, "evidence": hit.evidence[:160],
                      "occurrences": hit.occurrences, "via": via, "created_at": now,
                      **marking.to_columns()} for hit in wl_hits]
            drafts.append(_draft(wl, doc, wl_hits))
    alerts = raise_alerts(store, drafts) if drafts else []
    if rows:
        store.keys.prepare()  # matched and evidence are sealed on an encrypted store
        with store.engine.begin() as conn:
            store._bulk_insert(conn, h, rows)
    return Delivered(len(rows), len({r["document_id"] for r in rows}), alerts)


def _draft(wl: Watchlist, doc: DocumentRef, hits: Sequence[Hit]) -> AlertDraft:
    terms = ", ".join(dict.fromkeys(hit.term.display for hit in hits))
    title = doc.title.strip() or doc.id
    return AlertDraft(
        kind="watchlist", severity=Severity(wl.severity), group_key=f"watchlist:{wl.id}",
        title=f"{wl.name}: {terms[:200]} in “{title[:120]}”", document_id=doc.id,
        details={"watchlist": wl.name, "watchlist_id": wl.id,
                 "hits": [hit.as_json() for hit in hits[:MAX_LISTED]]},
        marking=wl.marking)


@dataclass(frozen=True, slots=True)
class StoredHit:
    watchlist: str
    term_id: int
    kind: str
    term: str
    document_id: str
    title: str
    matched: str
    span: tuple[int, int] | None
    evidence: str
    occurrences: int
    via: str
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {"watchlist": self.watchlist, "term_id": self.term_id, "kind": self.kind,
                "term": self.term, "document_id": self.document_id, "title": self.title,
                "matched": self.matched, "span": list(self.span) if self.span else None,
                "evidence": self.evidence, "occurrences": self.occurrences, "via": self.via,
                "created_at": self.created_at.isoformat()}


def list_hits(store: SqlStore, watchlist: Watchlist | None = None, *, limit: int = 50,
              audience: Audience | None = None) -> list[StoredHit]:
    """Recorded hits the audience may read, newest first."""
    audience = audience or Audience.owner()
    h, w, wt, d = t.watchlist_hits, t.watchlists, t.watchlist_terms, t.documents
    stmt = (sa.select(h, w.c.name, wt.c.kind, wt.c.display, d.c.title)
            .join(w, w.c.id == h.c.watchlist_id).join(wt, wt.c.id == h.c.term_id)
            .join(d, d.c.id == h.c.document_id, isouter=True)
            # a hit shows only with its watchlist (whose terms it names) readable too, and
            # its document as stored now: a hit keeps the marking its document had when it
            # was recorded, which a rebuild may have tightened since (store/rebuild.py)
            .where(store._readable(h, audience), store._readable(w, audience),
                   store._readable(d, audience))
            .order_by(h.c.created_at.desc(), h.c.document_id, h.c.term_id).limit(limit))
    if watchlist is not None:
        stmt = stmt.where(h.c.watchlist_id == watchlist.id)
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [StoredHit(r.name, r.term_id, r.kind, r.display, r.document_id, r.title or "",
                      r.matched, (r.span_start, r.span_end) if r.span_start is not None else None,
                      r.evidence, r.occurrences, r.via, aware(r.created_at))  # type: ignore[arg-type]
            for r in rows if can_release(Marking.from_columns(dict(r._mapping)), audience)]


def hit_counts(store: SqlStore, audience: Audience | None = None
               ) -> dict[str, tuple[int, datetime | None]]:
    """Watchlist id → (hits ``audience`` may read, when the last of them was recorded), for
    the watchlists with at least one.

    The same rule as :func:`list_hits` and the workspace's counts
    (:func:`allsource.assess.watchlist_hits.readable_counts`), decided in SQL before the
    ``COUNT``: the hit, its watchlist and its document *as marked now* must all be readable.
    Counting every recorded hit would tell a reader how often a watchlist matched documents
    raised above them since (a rebuild may tighten a document's marking) or hidden from them
    by compartment or releasability."""
    counts = readable_counts(store, audience or Audience.owner())
    return {wid: (hits, last) for wid, (_, hits, last) in counts.items()}


# --- backfill ------------------------------------------------------------------------------

#: full-text matches read per page (one keyset statement) when backfilling a keyword
_PAGE = 500


def backfill(store: SqlStore, watchlist: Watchlist, terms: Sequence[Term]) -> Delivered:
    """Match ``terms`` against the documents already processed, as :func:`deliver` would have
    when they were processed: keyword candidates come from the full-text index and are
    checked with the matcher on their text; entities, observables and places from the stored
    objects and their mentions; sectors from stored topic results and sector mentions."""
    [active] = _with_refs(store, [replace(watchlist, enabled=True, terms=tuple(terms))])
    matcher = Matcher([active])
    found: dict[str, dict[int, Hit]] = defaultdict(dict)
    keywords = [term for term in matcher.terms if term.kind == "keyword"]
    for chunk in chunks(sorted(_search_candidates(store, keywords))):
        for doc_id, text in _texts(store, chunk).items():
            for hit in matcher.match_text(text):
                found[doc_id].setdefault(hit.term.id, hit)
    _object_hits(store, matcher, found)
    _topic_hits(store, matcher, found)
    processed = _processed(store, list(found))
    docs = _document_refs(store, processed)
    pairs = [(docs[doc_id], sorted(found[doc_id].values(), key=lambda h: h.term.id))
             for doc_id in processed if doc_id in docs]
    return deliver(store, pairs, {active.id: active}, via="backfill")


def _search_candidates(store: SqlStore, keywords: Sequence[Term]) -> set[str]:
    """Every document the full-text index finds each keyword in, as a phrase: unranked and
    uncapped (:meth:`SqlStore.matching_ids`, keyset pages), unlike search, which ranks and
    counts a bounded set of candidates."""
    out: set[str] = set()
    for term in keywords:
        phrase = " ".join(re.sub(r'["*]', " ", term.value).split())
        if not phrase:
            continue
        try:
            for page in store.matching_ids(f'"{phrase}"', Audience.owner(), _PAGE):
                out.update(page)
        except InputError:
            continue
    return out


def _texts(store: SqlStore, ids: Sequence[str]) -> dict[str, str]:
    d = t.documents
    with store.engine.connect() as conn:
        return {r.id: f"{r.title}\n{r.text}" if r.title else r.text for r in conn.execute(
            sa.select(d.c.id, d.c.title, d.c.text).where(d.c.id.in_(list(ids))))}


def _object_hits(store: SqlStore, matcher: Matcher, found: dict[str, dict[int, Hit]]) -> None:
    """Stored objects that match — entities by id; observables and places read by type (one
    row per distinct value or place, not per document) and checked by the matcher — and the
    documents that mention them."""
    o = t.objects
    selects = [sa.select(o.c.id, o.c.type, o.c.name, o.c.stix).where(o.c.id.in_(list(chunk)))
               for chunk in chunks(matcher.entity_ids)]
    if matcher.watches_observables:
        selects.append(sa.select(o.c.id, o.c.type, o.c.name, o.c.stix).where(
            o.c.stix["x_allsource_value_type"].as_string().isnot(None)))
    if matcher.watches_places:
        selects.append(sa.select(o.c.id, o.c.type, o.c.name, o.c.stix).where(
            o.c.type == "location"))
    matched: dict[str, tuple[str, list[int]]] = {}
    with store.engine.connect() as conn:
        for stmt in selects:
            for row in conn.execution_options(yield_per=2000).execute(stmt):
                indices = matcher.object_terms(row.id, row.type, row.name, row.stix or {})
                if indices:
                    matched[row.id] = (row.name, indices)
        m = t.mentions
        for chunk in chunks(sorted(matched)):
            for r in conn.execute(sa.select(m.c.object_id, m.c.document_id, m.c.span_start,
                                            m.c.span_end).where(m.c.object_id.in_(list(chunk)))
                                  .order_by(m.c.document_id, m.c.span_start)):
                name, indices = matched[r.object_id]
                start, end = (r.span_start, r.span_end) if r.span_start >= 0 else (None, None)
                for i in indices:
                    term = matcher.terms[i]
                    hit = found[r.document_id].get(term.id)
                    found[r.document_id][term.id] = (
                        Hit(term, name, start, end, r.object_id) if hit is None
                        else replace(hit, occurrences=hit.occurrences + 1))


def _topic_hits(store: SqlStore, matcher: Matcher, found: dict[str, dict[int, Hit]]) -> None:
    if not matcher.watches_topics:
        return
    a = t.stage_annotations
    with store.engine.connect() as conn:
        for row in conn.execution_options(yield_per=2000).execute(
                sa.select(a.c.document_id, a.c.data).where(a.c.stage == "topics")):
            for hit in matcher.match_topics(row.data):
                found[row.document_id].setdefault(hit.term.id, hit)


def _processed(store: SqlStore, ids: Sequence[str]) -> list[str]:
    """Those of ``ids`` the ``watchlist`` stage has run on (the others get the new terms
    when it does)."""
    a = t.stage_annotations
    out: list[str] = []
    with store.engine.connect() as conn:
        for chunk in chunks(sorted(ids)):
            out += conn.execute(sa.select(a.c.document_id).where(
                a.c.stage == "watchlist", a.c.document_id.in_(list(chunk)))).scalars()
    return out


def _document_refs(store: SqlStore, ids: Sequence[str]) -> dict[str, DocumentRef]:
    d = t.documents
    out: dict[str, DocumentRef] = {}
    with store.engine.connect() as conn:
        for chunk in chunks(list(ids)):
            for r in conn.execute(sa.select(d.c.id, d.c.title, d.c.tlp, d.c.classification,
                                            d.c.compartments, d.c.releasability)
                                  .where(d.c.id.in_(list(chunk)))):
                out[r.id] = DocumentRef(r.id, r.title, Marking.from_columns(dict(r._mapping)))
    return out
