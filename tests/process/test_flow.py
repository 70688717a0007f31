"""Batches in flight: the runner overlaps the parent's work with the workers' and reads due
documents only as fast as it finishes batches (backpressure), dropping nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

import allsource.process.runner as runner
from allsource.engine.inline import InlineEngine
from allsource.engine.pool import PoolEngine
from allsource.model.records import Collected, Document, Source
from allsource.process.base import Stage, Work
from allsource.process.flow import AHEAD, overlapped
from allsource.process.pipeline import build_pipeline
from allsource.store.processing import annotations_of
from allsource.store.sql import SqlStore
from tests.engine.stages_for_engine import ALL

# Sentences adapted from MISP event comments in the shared samples (CIRCL OSINT).
TEXTS = [
    "C2 server at 192.0.2.15 observed beaconing every 60 seconds.",
    "Second stage downloaded from 198.51.100.23 and 203.0.113.9.",
    "No indicators in this paragraph, only analysis.",
]

#: what the throttled stage saw: per batch, how many documents had been read by then
seen_reads: list[int] = []
read_count: list[int] = [0]


class Throttle(Stage):
    """A slow sequential stage (it runs here, after the workers' trip): processing falls
    behind reading unless reading waits for it."""

    name = "throttle"
    order = 25
    sequential = True
    requires: ClassVar[tuple[str, ...]] = ("lengths",)

    def process(self, batch: list[Work]) -> None:
        time.sleep(0.02)  # slow on purpose; the test counts, it never times
        seen_reads.append(read_count[0])
        for w in batch:
            w.annotations[self.name] = {"at": len(seen_reads)}


CLASSES: dict[str, type[Stage]] = {**ALL, "throttle": Throttle}


def _works(n: int, offset: int = 0) -> list[Work]:
    return [Work(id=f"d{offset + i}", title=f"Note {offset + i}", text=TEXTS[i % len(TEXTS)])
            for i in range(n)]


def _batches(count: int, size: int, produced: list[int]) -> Iterator[list[Work]]:
    for k in range(count):
        produced.append(k)
        yield _works(size, k * size)


@pytest.mark.parametrize("ahead", [0, 1, 2])
def test_overlapped_is_in_order_and_never_more_than_ahead_batches_early(ahead: int) -> None:
    pipeline = build_pipeline(["words", "sequencer"], classes=ALL)
    engine = PoolEngine(pipeline, workers=2)
    produced: list[int] = []
    out: list[list[Work]] = []
    try:
        for done in overlapped(engine, _batches(7, 5, produced), ahead=ahead):
            # when batch k comes out, at most `ahead` later batches have been taken
            assert len(produced) <= len(out) + 1 + ahead
            out.append(done)
    finally:
        engine.close()
    assert len(produced) == 7
    assert [w.id for b in out for w in b] == [f"d{i}" for i in range(35)]
    # the sequential stage numbered them across batches in order, as inline would
    assert [w.annotations["sequencer"]["position"] for b in out for w in b] == list(range(35))


def test_a_failing_batch_is_retried_per_document_in_flight() -> None:
    pipeline = build_pipeline(["fail_late", "sequencer"], classes=ALL)
    engine = PoolEngine(pipeline, workers=2)
    batches = [_works(4), _works(4, 4), _works(4, 8)]
    batches[1][2].text += " POISON"
    try:
        out = [w for b in overlapped(engine, iter(batches)) for w in b]
    finally:
        engine.close()
    assert [w.id for w in out] == [f"d{i}" for i in range(12)]
    assert [w.id for w in out if w.errors] == ["d6"]
    assert all(w.annotations["fail_late"] == {"ok": True} for w in out if not w.errors)


@pytest.mark.parametrize("workers", [1, 2])
def test_throttled_processing_slows_reading_and_drops_nothing(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    src = Source(name="notes", kind="files", location="/tmp/notes")
    store.add_source(src)
    total, size = 90, 10
    store.write_batch(src, [Collected(Document.build(kind="note", title=f"Note {i}",
                                                     text=f"{TEXTS[i % 3]} Case {i}."))
                            for i in range(total)], [], None)
    reads: list[int] = []
    writes: list[int] = []
    real_due, real_write = runner.documents_due, runner.write_results

    def counting_due(*args: Any, **kwargs: Any) -> Any:
        rows = real_due(*args, **kwargs)
        reads.append(len(rows))
        read_count[0] = sum(reads)
        return rows

    def counting_write(store: SqlStore, works: list[Work], versions: Any) -> int:
        writes.append(len(works))
        # reading is never more than the batch being written plus AHEAD batches
        assert sum(reads) <= sum(writes) + AHEAD * size
        return real_write(store, works, versions)

    monkeypatch.setattr(runner, "documents_due", counting_due)
    monkeypatch.setattr(runner, "write_results", counting_write)
    seen_reads.clear()
    read_count[0] = 0
    pipeline = build_pipeline(["words", "throttle"], classes=CLASSES)
    engine = PoolEngine(pipeline, workers=2) if workers == 2 else InlineEngine(pipeline)
    try:
        result = runner.process_store(store, pipeline, engine, batch_size=size)
    finally:
        engine.close()
    # nothing dropped: every document read was processed, written and stored once
    assert result.documents == total == sum(reads) == sum(writes)
    assert len(writes) == total // size
    stored = [annotations_of(store, i) for i in store.document_ids()]
    assert sorted(a["throttle"]["at"] for a in stored) == sorted(
        k for k in range(1, total // size + 1) for _ in range(size))
    # while the slow stage ran on batch k, at most batch k + AHEAD had been read
    assert seen_reads == [min(size * (k + 1 + AHEAD), total) for k in range(total // size)]


@pytest.mark.parametrize("total", [0, 1, 31, 500, 1_499, 1_500, 1_501, 6_000, 20_000])
@pytest.mark.parametrize("ahead", [1, 2, 3])
def test_batch_sizes_cut_only_the_end_of_a_run(total: int, ahead: int) -> None:
    size, least = 500, runner.SMALLEST_BATCH
    sizes = list(runner.batch_sizes(total, size, ahead))
    assert sum(sizes) == total and all(0 < s <= size for s in sizes)
    # what the workers computed before the last batches is in full batches
    in_flight_at_end = sizes[-(ahead + 1):]
    assert all(s == size for s in sizes[:-(ahead + 1)][: max(0, total // size - ahead - 2)])
    # the batches this process finishes alone at the end are small, whatever the total
    assert sum(in_flight_at_end) <= (ahead + 1) * least + least // 2
    assert all(s >= least // 2 for s in sizes) or total < least


def test_a_pool_run_reads_smaller_batches_at_the_end_and_inline_does_not(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    src = Source(name="notes", kind="files", location="/tmp/notes")
    store.add_source(src)
    store.write_batch(src, [Collected(Document.build(kind="note", title=f"Note {i}",
                                                     text=f"{TEXTS[i % 3]} Case {i}."))
                            for i in range(300)], [], None)
    monkeypatch.setattr(runner, "SMALLEST_BATCH", 8)
    real_due = runner.documents_due
    tapered = list(runner.batch_sizes(300, 100, AHEAD))
    assert tapered[-1] < 100  # the pool's run ends in small batches
    for engine_kind, expected in (("pool", tapered), ("inline", [100, 100, 100])):
        reads: list[int] = []

        def counting_due(*args: Any, reads: list[int] = reads, **kwargs: Any) -> Any:
            rows = real_due(*args, **kwargs)
            if rows:
                reads.append(len(rows))
            return rows

        monkeypatch.setattr(runner, "documents_due", counting_due)
        pipeline = build_pipeline(["words"], classes=CLASSES)
        engine = (PoolEngine(pipeline, workers=2) if engine_kind == "pool"
                  else InlineEngine(pipeline))
        try:
            result = runner.process_store(store, pipeline, engine, batch_size=100,
                                          everything=True)
        finally:
            engine.close()
        assert result.documents == 300 and reads == expected
