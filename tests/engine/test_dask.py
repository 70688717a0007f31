"""The Dask engine gives exactly the inline engine's result, on a real local 2-process cluster.

One cluster serves the module (the engines connect to it by scheduler address, as they would
to a remote cluster); one test lets the engine start and stop its own cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import Client, LocalCluster

from allsource.engine.dask import DaskEngine
from allsource.engine.inline import InlineEngine
from allsource.process.base import Work
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import run_guarded
from tests.process.stages_for_tests import ALL, Ordered

pytestmark = pytest.mark.slow  # a cluster of two spawned processes takes a few seconds

REAL_STAGES = ["normalize", "observables", "entities"]
# As in tests/process/test_stages.py and test_framework.py (adapted from ATT&CK and MISP).
TEXTS = [
    ("APT28 phishing", "APT28 sent spearphishing emails containing malicious attachments. "
     "Fancy Bear has also used X-Agent to collect credentials."),
    ("Lazarus", "Lazarus Group has used custom malware to target cryptocurrency exchanges."),
    ("Leere Notiz", "Diese Notiz enthält keine bekannten Akteure und keine Schadsoftware."),
    ("C2", "C2 server at 192.0.2.15 observed beaconing every 60 seconds."),
    ("Stage two", "Second stage downloaded from 198.51.100.23 and 203.0.113.9."),
]


def _misp_texts(samples: Path | None) -> list[tuple[str, str]]:
    """Real indicator lists: a MISP OSINT event's attributes (shared samples), 25 a text."""
    if samples is None:
        return []
    event = json.loads((samples / "misp" / "long_event.json").read_text())["Event"]
    lines = [f"{a['type']}: {a['value']} {a.get('comment', '')}".strip()
             for a in event["Attribute"]]
    return [(event["info"], "\n".join(lines[i:i + 25])) for i in range(0, len(lines), 25)]


@pytest.fixture(scope="module")
def texts() -> list[tuple[str, str]]:
    from tests.conftest import _samples

    return TEXTS * 4 + _misp_texts(_samples())


def _works(texts: list[tuple[str, str]]) -> list[Work]:
    return [Work(id=str(i), title=t, text=x) for i, (t, x) in enumerate(texts)]


def _found(works: list[Work]) -> list[tuple[Any, ...]]:
    return [(w.id, w.annotations, w.objects, w.relationships, w.mentions, w.errors)
            for w in works]


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           scheduler_port=0, dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_real_stages_match_inline(scheduler: str, texts: list[tuple[str, str]]) -> None:
    expected = InlineEngine(build_pipeline(REAL_STAGES)).run(_works(texts))
    engine = DaskEngine(build_pipeline(REAL_STAGES), address=scheduler)
    try:
        assert engine.workers == 2
        got = engine.run(_works(texts))
    finally:
        engine.close()
    assert sum(len(w.mentions) for w in got) > 0  # the comparison is not vacuous
    assert _found(got) == _found(expected)
    assert set(engine.times) == set(REAL_STAGES)


def test_test_stages_match_inline_and_sequential_runs_in_parent(
        scheduler: str, texts: list[tuple[str, str]]) -> None:
    names = ["words", "ordered", "ipv4"]
    inline = InlineEngine(build_pipeline(names, classes=ALL))
    pipeline = build_pipeline(names, classes=ALL)
    engine = DaskEngine(pipeline, address=scheduler)
    try:
        for _ in range(2):  # the sequential stage's state carries over between batches
            assert _found(engine.run(_works(texts))) == _found(inline.run(_works(texts)))
    finally:
        engine.close()
    [ordered] = [s for s in pipeline.stages if isinstance(s, Ordered)]
    assert ordered.options["seen"] == 2 * len(texts)  # it ran here, in the parent
    with Client(scheduler) as client:  # the shared cluster is left as it was found
        plugins = client.run(lambda dask_worker: list(dask_worker.plugins))
    assert not any(n.startswith("allsource-") for names in plugins.values() for n in names)


def test_a_stage_error_reaches_the_runner(scheduler: str) -> None:
    engine = DaskEngine(build_pipeline(["flaky"], classes=ALL), address=scheduler)
    batch = [Work(id="1", title="ok", text="fine"), Work(id="2", title="bad", text="POISON"),
             Work(id="3", title="ok", text="also fine")]
    try:
        with pytest.raises(ValueError, match="cannot handle 2"):
            engine.run(batch)
        out = run_guarded(engine, batch)
    finally:
        engine.close()
    assert [w.id for w in out] == ["1", "2", "3"]
    assert [bool(w.errors) for w in out] == [False, True, False]


def test_own_local_cluster_starts_and_stops(texts: list[tuple[str, str]]) -> None:
    engine = DaskEngine(build_pipeline(["words", "ipv4"], classes=ALL), workers=2)
    try:
        assert engine.workers == 2
        assert engine.cluster is not None
        assert engine.cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        got = engine.run(_works(texts))
    finally:
        engine.close()
    assert engine.cluster is None and engine.client.status == "closed"
    expected = InlineEngine(build_pipeline(["words", "ipv4"], classes=ALL)).run(_works(texts))
    assert _found(got) == _found(expected)


def test_spliced_sequential_stages_and_failures_match_inline(scheduler: str) -> None:
    """The shared schedule on Dask: a sequential stage with precompute spliced in, a second
    round for a stage that requires it, a failure after it — all as inline."""
    from tests.engine.stages_for_engine import ALL as SPLICE
    from tests.engine.test_pool import _state, _unsent
    from tests.engine.test_pool import _works as works

    names = ["lengths", "sequencer", "words", "numbered", "fail_late"]
    inline = InlineEngine(build_pipeline(names, classes=SPLICE))
    engine = DaskEngine(build_pipeline(names, classes=SPLICE), address=scheduler)
    last = ["numbered", "fail_late"]  # the second round: its scratch is not sent back
    try:
        assert _state(engine.run(works(9))) == _unsent(_state(inline.run(works(9))), last)
        for e in (engine, inline):
            with pytest.raises(ValueError, match="late on d4"):
                e.run(works(9, poison=4))
        assert _state(run_guarded(engine, works(9, poison=4))) == _unsent(_state(
            run_guarded(inline, works(9, poison=4))), last)
    finally:
        engine.close()
        inline.close()


def _blas_threads() -> list[int]:
    import numpy  # noqa: F401  # loads OpenBLAS, the BLAS the stages' numpy uses
    from threadpoolctl import threadpool_info  # type: ignore[import-untyped]

    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_workers_blas_is_limited_to_their_task_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the nanny's environment (a worker started otherwise), OpenBLAS would run one
    thread per core next to the other workers; the engine's plugin limits it."""
    import dask

    # a nanny that started earlier in this process left its settings in os.environ
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": {}}):
        cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                               host="127.0.0.1", scheduler_port=0, dashboard_address=None)
    try:
        with Client(cluster) as client:
            [before] = client.run(_blas_threads).values()
            if not before or max(before) < 2:
                pytest.skip("OpenBLAS runs one thread here already (one core)")
            engine = DaskEngine(build_pipeline(["words"], classes=ALL),
                                address=cluster.scheduler_address)
            try:
                [after] = client.run(_blas_threads).values()
            finally:
                engine.close()
    finally:
        cluster.close()
    assert after and set(after) == {1}
