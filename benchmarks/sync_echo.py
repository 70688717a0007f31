"""Partner sync on loopback, counted on the wire: what instance A downloads when it pulls
from partner B after B pulled everything from A (the *echo*), with allsource's sync (manifest
walk asking B to leave out what came from A, ``match[x_allsource_origin]=others``, then fetch
only versions not held: :mod:`allsource.share.sync`) against two named baselines in the same
run: the sync's manifest walk *without* that filter (each echoed version costs one manifest
record: the sync before issue 13's echo exclusion), and the plain TAXII collector on the same
partner (objects pages, as ``allsource collect`` reads). Then a delta of ``--delta`` new
indicators on B. B knows which source is A through ``peer-a``'s ``partner_user`` option.

Counts are requests, objects, manifest records and response bytes seen by an ASGI counter in
front of each server (the test suite's ``Wire``); CPU seconds are this process's (both
servers and both clients run in it). Wall-clock is not reported: the machine is shared.

    .venv/bin/python benchmarks/sync_echo.py [--bundle PATH] [--delta N] [--page-size N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api.test_taxii import indicator, write
from tests.serving import free_port
from tests.share.taxii.test_sync import Wire, _serve

from allsource.collect.base import CollectContext
from allsource.collect.runner import run_source
from allsource.collect.stix import map_bundle, parse_bundle
from allsource.collect.taxii import TaxiiCollector
from allsource.config import load_settings
from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Source
from allsource.share.sync import sync_collector, sync_source
from allsource.store import open_store, users
from allsource.store.blobs import BlobStore


def _load(store: Any, path: Path) -> int:
    data = path.read_bytes()
    items = [i for i in map_bundle(parse_bundle(data, path.name), store.blobs.put(data),
                                   Marking(tlp=TLP.CLEAR), "bench", 64 * 1024 * 1024)
             if isinstance(i, Collected)]
    src = Source("bundle", "stix", str(path))
    store.add_source(src)
    for i in range(0, len(items), 500):
        store.write_batch(src, items[i:i + 500], [], None)
    return sum(len(i.objects) + len(i.relationships) for i in items)


def _snap(wire: Wire) -> tuple[int, int, int, int, int]:
    return (wire.requests, wire.objects, wire.object_bytes, wire.records, wire.record_bytes)


def _row(label: str, wire: Wire, before: tuple[int, ...], cpu: float) -> str:
    d = [a - b for a, b in zip(_snap(wire), before, strict=True)]
    return (f"| {label} | {d[0]:,} | {d[1]:,} | {d[2]:,} | {d[3]:,} | {d[4]:,} | "
            f"{d[2] + d[4]:,} | {cpu:.2f} |")


def main() -> None:
    samples = Path(os.environ.get("ALLSOURCE_SAMPLES", "../shared/data"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=samples / "attack/ics-attack-18.1.json")
    parser.add_argument("--delta", type=int, default=100)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sync-echo-"))
    sa = load_settings(database_url=f"sqlite:///{tmp / 'a.db'}", blob_dir=tmp / "a-blobs",
                       audit_key_file=tmp / "a.key")
    sb = sa.model_copy(update={"database_url": f"sqlite:///{tmp / 'b.db'}",
                               "blob_dir": tmp / "b-blobs", "audit_key_file": tmp / "b.key"})
    a, b = open_store(sa), open_store(sb)
    held = _load(a, args.bundle)
    _, on_a = users.create_token(a, users.add_user(a, "org-b", "partner", max_tlp=TLP.AMBER,
                                                   groups=["b-org"]))
    _, on_b = users.create_token(b, users.add_user(b, "org-a", "partner", max_tlp=TLP.AMBER,
                                                   groups=["a-org"]))
    os.environ["BENCH_B_ON_A"], os.environ["BENCH_A_ON_B"] = on_a, on_b
    pa, pb = free_port(), free_port()
    page = str(args.page_size)
    b.add_source(Source("peer-a", "taxii", f"http://127.0.0.1:{pa}/taxii2/", allow_private=True,
                        config={"token_env": "BENCH_B_ON_A", "collection": "all",
                                "page_size": page, "partner_user": "org-a"}))
    for name in ("peer-b", "peer-b-held", "peer-b-plain"):
        a.add_source(Source(name, "taxii", f"http://127.0.0.1:{pb}/taxii2/",
                            allow_private=True, config={"token_env": "BENCH_A_ON_B",
                                                        "collection": "all",
                                                        "page_size": page}))
    wire_a, _ = _serve(a, sa, pa)
    wire_b, _ = _serve(b, sb, pb)
    ctx_a = CollectContext(settings=sa, blobs=BlobStore(sa.blob_dir))
    ctx_b = CollectContext(settings=sb, blobs=BlobStore(sb.blob_dir))
    rows = []

    def step(label: str, wire: Wire, run: Any) -> None:
        before, cpu = _snap(wire), time.process_time()
        result = run()
        status = getattr(result, "status", None) or ("ok" if result.ok else result.errors)
        assert status == "ok", status
        rows.append(_row(label, wire, before, time.process_time() - cpu))

    step("B pulls A (first sync, B holds nothing)", wire_a,
         lambda: sync_source(b, b.get_source("peer-a"), ctx_b))
    step("A pulls B — echo, allsource sync", wire_b,
         lambda: sync_source(a, a.get_source("peer-b"), ctx_a))
    held_only = sync_collector(a)

    class HeldOnly(held_only):  # type: ignore[misc,valid-type]
        """The sync's manifest walk without the origin filter (the baseline)."""

        def manifest_filters(self) -> dict[str, str]:
            return {}

    step("A pulls B — echo, baseline: manifest walk without the origin filter", wire_b,
         lambda: run_source(a, a.get_source("peer-b-held"), ctx_a, collector_cls=HeldOnly))
    step("A pulls B — echo, baseline: plain TAXII collector", wire_b,
         lambda: run_source(a, a.get_source("peer-b-plain"), ctx_a,
                            collector_cls=TaxiiCollector))
    write(b, [indicator(n) for n in range(args.delta)], "delta")
    step(f"A pulls B — {args.delta} new on B, allsource sync", wire_b,
         lambda: sync_source(a, a.get_source("peer-b"), ctx_a))
    step(f"A pulls B — {args.delta} new on B, baseline: walk without the filter", wire_b,
         lambda: run_source(a, a.get_source("peer-b-held"), ctx_a, collector_cls=HeldOnly))
    step(f"A pulls B — {args.delta} new on B, baseline: plain collector", wire_b,
         lambda: run_source(a, a.get_source("peer-b-plain"), ctx_a,
                            collector_cls=TaxiiCollector))
    print(f"{held:,} objects and relationships on A ({args.bundle.name}), page size {page}\n")
    print("| step | requests | objects | object bytes | manifest records | manifest bytes "
          "| bytes in all | CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    for wire in (wire_a, wire_b):
        assert wire.server is not None
        wire.server.should_exit = True


if __name__ == "__main__":
    main()
