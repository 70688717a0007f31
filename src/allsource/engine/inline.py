"""Run every stage in this process, in pipeline order."""

from __future__ import annotations

import gc
import time
from collections import defaultdict
from collections.abc import Callable

from allsource.gcpause import paused_gc
from allsource.process.base import Stage, Work
from allsource.process.pipeline import Pipeline

#: reads CPU seconds (of this thread, or of this whole process)
Clock = Callable[[], float]


def run_stages(stages: tuple[Stage, ...] | list[Stage], batch: list[Work],
               times: dict[str, float], cpu: dict[str, float] | None = None,
               clock: Clock = time.thread_time) -> None:
    """Run ``stages`` over ``batch`` in order, adding each stage's seconds to ``times`` and
    its CPU seconds to ``cpu`` (what other processes take from a shared machine does not
    count). ``clock`` is this thread's CPU by default: where a stage runs in a process of
    its own (the inline engine, a pool worker), :func:`time.process_time` also counts the
    native threads a library starts for it (the tokenizers' Rayon pool), which the
    thread's clock misses."""
    for stage in stages:
        started, used = time.perf_counter(), clock()
        stage.process(batch)
        times[stage.name] = times.get(stage.name, 0.0) + time.perf_counter() - started
        if cpu is not None:
            cpu[stage.name] = cpu.get(stage.name, 0.0) + clock() - used


class InlineEngine:
    """The default engine: no extra processes.

    After set-up, the objects alive (models, gazetteers, tables: hundreds of thousands) are
    frozen out of the cyclic garbage collector (:func:`gc.freeze`) until :meth:`close`, so
    its full collections stop re-walking them several times per batch (about a tenth of
    the run time of the default pipeline), and collection pauses while a batch runs
    (:func:`paused_gc`). CPU per stage is read from the process's clock (see
    :func:`run_stages`): the stages are all this process runs meanwhile."""

    workers = 1
    overlaps = False

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        pipeline.setup()
        self.times: dict[str, float] = defaultdict(float)
        self.cpu_times: dict[str, float] = defaultdict(float)
        gc.freeze()

    def run(self, batch: list[Work]) -> list[Work]:
        with paused_gc():
            run_stages(self.pipeline.stages, batch, self.times, self.cpu_times,
                       time.process_time)
        return batch

    def start(self, batch: list[Work]) -> Callable[[], list[Work]]:
        """As the other engines' (nothing runs until the returned function is called)."""
        return lambda: self.run(batch)

    def close(self) -> None:
        gc.unfreeze()
