"""The per-model version counter of stored embeddings, on SQLite and PostgreSQL: every write
or delete bumps it in the same transaction (a rolled-back write leaves it), another store
instance on the same database reads the new value, and a read is one primary-key lookup."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from allsource.config import Settings
from allsource.store import open_store
from allsource.store import schema as t
from allsource.store.embeddings import delete_embeddings, embedding_version, write_embeddings
from allsource.store.sql import SqlStore
from tests.statements import statements

VEC = bytes(8)


def _rows(store: SqlStore, model: str) -> int:
    e = t.document_embeddings
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(e)
                                .where(e.c.model == model)).scalar_one())


def _version(store: SqlStore, model: str = "m") -> int:
    with store.engine.connect() as conn:
        return embedding_version(conn, model)


def test_writes_and_deletes_bump_the_version(store: SqlStore) -> None:
    assert _version(store) == 0
    with store.engine.begin() as conn:
        write_embeddings(conn, "m", [("doc-1", VEC), ("doc-2", VEC)])
    assert _version(store) == 1 and _rows(store, "m") == 2
    with store.engine.begin() as conn:  # rewriting a vector replaces it
        write_embeddings(conn, "m", [("doc-2", VEC)])
    assert _version(store) == 2 and _rows(store, "m") == 2
    with store.engine.begin() as conn:
        write_embeddings(conn, "other", [("doc-3", VEC)])
    assert _version(store) == 2 and _version(store, "other") == 1  # one counter per model
    with store.engine.begin() as conn:
        assert delete_embeddings(conn, "m", ["doc-1", "nope"]) == 1
    assert _version(store) == 3 and _rows(store, "m") == 1
    with store.engine.begin() as conn:  # nothing deleted: nothing changed
        assert delete_embeddings(conn, "m", ["nope"]) == 0
        write_embeddings(conn, "m", [])
    assert _version(store) == 3


def test_a_rolled_back_write_leaves_the_version(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        write_embeddings(conn, "m", [("doc-1", VEC)])
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        write_embeddings(conn, "m", [("doc-2", VEC)])
        raise RuntimeError("crash before commit")
    assert _version(store) == 1 and _rows(store, "m") == 1


def test_another_instance_sees_the_bump(store: SqlStore, settings: Settings) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    other = open_store(settings.model_copy(update={"database_url": url}))
    try:
        assert _version(store) == 0
        with other.engine.begin() as conn:
            write_embeddings(conn, "m", [("doc-1", VEC)])
        assert _version(store) == 1
        with store.engine.begin() as conn:
            write_embeddings(conn, "m", [("doc-2", VEC)])
        assert _version(other) == 2
    finally:
        other.close()


def test_reading_the_version_is_one_primary_key_lookup(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        write_embeddings(conn, "m", [(f"doc-{i}", VEC) for i in range(50)])
    with statements(store) as seen, store.engine.connect() as conn:
        assert embedding_version(conn, "m") == 1
    ours = [s for s in seen if "embedding" in s]
    assert len(ours) == 1 and "document_embeddings" not in ours[0]
    assert "embedding_versions.model =" in ours[0] and "count(" not in ours[0].lower()
