"""Where an encrypted store's blind tokens go: into the full-text index only (migration 0028).

Until 0028 a sealed document kept its blind tokens (store/blind.py) twice: as strings in
``documents.index_title``/``index_text``, from which the SQLite FTS5 triggers and the
PostgreSQL generated ``tsv`` column built the index, and in that index. The strings are
about 2.1 times the text's length (11-character tokens and a space per word), so a sealed
row was the sealed text plus twice the text again: SQLite wrote it across overflow pages,
PostgreSQL through TOAST, and a benchmark with the hashing replaced by a constant string
still cost 8–15 % more than a plain store (benchmarks/RESULTS.md). The index needs the
tokens; nothing reads the stored strings.

So the writer hands the tokens straight to the index and stores only a marker:

* ``index_text`` / ``index_title`` hold :data:`NOT_STORED` (``''``) on a row sealed this way,
  ``NULL`` on a row in plain text (unchanged: "plain rows left?" and ``keys status`` still
  ask ``index_text IS NULL``), and the token strings on a row sealed before 0028 that the
  migration has not converted (none after it: it blanks them, see below);
* **SQLite**: the insert triggers index only plain and pre-0028 rows; for a row sealed
  here the store inserts ``(rowid, title tokens, text tokens)`` into ``documents_fts`` itself,
  in the same transaction (:func:`index_sqlite`: one ``INSERT … SELECT seq … WHERE id = ?``
  per row, so the rowid the insert gave needs no round trip);
* **PostgreSQL**: ``tsv`` is an ordinary column (no longer generated). A ``BEFORE INSERT OR
  UPDATE`` trigger computes it for plain rows (``english``) and pre-0028 token rows
  (``simple``), and leaves it as written for a row whose ``index_text`` is ``''``: the
  store's INSERT writes :func:`pg_tsv_sql` of the tokens, passed as parameters.

Migration 0028 converts rows sealed before it without the key: their tokens are already in
the index, so it sets both strings to ``''`` and the triggers leave the index as it is.

What this gives up: the index entries of a sealed row can no longer be *removed* by a
trigger (FTS5's ``'delete'`` needs the tokens that were inserted; a PostgreSQL trigger cannot
recompute them without the key). The store never deletes documents. Two paths rewrite a
document's text, both through :func:`rewrite_sealed`: ``keys encrypt-existing`` (plain →
sealed: the trigger removes the plain entries) and a rebuild (``allsource process
--rebuild``: on SQLite it first deletes a sealed row's entries, recomputing the tokens from
the decrypted old text with the index key). A future path that deletes sealed documents must
do the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

#: what ``index_title``/``index_text`` hold on a row whose tokens went to the index only
NOT_STORED = ""
#: keys of a sealed document row (never columns) carrying its tokens to the index
TITLE_TOKENS = "_blind_title"
TEXT_TOKENS = "_blind_text"

_SQLITE_INDEX = ("INSERT INTO documents_fts(rowid, title, text) "
                 "SELECT seq, ?, ? FROM documents WHERE id = ?")


def pg_tsv_sql(mark: str) -> str:
    """The ``tsv`` of a sealed row from its title and text tokens (two ``mark`` parameters):
    what the generated column computed from the stored strings before 0028."""
    return (f"setweight(to_tsvector('simple', coalesce({mark}, '')), 'A') || "
            f"setweight(to_tsvector('simple', coalesce({mark}, '')), 'B')")


def carries_tokens(rows: Sequence[dict[str, Any]]) -> bool:
    """Whether ``rows`` (documents prepared by ``KeyRing.seal_rows``) carry tokens for the
    index instead of storing them."""
    return bool(rows) and TEXT_TOKENS in rows[0]


def index_sqlite(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Add the tokens of sealed documents just inserted (or updated) to ``documents_fts``,
    under each row's ``seq``."""
    params = [(row[TITLE_TOKENS], row[TEXT_TOKENS], row["id"]) for row in rows
              if row.get(TEXT_TOKENS) is not None]
    if params:
        conn.exec_driver_sql(_SQLITE_INDEX, params)


def rewrite_sealed(conn: Connection, dialect: str, rows: Sequence[dict[str, Any]]) -> None:
    """Write sealed documents' title, text and markers over their stored rows (by ``seq``),
    with their tokens to the index: on PostgreSQL the same UPDATE writes ``tsv``, replacing
    whatever it held; on SQLite the update trigger deletes a plain row's old words and the
    tokens are added here. A row that was already sealed has old entries no trigger can
    delete: the caller deletes them first (``keys encrypt-existing`` rewrites plain rows
    only; a rebuild deletes them from the decrypted old text, store/rebuild.py)."""
    if dialect == "postgresql":
        conn.exec_driver_sql(
            "UPDATE documents SET title = %s, text = %s, index_title = %s, index_text = %s, "
            f"tsv = {pg_tsv_sql('%s')} WHERE seq = %s",
            [(r["title"], r["text"], r["index_title"], r["index_text"],
              r[TITLE_TOKENS], r[TEXT_TOKENS], r["seq"]) for r in rows])
        return
    conn.exec_driver_sql(
        "UPDATE documents SET title = ?, text = ?, index_title = ?, index_text = ? "
        "WHERE seq = ?",
        [(r["title"], r["text"], r["index_title"], r["index_text"], r["seq"]) for r in rows])
    index_sqlite(conn, rows)
