"""Rebuilding documents from their kept raw blobs, so that a fix in a collector's parser (or
anything it calls) reaches data already collected, without fetching it again.

Every document records the blob it was read from and where in it (``blob_sha256`` +
``blob_ref``). A rebuild takes the documents a source collected (those whose blob its collector
kept), groups them by blob, reads each blob once and hands it, with those documents, to the
collector's :meth:`~allsource.collect.base.Collector.rebuild` — the same parsing code as
collection, offline (every request fails; what the bytes cannot tell comes from the stored
documents). Each stored document is paired with what the collector yields by document id,
else by its ``blob_ref`` when exactly one item has it; then, one transaction per batch
(:func:`allsource.store.rebuild.replace_documents`), its row is rewritten *under its stored
id*, everything derived from it is dropped — mentions, stage results, story membership — and
what the collector made of it is written again. The rebuilt documents are then due for every
processing stage: ``allsource process --rebuild`` runs :func:`rebuild_documents`, then
:func:`~allsource.process.runner.process_store` over the sources.

Ids never change: other records, exports and analysts refer to them. A document whose
content-derived id would now differ keeps its id with the new content (a later collect of the
same item under the new parser may then store it a second time, as any parser change would).

Nothing is deleted or added by surprise:

* a document whose blob is missing (or was never kept), whose collector cannot rebuild or
  whose source is gone, or that its blob no longer yields, is kept as stored and reported;
* a blob that no longer parses, and every item the collector now rejects, is quarantined with
  its reason as collection does — once: an item already in quarantine is not added again;
* items the blob yields that were never stored (skipped by a checkpoint, or rejected then)
  are not added: the next collect, or ``allsource quarantine retry``, brings them in;
* markings never loosen, and objects and relationships are removed only when nothing else
  mentions them (see :mod:`allsource.store.rebuild`).

Rebuilding is idempotent: running it twice gives the same store. Each batch commits whole, so
an interrupted rebuild leaves every document either rebuilt (and due for processing, which the
next ``allsource process`` finishes) or untouched; running it again completes it. Documents
that are not rebuilt keep their stories, which were assigned in arrival order: only a rebuild
of every source (``--all``) re-clusters from scratch.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from allsource.collect.base import CannotRebuild, CollectContext, Collector, StoredItem
from allsource.config import Settings
from allsource.errors import AllsourceError, InputError
from allsource.model.records import Collected, Rejected, Source
from allsource.plugins import get_collector
from allsource.store.base import QuarantineItem
from allsource.store.rebuild import (
    BlobGroup,
    StoredDocument,
    blob_groups,
    quarantine_item,
    quarantined_items,
    replace_documents,
    stored_documents,
)
from allsource.store.sql import SqlStore

#: at most this many messages are kept; the counts cover everything
MAX_MESSAGES = 50
BATCH_SIZE = 200


@dataclass(slots=True)
class RebuildResult:
    blobs: int = 0
    #: documents re-derived from their blob and rewritten
    documents: int = 0
    #: of those, documents whose stored row changed
    changed: int = 0
    #: documents not rebuilt: their blob is missing or was never kept
    missing_blobs: int = 0
    #: documents not rebuilt: their blob no longer yields them (kept as stored)
    not_rederived: int = 0
    #: documents not rebuilt: their collector cannot rebuild, or their source is gone
    unsupported: int = 0
    #: items newly quarantined (whole blobs or single items)
    quarantined: int = 0
    #: objects and relationships removed because nothing mentions them any more
    removed: int = 0
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)
    dropped_messages: int = 0

    @property
    def not_rebuilt(self) -> int:
        return self.missing_blobs + self.not_rederived + self.unsupported

    def note(self, message: str) -> None:
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)
        else:
            self.dropped_messages += 1

    def as_dict(self) -> dict[str, Any]:
        return {"blobs": self.blobs, "documents": self.documents, "changed": self.changed,
                "missing_blobs": self.missing_blobs, "not_rederived": self.not_rederived,
                "unsupported": self.unsupported, "quarantined": self.quarantined,
                "removed": self.removed, "seconds": round(self.seconds, 3),
                "messages": self.messages
                + ([f"… and {self.dropped_messages} more"] if self.dropped_messages else [])}


class _Rebuilder:
    def __init__(self, store: SqlStore, ctx: CollectContext, batch_size: int) -> None:
        self.store, self.ctx, self.batch_size = store, ctx, batch_size
        self.result = RebuildResult()
        self._collectors: dict[str, Collector | str] = {}
        self._quarantined: dict[str, set[tuple[str, str]]] = {}
        #: documents not rebuilt, by why (collector cannot rebuild, source gone)
        self._unsupported: Counter[str] = Counter()
        #: re-derived documents waiting to be written (one transaction per batch)
        self._pending: list[tuple[StoredDocument, Collected]] = []

    def collector(self, source_id: str) -> Collector | str:
        """The source's collector, or why its documents cannot be rebuilt."""
        if source_id not in self._collectors:
            source = self.store.get_source(source_id)
            if source is None:
                self._collectors[source_id] = (f"their source ({source_id}) no longer exists")
            else:
                try:
                    self._collectors[source_id] = get_collector(source.kind)(source, self.ctx)
                except AllsourceError as exc:
                    self._collectors[source_id] = f"{source.name}: {exc}"
        return self._collectors[source_id]

    def blob(self, group: BlobGroup) -> None:
        source_id, sha = group.source_id, group.sha256
        docs = stored_documents(self.store, group)
        if not docs:
            return
        collector = self.collector(source_id)
        name = collector.source.name if isinstance(collector, Collector) else source_id
        if sha is None:
            self.result.missing_blobs += len(docs)
            self.result.note(f"{name}: {len(docs)} documents were stored without a raw blob; "
                             "kept as stored")
            return
        if isinstance(collector, str):
            self._unsupported[collector] += len(docs)
            return
        raw = self.ctx.kept_blob(sha)
        if raw is None:
            self.result.missing_blobs += len(docs)
            self.result.note(f"{name}: raw blob {sha} is missing from the blob store; "
                             f"{len(docs)} documents kept as stored (first: {docs[0].id})")
            return
        self.result.blobs += 1
        stored = [StoredItem(d.id, d.blob_ref, d.title, d.text, d.url, d.meta) for d in docs]
        try:
            derived = list(collector.rebuild(raw, stored))
        except CannotRebuild as exc:
            why = self._collectors[source_id] = f"{name}: {exc}"
            self._unsupported[why] += len(docs)
            return
        except InputError as exc:
            self.quarantine(collector.source, [Rejected(str(exc), raw, "")])
            self.lost(name, docs, f"its raw blob {sha} no longer parses ({exc})")
            return
        except AllsourceError as exc:
            self.result.not_rederived += len(docs)
            self.result.note(f"{name}: blob {sha} not rebuilt: {exc}")
            return
        self.quarantine(collector.source, [i for i in derived if isinstance(i, Rejected)])
        pairs, lost = match(docs, [i for i in derived if isinstance(i, Collected)])
        if lost:
            self.lost(name, lost, "its blob no longer yields it")
        self._pending.extend(pairs)
        if len(self._pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        for start in range(0, len(self._pending), self.batch_size):
            counts = replace_documents(self.store,
                                       self._pending[start:start + self.batch_size])
            self.result.documents += counts.documents
            self.result.changed += counts.changed
            self.result.removed += counts.removed
        self._pending.clear()

    def finish(self) -> RebuildResult:
        self.flush()
        for why, n in self._unsupported.items():
            self.result.unsupported += n
            self.result.note(f"{n} documents not rebuilt: {why}")
        return self.result

    def lost(self, name: str, docs: Sequence[StoredDocument], why: str) -> None:
        self.result.not_rederived += len(docs)
        for d in docs:
            self.result.note(f"{name}: {d.title[:80]!r} ({d.id}, {d.blob_ref}) is kept as "
                             f"stored: {why}")

    def quarantine(self, source: Source, rejected: Sequence[Rejected]) -> None:
        """Quarantine what is not in quarantine yet (same raw bytes and item)."""
        if not rejected:
            return
        known = self._quarantined.get(source.id)
        if known is None:
            known = self._quarantined[source.id] = quarantined_items(self.store, source.id)
        cap = self.ctx.settings.max_input_bytes
        fresh: list[QuarantineItem] = []
        for item in rejected:
            sha = self.ctx.keep_blob(item.raw[:cap])
            key = (sha, quarantine_item(item.ref))
            if key in known:
                continue
            known.add(key)
            fresh.append(QuarantineItem(item.reason, sha, item.ref))
            self.result.note(f"{source.name}: quarantined {item.ref or 'a blob'}: {item.reason}")
        if fresh:
            self.store.write_batch(source, [], fresh, None)
            self.result.quarantined += len(fresh)


def match(stored: Sequence[StoredDocument], derived: Sequence[Collected]
          ) -> tuple[list[tuple[StoredDocument, Collected]], list[StoredDocument]]:
    """Pair stored documents with re-derived items: by document id first, then by
    ``blob_ref`` when exactly one unpaired item has it. Returns the pairs (in stored order)
    and the stored documents left without one."""
    by_id: dict[str, int] = {}
    by_ref: dict[str, list[int]] = {}
    for i, item in enumerate(derived):
        by_id.setdefault(item.document.id, i)
        by_ref.setdefault(item.document.blob_ref or "", []).append(i)
    used: set[int] = set()
    paired: dict[str, int] = {}
    for doc in stored:
        same = by_id.get(doc.id)
        if same is not None and same not in used:
            paired[doc.id] = same
            used.add(same)
    for doc in stored:
        if doc.id in paired:
            continue
        free = [i for i in by_ref.get(doc.blob_ref, []) if i not in used]
        if len(free) == 1:
            paired[doc.id] = free[0]
            used.add(free[0])
    pairs = [(doc, derived[paired[doc.id]]) for doc in stored if doc.id in paired]
    lost = [doc for doc in stored if doc.id not in paired]
    return pairs, lost


def rebuild_documents(store: SqlStore, settings: Settings, source_ids: Sequence[str] = (), *,
                      batch_size: int = BATCH_SIZE,
                      progress: Callable[[int, int], None] | None = None) -> RebuildResult:
    """Rebuild the documents the sources collected (every source's when ``source_ids`` is
    empty) from their kept blobs; ``progress(blobs done, blobs)`` after each blob."""
    started = time.perf_counter()
    ctx = CollectContext.offline(settings, store.blobs)
    rebuilder = _Rebuilder(store, ctx, batch_size)
    groups = blob_groups(store, source_ids)
    try:
        for done, group in enumerate(groups, 1):
            rebuilder.blob(group)
            if progress:
                progress(done, len(groups))
        result = rebuilder.finish()
    finally:
        ctx.close()
    result.seconds = time.perf_counter() - started
    return result
