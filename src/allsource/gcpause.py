"""Python's cyclic garbage collector paused around allocation-heavy work.

A processing batch or a graph neighbourhood allocates hundreds of thousands of rows, tuples
and lists, almost none of them in a reference cycle. Every 700 allocations start a collection
of the young objects, and every few of those walk the whole heap: 5–10 % of the stages' time,
a third of (un)pickling a batch, a quarter of a 57,000-node graph summary. Reference counting
still frees everything while the collector is off; it is switched back on at the end (only if
it was on: nested or concurrent pauses never leave it off), and a collection that would have
run meanwhile runs at the next allocations.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["paused_gc"]


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside (it resumes after)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
