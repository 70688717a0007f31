"""The SQLite store's connection pool under concurrent readers."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from allsource.config import Settings
from allsource.store import open_store
from allsource.store.sqlite import POOL_SIZE


def test_concurrent_readers_reuse_connections(settings: Settings) -> None:
    """Readers holding connections at once (12 here; a ``serve`` worker runs up to 40
    requests at once) reuse them round after round: the number of database opens is bounded
    by the readers, not by the rounds (SQLAlchemy's default pool of 5 closed every
    connection past the fifth on return: 5 + 7 per round)."""
    store = open_store(settings)
    opened: list[Any] = []
    sa.event.listen(store.engine, "connect", lambda conn, _rec: opened.append(conn))
    readers, rounds = 12, 4
    errors: list[BaseException] = []
    assert readers <= POOL_SIZE
    for _ in range(rounds):
        barrier = threading.Barrier(readers)

        def read(barrier: threading.Barrier = barrier) -> None:
            try:
                with store.engine.connect() as conn:
                    barrier.wait(timeout=30)  # every reader holds its connection at once
                    conn.execute(sa.text("SELECT 1")).scalar_one()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=read) for _ in range(readers)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    store.close()
    assert errors == []
    assert 0 < len(opened) <= readers
