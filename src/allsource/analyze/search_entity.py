"""Searching by an entity's name: the entity a query names, and the query widened to its
other names.

A reader who types "Fancy Bear" means the intrusion set APT28, whatever the report calls it.
When the whole query is one name (``Fancy Bear``, ``"Fancy Bear"``) that names exactly one
visible canonical entity (:func:`allsource.analyze.entity_names.entities_named`: alias
statements by key, places by stored name, only entities the reader may see — a hidden entity
reads the same as a missing one), the search runs for that name **or** the entity's other
names: ``"Fancy Bear" OR "APT28" OR "Sofacy" …``, at most ``MAX_TERMS`` names, typed name
first.

Precision before recall: a name is added only when it is *distinctive*
(:class:`allsource.process.ambiguity.NameSenses`, the test the entity extractor applies: not a
common English word, place, first name, month or short acronym) and not even a rare word of
general English. The extractor accepts such names where cyber context vouches for them; a
text search has no context, so "Strontium" (a chemical element), "Swallowtail" (a butterfly)
or "Pawn Storm" (two common words) are left out, and the page says so. The typed name itself
is always searched: it is what the reader asked for. A place is not widened (places have no alias
statements); a name that several entities answer to is not widened either (which one was
meant is the reader's call), and the candidates are offered instead.

Word frequencies are read per word from ``wordfreq`` (its large English list, loaded once per
process, about half a second) rather than as the whole table the gazetteer builds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

from allsource.analyze.entity_names import NamedEntity, entities_named, looks_like_id
from allsource.model.markings import Audience
from allsource.model.names import alias_key
from allsource.store.query import MAX_TERMS
from allsource.store.sql import SqlStore

__all__ = ["Expansion", "expand", "named_in_query", "query_name", "warm"]

#: entities offered when a name answers to several
MAX_CANDIDATES = 5
_OPERATORS = frozenset({"OR"})


class _LazyZipf(Mapping[str, float]):
    """Word → Zipf frequency, looked up per word (``NameSenses`` asks a handful)."""

    def __getitem__(self, word: str) -> float:
        try:
            from wordfreq import zipf_frequency
        except ImportError:  # without wordfreq every word counts as unseen
            return 0.0
        return float(zipf_frequency(word, "en", wordlist="large"))

    def get(self, word: str, default: float | None = 0.0) -> float:  # type: ignore[override]
        found = self[word]
        return found if found or default is None else default

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(())

    def __len__(self) -> int:
        return 0


@cache
def _senses() -> object:
    from allsource.process.ambiguity import NameSenses

    return NameSenses(zipf=_LazyZipf())


def warm() -> None:
    """Load what :func:`distinctive` reads (the name-sense tables and ``wordfreq``'s English
    list, ~1 s of CPU) now, so that the first search naming an entity does not wait for it:
    ``allsource serve`` runs this in a background thread of each worker as it starts."""
    distinctive("warm")


def distinctive(name: str) -> bool:
    """Whether ``name`` means the entity on its own in any text (see the module docstring):
    neither ambiguous nor a rare word of general English. Search ignores case, so a name
    listed in capitals gets no exemption for its casing ("STRONTIUM" is "strontium")."""
    from allsource.process.ambiguity import NameSenses

    senses = _senses()
    assert isinstance(senses, NameSenses)
    return not senses.reason(name, ()) and not senses.rare(name)


def query_name(text: str) -> str | None:
    """The name a query is, when the whole query is one name: ``Fancy Bear`` or
    ``"Fancy Bear"``; ``None`` for a query with operators, exclusions, prefixes or several
    phrases."""
    stripped = text.strip()
    if stripped.count('"') == 2 and stripped.startswith('"') and stripped.endswith('"'):
        stripped = stripped[1:-1].strip()
    if not stripped or '"' in stripped or "*" in stripped or stripped.startswith("-"):
        return None
    words = stripped.split()
    if any(w in _OPERATORS or w.startswith("-") for w in words) or looks_like_id(stripped):
        return None
    return stripped if alias_key(stripped) else None


def named_in_query(store: SqlStore, text: str, audience: Audience) -> list[NamedEntity]:
    """The visible entities the whole query names, best known first (none when the query is
    not one name)."""
    name = query_name(text)
    if name is None:
        return []
    return entities_named(store, name, audience, limit=MAX_CANDIDATES)


@dataclass(slots=True)
class Expansion:
    """The query searched for an entity's names: ``text`` (the store's syntax), the names
    added to the typed one, and the names left out as ambiguous."""

    text: str
    added: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def _phrase(name: str) -> str:
    return '"' + " ".join(name.replace('"', " ").split()) + '"'


def expand(typed: str, names: Iterable[str]) -> Expansion:
    """``typed`` OR every distinctive one of ``names`` (the entity's name and aliases as the
    reader may see them), at most ``MAX_TERMS`` names in all."""
    seen = {alias_key(typed)}
    added: list[str] = []
    left_out: list[str] = []
    for name in names:
        key = alias_key(name)
        if not key or key in seen:
            continue
        seen.add(key)
        if not distinctive(name):
            left_out.append(name)
        elif len(added) + 1 < MAX_TERMS:
            added.append(name)
    text = " OR ".join(_phrase(n) for n in [typed, *added])
    return Expansion(text, added, left_out)
