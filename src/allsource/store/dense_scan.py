"""PostgreSQL: the candidates of a dense query read from the table in order, not the index.

PostgreSQL search ranks the first ``RANK_CANDIDATES`` matches the GIN index yields, in table
order (store/postgres.py). GIN answers only with a bitmap of *every* match, so the cost of a
query grows with how many rows it matches, however few are kept: a prefix expands to every
lexeme that starts with it (``inte*`` reads as ``int:*`` after English stemming: 55,000 of
100,000 documents, ~1 µs a matching row to collect into the bitmap), and then only the first
1,000 are read. When a query matches a large share of the table, those first matches are
found sooner by reading the table from its first block and testing each row's tsvector
(~8–10 µs a row, most of it detoasting), stopping at the 1,000th match.

Both ways return the same rows in the same order: a bitmap heap scan visits the matches in
the order of their tuple ids (block, then line), exactly as reading the blocks in turn does,
so the first ``RANK_CANDIDATES`` are the same rows either way, and so are their ranks and
counts. The read is bounded: only blocks before a window end are read (``ctid < '(B,0)'``, a
TID range scan), ``B`` sized from the planner's estimate of the matches with a margin
(:data:`MARGIN`). If the window holds fewer than ``RANK_CANDIDATES`` matches (the estimate was
too high, or the matches sit later in the table) the search runs the index plan as before:
a window can only make a search cheaper when it is full, never change its answer. Parallel
plans are switched off for the candidate statement on both paths, so neither interleaves
its rows.

When is a window worth it? Reading the window costs about ``ROW_COST`` times what the bitmap
spends on one match, and the window holds ``RANK_CANDIDATES × MARGIN / share`` rows for a
query matching ``share`` of the table, so it pays when ``matches² ≥ RANK_CANDIDATES × MARGIN ×
ROW_COST × rows`` — at 100,000 documents a query matching about a third of them or more
(measured per query on 100,000 documents: ``comm*`` 75 % 60 → 16 ms, ``inte*`` 55 % 69 →
25 ms, ``spec*`` 31 % 45 → 34 ms; at 15–20 % the window was 1.5–3.6× slower). The rule keeps
the window for the densest queries as the store grows (at a million documents, a tenth of
them or more). Only queries with a prefix term take this path: they are the ones whose
expansion the index pays for in full; a word or phrase that dense is rare in searches.

Marking and filter conditions stay in the candidate statement on both paths: a window row the
reader may not read is neither a candidate nor counted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.store import schema as t

#: how many more rows the window holds than the estimate says the candidates need
MARGIN = 1.5
#: what reading one row in the window costs, in matches collected by the GIN bitmap
#: (measured 6–11 on 100,000 documents)
ROW_COST = 8.0
#: seconds a table's size is reused before it is read again (it only sizes the window; a
#: stale one costs at most a fallback, never a different answer)
SIZE_TTL = 30.0

_sizes: dict[str, tuple[float, float, int, int]] = {}


def _table_size(conn: Connection) -> tuple[float, int, int]:
    """``(reltuples, relpages, blocks now)`` of ``documents``, read at most every
    :data:`SIZE_TTL` seconds per database."""
    key = conn.engine.url.render_as_string(hide_password=True)
    now = time.monotonic()
    found = _sizes.get(key)
    if found is None or now - found[0] > SIZE_TTL:
        row = conn.exec_driver_sql(
            "SELECT reltuples, relpages, pg_relation_size(oid) / "
            "current_setting('block_size')::int FROM pg_class "
            "WHERE oid = 'documents'::regclass").one()
        found = _sizes[key] = (now, float(row[0]), int(row[1]), int(row[2]))
    return found[1], found[2], found[3]


def window_end(conn: Connection, where: Sequence[sa.ColumnElement[bool]], want: int
               ) -> int | None:
    """The first block past the window in which ``want`` matches of ``where`` are expected
    (with :data:`MARGIN`), or ``None`` when the index plan is expected to be cheaper, or the
    table has no statistics yet. One statement, the planner's estimate of the matches
    (``EXPLAIN``, nothing is executed), and the table's size every :data:`SIZE_TTL`
    seconds."""
    tuples, pages, blocks = _table_size(conn)
    if tuples <= 0 or pages <= 0 or blocks <= 0:
        return None
    rows = tuples / pages * blocks  # as the planner scales its statistics to the table now
    if rows < want * MARGIN * ROW_COST:  # no query on a table this small can pay for it
        return None
    stmt = sa.select(t.documents.c.seq).where(*where)
    compiled = stmt.compile(dialect=conn.dialect)
    plan: Any = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled),
                                     compiled.params).scalar_one()
    matches = float(plan[0]["Plan"]["Plan Rows"])
    if matches * matches < want * MARGIN * ROW_COST * rows:
        return None
    end = math.ceil(blocks * want * MARGIN / matches) + 1
    return end if end < blocks else None


def before(end: int) -> sa.ColumnElement[bool]:
    """``WHERE`` condition: rows in the blocks before ``end`` (a TID range scan reads only
    those)."""
    return sa.and_(sa.text("documents.ctid < CAST(:window_end AS tid)").bindparams(
        window_end=f"({end},0)"))
