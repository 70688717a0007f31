"""SQLite full-text ranking: bm25 over a bounded set of candidates, in one statement.

Ranking a match costs FTS5 a ``bm25()`` call (the match's positions and the row's size), so a
word found in most of a large store would be ranked across all of it — tens of milliseconds at
100,000 documents, growing with the store. The store therefore ranks at most
``RANK_CANDIDATES`` matches: the **most recently stored** ones the reader may read (FTS5 walks
its index newest first, ``ORDER BY rowid DESC``, and stops there). Queries matching fewer
documents — the useful ones — rank exactly as a full bm25 sort would; broader ones rank the
newest ``RANK_CANDIDATES`` of their matches.

One statement does it all, so a prefix (``inte*``), whose expansion over the vocabulary is
the expensive part of its evaluation, is expanded once::

    WITH cand AS (SELECT rowid, bm25(…) FROM documents_fts [JOIN documents …]
                  WHERE documents_fts MATCH ? [AND marking and filter conditions]
                  ORDER BY rowid DESC LIMIT RANK_CANDIDATES)
    SELECT seq, score, count(*) OVER (), min(seq) OVER () FROM cand
    ORDER BY score, seq DESC LIMIT ? OFFSET ?

Marking and filter conditions stay in the candidate statement (joined to ``documents`` only
when there are any), so candidates, pages and counts are of readable rows only — nothing is
over-fetched and re-checked after a ``LIMIT``. The count is the number of candidates, capped at
``MAX_COUNT`` (``RANK_CANDIDATES`` ≥ ``MAX_COUNT``, so a count below the cap is exact); a count
that reaches the cap is reported as not exact (a lower bound), never as the figure.

Pages past the candidates continue with the older matches, newest first (the order is
candidates by score, then the rest by age), so paging through every match still sees each
exactly once. Callers that need every match (watchlist backfill) walk them unranked instead
(store/match_pages.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.store import schema as t

#: how many matches are ranked at most (the newest readable ones)
RANK_CANDIDATES = 5000
#: counts are capped here
MAX_COUNT = 1000

_FTS = sa.table("documents_fts", sa.column("rowid"))
_BM25 = "bm25(documents_fts, 10.0, 1.0)"  # title ten times the body, as the ``rank`` option


def _matches(match: str, filters: Sequence[sa.ColumnElement[bool]]) -> sa.Select[Any]:
    """``rowid, score`` of the matches passing ``filters``, newest first."""
    fts_match = sa.literal_column("documents_fts").op("MATCH", return_type=sa.Boolean)(
        sa.bindparam("match", match))
    stmt = sa.select(_FTS.c.rowid.label("seq"), sa.literal_column(_BM25).label("score"))
    if filters:
        d = t.documents
        stmt = stmt.select_from(_FTS.join(d, d.c.seq == _FTS.c.rowid)).where(*filters)
    else:
        stmt = stmt.select_from(_FTS)
    return stmt.where(fts_match).order_by(_FTS.c.rowid.desc())


def ranked_page(conn: Connection, match: str, filters: Sequence[sa.ColumnElement[bool]],
                limit: int, offset: int) -> tuple[list[tuple[int, float]], int, bool]:
    """``([(seq, bm25), …], total, exact)``: the page ``offset``..``offset + limit`` of the
    matches (bm25 is lower-is-better), their count capped at ``MAX_COUNT``, and whether that
    count is exact (``False``: more matches than the cap)."""
    cand = _matches(match, filters).limit(RANK_CANDIDATES).cte("cand")
    stmt = (sa.select(cand.c.seq, cand.c.score, sa.func.count().over().label("n"),
                      sa.func.min(cand.c.seq).over().label("oldest"))
            .order_by(cand.c.score, cand.c.seq.desc()).limit(limit).offset(offset))
    rows = conn.execute(stmt).all()
    if rows:
        n, oldest = int(rows[0].n), int(rows[0].oldest)
    else:  # past the candidates (or no match): count them on their own
        n, found = conn.execute(sa.select(sa.func.count(), sa.func.min(cand.c.seq))).one()
        n, oldest = int(n), int(found or 0)
    page = [(int(r.seq), float(r.score)) for r in rows]
    if n == RANK_CANDIDATES and offset + limit > RANK_CANDIDATES:
        # the page reaches past the candidates: continue with the older matches
        start = max(offset, RANK_CANDIDATES) - RANK_CANDIDATES
        rest = (_matches(match, filters).where(_FTS.c.rowid < oldest)
                .limit(offset + limit - max(offset, RANK_CANDIDATES)).offset(start))
        page += [(int(r.seq), float(r.score)) for r in conn.execute(rest)]
    # n is exact below RANK_CANDIDATES (≥ MAX_COUNT), so it is the whole figure up to the cap
    return page, min(n, MAX_COUNT), n <= MAX_COUNT and n < RANK_CANDIDATES
