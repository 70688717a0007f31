"""Run parallel phases on a local process pool; sequential phases stay in this process.

Each worker builds the same pipeline once (in the pool initializer), so models load once per
worker, not per batch. A batch is cut into one chunk per worker for each parallel phase; the
chunks come back in order, so results are identical to the inline engine's.
"""

from __future__ import annotations

import multiprocessing
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from allsource.engine.inline import run_phases, run_stages
from allsource.process.base import Stage, Work
from allsource.process.pipeline import Pipeline, build_pipeline

_WORKER: Pipeline | None = None


def _init_worker(classes: dict[str, type[Stage]], names: list[str],
                 options: dict[str, dict[str, Any]]) -> None:
    global _WORKER
    _WORKER = build_pipeline(names, options, classes=classes)
    for stage in _WORKER.stages:
        if not stage.sequential:  # sequential stages run in the parent, with the store
            stage.setup()


def _run_phase(stage_names: list[str], chunk: list[Work]) -> tuple[list[Work], dict[str, float]]:
    assert _WORKER is not None, "worker not initialised"
    wanted = set(stage_names)
    times: dict[str, float] = {}
    run_stages([s for s in _WORKER.stages if s.name in wanted], chunk, times)
    return chunk, times


class PoolEngine:
    """Parallel phases on ``workers`` processes (spawned, so no state leaks in by fork)."""

    def __init__(self, pipeline: Pipeline, workers: int) -> None:
        self.pipeline = pipeline
        self.workers = workers
        for stage in pipeline.stages:
            if stage.sequential:
                stage.setup()
        names = [s.name for s in pipeline.stages if not s.sequential]
        options = {s.name: s.options for s in pipeline.stages}
        # Classes travel by reference (module + name), so workers run exactly these stages,
        # including ones a plugin registered at run time.
        classes = {s.name: type(s) for s in pipeline.stages}
        self.pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(classes, names, options))
        self.times: dict[str, float] = defaultdict(float)

    def run(self, batch: list[Work]) -> list[Work]:
        return run_phases(self.pipeline, batch, self.workers, self.times, self._chunks)

    def _chunks(self, names: list[str], chunks: list[list[Work]]
                ) -> list[tuple[list[Work], dict[str, float]]]:
        return list(self.pool.map(_run_phase, [names] * len(chunks), chunks))

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)
