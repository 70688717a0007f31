"""Search by meaning: documents ranked by cosine similarity between their embedding and the
query's, with the same filters and marking checks as full-text search.

Mechanism. :func:`index_embeddings` embeds every document that has no vector yet with the
static model the ``topics`` stage uses (title + the start of the body; see
:mod:`allsource.process.topics`) and stores it as float16 bytes in ``document_embeddings``
(512 bytes a document) — incremental, run by ``allsource process`` after the stages.
:func:`semantic_search` embeds the query, scores every stored vector with one matrix
product (the matrix is cached per store as float32 and reloaded when the number of vectors
changes; 100,000 documents are a 102 MB matrix and a few milliseconds of arithmetic), takes the
best candidates, and reads them back through the store's own filters (sources, kinds, time,
markings), so a document the reader may not see never appears. For a reader other than the
owner, only the documents those filters let through are ranked at all, so hidden documents
close to the query neither appear nor change how many readable ones come back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from allsource.errors import InputError
from allsource.model.markings import Audience
from allsource.process.topics import MODEL_DIR, default_embedder, document_text
from allsource.store import schema as t
from allsource.store.query import SearchQuery, SearchResult
from allsource.store.sql import chunks

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

MODEL = f"{MODEL_DIR.name}-1"
#: candidates scored before filters: enough that filters rarely leave a page short
OVERSAMPLE = 5
SNIPPET_CHARS = 240


def index_embeddings(store: SqlStore, *, batch: int = 1000,
                     progress: Callable[[int], None] | None = None) -> int:
    """Embed and store every document without a vector; returns how many were added."""
    d, e = t.documents, t.document_embeddings
    embedder = default_embedder()
    added = 0
    while True:
        with store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(d.c.id, d.c.title, d.c.text)
                .where(~sa.exists().where(e.c.document_id == d.c.id, e.c.model == MODEL))
                .order_by(d.c.seq).limit(batch)).all()
        if not rows:
            return added
        vectors = embedder.encode([document_text(r.title, r.text) for r in rows])
        with store.engine.begin() as conn:
            conn.execute(e.delete().where(e.c.document_id.in_([r.id for r in rows])))
            conn.execute(e.insert(), [
                {"document_id": r.id, "model": MODEL,
                 "vector": v.astype(np.float16).tobytes()} for r, v in zip(rows, vectors,
                                                                           strict=True)])
        added += len(rows)
        if progress:
            progress(added)


@dataclass(slots=True)
class _Index:
    count: int
    ids: list[str]
    matrix: np.ndarray


_CACHE: dict[str, _Index] = {}


def _index(store: SqlStore) -> _Index:
    e = t.document_embeddings
    with store.engine.connect() as conn:
        count = int(conn.execute(sa.select(sa.func.count()).select_from(e)
                                 .where(e.c.model == MODEL)).scalar_one())
        cached = _CACHE.get(store.safe_url)
        if cached is not None and cached.count == count:
            return cached
        ids: list[str] = []
        parts: list[bytes] = []
        for row in conn.execution_options(yield_per=5000).execute(
                sa.select(e.c.document_id, e.c.vector).where(e.c.model == MODEL)):
            ids.append(row.document_id)
            parts.append(bytes(row.vector))
    dim = default_embedder().dim
    # float32 once here, not per query: BLAS has no float16 product, and converting the
    # whole matrix for every query was most of a query's time
    matrix = (np.frombuffer(b"".join(parts), dtype=np.float16).reshape(len(ids), dim)
              .astype(np.float32) if ids else np.zeros((0, dim), dtype=np.float32))
    index = _CACHE[store.safe_url] = _Index(count, ids, matrix)
    return index


def semantic_search(store: SqlStore, query: SearchQuery, audience: Audience) -> SearchResult:
    """The documents closest in meaning to ``query.text`` (scores are cosines in [-1, 1])."""
    started = time.perf_counter()
    text = query.text.strip()
    if not text:
        raise InputError("empty query")
    index = _index(store)
    if not index.ids:
        return SearchResult([], 0, (time.perf_counter() - started) * 1000)
    vector = default_embedder().encode([text])[0].astype(np.float32)
    scores = index.matrix @ vector
    want = (query.offset + query.limit) * OVERSAMPLE
    d = t.documents
    rows: list[Any] = []
    with store.engine.connect() as conn:
        source_ids = store._resolve_sources(conn, query.sources, audience)
        conds = store._filters(d, query, source_ids, audience)
        if not audience.unrestricted:
            # rank only what the reader may see: hidden documents near the query must not
            # push readable ones out of the candidates (their number would tell)
            allowed = set(conn.execute(sa.select(d.c.id).where(*conds)).scalars())
            scores = np.where([i in allowed for i in index.ids], scores, -np.inf)
        top = [i for i in np.argsort(-scores)[:want] if np.isfinite(scores[i])]
        chosen = {index.ids[i]: float(scores[i]) for i in top}
        # a sealed text is cut after decryption (substr of a token would be ciphertext)
        snippet = (d.c.text if store.keys.encrypted
                   else sa.func.substr(d.c.text, 1, SNIPPET_CHARS).label("snippet"))
        for chunk in chunks(list(chosen)):
            rows += conn.execute(
                sa.select(d.c.id, d.c.kind, d.c.title, d.c.url, d.c.published_at,
                          d.c.collected_at, d.c.source_id, d.c.tlp, d.c.classification,
                          d.c.compartments, d.c.releasability, snippet)
                .where(d.c.id.in_(list(chunk)), *conds)).all()
        rows.sort(key=lambda r: -chosen[r.id])
        page = [_Scored(r, chosen[r.id]) for r in rows[query.offset:query.offset + query.limit]]
        return store._result(conn, page, len(rows), audience, started, score_sign=1.0)


class _Scored:
    """A row with its cosine as ``score``, shaped like the full-text search rows."""

    def __init__(self, row: Any, score: float) -> None:
        self._row = row
        self.score = score
        self._mapping = row._mapping
        if "text" in row._mapping:
            self.snippet = row.text[:SNIPPET_CHARS]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)
