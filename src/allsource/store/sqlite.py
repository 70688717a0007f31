"""SQLite store: WAL journal, FTS5 full text (porter stemming, bm25 ranking).

The database file is created with mode 0600 before SQLite opens it (SQLite gives its ``-wal``
and ``-shm`` files the database file's mode), and an existing one is narrowed to 0600.
On an encrypted store the FTS5 table indexes keyed-hash tokens (store/blind.py), so matches
are compiled from the hashed query and snippets are cut from decrypted text."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine

from allsource.errors import StoreError
from allsource.model.markings import Audience
from allsource.store import excerpts, fts_rank, match_pages
from allsource.store import query as q
from allsource.store import schema as t
from allsource.store.sql import HL_END, HL_START, SqlStore, json_dumps

#: connections kept open per process, and opened beyond them under a burst (then closed)
POOL_SIZE = 40
POOL_OVERFLOW = 16


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
        # a pool as large as the requests one ``serve`` worker runs at once (its thread pool
        # holds 40): SQLAlchemy's default keeps 5 and closes every connection past the fifth
        # when it is returned (each reopening pays the pragmas, a schema read and a cold page
        # cache), and past 15 a request waits for a connection, up to 30 s, then fails
        engine = sa.create_engine(url, json_serializer=json_dumps, json_deserializer=orjson.loads,
                                  pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
        sa.event.listen(engine, "connect", _on_connect)
        return engine

    def _insert_ignore(self, table: sa.Table) -> Any:
        return sqlite.insert(table).on_conflict_do_nothing()

    def _search(self, conn: Connection, query: q.SearchQuery, source_ids: list[str],
                audience: Audience) -> q.SearchResult:
        started = time.perf_counter()
        parsed = q.parse(query.text)
        match = self._fts_match(conn, parsed)
        unfiltered = (audience.unrestricted and not source_ids and not query.kinds
                      and query.since is None and query.until is None)
        filters = [] if unfiltered else self._filters(t.documents, query, source_ids, audience)
        try:
            page, total, exact = fts_rank.ranked_page(conn, match, filters, query.limit,
                                                      query.offset)
        except sa.exc.OperationalError as exc:
            raise StoreError(f"search failed: {exc.orig}") from exc
        # excerpts come from the shown rows' text (a scratch FTS5 index, or decrypted text)
        rows = self._page_rows(conn, query, page, with_text=True,
                               cut=lambda shown: self._cut_snippets(conn, parsed, shown, match))
        return self._result(conn, rows, total, audience, started, score_sign=-1.0,
                            total_exact=exact)

    def _fts_match(self, conn: Connection, parsed: q.ParsedQuery) -> str:
        """The query as an FTS5 expression; on an encrypted store hashed for the blind index
        (and also plain while rows written in plain text remain)."""
        if not self.keys.encrypted:
            return q.to_fts5(parsed)
        hashed, plain_left = self._blind_query(conn, parsed)
        match = q.to_fts5(hashed)
        return f"({q.to_fts5(parsed)}) OR ({match})" if plain_left else match

    def _match_page(self, conn: Connection, parsed: q.ParsedQuery, audience: Audience,
                    after: int | None, limit: int) -> sa.Select[Any]:
        return match_pages.fts5_page(self._fts_match(conn, parsed),
                                     self._readable(t.documents, audience), after, limit)

    def _cut_snippets(self, conn: Connection, parsed: q.ParsedQuery, rows: Sequence[Any],
                      match: str | None = None) -> dict[str, str]:
        """FTS5's own ``snippet()`` for the rows shown, from a scratch index of just those rows
        (store/excerpts.py); an encrypted store's index holds hashes, so its excerpts are cut
        from the decrypted text instead."""
        if self.keys.encrypted:
            return super()._cut_snippets(conn, parsed, rows)
        cut = excerpts.fts5_snippets(match or q.to_fts5(parsed),
                                     [(r.seq, r.title, r.text) for r in rows], HL_START, HL_END)
        return {r.id: cut.get(r.seq, "") for r in rows}


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
