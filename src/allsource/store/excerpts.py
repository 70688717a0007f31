"""SQLite search excerpts cut by FTS5 from a scratch index of the shown rows only.

FTS5's ``snippet()`` needs the match's phrase positions in the row it excerpts. Asking the
store's own index for them (``… WHERE documents_fts MATCH ? AND rowid IN (…)``) makes FTS5
evaluate the whole query once per listed row — for a prefix (``inte*``) that means expanding
the prefix over the whole vocabulary each time, milliseconds per row. Computing ``snippet()``
inside the ranking statement instead costs a snippet for every row ranked, not every row shown.

So the rows that are actually shown are copied (title and text, a few kilobytes each) into
an in-memory FTS5 table with the store's tokenizer, and the same MATCH expression runs there:
the prefix expands over the vocabulary of those few rows, and ``snippet()`` sees exactly the
phrase positions it would see in the store's index (same tokenizer, same columns, same
expression), so the excerpt is the one the store's index would give. The scratch table lives
on one private in-memory connection per thread and is emptied by a rollback after each use.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

#: the tokenizer of ``documents_fts`` (migration 0001); the scratch index must split and
#: stem words exactly as the store's index does (tests/store/test_excerpts.py checks it)
TOKENIZE = "porter unicode61 remove_diacritics 2"
#: words of context ``snippet()`` shows, as the store always did
SNIPPET_TOKENS = 24

_local = threading.local()


def _scratch() -> sqlite3.Connection:
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE VIRTUAL TABLE scratch USING fts5(title, text, "
                     f"tokenize='{TOKENIZE}')")
        conn.commit()
        _local.conn = conn
    return conn


def fts5_snippets(match: str, rows: Sequence[tuple[int, str | None, str | None]],
                  start: str, end: str) -> dict[int, str]:
    """``{key: excerpt}`` for ``rows`` of ``(key, title, text)`` that ``match`` (an FTS5
    expression compiled by :func:`allsource.store.query.to_fts5`) finds; matched words are
    wrapped in ``start``/``end``. Rows it does not find get no entry."""
    if not rows:
        return {}
    conn = _scratch()
    try:
        conn.executemany("INSERT INTO scratch(rowid, title, text) VALUES (?, ?, ?)", rows)
        found = conn.execute(
            f"SELECT rowid, snippet(scratch, -1, ?, ?, '…', {SNIPPET_TOKENS}) FROM scratch "
            "WHERE scratch MATCH ?", (start, end, match)).fetchall()
    finally:
        conn.rollback()  # empties the scratch table: nothing is kept between searches
    return {int(key): str(text) for key, text in found}
