"""Run every stage in this process, in pipeline order."""

from __future__ import annotations

import gc
import time
from collections import defaultdict
from collections.abc import Callable

from allsource.gcpause import paused_gc
from allsource.process.base import Stage, Work
from allsource.process.pipeline import Pipeline


def run_stages(stages: tuple[Stage, ...] | list[Stage], batch: list[Work],
               times: dict[str, float], cpu: dict[str, float] | None = None) -> None:
    """Run ``stages`` over ``batch`` in order, adding each stage's seconds to ``times`` and
    its CPU seconds (this thread's: what other processes take from a shared machine does
    not count) to ``cpu``."""
    for stage in stages:
        started, used = time.perf_counter(), time.thread_time()
        stage.process(batch)
        times[stage.name] = times.get(stage.name, 0.0) + time.perf_counter() - started
        if cpu is not None:
            cpu[stage.name] = cpu.get(stage.name, 0.0) + time.thread_time() - used


class InlineEngine:
    """The default engine: no extra processes.

    After set-up, the objects alive (models, gazetteers, tables: hundreds of thousands) are
    frozen out of the cyclic garbage collector (:func:`gc.freeze`) until :meth:`close`, so
    its full collections stop re-walking them several times per batch (about a tenth of
    the run time of the default pipeline), and collection pauses while a batch runs
    (:func:`paused_gc`)."""

    workers = 1

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        pipeline.setup()
        self.times: dict[str, float] = defaultdict(float)
        self.cpu_times: dict[str, float] = defaultdict(float)
        gc.freeze()

    def run(self, batch: list[Work]) -> list[Work]:
        with paused_gc():
            run_stages(self.pipeline.stages, batch, self.times, self.cpu_times)
        return batch

    def start(self, batch: list[Work]) -> Callable[[], list[Work]]:
        """As the other engines' (nothing runs until the returned function is called)."""
        return lambda: self.run(batch)

    def close(self) -> None:
        gc.unfreeze()
