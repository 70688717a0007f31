"""``allsource collect`` (configured sources, with checkpoints and ``--watch``) and
``allsource ingest`` (one-off paths or URLs)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from allsource.cli.common import console, err_console, print_json, state
from allsource.cli.sources import build_marking
from allsource.collect.base import CollectContext, Collector, is_url
from allsource.collect.files import iter_local_files
from allsource.collect.roots import check_location, is_protected
from allsource.collect.runner import Progress as ProgressFn
from allsource.collect.runner import RunResult, run_source
from allsource.errors import AllsourceError, InputError, SourceError
from allsource.model.markings import Marking
from allsource.model.records import Source
from allsource.plugins import collectors, get_collector
from allsource.store.base import BatchCounts


def register(app: typer.Typer) -> None:
    app.command("collect")(collect)
    app.command("ingest")(ingest)


@contextmanager
def progress_for(label: str, quiet: bool) -> Iterator[ProgressFn | None]:
    """A Rich progress line that counts items as batches commit."""
    if quiet or not err_console.is_terminal:  # no spinner frames in logs and pipes
        yield None
        return
    total = BatchCounts()
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"),
                  TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task(label, counts="starting…")

        def update(counts: BatchCounts) -> None:
            total.add(counts)
            bar.update(task, counts=f"{total.items} items · {total.new} new · "
                                    f"{total.duplicates} dup · {total.quarantined} quarantined")
        yield update


def run_with_progress(source: Source, ctx: CollectContext, *, use_checkpoint: bool,
                      quiet: bool = False) -> RunResult:
    with progress_for(source.name, quiet) as update:
        return run_source(state.store, source, ctx, use_checkpoint=use_checkpoint,
                          progress=update)


def summary_table(results: list[RunResult]) -> Table:
    table = Table(title="collected", caption="dup = duplicates (already stored), "
                  "quar = quarantined, objs = objects, rels = relationships")
    table.add_column("source", overflow="fold", min_width=17)
    table.add_column("status")
    for name in ("items", "new", "dup", "quar", "objs", "rels", "s"):
        table.add_column(name, justify="right")
    for r in results:
        c = r.counts
        style = {"ok": "green", "failed": "red"}.get(r.status, "yellow")
        table.add_row(r.source, f"[{style}]{r.status}[/{style}]", str(c.items), str(c.new),
                      str(c.duplicates), str(c.quarantined), str(c.objects),
                      str(c.relationships), f"{r.seconds:.1f}")
    return table


def report(results: list[RunResult], json_: bool) -> None:
    if json_:
        print_json([r.as_dict() for r in results])
    else:
        console.print(summary_table(results))
        for r in results:
            for e in r.errors:
                err_console.print(f"[red]{r.source}:[/red] {e}")
        quarantined = sum(r.counts.quarantined for r in results)
        if quarantined:
            console.print(f"[yellow]{quarantined} item(s) quarantined[/yellow] — see "
                          "[cyan]allsource quarantine list[/cyan]")
    if any(r.status == "failed" or r.counts.quarantined for r in results):
        raise typer.Exit(1)


def collect(
    sources: Annotated[list[str] | None, typer.Argument(help="Sources to collect (default all).")
                       ] = None,
    watch: Annotated[bool, typer.Option(help="Keep polling each source on its schedule.")
                     ] = False,
    rounds: Annotated[int, typer.Option(hidden=True, help="Stop --watch after N rounds.")] = 0,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
) -> None:
    """Collect what is new from configured sources (resumes from each source's checkpoint)."""
    store = state.store
    chosen = _chosen_sources(sources)
    if not watch:
        results = [run_with_progress(s, state.context(), use_checkpoint=True, quiet=json_)
                   for s in chosen]
        report(results, json_)
        return
    console.print(f"watching {len(chosen)} source(s); Ctrl-C to stop")
    done = 0
    try:
        while True:
            now = datetime.now(UTC)
            due = [s for s in chosen if _due(store.source_status(s.id), s, now)]
            for s in due:
                r = run_with_progress(s, state.context(), use_checkpoint=True, quiet=json_)
                console.print(f"{now:%H:%M:%S} {s.name}: {r.status}, {r.counts.new} new, "
                              f"{r.counts.duplicates} dup, {r.counts.quarantined} quarantined")
            done += 1
            if rounds and done >= rounds:
                break
            time.sleep(min([s.schedule_seconds for s in chosen] + [60]) / 4 or 1)
    except KeyboardInterrupt:
        console.print("stopped")


def _due(status: dict[str, object], source: Source, now: datetime) -> bool:
    last = status.get("last_collected_at")
    if not last:
        return True
    elapsed = (now - datetime.fromisoformat(str(last))).total_seconds()
    return elapsed >= source.schedule_seconds


def _chosen_sources(names: list[str] | None) -> list[Source]:
    store = state.store
    if not names:
        chosen = [s for s in store.list_sources() if s.enabled and not s.config.get("adhoc")]
        if not chosen:
            raise SourceError("no sources configured: add one with `allsource source add`")
        return chosen
    return [state.source(name) for name in names]


def detect_kind(location: str, ctx: CollectContext, source: Source) -> str:
    """Pick the collector for a one-off input by asking each how confident it is."""
    head = b""
    path = Path(location).expanduser()
    if is_url(location):
        try:
            head = ctx.fetch(source, location, max_bytes=ctx.settings.max_input_bytes
                             ).content[:65536]
        except AllsourceError:
            head = b""
    elif path.is_file():
        with path.open("rb") as fh:
            head = fh.read(65536)
    elif not path.exists():
        raise InputError(f"{location} does not exist")
    scores: list[tuple[int, str]] = []
    for name, cls in collectors().items():
        scores.append((cls.detect(location, head), name))
    best_score, best = max(scores)
    if best_score <= 0:
        return "files" if not is_url(location) else "rss"
    return best


def ingest(
    locations: Annotated[list[str], typer.Argument(help="Files, folders or URLs.")],
    kind: Annotated[str | None, typer.Option(help="Collector to use (default: detect).")] = None,
    tlp: Annotated[str | None, typer.Option(help="TLP for items that carry none.")] = None,
    classification: Annotated[str | None, typer.Option(help="Classification level.")] = None,
    allow_private: Annotated[bool, typer.Option(help="Allow private/loopback URLs.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
) -> None:
    """Ingest files, folders or URLs once (duplicates are detected and reported).

    Without --kind each input is read by the collector that recognises it; a folder whose
    files need different readers (STIX bundles beside reports, say) is read file by file,
    each by its own reader."""
    marking = build_marking(tlp, classification, None, None)
    results = []
    for location in locations:
        loc = location if is_url(location) else str(Path(location).expanduser().resolve())
        check_location(state.settings, loc)
        ctx = state.context()
        for one, chosen in _readers(loc, kind, ctx, allow_private, marking):
            results.append(_ingest_one(one, chosen, ctx, allow_private, marking, json_))
    report(results, json_)


def _probe(loc: str, allow_private: bool, marking: Marking) -> Source:
    return Source(name=f"ingest:{loc}"[:200], kind="files", location=loc,
                  allow_private=allow_private, marking=marking, config={"adhoc": True})


def _readers(loc: str, kind: str | None, ctx: CollectContext, allow_private: bool,
             marking: Marking) -> list[tuple[str, str]]:
    """(location, collector) pairs that read ``loc``: the folder whole when one collector
    reads every file in it, else each file by the collector that recognises it."""
    if kind:
        return [(loc, kind)]
    chosen = detect_kind(loc, ctx, _probe(loc, allow_private, marking))
    if is_url(loc) or not Path(loc).is_dir():
        return [(loc, chosen)]
    per_file = [(str(f.path), detect_kind(str(f.path), ctx, _probe(loc, allow_private, marking)))
                for f in iter_local_files(loc) if not is_protected(f.path, ctx.settings)]
    if all(k == chosen for _, k in per_file) and (
            chosen == "files" or all(Path(p).parent == Path(loc) for p, _ in per_file)):
        return [(loc, chosen)]
    return per_file


def _ingest_one(loc: str, chosen: str, ctx: CollectContext, allow_private: bool,
                marking: Marking, json_: bool) -> RunResult:
    store = state.store
    cls: type[Collector] = get_collector(chosen)
    source = store.get_source(f"ingest:{loc}"[:200])
    if source is None:
        source = _probe(loc, allow_private, marking)
        source.kind = chosen
        store.add_source(source)
    else:
        # saved, so `quarantine retry` re-reads with the collector this ingest used
        source.kind, source.allow_private, source.marking = chosen, allow_private, marking
        store.update_source(source)
    with progress_for(f"{chosen} {Path(loc).name or loc}", json_) as update:
        return run_source(store, source, ctx, use_checkpoint=False, progress=update,
                          collector_cls=cls)
