"""The search page: what one search shows a reader, read as that reader.

**Results** are paged through the store, not cut from a fixed window: each page asks the
store for ``PAGE_SIZE`` hits at its offset (by relevance, or every match newest first,
store/date_order.py), so every match is reachable; the total is the store's (exact up to its
cap, shown as "1,000+" beyond). The hits of a page that share a story make one row. Relevance
ranks a bounded set of candidates (store/fts_rank.py, store/postgres.py); when the ranked
pages end before the matches do, the page says so and links the same search by date, which
walks every match.

**Facets** are counted over the best ``FACET_SAMPLE`` matches (one light window read from the
store, then topics, countries, entities and grades of those documents in bulk,
:func:`allsource.web.queries.window_facts`) and follow the selection: each facet's counts are
of the window's documents that pass every *other* facet's selection, so choosing "Ukraine"
recounts the sources, kinds and entities, while the country facet still offers the other
countries to add (values of one facet are alternatives, facets are ANDed). Source and kind
choices go to the store as filters, so their results page through every match; a sector,
country, entity or grade choice is known for the window's documents only, so its results
and total are the window's (the page says so, and the total is a lower bound unless the
window held every match). Countries are named (GeoNames), not coded.

**By meaning** ranks by cosine similarity (:mod:`allsource.analyze.semantic`); only documents
at or above :data:`~allsource.analyze.similarity.MIN_SIMILARITY` are matches, each shown with
its score.

**Entity names** (:mod:`allsource.analyze.search_entity`): a query that is one visible
entity's name gets that entity's card on top and is searched with the entity's distinctive
other names; the page names what was added and what was left out, and links the search for
the typed words only (``exact=1``).

Nothing here reads past the reader's audience: the store's search, the window facts, the
entity lookup and card (shown STIX, alias statements as shown to the reader, readable
mentions) all filter in SQL or by :func:`can_release`, and the syntax hints depend on the
query text alone (:mod:`allsource.analyze.search_hints`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from allsource.analyze import search_entity, search_hints
from allsource.analyze.countries import country_name
from allsource.analyze.entity_names import NamedEntity
from allsource.analyze.similarity import MIN_SIMILARITY
from allsource.errors import AllsourceError
from allsource.model.markings import Audience
from allsource.store import aliases
from allsource.store.query import SearchHit, SearchQuery, SearchResult
from allsource.store.sql import SqlStore
from allsource.web import entity_overview, names, queries

PAGE_SIZE = 20
#: facets are counted over this many best matches
FACET_SAMPLE = 500
#: values shown per facet (chosen values are always shown)
FACET_SIZE = 15
FACETS = (("source", "Source"), ("kind", "Kind"), ("sector", "Sector"),
          ("country", "Country"), ("entity", "Entity"), ("credibility", "Grade"))
#: facets known for the window's documents only (source and kind are store filters)
WINDOW_FACETS = ("sector", "country", "entity", "credibility")
NOT_GRADED = "none"
CREDIBILITY_LABELS = {"1": "1 confirmed", "2": "2 probably true", "3": "3 possibly true",
                      "4": "4 doubtful", "5": "5 improbable", "6": "6 cannot be judged",
                      NOT_GRADED: "not graded"}
TYPE_LABELS = {"intrusion-set": "intrusion set", "threat-actor": "threat actor",
               "attack-pattern": "technique", "location": "place",
               "course-of-action": "mitigation", "identity": "organisation or sector"}
#: characters of an entity's description on its card
CARD_DESCRIPTION = 360
#: aliases shown on an entity's card
CARD_ALIASES = 12

Run = Callable[[SearchQuery, Audience], SearchResult]


@dataclass(slots=True)
class SearchParams:
    q: str
    sources: list[str]
    kinds: list[str]
    since: datetime | None
    until: datetime | None
    chosen: dict[str, list[str]]  # facet name -> chosen values (all six facets)
    mode: str = "text"
    sort: str = "relevance"
    page: int = 1
    exact: bool = False  # search the typed words only (no entity names added)


@dataclass(slots=True)
class StoryGroup:
    """One search row: the best hit of a story on this page and its other hits here."""

    story_id: str | None
    lead: SearchHit
    variants: list[SearchHit]


@dataclass(slots=True)
class Facet:
    """One facet: its query parameter, heading, chosen values and ``(value, label, count)``
    rows, the counts following the other facets' selections."""

    name: str
    label: str
    chosen: list[str]
    values: list[tuple[str, str, int]]
    more: int = 0  # values not shown


@dataclass(slots=True)
class EntityCard:
    id: str
    name: str
    type_label: str
    description: str
    aliases: list[str]
    mentions: int
    first_seen: str | None
    last_seen: str | None


@dataclass(slots=True)
class Outcome:
    """Everything the template shows for one search."""

    groups: list[StoryGroup] = field(default_factory=list)
    facets: list[Facet] = field(default_factory=list)
    total: int = 0
    total_exact: bool = True
    pages: int | None = 0  # None: more pages than counted (the total is a lower bound)
    has_next: bool = False
    window_only: bool = False  # results cut from the facet window
    ranked_end: bool = False  # relevance pages ended before the matches did
    took_ms: float = 0.0
    error: str | None = None
    hints: list[str] = field(default_factory=list)
    suggestion: str | None = None
    card: EntityCard | None = None
    candidates: list[NamedEntity] = field(default_factory=list)
    expansion: search_entity.Expansion | None = None
    min_similarity: float | None = None
    sample: int = FACET_SAMPLE


def _group(hits: list[SearchHit], stories: dict[str, str]) -> list[StoryGroup]:
    groups: dict[str, StoryGroup] = {}
    for hit in hits:
        story = stories.get(hit.id)
        key = story or hit.id
        if key in groups:
            groups[key].variants.append(hit)
        else:
            groups[key] = StoryGroup(story, hit, [])
    return list(groups.values())


def _values(hit: SearchHit, facts: queries.WindowFacts) -> dict[str, set[str]]:
    cred = facts.credibility.get(hit.id)
    return {"source": {hit.source}, "kind": {hit.kind},
            "sector": facts.sectors.get(hit.id, set()),
            "country": facts.countries.get(hit.id, set()),
            "entity": facts.entities.get(hit.id, set()),
            "credibility": {str(cred) if cred is not None else NOT_GRADED}}


def _passes(values: dict[str, set[str]], chosen: dict[str, list[str]],
            but: str | None = None) -> bool:
    """Whether a document with ``values`` has a chosen value of every facet with a choice
    (leaving out the facet ``but``)."""
    return all(not wanted or name == but or values[name] & set(wanted)
               for name, wanted in chosen.items())


Names = Callable[[Sequence[str]], Mapping[str, str]]


def _named(ranked: list[tuple[str, int]], chosen: list[str], facts: queries.WindowFacts,
           names: Names) -> list[tuple[str, int]]:
    """``ranked`` entity values without those that have no stored entity name among the
    ones shown, reading names (into ``facts.entity_names``) for the shown values and the
    chosen ones only — a window names thousands of entities, a facet shows fifteen."""
    kept: list[tuple[str, int]] = []
    pos = 0
    ask = [v for v in chosen if v not in facts.entity_names]
    while len(kept) < FACET_SIZE and pos < len(ranked):
        take = ranked[pos:pos + FACET_SIZE - len(kept)]
        pos += len(take)
        ask += [v for v, _ in take if v not in facts.entity_names]
        if ask:
            facts.entity_names.update(names(ask))
            ask = []
        kept += [(v, n) for v, n in take if v in facts.entity_names]
    if ask:  # chosen values only (nothing ranked): still named, never shown as an id
        facts.entity_names.update(names(ask))
    return kept + ranked[pos:]


def facets(hits: list[SearchHit], facts: queries.WindowFacts,
           chosen: dict[str, list[str]], names: Names | None = None) -> list[Facet]:
    """The six facets over ``hits``, each counted over the hits passing the others'
    selections; ``names`` reads entity names for the entity values shown (without it,
    ``facts.entity_names`` must hold them)."""
    per_hit = [_values(h, facts) for h in hits]
    out = []
    for name, heading in FACETS:
        counts: dict[str, int] = {}
        for values in per_hit:
            if _passes(values, chosen, but=name):
                for value in values[name]:
                    counts[value] = counts.get(value, 0) + 1
        if name == "credibility":
            ranked = sorted(counts.items(), key=lambda kv: (kv[0] == NOT_GRADED, kv[0]))
        else:
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            if name == "entity" and names is not None:
                ranked = _named(ranked, chosen[name], facts, names)
        more = max(0, len(ranked) - FACET_SIZE)
        shown = ranked[:FACET_SIZE]
        in_shown = {v for v, _ in shown}
        shown += [(v, counts.get(v, 0)) for v in chosen[name] if v not in in_shown]
        out.append(Facet(name, heading, chosen[name],
                         [(v, _label(name, v, facts), n) for v, n in shown], more))
    return out


def _label(name: str, value: str, facts: queries.WindowFacts) -> str:
    if name == "entity":
        return facts.entity_names.get(value, value)
    if name == "credibility":
        return CREDIBILITY_LABELS.get(value, value)
    if name == "country":
        return country_name(value)
    return value


def _when(hit: SearchHit) -> datetime:
    return hit.published_at or hit.collected_at or datetime.min.replace(tzinfo=UTC)


_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_CITATION = re.compile(r"\s*\(Citation:[^)]*\)")


def plain_description(text: str) -> str:
    """A description as card text: Markdown links as their text, ATT&CK's ``(Citation: …)``
    left out (the entity page renders the whole description)."""
    return _CITATION.sub("", _MD_LINK.sub(r"\1", text))


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit + 1)
    return text[:cut if cut > limit // 2 else limit].rstrip(" ,;:") + "…"


def entity_card(store: SqlStore, entity: NamedEntity, audience: Audience
                ) -> tuple[EntityCard, list[str]] | None:
    """The entity's card as ``audience`` sees it, and every name of it they may see (for
    the search's widening); ``None`` when they may not see it."""
    view = store.get(entity.id, audience)
    if view is None or view.get("record") != "object":
        return None
    name = view.get("name") or entity.name
    statements = names.shown_statements(store, aliases.statements(store, entity.id), audience)
    facts = entity_overview.facts(store, view.get("stix"), name, audience)
    every = list(dict.fromkeys(
        [name, *(s.alias for s in statements if s.status == aliases.ACTIVE and s.alias),
         *facts.aliases]))
    shown = [a for a in every if a.casefold() != name.casefold()]
    description = facts.descriptions[0].text if facts.descriptions else ""
    total = entity_overview.mentions(store, entity.id, audience, page=1, size=1).total
    card = EntityCard(entity.id, name,
                      TYPE_LABELS.get(entity.type, entity.type.replace("-", " ")),
                      _short(plain_description(description), CARD_DESCRIPTION),
                      shown[:CARD_ALIASES], total, facts.first_seen, facts.last_seen)
    return card, every


def _semantic(store: SqlStore) -> Run:
    from allsource.analyze.semantic import semantic_search

    return lambda query, audience: semantic_search(store, query, audience)


def _add_snippets(store: SqlStore, mode: str, text: str, hits: list[SearchHit],
                  audience: Audience) -> None:
    if mode == "semantic":
        from allsource.analyze.semantic import add_snippets

        add_snippets(store, hits, audience)
    else:
        store.add_snippets(text, hits, audience)


def run_search(store: SqlStore, audience: Audience, p: SearchParams) -> Outcome:
    """One search as ``audience`` sees it (see the module docstring)."""
    out = Outcome(hints=search_hints.hints(p.q), suggestion=search_hints.suggestion(p.q))
    text = p.q
    named = search_entity.named_in_query(store, p.q, audience)
    if named:
        found = entity_card(store, named[0], audience)
        if found is not None:
            out.card, every = found
            typed = search_entity.query_name(p.q)
            if (typed is not None and len(named) == 1 and named[0].type != "location"
                    and p.mode == "text" and not p.exact):
                out.expansion = search_entity.expand(typed, every)
                text = out.expansion.text if out.expansion.added else p.q
        out.candidates = named[1:]
    semantic = p.mode == "semantic"
    run: Run = _semantic(store) if semantic else store.search
    window_only = semantic or any(p.chosen[f] for f in WINDOW_FACETS)
    try:
        # the facet window: every source and kind (the facets count them), light rows
        window = run(SearchQuery(text, since=p.since, until=p.until, limit=FACET_SAMPLE,
                                 snippets=False, titles=False,
                                 details=window_only and p.sort == "date"), audience)
        paged: SearchResult | None = None
        if not window_only:
            paged = run(SearchQuery(text, sources=p.sources, kinds=p.kinds, since=p.since,
                                    until=p.until, limit=PAGE_SIZE + 1,
                                    offset=(p.page - 1) * PAGE_SIZE, snippets=False,
                                    titles=False, details=False, order=p.sort), audience)
    except AllsourceError as exc:
        out.error = str(exc)
        return out
    hits = window.hits
    if semantic:
        out.min_similarity = MIN_SIMILARITY
        hits = [h for h in hits if h.score >= MIN_SIMILARITY]
    facts = queries.window_facts(store, [h.id for h in hits], audience)
    out.facets = facets(hits, facts, p.chosen,
                        names=lambda ids: queries.entity_names(store, ids))
    out.took_ms = window.took_ms
    if paged is not None:
        shown = paged.hits[:PAGE_SIZE]
        out.has_next = len(paged.hits) > PAGE_SIZE
        out.total, out.total_exact = paged.total, paged.total_exact
        out.took_ms += paged.took_ms
        if out.total_exact:
            out.pages = max(1, -(-out.total // PAGE_SIZE))
        else:
            out.pages = None
            reached = (p.page - 1) * PAGE_SIZE + len(shown)
            # relevance ranks a bounded set: its pages may end before the matches do
            out.ranked_end = p.sort == "relevance" and not out.has_next and reached > 0
    else:
        out.window_only = True
        kept = [h for h in hits if _passes(_values(h, facts), p.chosen)]
        if p.sort == "date":
            kept.sort(key=_when, reverse=True)
        window_full = len(window.hits) >= FACET_SAMPLE or not window.total_exact
        out.total = len(kept)
        out.total_exact = not window_full or (semantic and len(hits) < len(window.hits))
        out.pages = max(1, -(-len(kept) // PAGE_SIZE))
        shown = kept[(p.page - 1) * PAGE_SIZE:p.page * PAGE_SIZE]
        out.has_next = p.page * PAGE_SIZE < len(kept)
    _add_snippets(store, p.mode, text, shown, audience)
    shown = [h for h in shown if h.collected_at is not None]  # gone since the window
    out.groups = _group(shown, queries.stories_of(store, [h.id for h in shown]))
    return out
