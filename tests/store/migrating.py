"""Moving a test store along its Alembic migrations (for the migration tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from allsource.store.sql import _MIGRATIONS, SqlStore


def alembic(store: SqlStore, action: str, target: str) -> None:
    """``alembic upgrade|downgrade TARGET`` on ``store``, in one transaction."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, target)
