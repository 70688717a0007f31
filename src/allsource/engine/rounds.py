"""The schedule the multi-process engines share: worker trips by :meth:`Pipeline.rounds`.

Per round, the batch is cut into chunks; each chunk travels to a worker (pickled here,
before anything else touches the batch) and runs all of the round's parallel stages there
in one go, then the ``precompute`` step of the round's early sequential stages (e.g. the
MinHash sketches of ``stories``: pure text work that reads no store), whose scratch entries
travel back apart from the stages' output. Then, per document, the workers' output is put
back stage segment by stage segment, the precomputed entries are added to the scratch, and
each sequential stage runs here, on the whole batch, at its place in the pipeline — so
every list and dict of every :class:`Work` ends up in the order the inline engine gives,
and this process (which also writes every batch) keeps only the ordered, store-bound part
of a sequential stage. :func:`start_rounds` splits this in two: sending (nothing touches
the store) and finishing.

A precompute step is an optimisation, never a requirement: a sequential stage does the
work itself for documents without its entry (as it does under the inline engine). So a
worker whose parallel stages failed skips the precompute, and one whose precompute raises
drops what it added: the stage, run here, then meets the same input and fails (or not)
exactly as the inline engine would.

Failures follow the inline engine too: if a worker's stage raises, the sequential stages
ordered before the first failing stage (the earliest in pipeline order, over all chunks)
still run — the inline engine would have run them — the works get the output of the stages
before it (and, in the failing chunk, what it did before raising), and then the exception
is raised here with its own type (the runner retries the batch document by document).

A stage appends to a :class:`Work` (see :mod:`allsource.process.base`); the splice relies
on that: a worker records, after each stage, how long each of the work's lists and dicts
is, and the segment between two marks is that stage's output.

The scratch (the cleaned text, sentence spans and language ``normalize`` leaves for later
stages; about a quarter of what a worker sends back) is sent back only when something run
here after the workers reads it: a sequential stage of the round that declares
:attr:`~allsource.process.base.Stage.reads_scratch`, or a further round (its workers get the
works from here). Otherwise a work's scratch ends as it was before the round, plus the
precomputed entries; every other container ends as the inline engine's.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from allsource.engine.inline import Clock, run_stages
from allsource.gcpause import paused_gc
from allsource.model.markings import Marking
from allsource.model.records import Mention, Relationship, StixObject
from allsource.process.base import Stage, Work
from allsource.process.pipeline import Pipeline, Round

#: a work's containers, in this order: what stages add to
_FIELDS = ("annotations", "objects", "relationships", "mentions", "errors", "scratch")
_Lengths = tuple[int, int, int, int, int, int]
_State = tuple[dict[str, Any], list[Any], list[Any], list[Any], dict[str, str], dict[str, Any]]

#: runs the named parallel stages (then the named early stages' precompute) over pickled
#: chunks elsewhere; returns a function that waits for the pickled :class:`ChunkResult` of
#: every chunk, in chunk order
Submit = Callable[[list[str], list[str], list[bytes]], Callable[[], list[bytes]]]


@dataclass(slots=True)
class ChunkResult:
    """What a worker sends back for one chunk."""

    #: per work: its containers after the stages ran (see ``_FIELDS``)
    states: list[_State]
    #: per work: the containers' lengths after each stage that finished
    marks: list[list[_Lengths]]
    #: seconds per stage
    times: dict[str, float]
    #: how many of the stages finished (all of them unless ``error``)
    done: int
    error: BaseException | None = None
    #: CPU seconds per stage (the worker's thread)
    cpu: dict[str, float] = dataclasses.field(default_factory=dict)
    #: per early stage that precomputed: per work, the scratch entries it added
    early: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)


def _lengths(work: Work) -> _Lengths:
    return (len(work.annotations), len(work.objects), len(work.relationships),
            len(work.mentions), len(work.errors), len(work.scratch))


# The records a batch carries by the thousand, rebuilt from their fields (a dataclass with
# slots otherwise unpickles through a Python-level __setstate__ that looks its fields up
# again each time), with equal markings sent once: together half the cost of a chunk's
# pickles, both ways. All four take every field in __init__, in this order.
def _record(cls: type) -> tuple[tuple[str, ...], int] | None:
    fields = dataclasses.fields(cls)
    if not all(f.init for f in fields):
        return None  # cannot be rebuilt from all its fields: pickled as usual
    names = tuple(f.name for f in fields)
    return names, names.index("marking") if "marking" in names else -1


_RECORDS = {cls: rec for cls in (StixObject, Relationship, Mention, Work)
            if (rec := _record(cls)) is not None}


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.markings: dict[Marking, Marking] = {}

    def reducer_override(self, obj: Any) -> Any:
        record = _RECORDS.get(type(obj))
        if record is None:
            if isinstance(obj, BaseException):  # whatever its __init__ takes
                return _exception, (type(obj), obj.args, dict(vars(obj)))
            return NotImplemented
        names, marking = record
        args = [getattr(obj, name) for name in names]
        if marking >= 0:  # frozen: one instance per distinct value is safe to share
            args[marking] = self.markings.setdefault(args[marking], args[marking])
        return type(obj), tuple(args)


def _exception(cls: type[BaseException], args: tuple[Any, ...],
               state: dict[str, Any]) -> BaseException:
    """An exception rebuilt without its ``__init__`` (same type, args, attributes, notes)."""
    exc = cls.__new__(cls, *args)
    exc.args = args
    exc.__dict__.update(state)
    return exc


def dumps(obj: object) -> bytes:
    buffer = io.BytesIO()
    with paused_gc():
        _Pickler(buffer).dump(obj)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    with paused_gc():
        return pickle.loads(data)


def run_chunk(stages: Sequence[Stage], chunk: bytes, early: Sequence[Stage] = (),
              clock: Clock = time.thread_time) -> bytes:
    """Worker side: run ``stages`` in order over the pickled chunk (whether to send the
    scratch back, and the works), then the ``precompute`` of the ``early`` sequential
    stages; a stage's exception is sent back (with the worker's traceback as a note), not
    raised. ``clock`` reads the CPU seconds per stage (see
    :func:`~allsource.engine.inline.run_stages`)."""
    with paused_gc():
        keep_scratch, works = pickle.loads(chunk)
        times: dict[str, float] = {}
        cpu: dict[str, float] = {}
        marks: list[list[_Lengths]] = [[] for _ in works]
        done, error = 0, None
        for stage in stages:
            started, used = time.perf_counter(), clock()
            try:
                stage.process(works)
            except Exception as exc:
                error = _portable(exc)
                break
            finally:
                times[stage.name] = times.get(stage.name, 0.0) + time.perf_counter() - started
                cpu[stage.name] = cpu.get(stage.name, 0.0) + clock() - used
            for mark, work in zip(marks, works, strict=True):
                mark.append(_lengths(work))
            done += 1
        pre = _precompute(early, works, times, cpu, clock) if error is None else {}
        if not keep_scratch:  # nothing there reads it (see the module docstring)
            marks = [[(*mark[:5], 0) for mark in work_marks] for work_marks in marks]
        states: list[_State] = [(w.annotations, w.objects, w.relationships, w.mentions,
                                 w.errors, w.scratch if keep_scratch else {}) for w in works]
        return dumps(ChunkResult(states, marks, times, done, error, cpu, pre))


def _precompute(stages: Sequence[Stage], works: list[Work], times: dict[str, float],
                cpu: dict[str, float], clock: Clock) -> dict[str, list[dict[str, Any]]]:
    """Each early stage's ``precompute`` over ``works``; per stage, per work, the scratch
    entries it added (taken out of the scratch: they travel apart from the stages' output).
    A step that raises leaves nothing: its stage then does the work itself, in order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for stage in stages:
        started, used = time.perf_counter(), clock()
        sizes = [len(w.scratch) for w in works]
        try:
            stage.precompute(works)  # type: ignore[attr-defined]
            failed = False
        except Exception:  # the stage meets the same input in order, and fails there
            failed = True
        added = [{key: w.scratch.pop(key) for key in list(islice(w.scratch, n, None))}
                 for w, n in zip(works, sizes, strict=True)]
        if not failed:
            out[stage.name] = added
        times[stage.name] = times.get(stage.name, 0.0) + time.perf_counter() - started
        cpu[stage.name] = cpu.get(stage.name, 0.0) + clock() - used
    return out


def _portable(exc: Exception) -> BaseException:
    """``exc`` with the worker's traceback attached as a note, or a RuntimeError naming it
    if it does not survive pickling (e.g. a class defined inside a function)."""
    trace = "".join(traceback.format_exception(exc))
    try:
        loads(dumps(exc))
    except Exception:
        exc = RuntimeError(f"{type(exc).__name__}: {exc}")
    exc.add_note(f"in a worker process:\n{trace}")
    return exc


def split(batch: list[Work], parts: int) -> list[list[Work]]:
    """``batch`` in at most ``parts`` contiguous chunks of near-equal size, in order."""
    parts = max(1, min(parts, len(batch)))
    size, extra = divmod(len(batch), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(batch[start:end])
        start = end
    return out


def start_rounds(pipeline: Pipeline, batch: list[Work], chunks: int,
                 times: dict[str, float], submit: Submit,
                 cpu: dict[str, float] | None = None) -> Callable[[], list[Work]]:
    """Send ``batch`` on its first worker trip (``chunks`` chunks) and run the early
    ``precompute`` steps; returns the function that finishes the batch — waits, splices,
    runs the sequential stages and any further rounds — and returns it. Nothing before
    that function touches the store, so a caller may do other work (e.g. write the previous
    batch) while the workers compute. ``cpu`` collects CPU seconds per stage, here and on
    the workers."""
    cpu = {} if cpu is None else cpu
    rounds = pipeline.rounds()
    with paused_gc():
        first = (_start_round(rounds[0], batch, chunks, times, submit, cpu,
                              last=len(rounds) == 1) if rounds else None)

    def finish() -> list[Work]:
        with paused_gc():
            if first is not None:
                first()
            for i, rnd in enumerate(rounds[1:], 2):
                _start_round(rnd, batch, chunks, times, submit, cpu, last=i == len(rounds))()
        return batch

    return finish


def _start_round(rnd: Round, batch: list[Work], chunks: int, times: dict[str, float],
                 submit: Submit, cpu: dict[str, float], last: bool = True
                 ) -> Callable[[], None]:
    if not rnd.parallel:  # only sequential stages: nothing to send, all done in finish
        return lambda: run_stages([s for _, s in rnd.sequential], batch, times, cpu)
    parts = split(batch, chunks)
    before = [_lengths(w) for w in batch]
    keep = not last or any(s.reads_scratch for _, s in rnd.sequential)
    wait = submit([s.name for s in rnd.parallel], [s.name for s in rnd.early],
                  [dumps((keep, p)) for p in parts])
    return lambda: _splice(rnd, batch, before, [loads(r) for r in wait()], times, cpu, keep)


def _splice(rnd: Round, batch: list[Work], before: list[_Lengths],
            results: list[ChunkResult], times: dict[str, float], cpu: dict[str, float],
            keep: bool = True) -> None:
    for result in results:
        for name, seconds in result.times.items():
            times[name] = times.get(name, 0.0) + seconds
        for name, seconds in result.cpu.items():
            cpu[name] = cpu.get(name, 0.0) + seconds
    states = [s for r in results for s in r.states]
    marks = [m for r in results for m in r.marks]
    failed = [r for r in results if r.error is not None]
    # the inline engine would have stopped at the first failing stage in pipeline order
    stop = min((r.done for r in failed), default=len(rnd.parallel))

    def at(cut: int) -> list[_Lengths]:
        return [start if cut == 0 else mark[cut - 1] for start, mark in zip(before, marks,
                                                                             strict=True)]

    # the scratch entries the early stages' precompute added on the workers (all chunks, or
    # none for a stage: a stage uses its entries only when every document has one)
    extras: list[dict[str, Any]] = [{} for _ in batch]
    added: dict[str, list[list[str]]] = {}  # per early stage, per work: its scratch keys
    for pre in rnd.early:
        per_chunk = [r.early.get(pre.name) for r in results]
        if any(p is None for p in per_chunk):
            continue
        entries = [e for p in per_chunk for e in p]  # type: ignore[union-attr]
        added[pre.name] = [list(e) for e in entries]
        for extra, entry in zip(extras, entries, strict=True):
            extra.update(entry)
    cut, first = 0, True
    for stage_cut, stage in [*rnd.sequential, (len(rnd.parallel), None)]:
        if stage_cut > stop:
            break
        _apply(batch, states, at(cut), at(stage_cut), extras, first, keep)
        cut, first = stage_cut, False
        if stage is not None:
            run_stages([stage], batch, times, cpu)
    if not failed:
        return
    # the stages before the failing one, and what the failing one did before it raised
    ends, offset = at(stop), 0
    for r in results:
        if r.error is not None and r.done == stop:
            for i in range(offset, offset + len(r.states)):
                ends[i] = _filled(states[i])
        offset += len(r.states)
    _apply(batch, states, at(cut), ends, extras, first, keep)
    for stage_cut, stage in rnd.sequential:  # never ran: leave no trace of precompute
        if stage_cut > stop and stage.name in added:
            for work, keys in zip(batch, added[stage.name], strict=True):
                for key in keys:
                    work.scratch.pop(key, None)
    error = next(r.error for r in failed if r.done == stop)
    assert error is not None
    raise error


def _filled(state: _State) -> _Lengths:
    return (len(state[0]), len(state[1]), len(state[2]), len(state[3]), len(state[4]),
            len(state[5]))


def _apply(batch: list[Work], states: list[_State], lo: list[_Lengths], hi: list[_Lengths],
           extras: list[dict[str, Any]], first: bool, scratch: bool = True) -> None:
    """Put each work's worker output between the lengths ``lo`` and ``hi`` back into it; the
    ``first`` call replaces the work's containers with the worker's copies (which start
    with what the work held before the round), keeping the scratch ``extras``; without the
    workers' ``scratch`` (not sent back) a work keeps its own, plus the ``extras``."""
    for work, state, a, b, extra in zip(batch, states, lo, hi, extras, strict=True):
        if first:
            work.annotations = dict(islice(state[0].items(), b[0]))
            work.objects = state[1][:b[1]]
            work.relationships = state[2][:b[2]]
            work.mentions = state[3][:b[3]]
            work.errors = dict(islice(state[4].items(), b[4]))
            if scratch:
                work.scratch = dict(islice(state[5].items(), b[5]))
            work.scratch.update(extra)
        elif a != b:
            work.annotations.update(islice(state[0].items(), a[0], b[0]))
            work.objects.extend(state[1][a[1]:b[1]])
            work.relationships.extend(state[2][a[2]:b[2]])
            work.mentions.extend(state[3][a[3]:b[3]])
            work.errors.update(islice(state[4].items(), a[4], b[4]))
            work.scratch.update(islice(state[5].items(), a[5], b[5]))
