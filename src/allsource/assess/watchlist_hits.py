"""A watchlist's hits, one page of documents at a time, with counts a reader may see.

A hit is one (term, document) pair (:mod:`allsource.assess.watchlists`). The workspace lists a
watchlist's hits by *document*: each row is a document the watchlist matched, by title, with
the terms that matched it; most recently hit first.

The access rule is applied in SQL before any ``LIMIT`` or ``COUNT``
(:func:`allsource.store.access.readable`) on three tables at once: the hit (it carries its
watchlist's and document's combined marking as recorded), the watchlist (whose terms the hit
names) and the document *as it is marked now* (a document raised to AMBER after it was hit
drops out for a CLEAR reader). So the totals, the per-watchlist counts and the page are
exact for the reader and never count a document they may not open. A hit whose document is
gone (removed by retention) is not listed either: there is nothing to open.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from allsource.errors import InputError
from allsource.model.markings import Audience
from allsource.store import schema as t
from allsource.store.access import readable
from allsource.store.sql import SqlStore, aware, chunks

__all__ = ["HitDocument", "HitPage", "HitTerm", "hit_page", "readable_counts"]


@dataclass(frozen=True, slots=True)
class HitTerm:
    term_id: int
    kind: str
    term: str
    matched: str
    occurrences: int


@dataclass(frozen=True, slots=True)
class HitDocument:
    document_id: str
    title: str
    published_at: datetime | None
    last_hit: datetime | None
    terms: tuple[HitTerm, ...]


@dataclass(frozen=True, slots=True)
class HitPage:
    documents: list[HitDocument]
    #: readable documents the watchlist matched, and their readable hits
    total_documents: int
    total_hits: int
    limit: int
    offset: int


def _conditions(watchlist_id: str | None, audience: Audience) -> list[sa.ColumnElement[bool]]:
    h, w, d = t.watchlist_hits, t.watchlists, t.documents
    conds = [readable(h, audience), readable(w, audience), readable(d, audience)]
    if watchlist_id is not None:
        conds.append(h.c.watchlist_id == watchlist_id)
    return conds


def _joined() -> Any:
    h, w, d = t.watchlist_hits, t.watchlists, t.documents
    return h.join(w, w.c.id == h.c.watchlist_id).join(d, d.c.id == h.c.document_id)


def readable_counts(store: SqlStore, audience: Audience
                    ) -> dict[str, tuple[int, int, datetime | None]]:
    """Watchlist id → (readable documents hit, readable hits, latest hit), for every
    watchlist with at least one readable hit."""
    h = t.watchlist_hits
    stmt = (sa.select(h.c.watchlist_id, sa.func.count(sa.distinct(h.c.document_id)),
                      sa.func.count(), sa.func.max(h.c.created_at))
            .select_from(_joined()).where(*_conditions(None, audience))
            .group_by(h.c.watchlist_id))
    with store.engine.connect() as conn:
        return {wid: (int(docs), int(n), aware(last))
                for wid, docs, n, last in conn.execute(stmt)}


def hit_page(store: SqlStore, watchlist_id: str, audience: Audience, *, limit: int = 50,
             offset: int = 0) -> HitPage:
    """One page of the documents ``watchlist_id`` matched that ``audience`` may read,
    most recently hit first, with the terms that matched each (see the module doc). The
    caller has checked that the reader may read the watchlist itself."""
    if not 1 <= limit <= 500 or offset < 0:
        raise InputError("limit must be 1–500 and offset ≥ 0")
    h, d, wt = t.watchlist_hits, t.documents, t.watchlist_terms
    conds = _conditions(watchlist_id, audience)
    last = sa.func.max(h.c.created_at).label("last_hit")
    with store.engine.connect() as conn:
        docs, hits = conn.execute(
            sa.select(sa.func.count(sa.distinct(h.c.document_id)), sa.func.count())
            .select_from(_joined()).where(*conds)).one()
        rows = conn.execute(
            sa.select(d.c.id.label("document_id"), d.c.title, d.c.published_at, last)
            .select_from(_joined()).where(*conds)
            .group_by(d.c.id, d.c.title, d.c.published_at)
            .order_by(last.desc(), d.c.id).limit(limit).offset(offset)).all()
        terms: dict[str, list[HitTerm]] = defaultdict(list)
        for chunk in chunks([r.document_id for r in rows]):
            for r in conn.execute(
                    sa.select(h.c.document_id, h.c.term_id, wt.c.kind, wt.c.display,
                              h.c.matched, h.c.occurrences)
                    .select_from(_joined().join(wt, wt.c.id == h.c.term_id))
                    .where(*conds, h.c.document_id.in_(list(chunk)))
                    .order_by(h.c.term_id)):
                terms[r.document_id].append(HitTerm(r.term_id, r.kind, r.display,
                                                    r.matched or "", int(r.occurrences)))
    found = [HitDocument(r.document_id, r.title or "", aware(r.published_at),
                         aware(r.last_hit), tuple(terms.get(r.document_id, ())))
             for r in rows]
    return HitPage(found, int(docs), int(hits), limit, offset)

