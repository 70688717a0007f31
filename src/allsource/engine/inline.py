"""Run every phase in this process."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

from allsource.process.base import Stage, Work
from allsource.process.pipeline import Pipeline

#: runs named stages over chunks elsewhere; returns each chunk with its stage seconds, in order
ChunkRunner = Callable[[list[str], list[list[Work]]], list[tuple[list[Work], dict[str, float]]]]


def run_stages(stages: tuple[Stage, ...] | list[Stage], batch: list[Work],
               times: dict[str, float]) -> None:
    """Run ``stages`` over ``batch`` in order, adding each stage's seconds to ``times``."""
    for stage in stages:
        started = time.perf_counter()
        stage.process(batch)
        times[stage.name] = times.get(stage.name, 0.0) + time.perf_counter() - started


class InlineEngine:
    """The default engine: no extra processes."""

    workers = 1

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        pipeline.setup()
        self.times: dict[str, float] = defaultdict(float)

    def run(self, batch: list[Work]) -> list[Work]:
        run_stages(self.pipeline.stages, batch, self.times)
        return batch

    def close(self) -> None:
        pass


def run_phases(pipeline: Pipeline, batch: list[Work], workers: int, times: dict[str, float],
               run_chunks: ChunkRunner) -> list[Work]:
    """The schedule every multi-process engine shares: a sequential phase runs here, a
    parallel phase is cut into one chunk per worker and handed to ``run_chunks``; chunks come
    back in order, so the result equals the inline engine's."""
    for phase in pipeline.phases():
        if phase.sequential:
            run_stages(phase.stages, batch, times)
            continue
        size = max(1, -(-len(batch) // workers))
        chunks = [batch[i:i + size] for i in range(0, len(batch), size)]
        results = run_chunks([s.name for s in phase.stages], chunks)
        batch = [work for chunk, _ in results for work in chunk]
        for _, seconds in results:
            for name, value in seconds.items():
                times[name] = times.get(name, 0.0) + value
    return batch
