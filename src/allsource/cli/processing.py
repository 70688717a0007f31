"""``allsource process`` (stored documents; ``--rebuild`` first derives them again from their
kept raw blobs) and ``allsource extract`` (any text, nothing stored)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TimeRemainingColumn,
)
from rich.table import Table

from allsource.cli.annotations import annotation_line, explanations
from allsource.cli.common import console, err_console, parse_when, print_json, say, state
from allsource.cli.found import print_found
from allsource.collect.inputs import read_file
from allsource.engine.inline import InlineEngine
from allsource.errors import InputError
from allsource.model.ids import sha256_hex
from allsource.process.base import Work
from allsource.process.pipeline import Pipeline, build_pipeline
from allsource.process.rebuild import RebuildResult, rebuild_documents
from allsource.process.runner import (
    BATCH_SIZE,
    Engine,
    ProcessResult,
    process_store,
    run_guarded,
)
from allsource.store.sql import SqlStore


def register(app: typer.Typer) -> None:
    app.command("process")(process)
    app.command("extract")(extract)


def make_engine(pipeline: Pipeline, workers: int, engine: str = "auto",
                scheduler: str | None = None) -> Engine:
    """``inline``; ``pool`` (local processes); ``dask`` (a local cluster of ``workers``, or the
    cluster at ``scheduler``); ``auto`` = pool when ``workers`` > 1, else inline."""
    if engine == "dask" or scheduler:
        from allsource.engine.dask import DaskEngine

        return DaskEngine(pipeline, address=scheduler, workers=workers)
    if engine == "pool" or (engine == "auto" and workers > 1):
        from allsource.engine.pool import PoolEngine

        return PoolEngine(pipeline, max(workers, 1))
    if engine not in ("auto", "inline"):
        raise InputError(f"unknown engine {engine!r}: use inline, pool or dask")
    return InlineEngine(pipeline)


def _stage_list(stages: str | None) -> list[str] | None:
    return [s.strip() for s in stages.split(",") if s.strip()] if stages else None


def breakdown(result: ProcessResult) -> Table:
    table = Table("stage", "seconds", "ms/doc", "share", title="time by stage")
    total = sum(result.stage_seconds.values()) or 1.0
    for name, seconds in result.stage_seconds.items():
        per_doc = 1000 * seconds / max(result.documents, 1)
        table.add_row(name, f"{seconds:.2f}", f"{per_doc:.2f}", f"{100 * seconds / total:.0f}%")
    return table


def process(
    stage: Annotated[str | None, typer.Option(
        help="Comma-separated stages (with what they need); default: the default pipeline.")
                     ] = None,
    since: Annotated[str | None, typer.Option(help="Only documents from this date (or 7d).")
                     ] = None,
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeatable).")
                      ] = None,
    all_: Annotated[bool, typer.Option(
        "--all", help="Redo documents already processed (with --rebuild: every source).")
                    ] = False,
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="First derive the documents of --source (or --all) again from their "
                          "kept raw blobs, e.g. after a collector fix, then process them.")
                       ] = False,
    workers: Annotated[int, typer.Option(help="Worker processes for parallel stages.")] = 1,
    engine_name: Annotated[str, typer.Option(
        "--engine", help="inline, pool (local processes) or dask (local or remote cluster).")
                           ] = "auto",
    scheduler: Annotated[str | None, typer.Option(
        help="Address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786.")] = None,
    batch_size: Annotated[int, typer.Option(help="Documents per batch.")] = BATCH_SIZE,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
) -> None:
    """Run the processing stages over stored documents that need them.

    With --rebuild, the sources' documents are first derived again from their kept raw blobs
    (no network), replacing what was derived from them; documents that cannot be rebuilt are
    kept as they are and reported."""
    store = state.store
    if not 1 <= workers <= 64:
        raise InputError("--workers must be between 1 and 64")
    if rebuild and not (source or all_):
        raise InputError("--rebuild needs --source NAME (repeatable) or --all")
    if rebuild and since:
        raise InputError("--rebuild works on whole sources: drop --since")
    source_ids = [state.source(name).id for name in source or []]
    quiet = json_ or not err_console.is_terminal
    rebuilt = _rebuild(store, source_ids, batch_size, quiet) if rebuild else None
    if rebuilt is not None and not json_:
        _print_rebuild(rebuilt)
    # after a rebuild, the rebuilt documents are due again: --all there means every source
    everything = all_ and not rebuild
    runs = pipeline_runs(store, _stage_list(stage), source_ids)
    result, pipeline = ProcessResult(), runs[0][0]
    for run_pipeline, run_sources, excluded in runs:
        if not run_pipeline.stages:
            raise InputError("no processing stages are registered")
        engine = make_engine(run_pipeline, workers, engine_name, scheduler)
        try:
            if quiet:
                part = process_store(store, run_pipeline, engine, batch_size=batch_size,
                                     since=parse_when(since), source_ids=run_sources,
                                     everything=everything, exclude_source_ids=excluded)
            else:
                with _bar() as bar:
                    task = bar.add_task("processing", total=None)

                    def report(done: int, total: int, bar: Progress = bar,
                               task: TaskID = task) -> None:
                        bar.update(task, completed=done, total=total)

                    part = process_store(
                        store, run_pipeline, engine, batch_size=batch_size,
                        since=parse_when(since), source_ids=run_sources,
                        everything=everything, exclude_source_ids=excluded, progress=report)
        finally:
            engine.close()
        result.merge(part)
    from allsource.analyze.semantic import index_embeddings

    embedded = index_embeddings(store)  # search by meaning: vectors for new documents
    linked = None
    if any("entities" in run_pipeline.names for run_pipeline, _, _ in runs):
        from allsource.process.linking import link_store

        # collected objects joined to their canonical entity (also what was stored before)
        linked = link_store(store)
    summary: dict[str, Any] = {
        "documents": result.documents, "new_objects": result.objects,
        "failures": result.failures, "seconds": round(result.seconds, 3),
        "docs_per_second": round(result.docs_per_second, 1),
        "stages": pipeline.names, "workers": workers, "embedded": embedded,
        "source_pipelines": {state.source(sid).name: names
                             for sid, names in source_stages(store).items()},
        "stage_seconds": {k: round(v, 3) for k, v in result.stage_seconds.items()}}
    if rebuilt is not None:
        summary["rebuild"] = rebuilt.as_dict()
    if linked is not None:
        summary["entity_links"] = linked.as_dict()
    if json_:
        print_json(summary)
    else:
        console.print(f"processed {result.documents} documents with "
                      f"{', '.join(pipeline.names)} in {result.seconds:.1f}s "
                      f"({result.docs_per_second:.0f} docs/s); {result.objects} new objects; "
                      f"{result.failures} failures")
        if result.documents:
            console.print(breakdown(result))
        if linked is not None and (linked.moved or linked.released or linked.created):
            console.print(f"entities: {linked.moved} collected objects joined to their "
                          f"canonical entity ({linked.linked} links in all), "
                          f"{linked.released} released, {linked.created} entities created")
    if result.failures or (rebuilt is not None and (rebuilt.not_rebuilt or rebuilt.quarantined)):
        raise typer.Exit(1)


def _bar() -> Progress:
    return Progress(*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=err_console, transient=True)


def _rebuild(store: SqlStore, source_ids: list[str], batch_size: int, quiet: bool
             ) -> RebuildResult:
    if quiet:
        return rebuild_documents(store, state.settings, source_ids, batch_size=batch_size)
    with _bar() as bar:
        task = bar.add_task("rebuilding", total=None)
        return rebuild_documents(
            store, state.settings, source_ids, batch_size=batch_size,
            progress=lambda done, total: bar.update(task, completed=done, total=total))


def _print_rebuild(r: RebuildResult) -> None:
    console.print(f"rebuilt {r.documents} documents from {r.blobs} raw blobs in "
                  f"{r.seconds:.1f}s ({r.changed} changed, {r.quarantined} newly quarantined, "
                  f"{r.removed} derived objects dropped for reprocessing)")
    if r.not_rebuilt:
        console.print(f"kept as stored, not rebuilt: {r.missing_blobs} (raw blob missing), "
                      f"{r.not_rederived} (no longer in their blob), {r.unsupported} "
                      "(cannot be rebuilt)")
    for message in r.as_dict()["messages"]:
        console.print(f"  [dim]{escape(message)}[/dim]")


def _read_input(path: str) -> tuple[str, str]:
    """(title, text) of a file (any format the files collector reads) or stdin."""
    # imported here: the format readers (pdfminer, trafilatura) would slow every command
    from allsource.collect.extract_text import extractor_for

    if path == "-":
        data = sys.stdin.buffer.read(state.settings.max_input_bytes + 1)
        if len(data) > state.settings.max_input_bytes:
            raise InputError("standard input is over the input size cap")
        name = "stdin.txt"
    else:
        data = read_file(Path(path).expanduser(), state.settings.max_input_bytes)
        name = Path(path).name
    got = extractor_for(name, data)(data, name)
    # A title taken from the first line is already in the text: don't read it twice.
    return ("" if got.text.lstrip().startswith(got.title) else got.title), got.text


def place_view(stix: dict[str, Any]) -> dict[str, Any]:
    """Where a location is: its GeoNames id, kind, country, point and (areas) bounding box."""
    return {"geonameid": stix.get("x_allsource_geonameid"),
            "kind": stix.get("x_allsource_place_kind"), "country": stix.get("country"),
            "latitude": stix.get("latitude"), "longitude": stix.get("longitude"),
            "bbox": stix.get("x_allsource_bbox")}


def result_view(work: Work) -> dict[str, Any]:
    spans: dict[str, list[list[int]]] = {}
    extractor: dict[str, str] = {}
    for m in work.mentions:
        if m.start is not None and m.end is not None:
            spans.setdefault(m.object_id, []).append([m.start, m.end])
        extractor.setdefault(m.object_id, m.extractor)
    seen: set[str] = set()
    objects = []
    for o in work.objects:
        if o.id in seen:
            continue
        seen.add(o.id)
        view = {"id": o.id, "type": o.type, "name": o.name,
                "value_type": o.stix.get("x_allsource_value_type"),
                "aliases": o.stix.get("aliases", []),
                "extractor": extractor.get(o.id), "spans": spans.get(o.id, [])}
        if o.type == "location":
            view.update(place_view(o.stix))
        objects.append(view)
    return {"id": work.id, "annotations": work.annotations, "objects": objects,
            "relationships": [{"type": r.relationship_type, "source_ref": r.source_ref,
                               "target_ref": r.target_ref} for r in work.relationships],
            "errors": work.errors}


def source_stages(store: SqlStore) -> dict[str, list[str]]:
    """Sources with a pipeline of their own: their ``stages`` option (a list, or names
    separated by commas, e.g. ``allsource source add … -o stages=normalize,observables``)."""
    out: dict[str, list[str]] = {}
    for src in store.list_sources():
        if src.config.get("stages"):
            out[src.id] = src.list_option("stages")
    return out


def pipeline_runs(store: SqlStore, stages: list[str] | None, source_ids: list[str]
                  ) -> list[tuple[Pipeline, list[str], list[str]]]:
    """(pipeline, sources, excluded sources) per pass: the named or default pipeline for
    every document, except — when no stages are named on the command line — documents of
    sources configured with their own ``stages``, which get a pass each."""
    custom = {} if stages else source_stages(store)
    if source_ids:
        custom = {sid: names for sid, names in custom.items() if sid in source_ids}
    default_sources = [sid for sid in source_ids if sid not in custom]
    runs: list[tuple[Pipeline, list[str], list[str]]] = []
    if not source_ids or default_sources:
        runs.append((build_pipeline(stages, stage_options(), store=store), default_sources,
                     list(custom)))
    for sid, names in custom.items():
        runs.append((build_pipeline(names, stage_options(), store=store), [sid], []))
    return runs


def stage_options() -> dict[str, dict[str, Any]]:
    """Per-stage options from the settings (today: the ner stage's model and people)."""
    settings = state.settings
    ner: dict[str, Any] = {"public_figures": list(settings.ner_public_figures)}
    if settings.ner_model:
        ner["model"] = settings.ner_model
    return {"ner": ner}


def extract(
    path: Annotated[str, typer.Argument(help="A file (txt, md, html, pdf, eml, json) or - "
                                             "for standard input.")] = "-",
    stages: Annotated[str | None, typer.Option(help="Comma-separated stages to run.")] = None,
    jsonl: Annotated[bool, typer.Option(help='Read {"id", "text"} per line, write one result '
                                             "per line.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Run the processing stages on any text without storing it."""
    pipeline = build_pipeline(_stage_list(stages), stage_options())
    parallel = Pipeline([s for s in pipeline.stages if not s.sequential])
    engine = InlineEngine(parallel)
    if jsonl:
        stream = sys.stdin.buffer if path == "-" else Path(path).expanduser().open("rb")
        with stream:
            for n, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                try:
                    obj = orjson.loads(line)
                    text = str(obj.get("text") or "")
                    doc_id = str(obj.get("id") or n)
                except (orjson.JSONDecodeError, AttributeError):
                    sys.stdout.write(orjson.dumps({"line": n, "error": "invalid JSON object"})
                                     .decode() + "\n")
                    continue
                [work] = run_guarded(engine, [Work(id=doc_id, title=str(obj.get("title") or ""),
                                                   text=text)])
                sys.stdout.write(orjson.dumps(result_view(work)).decode() + "\n")
        return
    title, text = _read_input(path)
    [work] = run_guarded(engine, [Work(id=sha256_hex(text.encode())[:16], title=title,
                                       text=text)])
    view = result_view(work)
    if json_:
        print_json(view)
        return
    skipped = [s.name for s in pipeline.stages if s.sequential]
    if skipped:
        console.print(f"[dim]not run without a store: {', '.join(skipped)}[/dim]")
    for stage_name, note in work.annotations.items():
        if stage_name == "topics" and isinstance(note, dict):
            chosen = ", ".join(f"{t['topic']} {t['score']:.2f}" for t in note["topics"])
            console.print(f"[bold]topics[/bold]: {chosen or 'none above 0.5'}")
            continue
        say(escape(annotation_line(stage_name, note)))
    reasons = explanations(work.annotations.get("entities"), "why")
    if view["objects"]:
        print_found(view["objects"], reasons)
    else:
        console.print("nothing found")
