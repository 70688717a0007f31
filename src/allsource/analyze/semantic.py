"""Search by meaning: documents ranked by cosine similarity between their embedding and the
query's, with the same filters and marking checks as full-text search.

Mechanism. :func:`index_embeddings` embeds every document that has no vector yet with the
static model the ``topics`` stage uses (title + the start of the body; see
:mod:`allsource.process.topics`) and stores it as float16 bytes in ``document_embeddings``
(512 bytes a document) — incremental, run by ``allsource process`` after the stages.
:func:`semantic_search` embeds the query and finds the nearest stored vectors
(:mod:`allsource.analyze.vector_index`: one exact matrix product below 250,000 vectors, an
inverted file above). The vectors are kept per store as float32 (BLAS has no float16
product), each with its document's marking, and checked against two counters
(:mod:`allsource.store.embeddings`: the model's, bumped in the same transaction as every
embedding write, and the documents' markings', bumped by every rewrite of a document; one
statement) — never by counting or scanning the vectors — and reloaded when another writer, in
this process or another, changed them. A reload reads every vector again (and rebuilds the
inverted file): a store that embeds new documents every few seconds pays that once per change.

Markings. Only documents the reader may see are ranked: hidden documents close to the query
neither appear nor change how many readable ones come back. The markings loaded with the
vectors give, per audience, a boolean mask of the rows :func:`can_release` releases to it (one
decision per distinct marking, cached until a counter moves), and the ranking runs under that
mask in numpy. The database still decides: the page's rows (by primary key: each vector is
loaded with its document's ``seq``) are read through the same SQL access rule
(:func:`allsource.store.access.readable`) as every other read, and if it drops any of them (a
marking tightened after the counters were read, a document gone) the answer is recomputed by
the checked path below, in SQL. ``total`` is how many of the best
``(offset + limit) × OVERSAMPLE`` candidates the reader may read: with current counters the
mask is exactly the SQL rule, so it is the same count the database would give.

Filters (sources, kinds, time) are not in the mask: with any of them the best candidates of
the masked ranking are checked in SQL by id (``documents`` with every filter and the access
rule); when every one passes they are the answer. When some are filtered out, a second, four
times larger slice is checked, and if that still leaves the page short, the ids of every
document passing the filters are read and the scores of the others masked before ranking
again. Either way the result is the best passing documents by score, the same as masking
first (with the inverted file: among the rows its probed groups hold; the masked fallback is
an exact scan).

Excerpts: the first ``SNIPPET_CHARS`` characters of each page row's text, cut at a word's end;
a caller that ranks a wide window and shows a page of it asks for none
(``SearchQuery.snippets=False``) and cuts the shown ones with :func:`add_snippets`.

Scores are cosines (-1..1); :data:`MIN_SIMILARITY` (:mod:`allsource.analyze.similarity`) is
the cosine below which the workspace and the API do not show a document as a match.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.analyze.similarity import MIN_SIMILARITY
from allsource.analyze.vector_index import VectorIndex, top
from allsource.errors import InputError
from allsource.model.markings import TLP, Audience, Marking, can_release
from allsource.process.topics import MODEL_DIR, default_embedder, document_text
from allsource.store import schema as t
from allsource.store.embeddings import MARKINGS, versions, write_embeddings
from allsource.store.idlists import ids_in
from allsource.store.query import SearchHit, SearchQuery, SearchResult
from allsource.store.sql import aware

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["MIN_SIMILARITY", "MODEL", "OVERSAMPLE", "SNIPPET_CHARS", "add_snippets",
           "index_embeddings", "semantic_search"]

MODEL = f"{MODEL_DIR.name}-1"
#: candidates ranked before paging: enough that ``total`` says more than the page
OVERSAMPLE = 5
#: the second slice checked when filters drop some of the first ``want`` candidates
WIDEN = 4
SNIPPET_CHARS = 240
#: audiences whose masks are kept per store (a few roles in practice; cleared when full)
MASKS = 64
_LABELS = {int(level): level.label for level in TLP}


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
    version: tuple[int, ...]
    ids: list[str]
    position: dict[str, int]
    vectors: VectorIndex
    #: per row, its document's ``seq`` (the page is read by primary key, not by id)
    seqs: np.ndarray
    #: per row, its marking's position in ``markings``
    codes: np.ndarray
    markings: list[Marking]
    masks: dict[Audience, np.ndarray | None] = field(default_factory=dict)

    def readable(self, audience: Audience) -> np.ndarray | None:
        """The rows ``audience`` may read by the loaded markings (``None``: all of them)."""
        if audience.unrestricted:
            return None
        try:
            return self.masks[audience]
        except KeyError:
            pass
        released = np.fromiter((can_release(m, audience) for m in self.markings), dtype=bool,
                               count=len(self.markings))
        mask = None if released.all() else released[self.codes]
        if len(self.masks) >= MASKS:
            self.masks.clear()
        self.masks[audience] = mask
        return mask


_CACHE: dict[str, _Index] = {}


def _index(store: SqlStore, conn: Connection) -> _Index:
    """The store's vectors and their markings, reloaded only when a counter moved (see the
    module doc of :mod:`allsource.store.embeddings` for why the counters are read before the
    rows)."""
    version = versions(conn, MODEL, MARKINGS)
    cached = _CACHE.get(store.safe_url)
    if cached is not None and cached.version == version:
        return cached
    e, d = t.document_embeddings, t.documents
    ids: list[str] = []
    seqs: list[int] = []
    parts: list[bytes] = []
    code_of: dict[tuple[int, int, str, str], int] = {}
    codes: list[int] = []
    # a vector whose document is gone is not loaded: it could never be shown
    for row in conn.execution_options(yield_per=5000).execute(
            sa.select(e.c.document_id, e.c.vector, d.c.seq, d.c.tlp, d.c.classification,
                      d.c.compartments, d.c.releasability)
            .select_from(e.join(d, d.c.id == e.c.document_id)).where(e.c.model == MODEL)):
        ids.append(row.document_id)
        seqs.append(row.seq)
        parts.append(bytes(row.vector))
        key = (row.tlp, row.classification, row.compartments, row.releasability)
        codes.append(code_of.setdefault(key, len(code_of)))
    dim = default_embedder().dim
    # float32 once here, not per query: BLAS has no float16 product
    matrix = (np.frombuffer(b"".join(parts), dtype=np.float16).reshape(len(ids), dim)
              .astype(np.float32) if ids else np.zeros((0, dim), dtype=np.float32))
    del parts
    vectors, perm = VectorIndex.build(matrix)
    ids = [ids[i] for i in perm]
    markings = [Marking.from_columns({"tlp": k[0], "classification": k[1],
                                      "compartments": k[2], "releasability": k[3]})
                for k in code_of]
    index = _CACHE[store.safe_url] = _Index(
        version, ids, {doc: i for i, doc in enumerate(ids)}, vectors,
        np.asarray(seqs, dtype=np.int64)[perm], np.asarray(codes, dtype=np.int32)[perm],
        markings)
    return index


def _passing(conn: Connection, ids: Sequence[str],
             conds: list[sa.ColumnElement[bool]]) -> set[str]:
    if not ids:
        return set()
    d = t.documents
    return set(conn.execute(sa.select(d.c.id).where(ids_in(d.c.id, ids, conn.dialect.name),
                                                    *conds)).scalars())


def _checked(conn: Connection, index: _Index, vector: np.ndarray, want: int,
             mask: np.ndarray | None, conds: list[sa.ColumnElement[bool]]
             ) -> list[tuple[str, float]]:
    """The best ``want`` documents passing ``conds`` by SQL, best first (see the module doc);
    ``mask`` only narrows which rows are candidates."""
    ids, n = index.ids, len(index.ids)
    checked: set[str] = set()
    passing: set[str] = set()
    for size in (want, want * WIDEN):
        asked = min(n, size)
        found, scores = index.vectors.search(vector, asked, mask=mask)
        fresh = [ids[i] for i in found if ids[i] not in checked]
        checked.update(fresh)
        passing |= _passing(conn, fresh, conds)
        chosen = [(ids[i], float(s)) for i, s in zip(found, scores, strict=True)
                  if ids[i] in passing][:want]
        # fewer found than asked: the mask left no other candidate (every one was checked)
        if len(chosen) == want or len(found) < asked or len(found) == n:
            return chosen
    # many of the best are filtered out: rank only what passes (an exact scan)
    allowed = np.zeros(n, dtype=bool)
    d = t.documents
    for doc in conn.execute(sa.select(d.c.id).where(*conds)).scalars():
        at = index.position.get(doc)
        if at is not None:
            allowed[at] = True
    every = index.vectors.scores(vector)
    masked = np.where(allowed, every, -np.inf)
    return [(ids[i], float(every[i])) for i in top(masked, min(n, want)) if allowed[i]]


def _page(store: SqlStore, conn: Connection, which: sa.ColumnElement[bool],
          conds: list[sa.ColumnElement[bool]], snippets: bool) -> list[Any]:
    """The rows ``which`` selects that pass ``conds`` (the access rule among them)."""
    d = t.documents
    cols: list[Any] = [d.c.id, d.c.kind, d.c.title, d.c.url, d.c.published_at,
                       d.c.collected_at, d.c.source_id, d.c.tlp]
    if snippets:  # a sealed text is cut after decryption (substr of a token is ciphertext)
        cols.append(d.c.text if store.keys.encrypted
                    else sa.func.substr(d.c.text, 1, SNIPPET_CHARS * 2).label("text"))
    return list(conn.execute(sa.select(*cols).where(which, *conds)).all())


def _by_seq(conn: Connection, index: _Index, positions: Sequence[int]
            ) -> sa.ColumnElement[bool]:
    return ids_in(t.documents.c.seq, index.seqs[positions].tolist(), conn.dialect.name)


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
        filtered = bool(source_ids or query.kinds or query.since or query.until)
        mask = index.readable(audience)
        want = min(len(index.ids), (query.offset + query.limit) * OVERSAMPLE)
        cut = slice(query.offset, query.offset + query.limit)
        if filtered:
            chosen = _checked(conn, index, vector, want, mask, conds)
            total, page = len(chosen), dict(chosen[cut])
            positions = [index.position[doc] for doc in page]
        else:  # the mask is the access rule; the page read below applies it again in SQL
            found, scores = index.vectors.search(vector, want, mask=mask)
            total, positions = len(found), found[cut].tolist()
            page = dict(zip([index.ids[i] for i in positions], scores[cut].tolist(),
                            strict=True))
        rows = _page(store, conn, _by_seq(conn, index, positions), conds,
                     query.snippets) if page else []
        if len(rows) < len(page) and not filtered:
            # the database refused a row the loaded markings allowed: decide in SQL
            chosen = _checked(conn, index, vector, want, mask, conds)
            total, page = len(chosen), dict(chosen[cut])
            positions = [index.position[doc] for doc in page]
            rows = _page(store, conn, _by_seq(conn, index, positions), conds,
                         query.snippets) if page else []
        names = store._source_names(conn, audience)
    rows.sort(key=lambda r: -page[r.id])
    hits = [SearchHit(id=r.id, kind=r.kind, title=r.title,
                      snippet=_snippet(r.text) if query.snippets else "",
                      score=round(page[r.id], 4), url=r.url,
                      published_at=aware(r.published_at),
                      collected_at=aware(r.collected_at),
                      source=names.get(r.source_id, ""), tlp=_LABELS[r.tlp])
            for r in rows]
    return SearchResult(hits=hits, total=total,
                        took_ms=(time.perf_counter() - started) * 1000)


def add_snippets(store: SqlStore, hits: Sequence[SearchHit], audience: Audience) -> None:
    """Cut the excerpts of ``hits`` (from a :func:`semantic_search` made with
    ``snippets=False``) in place; only documents ``audience`` may read are read."""
    if not hits:
        return
    d = t.documents
    with store.engine.connect() as conn:
        which = ids_in(d.c.id, [h.id for h in hits], conn.dialect.name)
        found = {r.id: _snippet(r.text)
                 for r in _page(store, conn, which, [store._readable(d, audience)], True)}
    for h in hits:
        h.snippet = found.get(h.id, "")


def _snippet(text: str | None) -> str:
    """The start of ``text``, cut at the last whitespace within ``SNIPPET_CHARS`` (``…``
    marks the cut), so no word is cut in two."""
    body = " ".join((text or "")[:SNIPPET_CHARS * 2].split())
    if len(body) <= SNIPPET_CHARS:
        return body
    cut = body.rfind(" ", 0, SNIPPET_CHARS + 1)
    return body[:cut if cut > SNIPPET_CHARS // 2 else SNIPPET_CHARS].rstrip() + "…"
