"""Run parallel stages on a local process pool; sequential stages stay in this process.

The schedule is :func:`allsource.engine.rounds.start_rounds`: one trip to the workers per
round (the default pipeline is one round), the batch cut into ``chunks_per_worker`` chunks
per worker, sequential stages spliced in here at their place, so results are identical to
the inline engine's.

Workers are spawned (no state leaks in by fork) and started when the engine is made, so
they load while this process gets the first batch. Each builds the pipeline's parallel
stages once, in the pool initializer — only those and what they require, so a worker
imports no other stage's code — sets them up and freezes what set-up loaded out of the
garbage collector's reach (:func:`gc.freeze`). Chunks travel pickled once, as bytes.

Workers run at a lower priority than this process (:data:`WORKER_NICE` above it). This
process is the pipeline's serial path — it finishes every batch (the ordered part of
``stories``) and writes it — and with two workers on two cores it is a third busy process:
at equal priority the scheduler gives each of the three two thirds of a core, so the
parent's ~2.3 CPU ms per document took ~3.5 ms of wall time, capping the run below what the
cores could do while the workers sat idle waiting for it. At a lower priority the workers
yield the parent a core whenever it has work and take it back whenever it waits for them,
so both cores stay busy. Priority only ever goes down (``os.nice`` with a positive step),
so workers also yield to everything else on a shared machine.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from allsource.engine.rounds import run_chunk, start_rounds
from allsource.process.base import Stage, Work
from allsource.process.pipeline import Pipeline, build_pipeline

_WORKER: Pipeline | None = None
#: how much lower the workers' priority is than this process's (see the module docstring)
WORKER_NICE = 5


def _init_worker(classes: dict[str, type[Stage]], names: list[str],
                 options: dict[str, dict[str, Any]]) -> None:
    global _WORKER
    os.nice(WORKER_NICE)  # the parent is the serial path: it gets a core when it needs one
    # one worker per core already: BLAS threads (OpenBLAS's spin on idle) would only
    # compete with the other workers and the parent (threadpoolctl: scikit-learn's own)
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    threadpool_limits(limits=1)
    _WORKER = build_pipeline(names, options, classes=classes)
    for stage in _WORKER.stages:
        if not stage.sequential:  # sequential stages run in the parent, with the store
            stage.setup()
    gc.collect()
    gc.freeze()  # what set-up loaded lives as long as the worker: no need to scan it


def _ready() -> None:
    """A no-op task: submitting one per worker starts the workers."""


def _run(stage_names: list[str], early_names: list[str], chunk: bytes) -> bytes:
    assert _WORKER is not None, "worker not initialised"
    stages, early = chosen(_WORKER, stage_names, early_names)
    # a worker runs one chunk at a time and nothing else: its process clock is the stages'
    return run_chunk(stages, chunk, early, time.process_time)


def chosen(pipeline: Pipeline, stage_names: list[str], early_names: list[str]
           ) -> tuple[list[Stage], list[Stage]]:
    """A worker's stages named by a trip: the parallel ones, and the early sequential ones
    whose ``precompute`` it runs (both in pipeline order)."""
    wanted, early = set(stage_names), set(early_names)
    return ([s for s in pipeline.stages if s.name in wanted],
            [s for s in pipeline.stages if s.name in early])


def worker_stages(pipeline: Pipeline) -> tuple[dict[str, type[Stage]], list[str]]:
    """The classes a worker needs (the parallel stages and what they require, and the
    sequential stages it precomputes for) and the names of the stages it builds: classes
    pickle by reference, so a worker imports only these."""
    needs = pipeline.requirements()
    names = [s.name for s in pipeline.stages if not s.sequential]
    early = {s.name for rnd in pipeline.rounds() for s in rnd.early}
    wanted = set(names).union(*(needs[n] for n in names))
    if names:  # a worker with parallel stages also precomputes for the early ones
        names += [s.name for s in pipeline.stages if s.name in early]
        wanted |= early.union(*(needs[n] for n in early))
    return {s.name: type(s) for s in pipeline.stages if s.name in wanted}, names


class PoolEngine:
    """Parallel stages on ``workers`` spawned processes."""

    overlaps = True

    def __init__(self, pipeline: Pipeline, workers: int, chunks_per_worker: int = 1) -> None:
        self.pipeline = pipeline
        self.workers = workers
        self.chunks = max(1, workers * chunks_per_worker)
        for stage in pipeline.stages:
            if stage.sequential:
                stage.setup()
        # Classes travel by reference (module + name), so workers run exactly these stages,
        # including ones a plugin registered at run time.
        classes, names = worker_stages(pipeline)
        options = {s.name: s.options for s in pipeline.stages if s.name in classes}
        self.pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(classes, names, options))
        if names:
            for _ in range(workers):  # start them now: they load while we fetch a batch
                self.pool.submit(_ready)
        self.times: dict[str, float] = defaultdict(float)
        self.cpu_times: dict[str, float] = defaultdict(float)
        gc.freeze()

    def run(self, batch: list[Work]) -> list[Work]:
        return self.start(batch)()

    def start(self, batch: list[Work]) -> Callable[[], list[Work]]:
        """Send ``batch`` to the workers; returns the function that finishes it here (see
        :func:`~allsource.engine.rounds.start_rounds`)."""
        return start_rounds(self.pipeline, batch, self.chunks, self.times, self._submit,
                            self.cpu_times)

    def _submit(self, names: list[str], early: list[str], chunks: list[bytes]
                ) -> Callable[[], list[bytes]]:
        futures: list[Future[bytes]] = [self.pool.submit(_run, names, early, c)
                                        for c in chunks]

        def wait() -> list[bytes]:
            try:
                return [f.result() for f in futures]
            finally:
                for f in futures:
                    f.cancel()

        return wait

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)
        gc.unfreeze()
