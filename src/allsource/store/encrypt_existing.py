"""Seal what a store wrote before encryption was turned on (``allsource keys
encrypt-existing``).

Documents without blind-index tokens (``index_text IS NULL``) are read in ``seq`` order, 500 at
a time, and rewritten sealed with their tokens in one transaction per batch, so the command
can be stopped and run again: it resumes with the rows still in plain text. The FTS5 triggers
(SQLite) and the generated ``tsv`` column (PostgreSQL) re-index each rewritten row from its
tokens. Plain blob files are then rewritten sealed, each atomically (temporary file + rename).

Old copies of the plain text outlive the rewrite: SQLite keeps freed pages and FTS5 keeps
deleted words in old index segments, PostgreSQL keeps dead row versions. The command ends by
merging the FTS5 segments (``optimize``), ``VACUUM`` and a truncating WAL checkpoint on
SQLite, ``VACUUM FULL`` of the
rewritten tables on PostgreSQL (which locks them while it runs). Copies already in backups,
PostgreSQL's WAL archive or the file system's free blocks are beyond its reach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from allsource.errors import StoreError
from allsource.store import schema as t
from allsource.store.sealed import NO_KEY_HINT

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

BATCH = 500


@dataclass(slots=True)
class Sealed:
    documents: int = 0
    blobs: int = 0


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
            conn.execute(d.update().where(d.c.seq == sa.bindparam("b_seq")).values(
                title=sa.bindparam("b_title"), text=sa.bindparam("b_text"),
                index_title=sa.bindparam("b_index_title"),
                index_text=sa.bindparam("b_index_text")),
                [{"b_" + k: v for k, v in row.items()} for row in sealed])
            last = rows[-1].seq
        done.documents += len(rows)
        if progress:
            progress(done.documents)
    for digest in store.blobs.digests():
        if store.blobs.seal_existing(digest):
            done.blobs += 1
    if done.documents:
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
                auto.exec_driver_sql("VACUUM FULL documents, annotations")
    return done
