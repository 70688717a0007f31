"""Run parallel phases on a Dask distributed cluster; sequential phases stay in this process.

The engine mirrors :class:`~allsource.engine.pool.PoolEngine`, with the pool replaced by a
``distributed.Client``: either on a :class:`~distributed.LocalCluster` it starts (worker
processes on 127.0.0.1, no dashboard, nothing beyond loopback) or on an existing cluster
given by its scheduler address.

* Stages travel as (class, name, options): classes pickle by reference (module + name), so
  each worker imports the same code — the stage modules must be importable on the workers
  (local workers are spawned with this process's ``sys.path``; remote ones need the same
  packages installed).
* A :class:`_PipelinePlugin` (a Dask worker plugin, registered under a name unique to this
  engine) builds the pipeline's parallel stages once per worker and sets them up, so models
  load once per worker, not per batch, and a worker that joins later gets them too. A lock
  serialises stage runs within a worker, so workers with several threads stay correct. The
  plugin also limits the worker's BLAS pools to its task threads (one on a local cluster).
* The schedule is :func:`allsource.engine.rounds.start_rounds`, as for the pool: one trip per
  round (the default pipeline is one round), the batch cut into one chunk per worker, the
  chunks gathered in submission order and sequential stages spliced in here at their place,
  so results are identical to the inline engine's. A stage's exception is re-raised here
  with its own type (the runner then retries document by document).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import uuid
import warnings
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from distributed import Client, LocalCluster, WorkerPlugin, get_worker

from allsource.engine.pool import chosen, worker_stages
from allsource.engine.rounds import run_chunk, start_rounds
from allsource.process.base import Stage, Work
from allsource.process.pipeline import Pipeline, build_pipeline


class _PipelinePlugin(WorkerPlugin):
    """Holds one worker's copy of the pipeline's parallel stages."""

    def __init__(self, name: str, classes: dict[str, type[Stage]], names: list[str],
                 options: dict[str, dict[str, Any]]) -> None:
        self.name = name
        self.classes = classes
        self.names = names
        self.options = options
        self.pipeline: Pipeline | None = None
        self.lock = threading.Lock()

    def setup(self, worker: Any) -> None:
        # BLAS threads to the worker's task threads, as the pool pins its workers to one:
        # a local cluster's nanny sets the same through the environment, but a worker
        # started without one (or a cluster configured otherwise) would let OpenBLAS spin
        # a thread per core next to the other workers (threadpoolctl: scikit-learn's own)
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        threadpool_limits(limits=max(1, int(getattr(worker, "nthreads", 1) or 1)))
        pipeline = build_pipeline(self.names, self.options, classes=self.classes)
        for stage in pipeline.stages:
            if not stage.sequential:  # sequential stages run in the parent, with the store
                stage.setup()
        self.pipeline = pipeline
        gc.freeze()  # what set-up loaded stays for the worker's life: keep it out of GC scans

    def teardown(self, worker: Any) -> None:
        self.pipeline = None
        gc.unfreeze()

    def __getstate__(self) -> dict[str, Any]:  # the lock and a built pipeline stay behind
        return {"name": self.name, "classes": self.classes, "names": self.names,
                "options": self.options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.name, self.classes = state["name"], state["classes"]
        self.names, self.options = state["names"], state["options"]
        self.pipeline = None
        self.lock = threading.Lock()


def _run_phase(plugin: str, stage_names: list[str], early_names: list[str],
               chunk: bytes) -> bytes:
    held = get_worker().plugins[plugin]
    assert isinstance(held, _PipelinePlugin) and held.pipeline is not None, "no pipeline"
    stages, early = chosen(held.pipeline, stage_names, early_names)
    with held.lock:
        return run_chunk(stages, chunk, early)


class DaskEngine:
    """Parallel phases on a Dask cluster: a new local one of ``workers`` processes, or the
    existing one whose scheduler listens at ``address`` (e.g. ``tcp://10.0.0.5:8786``)."""

    overlaps = True

    def __init__(self, pipeline: Pipeline, address: str | None = None, workers: int = 2) -> None:
        self.pipeline = pipeline
        self.times: dict[str, float] = defaultdict(float)
        self.cpu_times: dict[str, float] = defaultdict(float)
        self.cluster: LocalCluster | None = None
        for stage in pipeline.stages:
            if stage.sequential:
                stage.setup()
        gc.freeze()  # see InlineEngine: set-up state is kept out of GC scans until close()
        try:
            if address is None:
                with warnings.catch_warnings():  # the health endpoint's port moves if taken
                    warnings.filterwarnings("ignore", "Port .* is already in use")
                    self.cluster = LocalCluster(  # type: ignore[no-untyped-call]
                        n_workers=workers, threads_per_worker=1, processes=True,
                        host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                        silence_logs=logging.WARNING)
            self.client = Client(  # type: ignore[no-untyped-call]
                self.cluster if address is None else address)
            self.workers = max(1, len(self.client.nthreads()))  # type: ignore[no-untyped-call]
            self.plugin = self._register()
        except BaseException:
            self.close()
            raise

    def _register(self) -> str:
        classes, names = worker_stages(self.pipeline)
        name = f"allsource-pipeline-{uuid.uuid4().hex}"
        if names:  # an empty list would build the default pipeline
            options = {s.name: s.options for s in self.pipeline.stages if s.name in classes}
            self.client.register_plugin(_PipelinePlugin(name, classes, names, options), name=name)
        return name

    def run(self, batch: list[Work]) -> list[Work]:
        return self.start(batch)()

    def start(self, batch: list[Work]) -> Callable[[], list[Work]]:
        """Send ``batch`` to the workers; returns the function that finishes it here (see
        :func:`~allsource.engine.rounds.start_rounds`)."""
        return start_rounds(self.pipeline, batch, self.workers, self.times, self._submit,
                            self.cpu_times)

    def _submit(self, names: list[str], early: list[str], chunks: list[bytes]
                ) -> Callable[[], list[bytes]]:
        futures = [self.client.submit(_run_phase, self.plugin, names, early, chunk,
                                      pure=False) for chunk in chunks]

        def wait() -> list[bytes]:
            try:
                return list(self.client.gather(futures))  # type: ignore[no-untyped-call]
            finally:
                self.client.cancel(futures)  # type: ignore[no-untyped-call]

        return wait

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            if self.cluster is None and hasattr(self, "plugin"):
                # leave a shared cluster as we found it (the plugin may never have registered)
                with contextlib.suppress(Exception):
                    client.unregister_worker_plugin(self.plugin)
            client.close()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None
        gc.unfreeze()
