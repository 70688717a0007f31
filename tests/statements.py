"""The SQL statements a piece of code sends: bounded work on the database proven by counting
them (never by the clock)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from allsource.store.sql import SqlStore


@contextmanager
def statements(store: SqlStore) -> Iterator[list[str]]:
    """Every statement ``store``'s engine sends inside the block, in order."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)
