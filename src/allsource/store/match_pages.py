"""Every document matching a full-text query, unranked, in keyset pages by ``seq``.

Search ranks a bounded set of candidates and counts up to a cap (store/fts_rank.py,
store/postgres.py): right for a reader, wrong for a caller that must see *every* match, such
as a watchlist's backfill. This walks the matches in storage order instead, one statement per
page::

    SQLite:      SELECT seq, id FROM documents_fts JOIN documents ON seq = rowid
                 WHERE documents_fts MATCH :q AND rowid > :last AND <readable>
                 ORDER BY rowid LIMIT :n
    PostgreSQL:  SELECT seq, id FROM documents
                 WHERE tsv @@ <query> AND seq > :last AND <readable>
                 ORDER BY seq LIMIT :n

Each page starts after the last ``seq`` of the one before (a keyset, not an ``OFFSET``), so a
page costs the same wherever it falls, and none is skipped or repeated. Nothing is ranked or
counted, phrases are checked exactly by the engine, and the marking filter is in the
statement (:func:`allsource.store.access.readable`), so only rows the audience may read are
returned. The query is compiled by the backend, which hashes it for the blind index of an
encrypted store exactly as search does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from allsource.store import schema as t

#: ids per page
PAGE_SIZE = 1000

_FTS = sa.table("documents_fts", sa.column("rowid"))

#: ``(after, limit) -> [(seq, id), …]``: one page of matches with ``seq > after`` (any ``seq``
#: when ``after`` is ``None``), in ``seq`` order
FetchPage = Callable[[int | None, int], Sequence[Any]]


def pages(fetch: FetchPage, page_size: int = PAGE_SIZE) -> Iterator[list[str]]:
    """The ids of every match, a page (at most ``page_size``) at a time."""
    after: int | None = None
    while True:
        rows = fetch(after, page_size)
        if rows:
            yield [r.id for r in rows]
        if len(rows) < page_size:
            return
        after = int(rows[-1].seq)


def fts5_page(match: str, readable: sa.ColumnElement[bool], after: int | None, limit: int
              ) -> sa.Select[Any]:
    """One page of an FTS5 ``MATCH`` (FTS5 walks its index in rowid order from ``after``)."""
    d = t.documents
    fts_match = sa.literal_column("documents_fts").op("MATCH", return_type=sa.Boolean)(
        sa.bindparam("match", match))
    stmt = (sa.select(d.c.seq, d.c.id).select_from(_FTS.join(d, d.c.seq == _FTS.c.rowid))
            .where(fts_match, readable).order_by(_FTS.c.rowid).limit(limit))
    return stmt if after is None else stmt.where(_FTS.c.rowid > after)


def tsquery_page(tsquery: sa.TextClause, readable: sa.ColumnElement[bool], after: int | None,
                 limit: int) -> sa.Select[Any]:
    """One page of ``tsv @@ tsquery`` (a PostgreSQL tsquery expression, parameters bound)."""
    d = t.documents
    tsv: sa.ColumnElement[Any] = sa.literal_column("documents.tsv")
    stmt = (sa.select(d.c.seq, d.c.id).where(tsv.op("@@")(tsquery), readable)
            .order_by(d.c.seq).limit(limit))
    return stmt if after is None else stmt.where(d.c.seq > after)
