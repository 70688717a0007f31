"""Batches through an engine with a bounded number in flight: overlap and backpressure.

:func:`overlapped` takes batches from an iterator and yields them finished, in order. While
this process finishes batch *n* (the sequential stages such as ``stories``, then whatever the
caller does with it — writing it to the store), batch *n + 1* is already on the workers:
the engine's :meth:`start` sends a batch and returns the function that finishes it, and
nothing before that function touches the store (:func:`allsource.engine.rounds.
start_rounds`). So the store-bound, ordered part of the pipeline no longer leaves the
workers idle; with the inline engine nothing overlaps and the result is the same.

The runner keeps two batches ahead (:data:`AHEAD`): the parent's share of a batch is not
even (a write that triggers a WAL checkpoint costs several times the usual one), and with
one batch ahead the workers wait whenever the parent's batch takes longer than theirs; the
second absorbs that, at the memory cost of one more batch of documents.

Backpressure is the same mechanism read the other way: the iterator is advanced only when
fewer than ``ahead + 1`` batches are in flight, so when processing falls behind, the
producer (reading due documents, or a collector feeding documents) is simply not asked for
more — it slows to the pace of processing, and nothing is buffered beyond that bound or
dropped. A batch whose stages raise is retried document by document
(:func:`run_guarded`), as before.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from allsource.process.base import Work

#: batches started beyond the one being finished (see the module docstring)
AHEAD = 2


class Engine(Protocol):
    workers: int
    #: whether batches compute elsewhere while this process finishes earlier ones
    overlaps: bool
    #: seconds per stage; CPU seconds per stage (summed over the processes that ran it)
    times: dict[str, float]
    cpu_times: dict[str, float]

    def run(self, batch: list[Work]) -> list[Work]: ...
    def start(self, batch: list[Work]) -> Callable[[], list[Work]]: ...
    def close(self) -> None: ...


def overlapped(engine: Engine, batches: Iterable[list[Work]], ahead: int = AHEAD
               ) -> Iterator[list[Work]]:
    """Each batch of ``batches`` after the engine ran it (failures retried per document),
    in order, with at most ``ahead`` further batches started meanwhile."""
    pending: deque[tuple[list[Work], Callable[[], list[Work]]]] = deque()
    for batch in batches:
        pending.append((batch, _start(engine, batch)))
        while len(pending) > ahead:
            yield _finish(engine, *pending.popleft())
    while pending:
        yield _finish(engine, *pending.popleft())


def _start(engine: Engine, batch: list[Work]) -> Callable[[], list[Work]]:
    try:
        return engine.start(batch)
    except Exception as exc:  # raised again when the batch is finished, then retried
        failure = exc

        def fail() -> list[Work]:
            raise failure

        return fail


def _finish(engine: Engine, batch: list[Work], finish: Callable[[], list[Work]]
            ) -> list[Work]:
    try:
        return finish()
    except Exception:
        return retry_each(engine, batch)


def run_guarded(engine: Engine, batch: list[Work]) -> list[Work]:
    """Run a batch; if a stage raises, retry document by document and record the error on
    the documents that still fail, so one bad document never stops the run."""
    try:
        return engine.run(batch)
    except Exception:
        return retry_each(engine, batch)


def retry_each(engine: Engine, batch: list[Work]) -> list[Work]:
    """Each document of ``batch`` run alone from scratch; one that still fails keeps only
    its error (``errors["pipeline"]``)."""
    out = []
    for work in batch:
        fresh = Work(id=work.id, title=work.title, text=work.text, kind=work.kind,
                     content_hash=work.content_hash, marking=work.marking,
                     source_id=work.source_id, published_at=work.published_at)
        try:
            out.extend(engine.run([fresh]))
        except Exception as exc:
            fresh.errors["pipeline"] = f"{type(exc).__name__}: {exc}"[:500]
            fresh.objects.clear()
            fresh.mentions.clear()
            fresh.relationships.clear()
            out.append(fresh)
    return out
