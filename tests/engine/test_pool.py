"""The pool engine's schedule (one worker trip per round, sequential stages spliced in at
their place) gives exactly the inline engine's result: every list and dict of every work in
the same order, sequential state the same, failures at the same point."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from allsource.engine.inline import InlineEngine
from allsource.engine.pool import PoolEngine, worker_stages
from allsource.engine.rounds import dumps, loads, split
from allsource.model.markings import TLP, Marking
from allsource.process.base import Work
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import run_guarded
from tests.engine.stages_for_engine import ALL, Awkward, Sequencer

# Sentences adapted from MISP event comments in the shared samples (CIRCL OSINT).
TEXTS = [
    "C2 server at 192.0.2.15 observed beaconing every 60 seconds.",
    "Second stage downloaded from 198.51.100.23 and 203.0.113.9.",
    "No indicators in this paragraph, only analysis.",
    "The actor reused the loader against two further targets in March.",
]


def _works(n: int = 22, poison: int | None = None, word: str = "POISON") -> list[Work]:
    out = []
    for i in range(n):
        text = TEXTS[i % len(TEXTS)] + (f" {word}" if i == poison else "")
        out.append(Work(id=f"d{i}", title=f"Note {i}", text=text,
                        marking=Marking(tlp=TLP.AMBER if i % 3 else TLP.GREEN)))
    return out


def _state(works: list[Work]) -> list[tuple[Any, ...]]:
    """Everything a stage can leave on a work, in order (dict order included)."""
    return [(w.id, list(w.annotations.items()), w.objects, w.relationships, w.mentions,
             list(w.errors.items()), list(w.scratch.items())) for w in works]


def _unsent(states: list[tuple[Any, ...]], stages: list[str]) -> list[tuple[Any, ...]]:
    """``states`` without the scratch ``stages`` left: those of a last round with no stage
    here that reads scratch, which a multi-process engine does not send back
    (test_scratch_comes_back_only_when_read_here)."""
    drop = {f"{name}.seen" for name in stages}
    return [(*s[:6], [(k, v) for k, v in s[6] if k not in drop]) for s in states]


def _sequencer(engine: InlineEngine | PoolEngine) -> Sequencer:
    [stage] = [s for s in engine.pipeline.stages if isinstance(s, Sequencer)]
    return stage


@pytest.fixture
def engines(request: pytest.FixtureRequest) -> Iterator[tuple[InlineEngine, PoolEngine]]:
    names = request.param
    inline = InlineEngine(build_pipeline(names, classes=ALL))
    pool = PoolEngine(build_pipeline(names, classes=ALL), workers=2)
    try:
        yield inline, pool
    finally:
        pool.close()
        inline.close()


def test_rounds_of_the_default_and_of_a_dependent_pipeline() -> None:
    [one] = build_pipeline(["lengths", "sequencer", "words"], classes=ALL).rounds()
    assert [s.name for s in one.parallel] == ["lengths", "words"]
    assert [(cut, s.name) for cut, s in one.sequential] == [(1, "sequencer")]
    assert [s.name for s in one.early] == ["sequencer"]
    first, second = build_pipeline(["numbered", "words"], classes=ALL).rounds()
    assert [s.name for s in first.parallel] == ["lengths", "words"]
    assert [s.name for s in second.parallel] == ["numbered"]
    assert [s.name for _, s in first.sequential] == ["sequencer"] and not second.sequential

    # the default pipeline: every parallel stage that needs no sequential one goes in the
    # first trip (today: all of them, one trip per batch); stories sketches meanwhile
    default = build_pipeline()
    needs = default.requirements()
    sequential = {s.name for s in default.stages if s.sequential}
    first = default.rounds()[0]
    assert {s.name for s in first.parallel} >= {
        s.name for s in default.stages if not s.sequential and not needs[s.name] & sequential}
    assert "stories" in {s.name for s in first.early}


@pytest.mark.parametrize("engines", [["lengths", "sequencer", "words"],
                                     ["lengths", "sequencer", "words", "numbered"]],
                         indirect=True)
def test_pool_equals_inline_over_several_batches(
        engines: tuple[InlineEngine, PoolEngine]) -> None:
    inline, pool = engines
    for size in (22, 1, 5):  # the sequential stage's state carries over between batches
        expected = _state(inline.run(_works(size)))
        if "numbered" in pool.pipeline.names:  # the second round's scratch stays there
            expected = _unsent(expected, ["numbered"])
        assert _state(pool.run(_works(size))) == expected
    assert _sequencer(pool).options["seen"] == _sequencer(inline).options["seen"] == 28
    assert set(pool.times) == set(inline.times)


@pytest.mark.parametrize("engines", [["lengths", "sequencer", "words"]], indirect=True)
def test_the_workers_precompute_for_a_sequential_stage(
        engines: tuple[InlineEngine, PoolEngine]) -> None:
    """The early stage's precompute runs on the workers (never here: this process keeps
    the ordered part only), and every document reaches the stage with its entry."""
    inline, pool = engines

    def not_here(batch: list[Work]) -> None:
        raise AssertionError("precompute ran in the parent process")

    _sequencer(pool).precompute = not_here  # type: ignore[method-assign]
    assert _state(pool.run(_works(22))) == _state(inline.run(_works(22)))
    assert _sequencer(pool).options["precomputed"] == 22
    assert "precomputed" not in _sequencer(inline).options  # inline: the stage does it all


@pytest.mark.parametrize("engines", [["lengths", "fail_early", "sequencer", "words"]],
                         indirect=True)
def test_a_failure_before_a_sequential_stage_stops_it_as_inline(
        engines: tuple[InlineEngine, PoolEngine]) -> None:
    inline, pool = engines
    for engine in engines:
        with pytest.raises(ValueError, match="early on d7"):
            engine.run(_works(poison=7))
        assert _sequencer(engine).options.get("seen", 0) == 0  # it never ran
    assert _state(run_guarded(pool, _works(poison=7))) == _state(
        run_guarded(inline, _works(poison=7)))
    assert _sequencer(pool).options["seen"] == _sequencer(inline).options["seen"] == 21


@pytest.mark.parametrize("engines", [["lengths", "sequencer", "words", "fail_late"]],
                         indirect=True)
def test_a_failure_after_a_sequential_stage_lets_it_run_as_inline(
        engines: tuple[InlineEngine, PoolEngine]) -> None:
    inline, pool = engines
    for engine in engines:
        with pytest.raises(ValueError, match="late on d20"):
            engine.run(_works(poison=20))
        assert _sequencer(engine).options["seen"] == 22
    for engine in engines:  # an exception whose __init__ takes other arguments
        with pytest.raises(Awkward, match="7: awkward d3") as caught:
            engine.run(_works(poison=3, word="AWKWARD"))
    assert "in a worker process" in "".join(getattr(caught.value, "__notes__", []))
    got, expected = (run_guarded(e, _works(poison=20)) for e in (pool, inline))
    assert _state(got) == _state(expected)
    assert got[20].errors == {"pipeline": "ValueError: late on d20"}


@pytest.mark.parametrize("engines", [["lengths", "no_scratch_sequencer", "words"],
                                     ["lengths", "no_scratch_sequencer", "words", "fail_late"]],
                         indirect=True)
def test_scratch_comes_back_only_when_read_here(
        engines: tuple[InlineEngine, PoolEngine]) -> None:
    """With no stage in this process reading it, the workers' scratch is not sent back (a
    quarter of the default pipeline's pickles): a work keeps its own scratch, the
    precomputed entries still reach the sequential stage, and everything else ends as
    inline — also when a stage fails."""
    inline, pool = engines
    sent: dict[str, int] = {}

    def counting(engine: PoolEngine, key: str) -> None:
        submit = engine._submit

        def counted_submit(names: list[str], early: list[str], chunks: list[bytes]) -> Any:
            wait = submit(names, early, chunks)

            def counted() -> list[bytes]:
                out = wait()
                sent[key] = sent.get(key, 0) + sum(map(len, out))
                return out

            return counted

        engine._submit = counted_submit  # type: ignore[method-assign]

    counting(pool, "not read")
    got, expected = (run_guarded(e, _works(poison=20)) for e in (pool, inline))
    assert [s[:6] for s in _state(got)] == [s[:6] for s in _state(expected)]
    scratch = [dict(s[6]) for s in _state(expected)]
    assert all("lengths.seen" in x for x in scratch)  # inline leaves the stages' scratch
    # what the stage run here wrote stays
    kept = [{k: v for k, v in x.items() if k.startswith("no_scratch_sequencer")}
            for x in scratch]
    assert [w.scratch for w in got] == kept
    assert all(len(x) < len(y) for x, y in zip(kept, scratch, strict=True))
    assert _sequencer(pool).options["precomputed"] > 0
    # the same works through the sequencer that reads scratch: the scratch comes back
    reading = PoolEngine(build_pipeline([n.replace("no_scratch_", "") for n in
                                         pool.pipeline.names], classes=ALL), workers=2)
    try:
        counting(reading, "read")
        assert all("lengths.seen" in w.scratch for w in run_guarded(reading,
                                                                    _works(poison=20)))
    finally:
        reading.close()
    assert sent["read"] > sent["not read"]


def test_records_pickle_compactly_and_unchanged() -> None:
    engine = InlineEngine(build_pipeline(["words"], classes=ALL))
    works = engine.run(_works())
    engine.close()
    again = loads(dumps(works))
    assert _state(again) == _state(works)
    assert len(dumps(works)) < len(pickle.dumps(works, protocol=pickle.HIGHEST_PROTOCOL))
    markings = {id(o.marking) for w in again for o in w.objects}
    assert len(markings) == 2  # equal markings travel once


def test_split_keeps_order_and_balances() -> None:
    items = _works(7)
    parts = split(items, 3)
    assert [len(p) for p in parts] == [3, 2, 2]
    assert [w for p in parts for w in p] == items
    assert split(items[:1], 4) == [items[:1]]


def test_a_worker_imports_no_store_code() -> None:
    """Workers get the default pipeline's parallel stage classes by reference; importing
    them must not pull in the store (SQLAlchemy, Alembic) or the collectors' HTTP client,
    the bulk of a worker's start-up before those imports were made lazy."""
    import subprocess
    import sys

    classes, _ = worker_stages(build_pipeline())
    blob = pickle.dumps(classes)
    probe = ("import pickle, sys; pickle.loads(sys.stdin.buffer.read()); "
             "print(sorted(m for m in ('sqlalchemy', 'alembic', 'httpx', 'allsource.store', "
             "'allsource.collect.base', 'allsource.config') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], input=blob, capture_output=True,
                         check=True).stdout.decode().strip()
    assert len(classes) >= 7 and out == "[]"


@pytest.mark.parametrize("kind", ["inline", "pool"])
def test_stage_cpu_counts_the_threads_a_stage_waits_for(kind: str) -> None:
    """A stage alone in its process is charged its process's CPU: what a helper thread (a
    native library's pool) used for it counts, which this thread's clock would miss."""
    pipeline = build_pipeline(["helpers"], classes=ALL)
    engine = InlineEngine(pipeline) if kind == "inline" else PoolEngine(pipeline, workers=2)
    try:
        out = engine.run(_works(8))
    finally:
        engine.close()
    helped = sum(w.annotations["helpers"]["cpu"] for w in out)
    assert helped > 0.01  # the helper threads did measurable work
    assert engine.cpu_times["helpers"] >= 0.9 * helped


def test_workers_run_below_the_parents_priority() -> None:
    """The parent finishes and writes every batch (the serial path): its workers yield it
    the CPU, never the other way round."""
    import os

    from allsource.engine.pool import WORKER_NICE

    engine = PoolEngine(build_pipeline(["lengths"], classes=ALL), workers=2)
    try:
        engine.run(_works(4))
        niceness = {engine.pool.submit(os.nice, 0).result() for _ in range(8)}
    finally:
        engine.close()
    assert WORKER_NICE > 0
    assert niceness == {min(19, os.nice(0) + WORKER_NICE)}
