"""Continuous sync: rounds of :func:`allsource.share.sync.sync_source` on a schedule.

:func:`run_loop` calls ``step`` (one round with every partner) and then waits ``every``
seconds, until ``rounds`` rounds have run (``once``: one) or the operator presses Ctrl-C.
A round that fails (a partner unreachable, refusing our token, a bad page) does not stop
the loop: the wait after it doubles with each failure in a row, from ``every`` up to
:data:`MAX_BACKOFF`, and the first good round brings it back to ``every``. Nothing is lost
by stopping at any point: the pull commits page by page behind its checkpoint and the push
behind its cursor, so the next round — or the next ``allsource sync`` — resumes there.

The clock and the output are parameters (``sleep``, ``say``), so the loop is tested by
counting rounds and waits, never by time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["MAX_BACKOFF", "LoopResult", "backoff", "run_loop"]

#: the longest wait after failures in a row (seconds)
MAX_BACKOFF = 3600.0


@dataclass(slots=True)
class LoopResult:
    """How the loop went: rounds run, those that failed, the waits, and why it stopped."""

    rounds: int = 0
    failed: int = 0
    waits: list[float] = field(default_factory=list)
    stopped: str = ""


def backoff(every: float, failures: int) -> float:
    """The wait after ``failures`` failed rounds in a row (0: a good round)."""
    return float(min(every * 2 ** failures, max(MAX_BACKOFF, every)))


def run_loop(step: Callable[[int], bool], *, every: float, rounds: int | None = None,
             sleep: Callable[[float], None] = time.sleep,
             say: Callable[[str], None] = print) -> LoopResult:
    """Run ``step(round_number)`` (true: the round went well) every ``every`` seconds, at
    most ``rounds`` times (``None``: until Ctrl-C)."""
    if every <= 0:
        raise ValueError("the sync interval must be positive")
    result = LoopResult()
    failures = 0
    try:
        while rounds is None or result.rounds < rounds:
            result.rounds += 1
            ok = step(result.rounds)
            failures = 0 if ok else failures + 1
            result.failed += not ok
            if rounds is not None and result.rounds >= rounds:
                break
            wait = backoff(every, failures)
            if failures:
                say(f"round {result.rounds} failed ({failures} in a row): next try in "
                    f"{wait:g}s")
            result.waits.append(wait)
            sleep(wait)
        result.stopped = "done"
    except KeyboardInterrupt:
        result.stopped = "interrupted"
        say(f"stopped after {result.rounds} round(s); the next sync resumes where this "
            "one committed")
    return result
