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
  serialises stage runs within a worker, so workers with several threads stay correct.
* A batch is cut into one chunk per worker for each parallel phase; the chunks are gathered
  in submission order, so results are identical to the inline engine's. A stage's exception
  is re-raised here with its own type (the runner then retries document by document).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
import warnings
from collections import defaultdict
from typing import Any

from distributed import Client, LocalCluster, WorkerPlugin, get_worker

from allsource.engine.inline import run_phases, run_stages
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
        pipeline = build_pipeline(self.names, self.options, classes=self.classes)
        for stage in pipeline.stages:
            if not stage.sequential:  # sequential stages run in the parent, with the store
                stage.setup()
        self.pipeline = pipeline

    def __getstate__(self) -> dict[str, Any]:  # the lock and a built pipeline stay behind
        return {"name": self.name, "classes": self.classes, "names": self.names,
                "options": self.options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.name, self.classes = state["name"], state["classes"]
        self.names, self.options = state["names"], state["options"]
        self.pipeline = None
        self.lock = threading.Lock()


def _run_phase(plugin: str, stage_names: list[str],
               chunk: list[Work]) -> tuple[list[Work], dict[str, float]]:
    held = get_worker().plugins[plugin]
    assert isinstance(held, _PipelinePlugin) and held.pipeline is not None, "no pipeline"
    wanted = set(stage_names)
    times: dict[str, float] = {}
    with held.lock:
        run_stages([s for s in held.pipeline.stages if s.name in wanted], chunk, times)
    return chunk, times


class DaskEngine:
    """Parallel phases on a Dask cluster: a new local one of ``workers`` processes, or the
    existing one whose scheduler listens at ``address`` (e.g. ``tcp://10.0.0.5:8786``)."""

    def __init__(self, pipeline: Pipeline, address: str | None = None, workers: int = 2) -> None:
        self.pipeline = pipeline
        self.times: dict[str, float] = defaultdict(float)
        self.cluster: LocalCluster | None = None
        for stage in pipeline.stages:
            if stage.sequential:
                stage.setup()
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
        names = [s.name for s in self.pipeline.stages if not s.sequential]
        name = f"allsource-pipeline-{uuid.uuid4().hex}"
        if names:  # an empty list would build the default pipeline
            options = {s.name: s.options for s in self.pipeline.stages}
            classes = {s.name: type(s) for s in self.pipeline.stages}
            self.client.register_plugin(_PipelinePlugin(name, classes, names, options), name=name)
        return name

    def run(self, batch: list[Work]) -> list[Work]:
        return run_phases(self.pipeline, batch, self.workers, self.times, self._chunks)

    def _chunks(self, names: list[str], chunks: list[list[Work]]
                ) -> list[tuple[list[Work], dict[str, float]]]:
        futures = [self.client.submit(_run_phase, self.plugin, names, chunk, pure=False)
                   for chunk in chunks]
        try:
            return list(self.client.gather(futures))  # type: ignore[no-untyped-call]
        finally:
            self.client.cancel(futures)  # type: ignore[no-untyped-call]

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
