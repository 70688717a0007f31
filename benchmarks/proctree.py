"""A process and its descendants, read from ``/proc``: the CPU time and peak memory of a
server that forks workers (uvicorn ``--workers``, a PostgreSQL postmaster and its backends)."""

from __future__ import annotations

import os
from pathlib import Path


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name (field 3 onwards)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, todo = [pid], [pid]
    while todo:
        parent = todo.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        tree += kids
        todo += kids
    return tree


def tree_cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU seconds of ``pid`` and its live descendants; with ``reaped``, also
    of the children they have waited for (a PostgreSQL backend that has exited)."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = _stat(p)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if reaped:
            total += int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def tree_peak_rss_mib(pid: int) -> float:
    """Peak resident memory (``VmHWM``) summed over ``pid`` and its descendants, in MiB."""
    peak = 0
    for p in process_tree(pid):
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        peak += sum(int(x.split()[1]) for x in lines if x.startswith("VmHWM:"))
    return round(peak / 1024, 1)
