"""One object per real-world thing: how often the demo store holds a thing twice, with and
without entity linking, and what a linking pass costs.

Run from the repository root:

    .venv/bin/python benchmarks/entity_linking.py                 # builds a demo store first
    .venv/bin/python benchmarks/entity_linking.py --store allsource.db   # an existing store

The store is built by ``allsource demo --no-searches`` in a temporary folder (ATT&CK,
MISP galaxies, MISP events, the OASIS STIX examples and GDELT samples; ``ALLSOURCE_SAMPLES``
or ../shared/data for the shared samples). Counted over the stored actors (``intrusion-set``,
``threat-actor``), software (``malware``, ``tool``), campaigns and locations:

* names held by more than one object (name key: case and separators folded), per family;
* aliases (name, ``aliases``, ``x_mitre_aliases``) listed by more than one object;
* for locations also: GeoNames places and countries stored as more than one object (place
  names themselves are shared by different places: Georgia the country and the state);

once over every stored object — what lists showed before linking, the baseline of the same
run — and once over canonical objects only (``canonical_id IS NULL``), what lists show now.
Then one more linking pass is timed on the linked store (the idempotent steady state that
every ``allsource process`` pays), and the links are counted by rule.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from allsource.process.aliases import alias_key  # noqa: E402

FAMILY = {"intrusion-set": "actor", "threat-actor": "actor", "malware": "software",
          "tool": "software", "campaign": "campaign", "location": "location"}


def counts(db: Path, canonical_only: bool) -> dict[str, tuple[int, int]]:
    """Per family: (names held by >1 object, aliases listed by >1 object)."""
    query = ("SELECT id, type, name, stix FROM objects WHERE type IN "
             "('intrusion-set','threat-actor','malware','tool','campaign','location')")
    if canonical_only:
        query += " AND canonical_id IS NULL"
    names: dict[tuple[str, str], set[str]] = defaultdict(set)
    places: dict[str, set[str]] = defaultdict(set)
    aliases: dict[tuple[str, str], set[str]] = defaultdict(set)
    with sqlite3.connect(db) as conn:
        for oid, kind, name, raw in conn.execute(query):
            stix = json.loads(raw)
            family = FAMILY[kind]
            names[(family, alias_key(name))].add(oid)
            listed = [name, *(a for a in (stix.get("aliases") or [])
                              + (stix.get("x_mitre_aliases") or []) if isinstance(a, str))]
            for alias in listed:
                aliases[(family, alias_key(alias))].add(oid)
            if family == "location":
                if stix.get("x_allsource_geonameid"):
                    places[f"geonames:{stix['x_allsource_geonameid']}"].add(oid)
                if stix.get("x_allsource_place_kind") in ("country", None):
                    places[f"country:{stix.get('country') or alias_key(name)}"].add(oid)
                    places[f"country name:{alias_key(name)}"].add(oid)
    out: dict[str, tuple[int, int]] = {}
    for family in ("actor", "software", "campaign", "location"):
        out[family] = (sum(1 for (f, _), ids in names.items() if f == family and len(ids) > 1),
                       sum(1 for (f, _), ids in aliases.items()
                           if f == family and len(ids) > 1))
    out["places (GeoNames id or country)"] = (
        sum(1 for ids in places.values() if len(ids) > 1), 0)
    return out


def build_demo(folder: Path) -> Path:
    env = {**os.environ, "ALLSOURCE_DATABASE_URL": f"sqlite:///{folder / 'demo.db'}",
           "ALLSOURCE_BLOB_DIR": str(folder / "blobs")}
    samples = ROOT.parent / "shared" / "data"
    if "ALLSOURCE_SAMPLES" not in env and samples.is_dir():
        env["ALLSOURCE_SAMPLES"] = str(samples)
    for args in (["init"], ["demo", "--no-searches"]):
        subprocess.run([sys.executable, "-m", "allsource", *args], cwd=folder, env=env,
                       check=True, capture_output=True)
    return folder / "demo.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="an existing SQLite store (default: build "
                                                   "the demo store in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        db = args.store or build_demo(Path(tmp))
        built = time.perf_counter() - started
        before, after = counts(db, canonical_only=False), counts(db, canonical_only=True)
        from allsource.config import Settings
        from allsource.process.linking import link_store
        from allsource.store import open_store

        store = open_store(Settings(database_url=f"sqlite:///{db}", blob_dir=Path(tmp)))
        started = time.perf_counter()
        again = link_store(store)
        steady = time.perf_counter() - started
        with sqlite3.connect(db) as conn:
            rules = conn.execute("SELECT basis, count(*) FROM alias_statements WHERE origin = "
                                 "'linker' AND status = 'active' GROUP BY basis").fetchall()
            linked = conn.execute("SELECT count(*) FROM objects WHERE canonical_id IS NOT NULL"
                                  ).fetchone()[0]
        store.close()
    print(f"store: {db}" if args.store else f"store: the demo store, built in {built:.0f} s")
    print("\n| family | names held twice: every object (baseline) | canonical objects |"
          " aliases shared: every object | canonical objects |")
    print("|---|---:|---:|---:|---:|")
    for family in before:
        print(f"| {family} | {before[family][0]} | {after[family][0]} | {before[family][1]} |"
              f" {after[family][1]} |")
    print(f"\nlinked objects: {linked}; active links by rule: "
          + ", ".join(f"{b.removeprefix('object:')} {n}" for b, n in rules))
    print(f"steady-state linking pass: {steady:.2f} s ({again.moved} moved, "
          f"{again.released} released, {again.created} created)")
    print(f"\ncommand: {' '.join([Path(sys.executable).name, *sys.argv])}")


if __name__ == "__main__":
    main()
