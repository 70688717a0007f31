"""Storage: one protocol (:class:`Store`), two implementations (SQLite, PostgreSQL), a
content-addressed blob store, and Alembic migrations. :func:`open_store` picks the backend
from the database URL."""

from __future__ import annotations

from allsource.config import Settings
from allsource.errors import ConfigError
from allsource.store.base import BatchCounts, QuarantineItem, RunRecord, Store
from allsource.store.keys import kek_from_settings
from allsource.store.sql import SqlStore

__all__ = ["BatchCounts", "QuarantineItem", "RunRecord", "SqlStore", "Store", "open_store"]


def open_store(settings: Settings, *, migrate: bool = True) -> SqlStore:
    """Open (and by default migrate) the store named by ``settings.database_url``."""
    url = settings.database_url
    kek = kek_from_settings(settings)
    store: SqlStore
    if url.startswith("sqlite"):
        from allsource.store.sqlite import SqliteStore

        store = SqliteStore(url, settings.blob_dir, kek)
    elif url.startswith(("postgresql", "postgres")):
        from allsource.store.postgres import PostgresStore

        store = PostgresStore(url, settings.blob_dir, kek)
    else:
        raise ConfigError(f"unsupported database URL {url!r}: use sqlite:///… or postgresql://…")
    if migrate:
        store.migrate()
    store.open_keys()

    from allsource.store import audit_scope

    audit_scope.attach(store.engine, settings.audit_key_file,
                       every=settings.audit_checkpoint_every)
    return store
