"""SQLite store: WAL journal, FTS5 full text (porter stemming, bm25 ranking)."""

from __future__ import annotations

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
from allsource.store.sql import HL_END, HL_START, SqlStore, json_dumps

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
            parent = Path(u.database).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreError(f"folder {parent} for the SQLite store does not exist")
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
        match = q.to_fts5(q.parse(query.text))
        unfiltered = (audience.unrestricted and not source_ids and not query.kinds
                      and query.since is None and query.until is None)
        if unfiltered:
            return self._search_ranked_first(conn, match, query, audience, started)
        d = t.documents
        fts = sa.table("documents_fts", sa.column("rowid"))
        fts_col: sa.ColumnElement[Any] = sa.literal_column("documents_fts")
        fts_match: sa.ColumnElement[bool] = fts_col.op("MATCH", return_type=sa.Boolean)(
            sa.bindparam("match", match))
        conds = [fts_match, *self._filters(d, query, source_ids, audience)]
        snippet = sa.func.snippet(fts_col, -1, HL_START, HL_END, "…", 24).label("snippet")
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
        return self._result(conn, rows, int(total), audience, started, score_sign=-1.0)

    def _search_ranked_first(self, conn: Connection, match: str, query: q.SearchQuery,
                             audience: Audience, started: float) -> q.SearchResult:
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
            snippets: dict[int, str] = dict(conn.exec_driver_sql(
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
        rows = [_Row(by_seq[seq], snippets.get(seq, ""), rank) for seq, rank in page
                if seq in by_seq]
        return self._result(conn, rows, int(total), audience, started, score_sign=-1.0)


class _Row:
    """A document row with its snippet and score, shaped like the joined query's rows."""

    def __init__(self, row: Any, snippet: str, score: float) -> None:
        self._row = row
        self.snippet = snippet
        self.score = score
        self._mapping = row._mapping

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)
