"""The continuous sync loop, counted in rounds and waits (its clock is a parameter): the
interval between good rounds, backoff doubling after failures in a row and reset by a good
round, a cap on the wait, and a clean stop on Ctrl-C."""

from __future__ import annotations

import pytest

from allsource.share.sync_loop import MAX_BACKOFF, backoff, run_loop


def test_rounds_every_interval_with_backoff_after_failures() -> None:
    outcomes = iter([True, False, False, False, True, True])
    waits: list[float] = []
    said: list[str] = []
    done = run_loop(lambda n: next(outcomes), every=60, rounds=6, sleep=waits.append,
                    say=said.append)
    assert (done.rounds, done.failed, done.stopped) == (6, 3, "done")
    assert waits == [60, 120, 240, 480, 60]  # none after the last round
    assert len(said) == 3 and said[0].startswith("round 2 failed (1 in a row)")


def test_backoff_is_capped() -> None:
    assert backoff(60, 0) == 60
    assert backoff(60, 20) == MAX_BACKOFF
    assert backoff(7200, 3) == 7200  # an interval longer than the cap is kept


def test_ctrl_c_stops_cleanly_between_or_during_rounds() -> None:
    seen: list[int] = []

    def step(n: int) -> bool:
        seen.append(n)
        if n == 3:
            raise KeyboardInterrupt
        return True

    said: list[str] = []
    done = run_loop(step, every=5, sleep=lambda s: None, say=said.append)
    assert seen == [1, 2, 3] and done.stopped == "interrupted" and done.rounds == 3
    assert said == ["stopped after 3 round(s); the next sync resumes where this one committed"]

    def interrupted_wait(seconds: float) -> None:
        raise KeyboardInterrupt

    done = run_loop(lambda n: True, every=5, sleep=interrupted_wait, say=said.append)
    assert (done.rounds, done.stopped) == (1, "interrupted")


def test_once_and_bad_interval() -> None:
    waits: list[float] = []
    done = run_loop(lambda n: False, every=30, rounds=1, sleep=waits.append, say=print)
    assert (done.rounds, done.failed, waits) == (1, 1, [])
    with pytest.raises(ValueError):
        run_loop(lambda n: True, every=0, rounds=1)
