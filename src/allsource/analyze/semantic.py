"""Search by meaning: documents ranked by cosine similarity between their embedding and the
query's, with the same filters and marking checks as full-text search.

Mechanism. :func:`index_embeddings` embeds every document that has no vector yet with the
static model the ``topics`` stage uses (title + the start of the body; see
:mod:`allsource.process.topics`) and stores it as float16 bytes in ``document_embeddings``
(512 bytes a document) — incremental, run by ``allsource process`` after the stages.
:func:`semantic_search` embeds the query and finds the nearest stored vectors
(:mod:`allsource.analyze.vector_index`: one exact matrix product below 250,000 vectors, an
inverted file above). The vectors are kept per store as float32 (BLAS has no float16
product) and checked against the model's version counter (:mod:`allsource.store.embeddings`:
one primary-key read, bumped in the same transaction as every embedding write) — never by
counting or scanning the vectors — and reloaded when another writer, in this process or
another, changed them. A reload reads every vector again (and rebuilds the inverted file):
a store that embeds new documents every few seconds pays that once per change.

Filters and markings. Only documents the reader may see, and that pass the query's filters
(sources, kinds, time), are ranked: hidden documents close to the query neither appear nor
change how many readable ones come back. The best ``want`` candidates by score are checked in
SQL by id (``documents`` with the store's own filters); when every one passes — the usual case
— they are the answer. When some are filtered out, a second, four times larger slice is
checked, and if that still leaves the page short, the ids of every document passing the
filters are read and the scores of the others masked before ranking again. Either way the
result is the best ``want`` passing documents by score, the same as masking first (with the
inverted file: among the rows its probed groups hold; the masked fallback is an exact scan);
only the page's rows (with their snippets) are then read back, again through the filters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.analyze.vector_index import VectorIndex, top
from allsource.errors import InputError
from allsource.model.markings import Audience
from allsource.process.topics import MODEL_DIR, default_embedder, document_text
from allsource.store import schema as t
from allsource.store.embeddings import embedding_version, write_embeddings
from allsource.store.idlists import ids_in
from allsource.store.query import SearchQuery, SearchResult

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

MODEL = f"{MODEL_DIR.name}-1"
#: candidates ranked before paging: enough that ``total`` says more than the page
OVERSAMPLE = 5
#: the second slice checked when filters drop some of the first ``want`` candidates
WIDEN = 4
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
            write_embeddings(conn, MODEL, [(r.id, v.astype(np.float16).tobytes())
                                           for r, v in zip(rows, vectors, strict=True)])
        added += len(rows)
        if progress:
            progress(added)


@dataclass(slots=True)
class _Index:
    version: int
    ids: list[str]
    position: dict[str, int]
    vectors: VectorIndex


_CACHE: dict[str, _Index] = {}


def _index(store: SqlStore, conn: Connection) -> _Index:
    """The store's vectors, reloaded only when the model's version moved (see the module doc
    of :mod:`allsource.store.embeddings` for why the version is read before the rows)."""
    version = embedding_version(conn, MODEL)
    cached = _CACHE.get(store.safe_url)
    if cached is not None and cached.version == version:
        return cached
    e = t.document_embeddings
    ids: list[str] = []
    parts: list[bytes] = []
    for row in conn.execution_options(yield_per=5000).execute(
            sa.select(e.c.document_id, e.c.vector).where(e.c.model == MODEL)):
        ids.append(row.document_id)
        parts.append(bytes(row.vector))
    dim = default_embedder().dim
    # float32 once here, not per query: BLAS has no float16 product
    matrix = (np.frombuffer(b"".join(parts), dtype=np.float16).reshape(len(ids), dim)
              .astype(np.float32) if ids else np.zeros((0, dim), dtype=np.float32))
    del parts
    vectors, perm = VectorIndex.build(matrix)
    ids = [ids[i] for i in perm]
    index = _CACHE[store.safe_url] = _Index(version, ids, {d: i for i, d in enumerate(ids)},
                                            vectors)
    return index


def _passing(conn: Connection, ids: Sequence[str],
             conds: list[sa.ColumnElement[bool]]) -> set[str]:
    if not ids:
        return set()
    d = t.documents
    return set(conn.execute(sa.select(d.c.id).where(ids_in(d.c.id, ids, conn.dialect.name),
                                                    *conds)).scalars())


def _ranked(conn: Connection, index: _Index, vector: np.ndarray, want: int,
            conds: list[sa.ColumnElement[bool]]) -> list[tuple[str, float]]:
    """The best ``want`` documents passing ``conds``, best first (see the module doc)."""
    ids, n = index.ids, len(index.ids)
    checked: set[str] = set()
    passing: set[str] = set()
    for size in (want, want * WIDEN):
        found, scores = index.vectors.search(vector, min(n, size))
        fresh = [ids[i] for i in found if ids[i] not in checked]
        checked.update(fresh)
        passing |= _passing(conn, fresh, conds)
        chosen = [(ids[i], float(s)) for i, s in zip(found, scores, strict=True)
                  if ids[i] in passing][:want]
        if len(chosen) == want or len(found) == n:
            return chosen
    # many of the best are filtered out: rank only what passes (an exact scan)
    mask = np.zeros(n, dtype=bool)
    d = t.documents
    for doc in conn.execute(sa.select(d.c.id).where(*conds)).scalars():
        at = index.position.get(doc)
        if at is not None:
            mask[at] = True
    every = index.vectors.scores(vector)
    masked = np.where(mask, every, -np.inf)
    return [(ids[i], float(every[i])) for i in top(masked, min(n, want)) if mask[i]]


def semantic_search(store: SqlStore, query: SearchQuery, audience: Audience) -> SearchResult:
    """The documents closest in meaning to ``query.text`` (scores are cosines in [-1, 1])."""
    started = time.perf_counter()
    text = query.text.strip()
    if not text:
        raise InputError("empty query")
    d = t.documents
    with store.engine.connect() as conn:
        index = _index(store, conn)
        if not index.ids:
            return SearchResult([], 0, (time.perf_counter() - started) * 1000)
        vector = default_embedder().encode([text])[0].astype(np.float32)
        source_ids = store._resolve_sources(conn, query.sources, audience)
        conds = store._filters(d, query, source_ids, audience)
        chosen = _ranked(conn, index, vector, (query.offset + query.limit) * OVERSAMPLE, conds)
        page = dict(chosen[query.offset:query.offset + query.limit])
        # a sealed text is cut after decryption (substr of a token would be ciphertext)
        snippet = (d.c.text if store.keys.encrypted
                   else sa.func.substr(d.c.text, 1, SNIPPET_CHARS).label("snippet"))
        rows = list(conn.execute(
            sa.select(d.c.id, d.c.kind, d.c.title, d.c.url, d.c.published_at,
                      d.c.collected_at, d.c.source_id, d.c.tlp, snippet)
            .where(ids_in(d.c.id, list(page), conn.dialect.name), *conds)).all()) if page else []
        rows.sort(key=lambda r: -page[r.id])
        return store._result(conn, [_Scored(r, page[r.id]) for r in rows], len(chosen),
                             audience, started, score_sign=1.0)


class _Scored:
    """A row with its cosine as ``score``, shaped like the full-text search rows (plain
    attributes: :meth:`SqlStore._result` reads each several times)."""

    __slots__ = ("collected_at", "id", "kind", "published_at", "score", "snippet",
                 "source_id", "title", "tlp", "url")

    def __init__(self, row: Any, score: float) -> None:
        self.id, self.kind, self.title, self.url = row.id, row.kind, row.title, row.url
        self.published_at, self.collected_at = row.published_at, row.collected_at
        self.source_id, self.tlp, self.score = row.source_id, row.tlp, score
        self.snippet = (row.text[:SNIPPET_CHARS] if "text" in row._mapping
                        else row.snippet)
