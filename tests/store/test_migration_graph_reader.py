"""Migration 0027 (both backends): a covering index on mentions (object, marking, document)
appears, rows written before are read through it, and going back drops it. On SQLite a
reader's evidence check then searches it on the object's key and the marking's TLP range,
with every mention column it tests in the index entry."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from allsource.model.markings import TLP, Audience
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.sql import SqlStore
from tests.store.migrating import alembic

MARKING = ["tlp", "classification", "compartments", "releasability"]
COVERING = {"mentions": ("ix_mentions_object_marking", ["object_id", *MARKING, "document_id"])}
READER = Audience(max_tlp=TLP.AMBER)


def _indexes(store: SqlStore, table: str) -> dict[str, list[str]]:
    with store.engine.connect() as conn:
        return {ix["name"]: list(ix["column_names"])
                for ix in sa.inspect(conn).get_indexes(table)}


def _write(store: SqlStore) -> None:
    now = datetime(2025, 1, 1)
    marks = [{"tlp": tlp, "classification": 0, "compartments": "", "releasability": ""}
             for tlp in (1, 3)]
    with store.engine.begin() as conn:
        conn.execute(t.documents.insert(), [
            {"id": f"report--{n}", "source_id": "s", "kind": "article", "title": "t",
             "text": "x", "collected_at": now, "content_hash": f"{n:064d}", "labels": [],
             "meta": {}, **m} for n, m in enumerate(marks)])
        conn.execute(t.relationships.insert(), [
            {"id": f"relationship--{n}", "relationship_type": "uses", "source_ref": "a--1",
             "target_ref": "b--2", "stix": {}, "created_at": now, **marks[0]}
            for n in range(2)])
        # relationship 0 has a readable mention in the readable report, 1 only in the RED one
        conn.execute(t.mentions.insert(), [
            {"object_id": f"relationship--{n}", "document_id": f"report--{n}",
             "extractor": "e", "span_start": 0, "span_end": 1, **marks[n]} for n in range(2)])


def _visible(store: SqlStore) -> list[str]:
    r = t.relationships
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(r.c.id).where(
            derived.visible(store, r, READER)).order_by(r.c.id)).scalars())


def test_covering_evidence_indexes_come_and_go(store: SqlStore) -> None:
    for table, (name, columns) in COVERING.items():
        assert _indexes(store, table)[name] == columns

    alembic(store, "downgrade", "0026")
    for table, (name, _) in COVERING.items():
        assert name not in _indexes(store, table)
    _write(store)
    assert _visible(store) == ["relationship--0"]

    alembic(store, "upgrade", "head")
    for table, (name, columns) in COVERING.items():
        assert _indexes(store, table)[name] == columns
    assert _visible(store) == ["relationship--0"]
    if store.engine.dialect.name == "sqlite":
        r = t.relationships
        sql = str(sa.select(r.c.id).where(derived.visible(store, r, READER)).compile(
            store.engine, compile_kwargs={"literal_binds": True}))
        with store.engine.connect() as conn:
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {sql}"))
        assert "INDEX ix_mentions_object_marking (object_id=? AND tlp<?)" in plan, plan
