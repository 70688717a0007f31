"""Migration 0035 (both backends): ``ix_mentions_via`` holds only the mentions that have a
``via`` and is still what ``via IN (…)`` reads; on SQLite ``lsh_bands`` becomes a WITHOUT
ROWID table keeping every band row written before. Going back restores both."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from allsource.store import schema as t
from allsource.store.sql import SqlStore
from tests.store.migrating import alembic

BANDS = [{"band": b, "bucket": bytes([b, n]), "document_id": f"report--{n}"}
         for b in range(3) for n in range(4)]


def _via_index(store: SqlStore) -> tuple[list[str], str]:
    """The index's columns, and the condition a partial index carries ('' for none)."""
    with store.engine.connect() as conn:
        [ix] = [ix for ix in sa.inspect(conn).get_indexes("mentions")
                if ix["name"] == "ix_mentions_via"]
        if store.engine.dialect.name == "sqlite":
            sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = "
                                       "'ix_mentions_via'").scalar_one()
        else:
            sql = conn.exec_driver_sql("SELECT indexdef FROM pg_indexes WHERE indexname = "
                                       "'ix_mentions_via'").scalar_one()
    where = sql.upper().partition(" WHERE ")[2]
    return list(ix["column_names"]), where


def _without_rowid(store: SqlStore) -> bool:
    with store.engine.connect() as conn:
        sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                   "AND name = 'lsh_bands'").scalar_one()
    return "WITHOUT ROWID" in sql.upper()


def _write(store: SqlStore) -> None:
    now = datetime(2025, 1, 1)
    mark = {"tlp": 0, "classification": 0, "compartments": "", "releasability": ""}
    with store.engine.begin() as conn:
        conn.execute(t.documents.insert(), [
            {"id": f"report--{n}", "source_id": "s", "kind": "article", "title": "t",
             "text": "x", "collected_at": now, "content_hash": f"{n:064d}", "labels": [],
             "meta": {}, **mark} for n in range(4)])
        conn.execute(t.mentions.insert(), [
            {"object_id": f"malware--{n}", "document_id": f"report--{n}", "extractor": "e",
             "span_start": 0, "span_end": 1, "via": "malware--x" if n == 1 else None, **mark}
            for n in range(4)])
        conn.execute(t.lsh_bands.insert(), BANDS)


def _read(store: SqlStore) -> tuple[list[str], list[tuple[int, bytes, str]]]:
    m, b = t.mentions, t.lsh_bands
    with store.engine.connect() as conn:
        linked = list(conn.execute(sa.select(m.c.object_id).where(
            m.c.via.in_(["malware--x", "malware--y"]))).scalars())
        bands = [(r.band, bytes(r.bucket), r.document_id) for r in conn.execute(
            sa.select(b).order_by(b.c.band, b.c.bucket, b.c.document_id))]
    return linked, bands


def test_partial_via_index_and_bands_without_rowid_come_and_go(store: SqlStore) -> None:
    sqlite = store.engine.dialect.name == "sqlite"
    columns, where = _via_index(store)
    assert columns == ["via"] and "VIA IS NOT NULL" in where
    if sqlite:
        assert _without_rowid(store)

    alembic(store, "downgrade", "0034")
    assert _via_index(store) == (["via"], "")
    if sqlite:
        assert not _without_rowid(store)
    _write(store)
    before = _read(store)
    assert before == (["malware--1"], sorted((r["band"], r["bucket"], r["document_id"])
                                             for r in BANDS))

    alembic(store, "upgrade", "head")
    columns, where = _via_index(store)
    assert columns == ["via"] and "VIA IS NOT NULL" in where
    assert _read(store) == before
    if sqlite:
        assert _without_rowid(store)
        with store.engine.connect() as conn:
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT object_id FROM mentions WHERE via IN (?, ?)",
                ("malware--x", "malware--y")))
            assert "ix_mentions_via" in plan, plan
            # a band row already filed is refused by the key, as before
            conn.execute(store._insert_ignore(t.lsh_bands), BANDS[:2])
            assert conn.execute(sa.select(sa.func.count()).select_from(t.lsh_bands)
                                ).scalar_one() == len(BANDS)
