"""Run every phase in this process."""

from __future__ import annotations

import time
from collections import defaultdict

from allsource.process.base import Stage, Work
from allsource.process.pipeline import Pipeline


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
