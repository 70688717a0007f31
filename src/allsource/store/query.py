"""Search queries: one user syntax, compiled safely for each backend.

The syntax is the web-search style analysts already know (and PostgreSQL's
``websearch_to_tsquery`` understands): words are ANDed, ``"quoted phrases"`` match in order,
``OR`` between two terms makes an alternative (binding tighter than AND), ``-word`` excludes,
and ``word*`` matches a prefix of at least ``MIN_PREFIX_CHARS`` letters or digits (counted in
the last word of the term, as the indexes split ``long-r*`` into ``long`` and ``r*``): both
engines expand a prefix by reading every indexed word that starts with it, so a one-letter
prefix reads most of the index — it is refused with a clear error.

The user's text is never pasted into a query language: the SQLite compiler quotes every term
as an FTS5 string, and the PostgreSQL compiler binds each term as a parameter to
``phraseto_tsquery``/``to_tsquery`` — so operators, quotes or SQL in the input cannot change
the query's structure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from allsource.errors import InputError

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32
#: letters or digits a prefix (``word*``) needs in its last word
MIN_PREFIX_CHARS = 2

_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')
# what both full-text indexes count as one word: letters and digits (``_`` separates)
_INDEX_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """``all_of`` is a list of OR-groups (each a list of terms); ``none_of`` excludes."""

    all_of: list[list[Term]]
    none_of: list[Term]


@dataclass(slots=True)
class SearchQuery:
    text: str
    sources: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20
    offset: int = 0
    #: cut an excerpt for every hit; ``False`` leaves them empty, for callers that rank a
    #: wide window and show a page of it (``SqlStore.add_snippets`` then cuts the shown ones)
    snippets: bool = True
    #: read every hit's title; ``False`` leaves them empty too (``add_snippets`` fills the
    #: shown ones): an encrypted store decrypts a title per hit, and a caller ranking a
    #: 200-hit window to show 20 needs only the shown ones
    titles: bool = True
    #: read every hit's url, dates and TLP; ``False`` leaves them empty too (``url`` and the
    #: dates ``None``, ``tlp`` ``""``; ``add_snippets`` fills the shown ones): a window read
    #: for grouping and facets needs each hit's id, kind, source and score only, and those
    #: are stored before the document's text, the others after it (SQLite reads a long
    #: text's overflow pages to reach them)
    details: bool = True
    #: ``"relevance"`` (best first, over a bounded set of ranked candidates) or ``"date"``
    #: (every match, newest first; store/date_order.py)
    order: str = "relevance"


@dataclass(slots=True)
class SearchHit:
    id: str
    kind: str
    title: str
    snippet: str
    score: float
    url: str | None
    published_at: datetime | None
    #: ``None`` only on a hit read with ``SearchQuery.details=False`` until ``add_snippets``
    collected_at: datetime | None
    source: str
    tlp: str


@dataclass(slots=True)
class SearchResult:
    hits: list[SearchHit]
    #: how many documents matched — capped by the store (``total_exact`` says whether it is
    #: the whole figure or a lower bound)
    total: int
    took_ms: float
    #: ``False`` when ``total`` is a lower bound: the count reached the store's cap, or (on
    #: PostgreSQL) a phrase was checked on a bounded set of candidates only
    total_exact: bool = True


def _clean_word(word: str) -> str:
    # Keep characters that can be part of a token; everything else separates words.
    return re.sub(r"[^\w.@:/\-']+", " ", word).strip(" .:-/'")


def parse(text: str) -> ParsedQuery:
    if len(text) > MAX_QUERY_CHARS:
        raise InputError(f"query is too long ({len(text)} > {MAX_QUERY_CHARS} characters)")
    all_of: list[list[Term]] = []
    none_of: list[Term] = []
    pending_or = False
    count = 0
    for m in _TOKEN.finditer(text):
        neg_phrase, phrase, word = m.group(1), m.group(2), m.group(3)
        if word is not None and word == "OR":
            pending_or = bool(all_of)
            continue
        negative = bool(neg_phrase) if phrase is not None else word.startswith("-")
        raw = phrase if phrase is not None else word.lstrip("-")
        prefix = phrase is None and raw.endswith("*")
        cleaned = _clean_word(raw.rstrip("*"))
        if not cleaned:
            continue
        if prefix:
            words = _INDEX_WORD.findall(cleaned)
            if not words or len(words[-1]) < MIN_PREFIX_CHARS:
                raise InputError(f"a prefix needs at least {MIN_PREFIX_CHARS} letters or "
                                 f"digits before the '*' ({raw!r})")
        count += 1
        if count > MAX_TERMS:
            raise InputError(f"query has too many terms (more than {MAX_TERMS})")
        term = Term(cleaned, prefix)
        if negative:
            none_of.append(term)
        elif pending_or:
            all_of[-1].append(term)
        else:
            all_of.append([term])
        pending_or = False
    if not all_of:
        raise InputError("the query needs at least one word to search for")
    return ParsedQuery(all_of, none_of)


def has_phrase(q: ParsedQuery) -> bool:
    """Whether a wanted term is a phrase (two words or more, as the indexes split words)."""
    return any(not t.prefix and len(_INDEX_WORD.findall(t.text)) > 1
               for group in q.all_of for t in group)


def has_prefix(q: ParsedQuery) -> bool:
    """Whether a wanted term is a prefix (``word*``)."""
    return any(t.prefix for group in q.all_of for t in group)


def to_fts5(q: ParsedQuery) -> str:
    """Compile to an FTS5 MATCH expression in which every term is a quoted string."""

    def term(t: Term) -> str:
        quoted = '"' + t.text.replace('"', '""') + '"'
        return quoted + ("*" if t.prefix else "")

    groups = []
    for group in q.all_of:
        alts = [term(t) for t in group]
        groups.append(alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")")
    expr = " AND ".join(groups)
    for t in q.none_of:
        expr += " NOT " + term(t)
    return expr


def to_tsquery_sql(q: ParsedQuery, config: str = "english", param: str = "q",
                   words_only: bool = False) -> tuple[str, dict[str, str]]:
    """Compile to a PostgreSQL tsquery expression with every term a bound parameter (named
    ``param`` + a number). ``words_only`` asks for the words of each wanted phrase ANDed
    instead (``plainto_tsquery``): a query every phrase match also matches, which a GIN index
    answers without reading any row's positions; excluded phrases stay phrases, so the
    result is still a superset of the exact query's matches."""
    params: dict[str, str] = {}

    def term(t: Term, exact: bool = True) -> str:
        name = f"{param}{len(params)}"
        if t.prefix:
            # quote_literal keeps the word one lexeme; ':*' makes it a prefix match.
            params[name] = t.text
            return f"to_tsquery('{config}', quote_literal(:{name}) || ':*')"
        params[name] = t.text
        return f"{'phraseto' if exact else 'plainto'}_tsquery('{config}', :{name})"

    parts = []
    for group in q.all_of:
        alts = [term(t, exact=not words_only) for t in group]
        parts.append(alts[0] if len(alts) == 1 else "(" + " || ".join(alts) + ")")
    expr = " && ".join(parts)
    for t in q.none_of:
        expr += " && !!" + term(t)
    return "(" + expr + ")", params
