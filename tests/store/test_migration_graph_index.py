"""Migration 0026 (both backends): the relationships' single-column indexes on
``source_ref`` and ``target_ref`` become covering indexes with the other end, type and id,
relationships written before stay readable through them, and going back restores the old
indexes. On SQLite the graph's adjacency read then touches no table row."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from allsource.store import schema as t
from allsource.store.sql import SqlStore
from tests.store.migrating import alembic

COVERING = {"ix_relationships_source_ends": ["source_ref", "target_ref", "relationship_type",
                                             "id"],
            "ix_relationships_target_ends": ["target_ref", "source_ref", "relationship_type",
                                             "id"]}
SINGLE = {"ix_relationships_source_ref": ["source_ref"],
          "ix_relationships_target_ref": ["target_ref"]}


def _indexes(store: SqlStore) -> dict[str, list[str]]:
    with store.engine.connect() as conn:
        return {ix["name"]: list(ix["column_names"])
                for ix in sa.inspect(conn).get_indexes("relationships")}


def _relationship(n: int) -> dict[str, object]:
    return {"id": f"relationship--{n}", "relationship_type": "uses",
            "source_ref": "malware--a", "target_ref": f"tool--{n}", "stix": {},
            "created_at": datetime(2025, 1, 1), "tlp": 0, "classification": 0,
            "compartments": "", "releasability": ""}


def test_covering_indexes_replace_the_single_column_ones(store: SqlStore) -> None:
    assert _indexes(store).items() >= COVERING.items()
    assert not SINGLE.keys() & _indexes(store).keys()

    alembic(store, "downgrade", "0025")
    assert _indexes(store).items() >= SINGLE.items()
    assert not COVERING.keys() & _indexes(store).keys()
    with store.engine.begin() as conn:
        conn.execute(t.relationships.insert(), [_relationship(n) for n in range(3)])

    alembic(store, "upgrade", "head")
    assert _indexes(store).items() >= COVERING.items()
    assert not SINGLE.keys() & _indexes(store).keys()
    r = t.relationships
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(r.c.target_ref).where(r.c.source_ref == "malware--a")
                            .order_by(r.c.target_ref)).scalars().all()
        assert rows == ["tool--0", "tool--1", "tool--2"]
        if store.engine.dialect.name == "sqlite":
            for near in ("source_ref", "target_ref"):
                plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT id, relationship_type, source_ref, target_ref "
                    f"FROM relationships WHERE {near} IN (?, ?)", ("a", "b")))
                assert "COVERING INDEX ix_relationships_" in plan, plan
