"""Runs a pipeline over stored documents, batch by batch, and writes the results.

Documents are taken in insertion order; a document is due when it lacks a result of the
current version for one of the pipeline's stages, so ``allsource process`` picks up where it
stopped, handles only new documents the next time, and redoes everything a stage touched
after that stage's version changes. Each batch's results are written in one transaction
(see :mod:`allsource.store.processing`). A stage that raises on a batch does not stop the
run: the batch is retried one document at a time, and a document the stage still fails on
gets the error recorded as that stage's result (shown by ``allsource show``). With a
multi-process engine the next batch computes on the workers while this process finishes and
writes the current one, and due documents are read only as fast as batches are finished
(:mod:`allsource.process.flow`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from allsource.gcpause import paused_gc
from allsource.process.base import Work
from allsource.process.flow import AHEAD, Engine, overlapped, run_guarded
from allsource.process.pipeline import Pipeline
from allsource.store.base import RunRecord
from allsource.store.processing import DocumentRow, count_due, documents_due, write_results
from allsource.store.sql import SqlStore, new_run_id

__all__ = ["BATCH_SIZE", "Engine", "ProcessResult", "process_store", "run_guarded", "to_work"]

#: documents per batch by default. Each batch is one write transaction (and one for the
#: story rows), and its commit writes every index page the batch dirtied: rows under random
#: keys (UUIDs, band hashes) dirty about one page each in small batches, fewer per row in
#: larger ones. Measured per document (6,000 documents, inline, CPU): the writes and
#: ``stories`` 2.61 ms at 200, 2.12 at 500, 2.12 at 1,000; 500 keeps the memory of the
#: batches in flight (:data:`~allsource.process.flow.AHEAD` + 1) at half of 1,000's.
BATCH_SIZE = 500
#: the smallest batch :func:`batch_sizes` cuts at the ends of a run
SMALLEST_BATCH = 64


def batch_sizes(total: int, batch_size: int, ahead: int) -> Iterator[int]:
    """Batch sizes for a run of ``total`` documents: full, then shrinking at the end.

    With a multi-process engine this process finishes (and writes) each batch after the
    workers computed it, with up to ``ahead`` further batches on the workers meanwhile
    (:mod:`allsource.process.flow`). This process's share of a batch takes longer than the
    workers' (it is the serial path), so the workers run ahead until ``ahead`` batches
    wait for it; at the end of a run they have nothing left while it finishes those, and
    a core is idle for as long as they take. So once the rest would fit in the batches in
    flight, each batch is a share of what remains: the last ones are small and the idle
    end is short. Small batches cost more per document to write (see :data:`BATCH_SIZE`),
    which is why only the end is cut (and never below :data:`SMALLEST_BATCH`). The start
    needs no such cut: both workers are busy on the first batches while this process
    waits. The sizes add up to ``total``; the caller keeps asking at ``batch_size`` after
    that (documents that arrive while the run goes on)."""
    least, left = min(SMALLEST_BATCH, batch_size), total
    while left > 0:
        share = -(-left // (ahead + 2))  # the batches in flight at the end share the rest
        step = min(batch_size, left, max(share, least))
        if left - step < least // 2:
            step = left  # no crumb of a batch at the very end
        yield step
        left -= step


@dataclass(slots=True)
class ProcessResult:
    documents: int = 0
    objects: int = 0
    failures: int = 0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    #: CPU seconds per stage, over every process that ran it
    stage_cpu: dict[str, float] = field(default_factory=dict)

    def merge(self, other: ProcessResult) -> None:
        """Add another pass's figures (per-source pipelines run as several passes)."""
        self.documents += other.documents
        self.objects += other.objects
        self.failures += other.failures
        self.seconds += other.seconds
        for name, secs in other.stage_seconds.items():
            self.stage_seconds[name] = self.stage_seconds.get(name, 0.0) + secs
        for name, secs in other.stage_cpu.items():
            self.stage_cpu[name] = self.stage_cpu.get(name, 0.0) + secs

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


def to_work(row: DocumentRow) -> Work:
    return Work(id=row.id, title=row.title, text=row.text, kind=row.kind,
                content_hash=row.content_hash, marking=row.marking, source_id=row.source_id,
                published_at=row.published_at)


def process_store(store: SqlStore, pipeline: Pipeline, engine: Engine, *,
                  batch_size: int = BATCH_SIZE, since: datetime | None = None,
                  source_ids: Sequence[str] = (), everything: bool = False,
                  exclude_source_ids: Sequence[str] = (),
                  progress: Callable[[int, int], None] | None = None) -> ProcessResult:
    """Process every due document; ``progress(done, total)`` after each batch.

    ``exclude_source_ids`` leaves out documents those sources sighted (they have a pipeline
    of their own). At the end each stage leaves a run record (plugin ``stage:<name>``):
    documents, failures, seconds, and the first errors."""
    versions = pipeline.versions()
    filters: dict[str, Any] = {"since": since, "source_ids": source_ids,
                               "everything": everything,
                               "exclude_source_ids": exclude_source_ids}
    total = count_due(store, versions, **filters)
    result = ProcessResult()
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    errors: dict[str, list[str]] = {name: [] for name in versions}
    failed: dict[str, int] = dict.fromkeys(versions, 0)

    # only an engine that computes elsewhere leaves a core idle at the ends of a run
    sizes = batch_sizes(total, batch_size, AHEAD) if engine.overlaps else iter(())

    def due() -> Iterator[list[Work]]:
        after = 0
        while rows := documents_due(store, versions, after_seq=after,
                                    limit=next(sizes, batch_size), **filters):
            after = rows[-1].seq
            yield [to_work(r) for r in rows]

    # the next batch computes on the workers while this one is finished and written here
    for works in overlapped(engine, due()):
        # up to three batches of works are alive here, and the stories' in-memory index: a
        # full collection every few hundred rows built would walk them all, for no cycle
        with paused_gc():
            result.objects += write_results(store, works, versions)
        result.documents += len(works)
        result.failures += sum(1 for w in works if w.errors)
        for w in works:
            for stage, message in w.errors.items():
                for name in (versions if stage == "pipeline" else [stage]):
                    if name in failed:
                        failed[name] += 1
                        if len(errors[name]) < 20:
                            errors[name].append(f"{w.id}: {message}"[:500])
        if progress:
            progress(result.documents, total)
    result.seconds = time.perf_counter() - started
    result.stage_seconds = dict(engine.times)
    result.stage_cpu = dict(engine.cpu_times)
    if result.documents:
        finished_at = datetime.now(UTC)
        for name, version in versions.items():
            store.save_run(RunRecord(
                id=new_run_id(), plugin=f"stage:{name}", source_id=None,
                started_at=started_at, finished_at=finished_at,
                status="failed" if failed[name] == result.documents else "ok",
                counts={"documents": result.documents, "failures": failed[name],
                        "version": version,
                        "seconds": round(result.stage_seconds.get(name, 0.0), 3),
                        "sources": list(source_ids)},
                errors=errors[name]))
    return result
