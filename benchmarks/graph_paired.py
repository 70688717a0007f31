"""Paired graph-summary benchmark: an earlier ``analyze/graph.py`` against the current one,
interleaved call by call in one process, so a shared machine's changing load hits both
alike (``benchmarks/graph.py`` runs its cases one after another).

For each repeat and hub, in turn: the earlier module on ``--before-store``, the current
module on ``--after-store`` (each may be at its own schema, e.g. before and after an index
migration; make both with ``benchmarks/graph.py --keep``), each as the owner and as the
TLP:AMBER and the TLP:GREEN reader, then ``graph.py``'s naive per-node SQL baseline on the
after store. The before store is opened without migrating it.
Reports process CPU and wall per call and the paired CPU ratio (current ÷ earlier).

Run: ``python benchmarks/graph_paired.py --before-module /path/to/old/graph.py
--before-store DIR --after-store DIR --repeat 2``.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import graph as bench  # benchmarks/graph.py: the reader, the naive baseline, percentiles

import allsource.analyze.graph as current
from allsource.config import load_settings
from allsource.model.markings import Audience
from allsource.store import open_store
from allsource.store import schema as t
from allsource.store.sql import SqlStore


def _module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("graph_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["graph_before"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _store(folder: Path, migrate: bool = True) -> SqlStore:
    return open_store(load_settings(database_url=f"sqlite:///{folder / 'graph.db'}",
                                    blob_dir=folder / "blobs"), migrate=migrate)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before-module", type=Path, required=True)
    ap.add_argument("--before-store", type=Path, required=True)
    ap.add_argument("--after-store", type=Path, required=True)
    ap.add_argument("--hubs", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    old = _module(args.before_module)
    # the earlier module's store is left at its schema: migrating it with this tree would
    # give it this branch's columns and indexes (and stamp it, so the earlier tree's own
    # migrations would never run on it)
    before, after = _store(args.before_store, migrate=False), _store(args.after_store)
    with after.engine.connect() as conn:
        hubs = [conn.execute(sa.select(t.objects.c.id).where(
            t.objects.c.id.like(f"%-8000-{h:012d}"))).scalar_one() for h in range(args.hubs)]
    owner = Audience.owner()
    cases: dict[str, Callable[[str], Any]] = {
        "owner, before": lambda h: old.neighbourhood(before, h, depth=2, audience=owner),
        "owner, after": lambda h: current.neighbourhood(after, h, depth=2, audience=owner),
        "TLP:AMBER reader, before": lambda h: old.neighbourhood(
            before, h, depth=2, audience=bench.READER),
        "TLP:AMBER reader, after": lambda h: current.neighbourhood(
            after, h, depth=2, audience=bench.READER),
        "TLP:GREEN reader, before": lambda h: old.neighbourhood(
            before, h, depth=2, audience=bench.GREEN),
        "TLP:GREEN reader, after": lambda h: current.neighbourhood(
            after, h, depth=2, audience=bench.GREEN),
        "baseline: naive per-node SQL": lambda h: bench.naive(after, h),
    }
    for fn in cases.values():
        fn(hubs[0])  # warm the page cache
    cpu: dict[str, list[float]] = {k: [] for k in cases}
    wall: dict[str, list[float]] = {k: [] for k in cases}
    print("load average before", Path("/proc/loadavg").read_text().strip())
    for _ in range(args.repeat):
        for hub in hubs:
            for name, fn in cases.items():
                c0, w0 = time.process_time(), time.perf_counter()
                fn(hub)
                cpu[name].append(time.process_time() - c0)
                wall[name].append(time.perf_counter() - w0)
    print("load average after", Path("/proc/loadavg").read_text().strip())
    base = statistics.median(cpu["baseline: naive per-node SQL"])
    print("\n| case | CPU p50 (s) | CPU p95 (s) | wall p50 (s) | wall p95 (s) "
          "| CPU p50 / baseline |\n|---|---|---|---|---|---|")
    for name in cases:
        c, w = cpu[name], wall[name]
        print(f"| {name} | {bench.pct(c, .5):.3f} | {bench.pct(c, .95):.3f} | "
              f"{bench.pct(w, .5):.3f} | {bench.pct(w, .95):.3f} | "
              f"{statistics.median(c) / base:.2f} |")
    for who in ("owner", "TLP:AMBER reader", "TLP:GREEN reader"):
        ratios = [b / a for a, b in zip(cpu[f"{who}, before"], cpu[f"{who}, after"],
                                        strict=True)]
        print(f"paired CPU ratio after / before, {who}: median "
              f"{statistics.median(ratios):.2f} (min {min(ratios):.2f}, "
              f"max {max(ratios):.2f}, n={len(ratios)})")
    before.close()
    after.close()


if __name__ == "__main__":
    main()
