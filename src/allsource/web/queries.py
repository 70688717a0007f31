"""The reads the workspace pages need beyond the store's ``search`` and ``get``: story
membership of search hits, a story's documents, and the documents that share or dispute a
document's graded claims. Every document read is filtered for the reader with the store's
marking filter and :func:`~allsource.model.markings.can_release`, like the store's own reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from allsource.model.markings import Audience, Marking, can_release
from allsource.store import schema as t
from allsource.store.sql import aware, chunks

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

MAX_RELATED = 50


@dataclass(frozen=True, slots=True)
class DocRef:
    id: str
    title: str
    kind: str
    published_at: datetime | None


def stories_of(store: SqlStore, doc_ids: Sequence[str]) -> dict[str, str]:
    """The story ID of each of ``doc_ids`` that has one."""
    m = t.story_members
    out: dict[str, str] = {}
    with store.engine.connect() as conn:
        for part in chunks(list(doc_ids)):
            rows = conn.execute(sa.select(m.c.document_id, m.c.story_id)
                                .where(m.c.document_id.in_(list(part))))
            out.update({d: s for d, s in rows})
    return out


def _refs(conn: sa.Connection, stmt: sa.Select[Any], audience: Audience) -> list[DocRef]:
    return [DocRef(r.id, r.title, r.kind, aware(r.published_at))
            for r in conn.execute(stmt)
            if can_release(Marking.from_columns(dict(r._mapping)), audience)]


def _doc_columns() -> list[sa.ColumnElement[Any]]:
    d = t.documents
    return [d.c.id, d.c.title, d.c.kind, d.c.published_at, d.c.tlp, d.c.classification,
            d.c.compartments, d.c.releasability]


def story_documents(store: SqlStore, story_id: str, audience: Audience,
                    limit: int = MAX_RELATED) -> list[DocRef]:
    """The story's documents the audience may read, earliest first."""
    d, m = t.documents, t.story_members
    stmt = (sa.select(*_doc_columns()).join(m, m.c.document_id == d.c.id)
            .where(m.c.story_id == story_id, store._readable(d, audience))
            .order_by(sa.func.coalesce(d.c.published_at, d.c.collected_at), d.c.id)
            .limit(limit))
    with store.engine.connect() as conn:
        return _refs(conn, stmt, audience)


def claim_neighbours(store: SqlStore, doc_id: str, audience: Audience
                     ) -> tuple[list[DocRef], list[DocRef]]:
    """Documents that report one of this document's graded claims with the same value
    (corroborating) and with another value (contradicting), from ``allsource verify``."""
    c, d = t.claim_documents, t.documents
    with store.engine.connect() as conn:
        own = conn.execute(sa.select(c.c.key, c.c.value).where(c.c.document_id == doc_id)
                           ).all()
        if not own:
            return [], []
        same = sa.or_(*[sa.and_(c.c.key == k, c.c.value == v) for k, v in own])
        keys = [k for k, _ in own]
        base = (sa.select(*_doc_columns()).distinct().join(c, c.c.document_id == d.c.id)
                .where(d.c.id != doc_id, store._readable(d, audience))
                .order_by(d.c.id).limit(MAX_RELATED))
        agree = _refs(conn, base.where(same), audience)
        differ = _refs(conn, base.where(c.c.key.in_(keys), sa.not_(same)), audience)
    agreed = {r.id for r in agree}
    return agree, [r for r in differ if r.id not in agreed]
