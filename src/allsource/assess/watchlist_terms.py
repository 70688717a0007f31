"""Watchlist terms as a person types them, checked and normalised before anything is written.

The CLI (``allsource watchlist add``) and the workspace's watchlist forms take the same five
kinds of term (see :mod:`allsource.assess.watchlists`): keywords and observables need only the
value types; entities and sectors the gazetteer (with the analysts' alias overrides of this
store) and the topic classifier's topics; places the offline geocoder. Those are loaded only
when a term of their kind is given, since the gazetteer and geocoder take a moment to load.

:func:`term_specs` raises :class:`~allsource.errors.InputError` on the first bad term, so a
form or a command with one typo writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from allsource.assess import watchlists as wl
from allsource.errors import InputError

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["lines", "term_specs"]

#: at most this many terms are taken from one form or command
MAX_TERMS = 500


def lines(text: str) -> list[str]:
    """The non-blank lines of a text box, stripped (one term a line)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def term_specs(store: SqlStore, *, entities: Sequence[str] = (), keywords: Sequence[str] = (),
               observables: Sequence[str] = (), places: Sequence[str] = (),
               radius: float | None = None, sectors: Sequence[str] = ()) -> list[wl.TermSpec]:
    """Every term, normalised; a bad one is an :class:`InputError` naming it."""
    if sum(map(len, (entities, keywords, observables, places, sectors))) > MAX_TERMS:
        raise InputError(f"at most {MAX_TERMS} terms at once")
    specs = [wl.keyword_spec(k) for k in keywords]
    specs += [wl.observable_spec(o) for o in observables]
    if entities or sectors:
        from allsource.process.entities import gazetteer_for
        from allsource.process.topics import TOPICS
        from allsource.store import aliases
        from allsource.store.labels import active_model

        gazetteer = gazetteer_for(aliases.overrides(store))
        specs += [wl.entity_spec(e, gazetteer) for e in entities]
        model = active_model(store)
        topics = [*TOPICS, *(model["topics"] if model else ())]
        specs += [wl.sector_spec(s, topics, gazetteer) for s in sectors]
    if places:
        from allsource.process.geocode import default_geocoder

        geocoder = default_geocoder()
        specs += [wl.place_spec(p, geocoder, radius) for p in places]
    elif radius is not None:
        raise InputError("a radius applies to place terms: give at least one place")
    return specs
