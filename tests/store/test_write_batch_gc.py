"""``write_batch`` builds its rows with the cyclic garbage collector paused, and leaves it as
it found it (store/sql.py; the collections were ~6 % of an ingest's CPU)."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from allsource.model.records import Collected, Document, Source
from allsource.store.sql import SqlStore


def test_write_batch_pauses_the_collector_and_restores_it(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    src = Source(name="feed", kind="rss", location="http://example.test/feed")
    store.add_source(src)
    seen: list[bool] = []
    insert = store._bulk_insert

    def spy(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
        seen.append(gc.isenabled())
        insert(conn, table, rows)

    monkeypatch.setattr(store, "_bulk_insert", spy)
    docs = [Document.build(kind="article", title=f"t{i}", text=f"text {i}") for i in range(3)]
    assert gc.isenabled()
    counts = store.write_batch(src, [Collected(d, [], [], []) for d in docs], [], None)
    assert counts.new == 3
    assert seen and not any(seen)
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that paused it itself gets it back paused
        store.write_batch(src, [Collected(Document.build(kind="article", title="x",
                                                         text="y"), [], [], [])], [], None)
        assert not gc.isenabled()
    finally:
        gc.enable()
