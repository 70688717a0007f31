"""``allsource init`` and ``allsource source add|list|show|remove``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from allsource.cli.common import console, parse_duration, print_json, state
from allsource.errors import InputError, SourceError
from allsource.model.markings import TLP, Classification, Marking
from allsource.model.records import Source
from allsource.plugins import collectors, get_collector

source_app = typer.Typer(help="Configure the sources allsource collects from.",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(source_app, name="source")


def init() -> None:
    """Create (or upgrade) the store. Safe to run again."""
    store = state.store
    console.print(f"store ready: [bold]{store.safe_url}[/bold]")
    console.print(f"raw inputs kept in: [bold]{store.blobs.root.resolve()}[/bold]")
    console.print("next: [cyan]allsource source add NAME KIND LOCATION[/cyan] "
                  f"(kinds: {', '.join(collectors())})")


def build_marking(tlp: str | None, classification: str | None, compartments: list[str] | None,
                  releasable_to: list[str] | None) -> Marking:
    try:
        return Marking(
            tlp=TLP.parse(tlp) if tlp else TLP.CLEAR,
            classification=(Classification.parse(classification) if classification
                            else Classification.UNCLASSIFIED),
            compartments=frozenset(compartments or ()),
            releasability=frozenset(releasable_to or ()))
    except ValueError as exc:
        raise InputError(str(exc)) from exc


def _options(pairs: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"option {pair!r} must look like key=value")
        out[key.strip()] = value.strip()
    return out


@source_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A short unique name, e.g. cisa-advisories.")],
    kind: Annotated[str, typer.Argument(help="Collector: rss, stix, taxii, misp, files, gdelt…")],
    location: Annotated[str, typer.Argument(help="URL, file or folder to collect from.")],
    every: Annotated[str | None, typer.Option(help="Polling interval for --watch (15m, 1h…).")
                     ] = None,
    tlp: Annotated[str | None, typer.Option(help="Default TLP for items without one.")] = None,
    classification: Annotated[str | None, typer.Option(help="Default classification.")] = None,
    compartment: Annotated[list[str] | None, typer.Option(help="Compartment (repeatable).")
                           ] = None,
    releasable_to: Annotated[list[str] | None, typer.Option(
        help="Releasability group (repeatable).")] = None,
    allow_private: Annotated[bool, typer.Option(
        help="Allow private/loopback addresses for this source (e.g. an internal server).")
                             ] = False,
    option: Annotated[list[str] | None, typer.Option(
        "--option", "-o", help="Collector option key=value (repeatable).")] = None,
) -> None:
    """Add a source."""
    cls = get_collector(kind)
    if not name.strip() or len(name) > 200:
        raise SourceError("a source name must be 1–200 characters")
    source = Source(
        name=name.strip(), kind=kind, location=location,
        schedule_seconds=parse_duration(every) if every else cls.default_schedule,
        allow_private=allow_private,
        marking=build_marking(tlp, classification, compartment, releasable_to),
        config=_options(option))
    state.store.add_source(source)
    console.print(f"added source [bold]{source.name}[/bold] ({kind}) → {location}")


def source_view(source: Source, status: dict[str, Any] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": source.id, "name": source.name, "kind": source.kind, "location": source.location,
        "schedule_seconds": source.schedule_seconds, "allow_private": source.allow_private,
        "enabled": source.enabled, "marking": source.marking.as_dict(), "config": source.config,
        "created_at": source.created_at.isoformat() if source.created_at else None,
    }
    if status is not None:
        view.update(status)
    return view


@source_app.command("list")
def list_(json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")
                          ] = False) -> None:
    """List configured sources with their last collection status."""
    store = state.store
    views = [source_view(s, store.source_status(s.id)) for s in store.list_sources()]
    if json_:
        print_json(views)
        return
    if not views:
        console.print("no sources yet: [cyan]allsource source add NAME KIND LOCATION[/cyan]")
        return
    table = Table("name", "kind", "location", "TLP", "every", "documents", "quarantined",
                  "last run")
    for v in views:
        table.add_row(v["name"], v["kind"], v["location"], v["marking"]["tlp"],
                      f"{v['schedule_seconds']}s", str(v["documents"]), str(v["quarantined"]),
                      v["last_status"] or "never")
    console.print(table)


@source_app.command("show")
def show(name: str,
         json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False
         ) -> None:
    """Show one source: settings, checkpoint, last run."""
    source = state.source(name)
    view = source_view(source, state.store.source_status(source.id))
    if json_:
        print_json(view)
        return
    table = Table(show_header=False, box=None)
    for key, value in view.items():
        table.add_row(f"[bold]{key}[/bold]", str(value))
    console.print(table)


@source_app.command("remove")
def remove(name: str) -> None:
    """Remove a source's configuration (collected documents are kept)."""
    if not state.store.remove_source(name):
        raise SourceError(f"unknown source {name!r} (see `allsource source list`)")
    console.print(f"removed source [bold]{name}[/bold]; its documents stay in the store")
