"""Migration 0025 on a store holding watchlist hits (both backends): ``evidence`` is widened
from 160 characters to text, so a sealed evidence fits; hits written before stay as they were,
and going back keeps plain evidence and drops only what no longer fits."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from allsource.store import schema as t
from allsource.store.sql import SqlStore
from tests.store.migrating import alembic


def _hit(store: SqlStore, term_id: int, evidence: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO watchlist_hits (term_id, document_id, watchlist_id, matched, "
            "evidence, occurrences, via, created_at, tlp, classification, compartments, "
            "releasability) VALUES (:term, 'doc-1', 'w', 'grid', :evidence, 1, 'process', "
            ":at, 0, 0, '', '')"),
            {"term": term_id, "evidence": evidence, "at": datetime(2024, 5, 1)})


def _evidence_type(store: SqlStore) -> sa.types.TypeEngine[object]:
    [column] = [c for c in sa.inspect(store.engine).get_columns("watchlist_hits")
                if c["name"] == "evidence"]
    return column["type"]  # type: ignore[no-any-return]


def test_evidence_is_widened_and_back(store: SqlStore) -> None:
    alembic(store, "downgrade", "0024")
    assert getattr(_evidence_type(store), "length", None) == 160
    _hit(store, 1, "text")
    alembic(store, "upgrade", "head")
    assert getattr(_evidence_type(store), "length", None) is None
    _hit(store, 2, "as1." + "x" * 400)  # a sealed evidence's length
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(t.watchlist_hits.c.term_id, sa.func.length(
            t.watchlist_hits.c.evidence)).order_by(t.watchlist_hits.c.term_id)).all()
        assert [tuple(r) for r in rows] == [(1, 4), (2, 404)]
        # the index on document_id survived SQLite's rebuild of the table
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("watchlist_hits")}
        assert "ix_watchlist_hits_document_id" in indexes
    alembic(store, "downgrade", "0024")
    with store.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT term_id, evidence FROM watchlist_hits "
                                    "ORDER BY term_id")).all()
    assert [tuple(r) for r in kept] == [(1, "text"), (2, "")]
    alembic(store, "upgrade", "head")
