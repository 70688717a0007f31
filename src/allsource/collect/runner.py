"""Runs a collector over a source and writes what it yields to the store in batches.

One run = one :class:`~allsource.store.base.RunRecord` (status, counts, errors, timings).
Items are buffered and written every ``batch_size`` items in one transaction together with the
newest checkpoint seen. A batch is flushed when the item *after* it arrives, so that checkpoint
was yielded after the batch's last item and before anything outside it: a crash loses nothing
already committed and a rerun resumes exactly after the last committed batch. The checkpoint
state is serialized at flush time, so a collector may keep updating one dict, as long as it
updates it only after yielding the items the update covers. Re-writing an item that was
already stored is a no-op counted as a duplicate, which makes a rerun of an interrupted
one-off ingest safe too.

A :class:`~allsource.model.records.Rejected` item — and any :class:`InputError` raised by a
collector for its whole input — is quarantined with its reason and raw bytes; the run goes on
and its summary says how many were quarantined. Errors the user must fix (unreachable host,
blocked address, a path outside the file roots) end the run with status ``failed`` after
committing what was collected.

No input can stop more than its own item or its own source:

* **an item the store cannot write** (a value its JSON encoder refuses, text the database
  rejects) fails its whole batch, which is rolled back; the batch is then written again item by
  item, and each item that still fails is quarantined with the reason (its kept blob and ref
  point at the raw input) while the others are stored. A connection-level database error is
  not an item's fault and is raised as before;
* **any other exception from a collector** — a parser bug that bad input triggers — ends that
  source's run with status ``failed`` and the exception named in its errors, after committing
  what was collected before it; a caller collecting several sources goes on with the next.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from allsource.collect.base import CollectContext, Collector
from allsource.collect.roots import check_location
from allsource.errors import AllsourceError, InputError, StoreError
from allsource.model.records import Checkpoint, Collected, Rejected, Source
from allsource.plugins import get_collector
from allsource.store.base import BatchCounts, QuarantineItem, RunRecord, Store
from allsource.store.sql import new_run_id

Progress = Callable[[BatchCounts], None]
_log = logging.getLogger(__name__)


@dataclass(slots=True)
class RunResult:
    source: str
    status: str
    counts: BatchCounts = field(default_factory=BatchCounts)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "status": self.status, **self.counts.as_dict(),
                "errors": self.errors, "seconds": round(self.seconds, 3)}


class _Batcher:
    def __init__(self, store: Store, source: Source, size: int, progress: Progress | None,
                 keep: Callable[[bytes], str]):
        self.store, self.source, self.size, self.progress = store, source, size, progress
        self.keep = keep
        self.items: list[Collected] = []
        self.quarantined: list[QuarantineItem] = []
        self.checkpoint: dict[str, Any] | None = None
        self.total = BatchCounts()

    def add(self, item: Collected | QuarantineItem) -> None:
        # Flush *before* adding to a full buffer: the newest checkpoint then describes exactly
        # the buffered items (it was yielded after the last of them and before this one).
        if len(self.items) + len(self.quarantined) >= self.size:
            self.flush()
        if isinstance(item, Collected):
            self.items.append(item)
        else:
            self.quarantined.append(item)

    def flush(self) -> None:
        if not (self.items or self.quarantined or self.checkpoint is not None):
            return
        try:
            counts = self.store.write_batch(self.source, self.items, self.quarantined,
                                            self.checkpoint)
        except Exception as exc:
            if _store_down(exc) or len(self.items) == 0:
                raise
            counts = self._item_by_item()
        self.items, self.quarantined, self.checkpoint = [], [], None
        self.total.add(counts)
        if self.progress:
            self.progress(counts)

    def _item_by_item(self) -> BatchCounts:
        """Write the batch one item at a time; quarantine the items the store refuses."""
        counts = BatchCounts()
        for item in self.items:
            try:
                counts.add(self.store.write_batch(self.source, [item], [], None))
            except Exception as exc:
                if _store_down(exc):
                    raise
                doc = item.document
                ref = doc.blob_ref or doc.id
                # the reason names the item by its reference, never by its title or text: on
                # an encrypted store the quarantine table is not sealed (store/sealed.py)
                self.quarantined.append(QuarantineItem(
                    reason=f"cannot store {ref}: {_describe(exc)}"[:1000],
                    blob_sha256=doc.blob_sha256 or self.keep(b""), item_ref=ref))
        counts.add(self.store.write_batch(self.source, [], self.quarantined, self.checkpoint))
        return counts


def _store_down(exc: Exception) -> bool:
    """A database that cannot be reached is not an item's fault."""
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError | StoreError) or (
        isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated)


def _describe(exc: BaseException) -> str:
    """The error's type and message. SQLAlchemy's statement errors print the statement's
    parameters (a document's text among them): only the underlying error is described."""
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        exc = exc.orig
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def run_source(store: Store, source: Source, ctx: CollectContext, *,
               use_checkpoint: bool = True, progress: Progress | None = None,
               collector_cls: type[Collector] | None = None) -> RunResult:
    """Collect ``source`` into ``store``; never raises for bad input, only for store failure."""
    cls = collector_cls or get_collector(source.kind)
    collector = cls(source, ctx)
    started = time.monotonic()
    run = RunRecord(id=new_run_id(), plugin=cls.name, source_id=source.id,
                    started_at=datetime.now(UTC))
    store.save_run(run)
    batcher = _Batcher(store, source, ctx.settings.batch_size, progress, ctx.keep_blob)
    checkpoint = store.get_checkpoint(source.id) if use_checkpoint else {}
    status, errors = "ok", []
    try:
        check_location(ctx.settings, source.location)
        for item in collector.collect(checkpoint):
            if isinstance(item, Checkpoint):
                batcher.checkpoint = item.state
            elif isinstance(item, Rejected):
                batcher.add(_quarantine(ctx, item))
            else:
                batcher.add(item)
            if time.monotonic() - started > cls.time_limit:
                status = "timeout"
                errors.append(f"stopped after the {cls.time_limit:.0f}s time limit; "
                              "the next run resumes from the checkpoint")
                break
    except InputError as exc:
        # The whole input is bad (e.g. malformed bundle): quarantine it, don't fail the run.
        batcher.add(_quarantine(ctx, Rejected(str(exc), _raw_of(exc), source.location)))
    except AllsourceError as exc:
        status = "failed"
        errors.append(str(exc))
    except Exception as exc:  # a collector bug that bad input triggers fails one source
        if _store_down(exc):
            raise
        status = "failed"
        errors.append(f"the {cls.name} collector failed on this source ({_describe(exc)}); "
                      "what was collected before is kept")
        _log.warning("collector %s failed on source %s", cls.name, source.name, exc_info=True)
    finally:
        batcher.flush()
        ctx.close()
        run.status = status
        run.finished_at = datetime.now(UTC)
        run.counts = batcher.total.as_dict()
        run.errors = errors
        store.save_run(run)
        summary = f"{status}: " + ", ".join(f"{k}={v}" for k, v in run.counts.items())
        store.set_source_status(source.id, summary if not errors else summary + "; " + errors[0])
    return RunResult(source.name, status, batcher.total, errors, time.monotonic() - started)


def _raw_of(exc: InputError) -> bytes:
    raw = getattr(exc, "raw", None)
    return raw if isinstance(raw, bytes) else b""


def _quarantine(ctx: CollectContext, item: Rejected) -> QuarantineItem:
    raw = item.raw[: ctx.settings.max_input_bytes]
    return QuarantineItem(reason=item.reason, blob_sha256=ctx.keep_blob(raw), item_ref=item.ref)


def retry_quarantined(store: Store, ctx: CollectContext, ids: list[str] | None = None
                      ) -> dict[str, Any]:
    """Re-read quarantined items from their raw blobs. An item is ``resolved`` when it now
    yields documents and nothing is rejected again; otherwise it stays ``open`` (attempts+1)."""
    entries = [q for q in store.list_quarantine("open") if not ids or q["id"] in ids]
    summary: dict[str, Any] = {"retried": 0, "resolved": 0, "still_open": 0, "errors": []}
    for entry in entries:
        summary["retried"] += 1
        source = store.get_source(entry["source_id"] or "")
        if source is None:
            summary["still_open"] += 1
            summary["errors"].append(f"{entry['id']}: its source no longer exists")
            store.resolve_quarantine([entry["id"]], "open")
            continue
        collector = get_collector(source.kind)(source, ctx)
        good: list[Collected] = []
        rejected = 0
        try:
            for item in collector.reparse(store.blobs.get(entry["blob_sha256"]),
                                          entry["item_ref"]):
                if isinstance(item, Collected):
                    good.append(item)
                elif isinstance(item, Rejected):
                    rejected += 1
        except (AllsourceError, OSError) as exc:
            rejected += 1
            summary["errors"].append(f"{entry['id']}: {exc}")
        if good and not rejected:
            store.write_batch(source, good, [], None)
            store.resolve_quarantine([entry["id"]], "resolved")
            summary["resolved"] += 1
        else:
            store.resolve_quarantine([entry["id"]], "open")
            summary["still_open"] += 1
    ctx.close()
    return summary
