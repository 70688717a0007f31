"""Migration 0046 (both backends): a covering index on alert hits (alert, document,
severity) appears and going back drops it. On SQLite a restricted reader's alert list then
reads each alert's hits from the index alone."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from allsource.assess import alerts
from allsource.model.markings import TLP, Audience
from allsource.store import schema as t
from allsource.store.sql import SqlStore
from tests.store.migrating import alembic

NAME, COLUMNS = "ix_alert_hits_seen", ["alert_id", "document_id", "severity"]


def _indexes(store: SqlStore) -> dict[str, list[str]]:
    with store.engine.connect() as conn:
        return {ix["name"]: list(ix["column_names"])
                for ix in sa.inspect(conn).get_indexes("alert_hits")}


def test_the_alert_hits_index_comes_and_goes(store: SqlStore) -> None:
    assert _indexes(store)[NAME] == COLUMNS
    alembic(store, "downgrade", "0045")
    assert NAME not in _indexes(store)
    alembic(store, "upgrade", "head")
    assert _indexes(store)[NAME] == COLUMNS


def test_a_readers_alert_list_reads_hits_from_the_index_alone(store: SqlStore) -> None:
    if store.dialect_name != "sqlite":
        pytest.skip("the query plan checked is SQLite's")
    a = t.alerts
    reader = Audience(max_tlp=TLP.GREEN)
    stmt = (sa.select(a.c.id).where(alerts.shown(a, reader))
            .order_by(alerts.seen_severity(a, reader).desc()).limit(50))
    sql = str(stmt.compile(store.engine, compile_kwargs={"literal_binds": True}))
    with store.engine.connect() as conn:
        plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    hits = [step for step in plan if "alert_hits" in step]
    assert len(hits) == 2 and all(f"COVERING INDEX {NAME}" in step for step in hits), plan
