"""Search results newest first: every match of a query, ordered by date, a page at a time.

Relevance ranking reads a bounded set of candidates (store/fts_rank.py, store/postgres.py),
so it is the wrong tool for "what is the latest on X": the newest match may lie outside the
candidates. Sorting by date instead orders **every** readable match by its report date (the
collection date when it has none), newest first, ties by storage order — so paging reaches
each match exactly once, however many there are::

    SELECT seq FROM <the backend's match statement, store/match_pages.py>
    WHERE <the marking filter> AND <source, kind and date filters>
    ORDER BY coalesce(published_at, collected_at) DESC, seq DESC LIMIT :n OFFSET :k

The match statement is the one :meth:`SqlStore.matching_ids` walks (FTS5 ``MATCH`` or
``tsv @@ tsquery``, hashed for the blind index of an encrypted store), and the marking filter
is in the statement, so pages and counts are of readable rows only. The count stops at
``MAX_COUNT + 1`` rows (a count of every match of a common word would read all of them):
exact up to ``MAX_COUNT``, "more than" beyond. Hits have no relevance score (``0.0``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.errors import StoreError
from allsource.model.markings import Audience
from allsource.store import schema as t
from allsource.store.query import SearchQuery, SearchResult, parse

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

#: counts are exact up to here
MAX_COUNT = 1000


def _matches(store: SqlStore, conn: Connection, query: SearchQuery, source_ids: list[str],
             audience: Audience) -> sa.Select[Any]:
    """``seq`` of every readable match passing the query's filters, unordered."""
    d = t.documents
    base = store._match_page(conn, parse(query.text), audience, None, 1)
    return (base.order_by(None).limit(None).with_only_columns(d.c.seq)
            .where(*store._filters(d, query, source_ids, audience)))


def search(store: SqlStore, conn: Connection, query: SearchQuery, source_ids: list[str],
           audience: Audience) -> SearchResult:
    """The page ``query.offset``..``+ query.limit`` of the matches, newest first."""
    started = time.perf_counter()
    d = t.documents
    matches = _matches(store, conn, query, source_ids, audience)
    when = sa.func.coalesce(d.c.published_at, d.c.collected_at)
    try:
        seqs = list(conn.execute(
            matches.add_columns(when.label("at"))
            .order_by(when.desc(), d.c.seq.desc()).limit(query.limit).offset(query.offset)
        ).scalars())
        counted = conn.execute(sa.select(sa.func.count()).select_from(
            matches.limit(MAX_COUNT + 1).subquery())).scalar_one()
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"search failed: {exc.orig}") from exc
    parsed = parse(query.text)
    rows = store._page_rows(conn, query, [(seq, 0.0) for seq in seqs], with_text=True,
                            cut=lambda shown: store._cut_snippets(conn, parsed, shown))
    return store._result(conn, rows, min(int(counted), MAX_COUNT), audience, started,
                         score_sign=1.0, total_exact=int(counted) <= MAX_COUNT)
