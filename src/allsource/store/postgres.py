"""PostgreSQL store: generated ``tsvector`` (title weighted A, text B) with a GIN index,
``ts_rank_cd`` ranking and ``ts_headline`` snippets computed only for the returned page.

Ranking a match means reading its (compressed) tsvector, so a word that matches most of a
large store would be ranked across all of it. The store ranks at most ``RANK_CANDIDATES``
matches — the first ones the GIN index yields, in table order — and reports counts capped at
``MAX_COUNT``: queries matching fewer documents (the useful ones) rank exactly as SQLite's
bm25 path does; broader ones rank a bounded sample instead of stalling.

On an encrypted store ``tsv`` holds keyed-hash tokens under the ``simple`` configuration
(store/blind.py, migration 0020): the query is hashed the same way, and snippets are cut from
decrypted text instead of ``ts_headline``.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from allsource.errors import StoreError
from allsource.model.markings import Audience
from allsource.store import query as q
from allsource.store import schema as t
from allsource.store.sql import HL_END, HL_START, SqlStore, json_dumps

MAX_COUNT = 1000
#: how many matches are ranked at most (in table order) for one query
RANK_CANDIDATES = 5000
_HEADLINE_OPTS = (f"StartSel={HL_START}, StopSel={HL_END}, MaxWords=30, MinWords=10, "
                  "MaxFragments=2, FragmentDelimiter=\" … \"")


def driver_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


class PostgresStore(SqlStore):
    dialect_name = "postgresql"

    def _create_engine(self, url: str) -> Engine:
        return sa.create_engine(driver_url(url), pool_pre_ping=True,
                                connect_args={"connect_timeout": 10},
                                json_serializer=json_dumps, json_deserializer=orjson.loads)

    def _insert_ignore(self, table: sa.Table) -> Any:
        return postgresql.insert(table).on_conflict_do_nothing()

    def _search(self, conn: Connection, query: q.SearchQuery, source_ids: list[str],
                audience: Audience) -> q.SearchResult:
        started = time.perf_counter()
        parsed = q.parse(query.text)
        sealed = self.keys.encrypted
        if sealed:
            hashed, plain_left = self._blind_query(conn, parsed)
            tsq, params = q.to_tsquery_sql(hashed, config="simple", param="h")
            if plain_left:
                plain, plain_params = q.to_tsquery_sql(parsed)
                tsq, params = f"({plain} || {tsq})", {**params, **plain_params}
        else:
            tsq, params = q.to_tsquery_sql(parsed)
        d = t.documents
        tsquery = sa.text(tsq).bindparams(**params)
        conds = [sa.literal_column("documents.tsv").op("@@")(tsquery),
                 *self._filters(d, query, source_ids, audience)]
        # Rank at most RANK_CANDIDATES matches (see the module docstring): reading every
        # match's tsvector for ts_rank_cd is what makes broad words slow.
        cand = (sa.select(d.c.seq).where(*conds).limit(RANK_CANDIDATES)
                .cte("cand").prefix_with("MATERIALIZED", dialect="postgresql"))
        score = sa.func.ts_rank_cd(sa.literal_column("documents.tsv"), tsquery).label("score")
        page = (sa.select(d.c.id, d.c.kind, d.c.title, d.c.text, d.c.url, d.c.published_at,
                          d.c.collected_at, d.c.source_id, d.c.tlp, d.c.classification,
                          d.c.compartments, d.c.releasability, score,
                          sa.func.count().over().label("total"))
                .join(cand, cand.c.seq == d.c.seq)
                .order_by(sa.desc("score"), d.c.seq)
                .limit(query.limit).offset(query.offset).subquery())
        headline = sa.func.ts_headline(
            sa.literal("english", sa.String).cast(postgresql.REGCONFIG),
            page.c.title + " — " + sa.func.left(page.c.text, 20000), tsquery,
            sa.literal(_HEADLINE_OPTS)).label("snippet")
        cols = [c for c in page.c if c.name != "text"]
        if sealed:  # the snippet is cut from decrypted text below
            headline = sa.literal("").label("snippet")
        stmt = sa.select(*cols, headline).order_by(page.c.score.desc(), page.c.id)
        try:
            rows = conn.execute(stmt).all()
            if rows:
                total = min(int(rows[0].total), MAX_COUNT)
            else:  # past the last page, or nothing matched: count the candidates
                total = min(int(conn.execute(sa.select(sa.func.count()).select_from(cand))
                                .scalar_one()), MAX_COUNT)
        except sa.exc.DBAPIError as exc:
            raise StoreError(f"search failed: {exc.orig}") from exc
        if sealed:
            rows = self._sealed_snippets(conn, rows, parsed)
        return self._result(conn, rows, int(total), audience, started, score_sign=1.0)
