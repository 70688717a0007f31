"""PostgreSQL store: a ``tsvector`` (title weighted A, text B) with a GIN index,
``ts_rank_cd`` ranking, and excerpts cut for the rows shown only.

Ranking a match means reading its tsvector (about 1.9 KB at 1.5 KB of text, kept out of line
by TOAST), so a word that matches most of a large store would be ranked across all of it. The
store ranks at most ``RANK_CANDIDATES`` matches — the first ones the GIN index yields, in table
order — and reports counts capped at ``MAX_COUNT``; a count is exact only while the
candidates did not fill up (fewer than ``RANK_CANDIDATES``) and it is at most ``MAX_COUNT``,
otherwise the result says it is a lower bound (``SearchResult.total_exact``). Queries matching
fewer documents (the useful ones) rank exactly as a full sort would; broader ones rank a
bounded sample instead of stalling. Candidates always
come from the GIN index (``enable_seqscan`` is off for the search statement): the planner
would otherwise expect to find them sooner by reading the table in order and recheck every
row's tsvector on the way. The exception is a prefix matching a large share of the table,
whose first candidates are read from the table in order, the same rows the index plan
would give (store/dense_scan.py).

**Phrases.** GIN stores no word positions, so ``tsv @@ 'a <-> b'`` is answered by fetching
every row holding both words and reading its tsvector; for two common words that is most of
the store (``"files execution"``: 53,000 rows at 100,000 documents, 964 of them the phrase).
The candidates of a query with a phrase are therefore the rows holding all the phrase's words
(``plainto_tsquery``, answered by the index alone), at most ``RANK_CANDIDATES`` of them, and
the phrase is checked, and ranked, on those only. Its count then says how many of those
candidates hold the phrase: exact while the words co-occur in fewer than ``RANK_CANDIDATES``
readable rows, a lower bound beyond (stock PostgreSQL has no positional index; the RUM
extension would have one, at a cost on every write).

On an encrypted store ``tsv`` holds keyed-hash tokens under the ``simple`` configuration
(store/blind.py, migration 0020), written by the store's INSERT from tokens it does not keep
in the row (store/blind_storage.py, migration 0028; a trigger computes ``tsv`` of plain
rows): the query is hashed the same way. Query terms made only of
English stop words are dropped first (:func:`without_stop_terms`), as the plain store's
``english`` configuration drops them: "that" alone matches nothing on either, where the
blind index, which keeps every word, would otherwise rank almost every row for it.

**Excerpts** are cut in Python from the shown rows' text, on plain and encrypted stores
alike (:meth:`SqlStore._cut_snippets`: the query's Snowball stems, the same English stemmer
as the ``english`` configuration). ``ts_headline`` re-parsed up to 20,000 characters of each
shown row on the server: at 100,000 documents it was a third of a search's SQL time (7.3 of
21.3 ms a query), more than ranking the candidates.
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
from allsource.store import blind, dense_scan, match_pages
from allsource.store import query as q
from allsource.store import schema as t
from allsource.store.sql import SqlStore, json_dumps
from allsource.store.stopwords import ENGLISH

MAX_COUNT = 1000
#: how many matches are ranked at most (in table order) for one query; reading a tsvector
#: costs ~10 µs, so this bounds ranking to ~10 ms
RANK_CANDIDATES = 1000


def without_stop_terms(parsed: q.ParsedQuery) -> q.ParsedQuery | None:
    """``parsed`` without the terms made only of English stop words (store/stopwords.py), as
    PostgreSQL's ``english`` configuration reads a query: such a term drops out of its OR
    group, a group left empty drops out, an exclusion of one is ignored; ``None`` when no
    group is left (the plain store then matches nothing). Phrases with other words keep
    their stop words (the blind index holds them, so the phrase stays exact)."""

    def stop(term: q.Term) -> bool:
        found = blind.words(term.text)
        return bool(found) and not term.prefix and all(w.lower() in ENGLISH for w in found)

    groups = [[x for x in group if not stop(x)] for group in parsed.all_of]
    groups = [g for g in groups if g]
    if not groups:
        return None
    return q.ParsedQuery(groups, [x for x in parsed.none_of if not stop(x)])


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
        tsq, params = self._tsquery(conn, parsed)
        d = t.documents
        exact = sa.text(tsq).bindparams(**params)
        tsv: sa.ColumnElement[Any] = sa.literal_column("documents.tsv")
        filters = self._filters(d, query, source_ids, audience)
        if not q.has_phrase(parsed):  # the index answers the query itself
            score: sa.ColumnElement[Any] = sa.func.ts_rank_cd(tsv, exact)
            cand_where = [tsv.op("@@")(exact), *filters]
        else:  # word-AND candidates from the index, the phrase checked on those only
            words, word_params = self._tsquery(conn, parsed, words_only=True, param="w")
            loose = sa.text(words).bindparams(**word_params)
            score = sa.case((tsv.op("@@")(exact), sa.func.ts_rank_cd(tsv, exact)))
            cand_where = [tsv.op("@@")(loose), *filters]

        def ranked(where: list[sa.ColumnElement[bool]]) -> tuple[list[Any], int, int]:
            """The page, the number of hits and of candidates, for candidates ``where``."""
            cand = (sa.select(d.c.seq, score.label("score")).where(*where)
                    .limit(RANK_CANDIDATES).cte("cand").prefix_with("MATERIALIZED",
                                                                    dialect="postgresql"))
            hits = sa.select(cand.c.seq, cand.c.score).where(cand.c.score.is_not(None)
                                                             ).subquery()
            n_cand = sa.select(sa.func.count()).select_from(cand).scalar_subquery()
            stmt = (sa.select(hits.c.seq, hits.c.score, sa.func.count().over().label("n"),
                              n_cand.label("n_cand"))
                    .order_by(hits.c.score.desc(), hits.c.seq)
                    .limit(query.limit).offset(query.offset))
            page = list(conn.execute(stmt).all())
            if page:
                return page, int(page[0].n), int(page[0].n_cand)
            # past the last page, or nothing matched: count the matches on their own
            found = conn.execute(sa.select(sa.func.count(cand.c.score), sa.func.count())
                                 .select_from(cand)).one()
            return page, int(found[0]), int(found[1])

        try:
            # candidates come from the GIN index, never from a scan of every row's tsvector;
            # JIT off: "no seq scan" prices any scan left at 10^10, far above jit_above_cost,
            # and PostgreSQL then compiled every search (and the statements after it) with
            # LLVM — 100–160 ms of CPU per query for a plan that runs in a few milliseconds;
            # no parallel workers: the candidates are the first matches in table order
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL jit = off")
            conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
            found: tuple[list[Any], int, int] | None = None
            # a prefix matching much of the table: its first matches read in table order
            # (store/dense_scan.py), the same rows the index plan would rank
            end = (dense_scan.window_end(conn, cand_where, RANK_CANDIDATES)
                   if q.has_prefix(parsed) else None)
            if end is not None:
                conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
                conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
                found = ranked([*cand_where, dense_scan.before(end)])
                conn.exec_driver_sql("SET LOCAL enable_bitmapscan = on")
                conn.exec_driver_sql("SET LOCAL enable_indexscan = on")
                if found[2] < RANK_CANDIDATES:  # the window held fewer: ask the index
                    found = None
            page, n, n_candidates = found if found is not None else ranked(cand_where)
            # the statements after this one (page rows, sources, excerpts) plan as usual
            conn.exec_driver_sql("SET LOCAL enable_seqscan = on")
        except sa.exc.DBAPIError as exc:
            raise StoreError(f"search failed: {exc.orig}") from exc
        # excerpts are cut from the shown rows' text (decrypted on an encrypted store)
        rows = self._page_rows(conn, query, [(r.seq, float(r.score)) for r in page],
                               with_text=True,
                               cut=lambda shown: self._cut_snippets(conn, parsed, shown))
        # a full candidate set may leave matches out (and phrases unchecked): a lower bound
        counted_all = n_candidates < RANK_CANDIDATES and n <= MAX_COUNT
        return self._result(conn, rows, min(n, MAX_COUNT), audience, started, score_sign=1.0,
                            total_exact=counted_all)

    def _match_page(self, conn: Connection, parsed: q.ParsedQuery, audience: Audience,
                    after: int | None, limit: int) -> sa.Select[Any]:
        tsq, params = self._tsquery(conn, parsed)
        return match_pages.tsquery_page(sa.text(tsq).bindparams(**params),
                                        self._readable(t.documents, audience), after, limit)

    def _tsquery(self, conn: Connection, parsed: q.ParsedQuery, words_only: bool = False,
                 param: str = "q") -> tuple[str, dict[str, str]]:
        """The query as tsquery SQL; on an encrypted store hashed for the blind index (and
        also plain while rows written in plain text remain)."""
        if not self.keys.encrypted:
            return q.to_tsquery_sql(parsed, param=param, words_only=words_only)
        kept = without_stop_terms(parsed)
        if kept is None:  # only stop words: the plain store's english query matches nothing
            return "(''::tsquery)", {}
        hashed, plain_left = self._blind_query(conn, kept)
        tsq, params = q.to_tsquery_sql(hashed, config="simple", param="h" + param,
                                       words_only=words_only)
        if plain_left:
            plain, plain_params = q.to_tsquery_sql(parsed, param=param, words_only=words_only)
            tsq, params = f"({plain} || {tsq})", {**params, **plain_params}
        return tsq, params

