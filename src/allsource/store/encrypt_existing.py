"""Seal what a store wrote before encryption was turned on (``allsource keys
encrypt-existing``).

Documents without blind-index tokens (``index_text IS NULL``) are read in ``seq`` order, 500 at
a time, and rewritten sealed in one transaction per batch, so the command can be stopped and
run again: it resumes with the rows still in plain text. Their tokens go to the full-text
index only (store/blind_storage.py): on SQLite the trigger removes the plain entries and the
store adds the tokens; on PostgreSQL the UPDATE writes ``tsv`` from the tokens. Plain blob
files are then rewritten sealed, each atomically (temporary file + rename).

Then every other table with sealed columns (``Sealed``/``SealedJSON`` in ``store/schema.py``:
claims, graded claims, risk scores, watchlist hits, alerts and their hits, events and
deliveries, case evidence and events) is read in primary-key order, 500 rows at a time
(each page after the last key of the one before), as stored (cast to text, so tokens are not
opened), and the rows with a value still in plain text are rewritten sealed, bound to their
row — one transaction per batch, so a rerun skips what is sealed already. Rows a ``when``
condition leaves in clear (e.g. annotations of stages other than ``claims``) are not read.

Old copies of the plain text outlive the rewrite: SQLite keeps freed pages and FTS5 keeps
deleted words in old index segments, PostgreSQL keeps dead row versions. The command ends by
merging the FTS5 segments (``optimize``), ``VACUUM`` and a truncating WAL checkpoint on
SQLite, ``VACUUM FULL`` of the
rewritten tables on PostgreSQL (which locks them while it runs). Copies already in backups,
PostgreSQL's WAL archive or the file system's free blocks are beyond its reach.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.errors import StoreError
from allsource.store import blind_storage, crypto
from allsource.store import schema as t
from allsource.store.sealed import NO_KEY_HINT, SealedJSON
from allsource.store.sealed import Sealed as SealedText

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

BATCH = 500


@dataclass(slots=True)
class Sealed:
    documents: int = 0
    blobs: int = 0
    #: table → rows rewritten sealed (other than documents)
    rows: dict[str, int] = field(default_factory=dict)


def sealed_tables() -> list[sa.Table]:
    """The tables other than ``documents`` with sealed columns."""
    return [table for table in t.metadata.sorted_tables if table is not t.documents
            and any(isinstance(c.type, SealedText | SealedJSON) for c in table.columns)]


def _sealed_columns(table: sa.Table) -> list[sa.Column[object]]:
    return [c for c in table.columns if isinstance(c.type, SealedText | SealedJSON)]


def _when(table: sa.Table) -> tuple[str, tuple[str, ...]] | None:
    """The one ``when`` condition of the table's sealed columns, if they have one."""
    found = {getattr(c.type, "when", None) for c in _sealed_columns(table)}
    return found.pop() if len(found) == 1 else None


def _plain(column: sa.Column[object], row: dict[str, Any]) -> tuple[bool, object]:
    """(whether the row's stored text of ``column`` is a value still in plain text that
    should be sealed, that value)."""
    raw = row[column.name]
    when = getattr(column.type, "when", None)
    if raw is None or (when is not None and row.get(when[0]) not in when[1]):
        return False, None
    if isinstance(column.type, SealedJSON):
        value = orjson.loads(raw)
        return not (isinstance(value, str) and crypto.is_token(value)), value
    return bool(raw) and not crypto.is_token(raw), raw


def _seal_table(store: SqlStore, table: sa.Table) -> int:
    columns = _sealed_columns(table)
    keys = list(table.primary_key.columns)
    whens = {w[0] for c in columns if (w := getattr(c.type, "when", None)) is not None}
    extra = [table.c[name] for name in sorted(whens) if name not in table.primary_key.columns]
    stmt = sa.select(*keys, *extra, *[sa.cast(c, sa.Text).label(c.name) for c in columns])
    when = _when(table)
    if when is not None:
        stmt = stmt.where(table.c[when[0]].in_(when[1]))
    stmt = stmt.order_by(*keys).limit(BATCH)
    done = 0
    last: tuple[Any, ...] | None = None
    while True:  # keyset pages: each batch starts after the last key of the one before
        page = stmt if last is None else stmt.where(sa.tuple_(*keys) > sa.tuple_(*last))
        store.keys.prepare()
        with store.engine.begin() as conn:
            rows = conn.execute(page).all()
            if not rows:
                break
            last = tuple(rows[-1]._mapping[k.name] for k in keys)
            done += _rewrite(store, conn, table, columns, keys, rows)
    return done


def _rewrite(store: SqlStore, conn: Connection, table: sa.Table,
             columns: list[sa.Column[object]], keys: list[sa.Column[object]],
             rows: Sequence[sa.Row[Any]]) -> int:
    done = 0
    for row in rows:
        m = dict(row._mapping)
        plain = {c.name: value for c in columns
                 for is_plain, value in [_plain(c, m)] if is_plain}
        if not plain:
            continue
        ident = {k: v for k, v in m.items() if k not in {c.name for c in columns}}
        values = store.keys.seal_values(table, ident, plain)
        conn.execute(table.update().where(*[k == m[k.name] for k in keys]).values(**values))
        done += 1
    return done


def encrypt_existing(store: SqlStore, progress: Callable[[int], object] | None = None
                     ) -> Sealed:
    if not store.keys.active:
        raise StoreError(f"no key is configured, nothing can be sealed: {NO_KEY_HINT}")
    done = Sealed()
    d = t.documents
    last = 0
    while True:
        store.keys.prepare()
        with store.engine.begin() as conn:
            rows = conn.execute(sa.select(d.c.seq, d.c.id, d.c.title, d.c.text)
                                .where(d.c.index_text.is_(None), d.c.seq > last)
                                .order_by(d.c.seq).limit(BATCH)).all()
            if not rows:
                break
            sealed = store.keys.seal_rows(d, [dict(r._mapping) for r in rows])
            blind_storage.rewrite_sealed(conn, store.dialect_name, sealed)
            last = rows[-1].seq
        done.documents += len(rows)
        if progress:
            progress(done.documents)
    for digest in store.blobs.digests():
        if store.blobs.seal_existing(digest):
            done.blobs += 1
    for table in sealed_tables():
        if count := _seal_table(store, table):
            done.rows[table.name] = count
    if done.documents or done.rows:
        with store.engine.connect() as conn:
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            if store.dialect_name == "sqlite":
                # FTS5 keeps deleted words in old segments until they are merged
                auto.exec_driver_sql(
                    "INSERT INTO documents_fts(documents_fts) VALUES ('optimize')")
                auto.exec_driver_sql("VACUUM")
                # VACUUM's pages sit in the WAL until a checkpoint; TRUNCATE also empties the
                # WAL, whose older frames still hold plain pages
                auto.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                rewritten = ["documents"] * bool(done.documents) + sorted(done.rows)
                auto.exec_driver_sql(f"VACUUM FULL {', '.join(rewritten)}")
    return done


def plain_rows(store: SqlStore) -> dict[str, int]:
    """Table → rows (other than documents) with a sealed column still in plain text: what
    ``encrypt_existing`` would rewrite (``allsource keys status``)."""
    out: dict[str, int] = {}
    with store.engine.connect() as conn:
        for table in sealed_tables():
            tests = []
            for c in _sealed_columns(table):
                raw = sa.cast(c, sa.Text)
                prefix = ('"' if isinstance(c.type, SealedJSON) else "") + crypto.TOKEN_PREFIX
                test = sa.and_(raw != "", ~raw.startswith(prefix, autoescape=True))
                when = getattr(c.type, "when", None)
                if when is not None:
                    test = sa.and_(test, table.c[when[0]].in_(when[1]))
                tests.append(test)
            count = conn.execute(sa.select(sa.func.count()).select_from(table)
                                 .where(sa.or_(*tests))).scalar_one()
            if count:
                out[table.name] = int(count)
    return out
