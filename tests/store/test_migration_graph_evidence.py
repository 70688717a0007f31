"""Migration 0045 (both backends): rows stored before it get their least evidence marking
(the same the triggers keep on a new store), the covering indexes gain the columns, and
going back removes columns, indexes and triggers."""

from __future__ import annotations

import sqlalchemy as sa

from allsource.store.sql import SqlStore
from tests.store.migrating import alembic
from tests.store.test_graph_evidence import _agree, _fill, _states

EVIDENCE = ["ev_state", "ev_tlp", "ev_classification", "ev_compartments", "ev_releasability"]


def _indexes(store: SqlStore, table: str) -> dict[str, list[str]]:
    with store.engine.connect() as conn:
        return {ix["name"]: list(ix["column_names"])
                for ix in sa.inspect(conn).get_indexes(table)}


def test_the_migration_fills_what_the_triggers_would_keep(store: SqlStore) -> None:
    _fill(store)
    kept = _states(store)
    alembic(store, "downgrade", "0044")
    assert "ev_state" not in _indexes(store, "relationships")["ix_relationships_source_ends"]
    assert "ix_objects_evidence" not in _indexes(store, "objects")
    with store.engine.begin() as conn:
        columns = [c["name"] for c in sa.inspect(conn).get_columns("objects")]
        assert "ev_state" not in columns
        conn.execute(sa.text("DELETE FROM mentions"))  # written again with no trigger
        conn.execute(sa.text("DELETE FROM relationships"))
        conn.execute(sa.text("DELETE FROM objects"))
        conn.execute(sa.text("DELETE FROM documents"))
    _fill(store)
    alembic(store, "upgrade", "0045")
    assert _indexes(store, "relationships")["ix_relationships_source_ends"] == [
        "source_ref", "target_ref", "relationship_type", "id", *EVIDENCE]
    assert _indexes(store, "objects")["ix_objects_evidence"] == ["id", *EVIDENCE]
    assert _states(store) == kept
    _agree(store)
