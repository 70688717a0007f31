"""SQLite store: WAL journal, FTS5 full text (porter stemming, bm25 ranking).

The database file is created with mode 0600 before SQLite opens it (SQLite gives its ``-wal``
and ``-shm`` files the database file's mode), and an existing one is narrowed to 0600.
On an encrypted store the FTS5 table indexes keyed-hash tokens (store/blind.py), so matches
are compiled from the hashed query and snippets are cut from decrypted text."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine

from allsource.errors import StoreError
from allsource.model.markings import Audience
from allsource.store import query as q
from allsource.store import schema as t
from allsource.store.sql import HL_END, HL_START, SnippetRow, SqlStore, json_dumps

MAX_COUNT = 1000


def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA cache_size=-65536")
    # Checkpoint the WAL every ~40 MB instead of every 4 MB: fewer stalls during bulk ingest.
    cur.execute("PRAGMA wal_autocheckpoint=10000")
    cur.close()


class SqliteStore(SqlStore):
    dialect_name = "sqlite"

    def _create_engine(self, url: str) -> Engine:
        u = sa.engine.make_url(url)
        if u.database and u.database != ":memory:":
            path = Path(u.database).expanduser().resolve()
            if not path.parent.is_dir():
                raise StoreError(f"folder {path.parent} for the SQLite store does not exist")
            _private_files(path)
        if not sqlite3.connect(":memory:").execute(
                "SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetchone()[0]:
            raise StoreError("this Python's SQLite lacks FTS5; install a Python built with it")
        engine = sa.create_engine(url, json_serializer=json_dumps, json_deserializer=orjson.loads)
        sa.event.listen(engine, "connect", _on_connect)
        return engine

    def _insert_ignore(self, table: sa.Table) -> Any:
        return sqlite.insert(table).on_conflict_do_nothing()

    def _search(self, conn: Connection, query: q.SearchQuery, source_ids: list[str],
                audience: Audience) -> q.SearchResult:
        started = time.perf_counter()
        parsed = q.parse(query.text)
        sealed = self.keys.encrypted
        if sealed:
            hashed, plain_left = self._blind_query(conn, parsed)
            match = q.to_fts5(hashed)
            if plain_left:
                match = f"({q.to_fts5(parsed)}) OR ({match})"
        else:
            match = q.to_fts5(parsed)
        unfiltered = (audience.unrestricted and not source_ids and not query.kinds
                      and query.since is None and query.until is None)
        if unfiltered:
            return self._search_ranked_first(conn, match, query, audience, started,
                                             parsed if sealed else None)
        d = t.documents
        fts = sa.table("documents_fts", sa.column("rowid"))
        fts_col: sa.ColumnElement[Any] = sa.literal_column("documents_fts")
        fts_match: sa.ColumnElement[bool] = fts_col.op("MATCH", return_type=sa.Boolean)(
            sa.bindparam("match", match))
        conds = [fts_match, *self._filters(d, query, source_ids, audience)]
        snippet = (sa.literal("").label("snippet") if sealed else
                   sa.func.snippet(fts_col, -1, HL_START, HL_END, "…", 24).label("snippet"))
        score: sa.Label[Any] = sa.literal_column("bm25(documents_fts, 10.0, 1.0)").label("score")
        stmt = (sa.select(d.c.id, d.c.kind, d.c.title, d.c.url, d.c.published_at,
                          d.c.collected_at, d.c.source_id, d.c.tlp, d.c.classification,
                          d.c.compartments, d.c.releasability, snippet, score)
                .select_from(fts.join(d, d.c.seq == fts.c.rowid))
                .where(*conds).order_by(sa.text("score")).limit(query.limit)
                .offset(query.offset))
        try:
            rows = conn.execute(stmt).all()
            total = conn.execute(
                sa.select(sa.func.count()).select_from(
                    sa.select(sa.literal(1)).select_from(fts.join(d, d.c.seq == fts.c.rowid))
                    .where(*conds).limit(MAX_COUNT).subquery())).scalar_one()
        except sa.exc.OperationalError as exc:
            raise StoreError(f"search failed: {exc.orig}") from exc
        if sealed:
            rows = self._sealed_snippets(conn, rows, parsed)
        return self._result(conn, rows, int(total), audience, started, score_sign=-1.0)

    def _search_ranked_first(self, conn: Connection, match: str, query: q.SearchQuery,
                             audience: Audience, started: float,
                             sealed: q.ParsedQuery | None = None) -> q.SearchResult:
        """Without filters, FTS5 ranks and limits on its own (``ORDER BY rank`` is the
        configured bm25), so only the returned page is joined to ``documents`` and only its
        rows get snippets — broad words matching most of the store stay fast."""
        try:
            page = conn.exec_driver_sql(
                "SELECT rowid, rank FROM documents_fts WHERE documents_fts MATCH ? "
                "ORDER BY rank LIMIT ? OFFSET ?", (match, query.limit, query.offset)).all()
            total = conn.exec_driver_sql(
                "SELECT count(*) FROM (SELECT 1 FROM documents_fts WHERE documents_fts "
                f"MATCH ? LIMIT {MAX_COUNT})", (match,)).scalar_one()
            if not page:
                return q.SearchResult([], int(total), (time.perf_counter() - started) * 1000)
            seqs = [r[0] for r in page]
            marks = ",".join("?" * len(seqs))
            snippets: dict[int, str] = {} if sealed else dict(conn.exec_driver_sql(
                "SELECT rowid, snippet(documents_fts, -1, ?, ?, '…', 24) FROM documents_fts "
                f"WHERE documents_fts MATCH ? AND rowid IN ({marks})",
                (HL_START, HL_END, match, *seqs)).all())
        except sa.exc.OperationalError as exc:
            raise StoreError(f"search failed: {exc.orig}") from exc
        d = t.documents
        by_seq = {r.seq: r for r in conn.execute(
            sa.select(d.c.seq, d.c.id, d.c.kind, d.c.title, d.c.url, d.c.published_at,
                      d.c.collected_at, d.c.source_id, d.c.tlp, d.c.classification,
                      d.c.compartments, d.c.releasability).where(d.c.seq.in_(seqs)))}
        rows: list[Any] = [SnippetRow(by_seq[seq], snippets.get(seq, ""), rank)
                           for seq, rank in page if seq in by_seq]
        if sealed:
            rows = self._sealed_snippets(conn, rows, sealed)
        return self._result(conn, rows, int(total), audience, started, score_sign=-1.0)


def _private_files(path: Path) -> None:
    """Create the database file 0600 (its WAL and shared-memory files inherit that mode) and
    narrow existing ones that this user owns."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            st = p.stat()
            if st.st_uid == os.geteuid() and st.st_mode & 0o077:
                p.chmod(0o600)
        except FileNotFoundError:
            pass
