"""Migration 0030 (PostgreSQL): the full-text GIN index's pending list is bounded at 1 MB, so
a search on a store just written reads at most 128 unsorted pages of it; going back restores
PostgreSQL's default (4 MB). SQLite has no such list and the migration leaves it alone."""

from __future__ import annotations

import sqlalchemy as sa

from allsource.store.sql import SqlStore
from tests.store.migrating import alembic


def _options(store: SqlStore) -> list[str] | None:
    with store.engine.connect() as conn:
        found = conn.execute(sa.text("SELECT reloptions FROM pg_class "
                                     "WHERE relname = 'ix_documents_tsv'")).one()
    return found[0]


def test_the_search_index_pending_list_is_bounded(store: SqlStore) -> None:
    if store.engine.dialect.name != "postgresql":
        with store.engine.connect() as conn:  # the migration ran and changed nothing here
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version"
                                        ).scalar_one() >= "0030"
        return
    assert _options(store) == ["gin_pending_list_limit=1024"]
    alembic(store, "downgrade", "0029")
    assert not _options(store)
    alembic(store, "upgrade", "head")
    assert _options(store) == ["gin_pending_list_limit=1024"]
