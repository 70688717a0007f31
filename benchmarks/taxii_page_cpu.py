"""CPU per TAXII page, in-process (no HTTP): ``objects_page`` and ``manifest_page`` of the
``all`` collection, pages of 1,000 from the start, for the bench store's partner (or owner)
token — on a *copy* of a ``benchmarks/share.py`` store (opening migrates it), for whichever
``src`` is first on PYTHONPATH, so main and a branch can be paired on two copies:

    PYTHONPATH=src .venv/bin/python benchmarks/taxii_page_cpu.py COPY_DIR branch \\
        --pages 30 [--token owner] [--not-from ORIGIN,ORIGIN]

``COPY_DIR`` holds ``share.db`` (and its ``-wal``); the tokens are read from
``--meta`` (default: the 100k store's ``meta.json``). ``--not-from`` passes origins to leave
out, as ``match[x_allsource_origin]=others`` does (branch only).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from allsource.config import load_settings
from allsource.share.taxii.collections import ALL
from allsource.share.taxii.pages import Filters, manifest_page, objects_page
from allsource.store import open_store, users


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("copy", type=Path)
    p.add_argument("label")
    p.add_argument("--pages", type=int, default=30)
    p.add_argument("--token", default="partner", choices=("partner", "owner"))
    p.add_argument("--not-from", default="")
    p.add_argument("--meta", type=Path, default=Path("/tmp/taxii-bench-100000/meta.json"))
    args = p.parse_args()
    meta = json.loads(args.meta.read_text())
    store = open_store(load_settings(database_url=f"sqlite:///{args.copy / 'share.db'}",
                                     blob_dir=args.copy / "blobs",
                                     audit_key_file=args.copy / "audit.key"))
    user = users.authenticate(store, meta[args.token])
    assert user is not None, "the token is not one of this store's"
    extra: dict[str, Any] = {}
    if args.not_from:
        extra["not_from"] = tuple(args.not_from.split(","))
    for kind, page_of in (("objects", objects_page), ("manifest", manifest_page)):
        cursor, cpus, items = None, [], 0
        for _ in range(args.pages):
            started = time.process_time()
            page = page_of(store, user.audience, ALL, Filters(**extra), cursor, 1000)
            cpus.append(1000 * (time.process_time() - started))
            items += len(page.items)
            cursor = page.next
            if not page.more:
                break
        cpus.sort()
        print(f"{args.label} {args.token} {kind}: {len(cpus)} pages, {items} items, CPU ms/page "
              f"p50 {statistics.median(cpus):.1f} p95 {cpus[int(0.95 * (len(cpus) - 1))]:.1f} "
              f"mean {statistics.mean(cpus):.1f}")


if __name__ == "__main__":
    main()
