"""Stored document embeddings and their per-model version counter.

Search by meaning (:mod:`allsource.analyze.semantic`) keeps each model's vectors in memory as
one matrix. To know whether that copy is still current it must not count or scan the
``document_embeddings`` table on every query (36–49 ms at 120,000 documents). Instead
``embedding_versions`` holds one row per model whose ``version`` goes up by one in the *same
transaction* as every write or delete of that model's embeddings, through the functions below
(the only writers). A reader compares the version it loaded with one primary-key read.

Why it holds across processes: the bump is an ``UPDATE … SET version = version + 1`` (an
upsert for the first write), which both SQLite (one writer at a time) and PostgreSQL (a row
lock) serialise, so two writers never produce the same number, and it commits or rolls back
with the rows it describes. A reader reads the version *before* the rows: a write committed
between the two reads is then in the loaded rows under the older number, so the next query
reloads once more — never the other way round (new number, old rows).

The same table holds one more counter, :data:`MARKINGS`, for the marking columns of
``documents``: search by meaning keeps each vector's marking beside it to filter by audience
in memory before the database re-checks the page (see :mod:`allsource.analyze.semantic`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from allsource.store import schema as t
from allsource.store.sql import chunks

__all__ = ["MARKINGS", "bump_version", "delete_embeddings", "embedding_version", "versions",
           "write_embeddings"]

#: not a model: the counter bumped whenever a stored document's marking columns change (only
#: :mod:`allsource.store.rebuild` rewrites them; documents are otherwise written once), so a
#: reader that keeps the markings of its vectors in memory checks them the same way
MARKINGS = "documents.markings"


def embedding_version(conn: Connection, model: str) -> int:
    """The model's version: 0 when nothing was ever written (one primary-key read)."""
    v = t.embedding_versions
    found = conn.execute(sa.select(v.c.version).where(v.c.model == model)).scalar()
    return int(found or 0)


def versions(conn: Connection, *models: str) -> tuple[int, ...]:
    """The versions of ``models``, in order (0 for one never written), in one statement."""
    v = t.embedding_versions
    found = dict(conn.execute(sa.select(v.c.model, v.c.version)
                              .where(v.c.model.in_(models))).all())
    return tuple(int(found.get(m) or 0) for m in models)


def bump_version(conn: Connection, model: str) -> None:
    """Add one to the model's version, inside the caller's transaction."""
    v = t.embedding_versions
    dialect = conn.dialect.name
    insert = (postgresql.insert(v) if dialect == "postgresql" else sqlite.insert(v)
              ).values(model=model, version=1)
    conn.execute(insert.on_conflict_do_update(index_elements=[v.c.model],
                                              set_={"version": v.c.version + 1}))


def write_embeddings(conn: Connection, model: str, vectors: Sequence[tuple[str, bytes]]) -> None:
    """Store (document id, vector bytes) pairs for ``model``, replacing any vector those
    documents had, and bump the version in the same transaction."""
    if not vectors:
        return
    e = t.document_embeddings
    for chunk in chunks([doc for doc, _ in vectors]):
        conn.execute(e.delete().where(e.c.document_id.in_(list(chunk))))
    conn.execute(e.insert(), [{"document_id": doc, "model": model, "vector": vec}
                              for doc, vec in vectors])
    bump_version(conn, model)


def delete_embeddings(conn: Connection, model: str, document_ids: Iterable[str]) -> int:
    """Delete the model's vectors of these documents; bump the version if any went."""
    e = t.document_embeddings
    gone = 0
    for chunk in chunks(sorted(set(document_ids))):
        gone += conn.execute(e.delete().where(e.c.model == model,
                                              e.c.document_id.in_(list(chunk)))).rowcount
    if gone:
        bump_version(conn, model)
    return gone
