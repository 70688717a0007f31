"""Bounded work proven by counting, never by the clock.

A wall-clock assert fails on a busy machine and passes a quadratic algorithm on a fast one.
Instead, :func:`count_calls` counts the function calls (Python and C) a piece of code makes,
under :func:`sys.setprofile`; the count is the same on every machine and under any load.
:func:`assert_linear` runs the code on a hostile input of size ``n`` and ``2n`` and asserts
that the work grows at most linearly (with slack for constant overheads): quadratic work would
make four times the calls, not two. Work done inside one C call (one regex scan) counts once,
so these tests catch per-character or per-match Python loops gone quadratic, not a regex that
backtracks; the inputs are kept modest because profiling slows every call down.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

#: doubling the input may at most multiply the call count by this (2 = exactly linear)
GROWTH = 2.3


def count_calls(run: Callable[[], Any]) -> int:
    """How many Python and C function calls ``run()`` makes."""
    calls = 0

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(previous)
    return calls


def assert_linear(make: Callable[[int], str], run: Callable[[str], Any], n: int, *,
                  per_char: float = 5.0) -> tuple[int, int]:
    """Assert that ``run(make(2n))`` calls at most :data:`GROWTH` times what ``run(make(n))``
    does, and at most ``per_char`` calls per input character (plus a constant for set-up).
    Returns both counts."""
    small, large = make(n), make(2 * n)
    a = count_calls(lambda: run(small))
    b = count_calls(lambda: run(large))
    assert b <= GROWTH * a + 1_000, f"work grew {b / max(a, 1):.1f}× for 2× the input ({a}→{b})"
    assert b <= per_char * len(large) + 10_000, f"{b} calls for {len(large)} characters"
    return a, b
