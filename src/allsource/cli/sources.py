"""``allsource init`` and ``allsource source add|list|show|remove``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from allsource.cli.common import console, parse_duration, print_json, state
from allsource.cli.source_checks import check_source_location
from allsource.cli.tables import Column, WideOpt, fitted, print_table
from allsource.collect.roots import check_location
from allsource.errors import InputError, SourceError
from allsource.model.markings import TLP, Classification, Marking
from allsource.model.records import Source
from allsource.plugins import collectors, get_collector

source_app = typer.Typer(help="Configure the sources allsource collects from.",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(source_app, name="source")


def init(no_encryption: Annotated[bool, typer.Option(
        "--no-encryption", help="Do not create a key file: keep the store in plain text.")]
         = False) -> None:
    """Create (or upgrade) the store; encrypted unless --no-encryption. Safe to run again."""
    from allsource.cli.keys import ensure_key_file

    key_file = None if no_encryption else ensure_key_file()
    if key_file is not None:
        console.print(f"encryption key created: [bold]{key_file.resolve()}[/bold] (mode 0600)"
                      " — keep a copy off this disk; without it the store cannot be read")
    store = state.store
    console.print(f"store ready: [bold]{store.safe_url}[/bold]")
    console.print(f"raw inputs kept in: [bold]{store.blobs.root.resolve()}[/bold]")
    from allsource.cli.users import init_admin

    init_admin(store)
    from allsource.cli.audit import ensure_key

    if (key := ensure_key(state.settings.audit_key_file)) is not None:
        console.print(f"audit key created: [bold]{state.settings.audit_key_file}[/bold] "
                      f"(public key {key.public_hex})")
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
    """Add a source. The location is checked now (an existing file or folder, an http(s)
    URL, a galaxy name: what KIND reads); nothing is stored when it does not fit."""
    cls = get_collector(kind)
    check_source_location(kind, location)
    check_location(state.settings, location)
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
                          ] = False, wide: WideOpt = False) -> None:
    """List configured sources with their last collection status (its details: `source
    show NAME`)."""
    store = state.store
    views = [source_view(s, store.source_status(s.id)) for s in store.list_sources()]
    if json_:
        print_json(views)
        return
    if not views:
        console.print("no sources yet: [cyan]allsource source add NAME KIND LOCATION[/cyan]")
        return
    columns = (Column("name"), Column("kind"), Column("location", flex=True),
               Column("TLP", keep=False), Column("every", keep=False),
               Column("documents", justify="right"), Column("quarantined", keep=False,
                                                            justify="right"),
               Column("last run"))
    rows = [{"name": escape(v["name"]), "kind": v["kind"], "location": escape(v["location"]),
             "TLP": v["marking"]["tlp"].removeprefix("TLP:"),
             "every": _every(v["schedule_seconds"]), "documents": f"{v['documents']:,}",
             "quarantined": str(v["quarantined"]),
             # the status word; its counts are in `source show`
             "last run": (v["last_status"] or "never").partition(":")[0]} for v in views]
    print_table(fitted(columns, rows, wide=wide, more="--wide, or `source show NAME`"), wide)


def _every(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@source_app.command("show")
def show(name: str,
         json_: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False
         ) -> None:
    """Show one source: settings, last run, and its reliability grade with how it was
    reached (from `allsource verify`)."""
    from allsource.cli.verify import print_source_grade
    from allsource.verify.run import get_grade, override_history

    source = state.source(name)
    view = source_view(source, state.store.source_status(source.id))
    grade = get_grade(state.store, "source", source.id)
    view["reliability"] = grade["reliability"] if grade else "F"
    view["grade_explanation"] = grade["explanation"] if grade else {
        "rule": "not graded yet: run `allsource verify`"}
    view["overrides"] = [{**o, "created_at": o["created_at"].isoformat()}
                         for o in override_history(state.store, source.id)]
    if json_:
        print_json(view)
        return
    # the names never wrap; a long value (a URL, the settings) folds onto the next lines
    table = Table(show_header=False, box=None)
    table.add_column("setting", no_wrap=True)
    table.add_column("value", ratio=1, overflow="fold")
    for key, value in view.items():
        if key not in ("grade_explanation", "overrides"):
            table.add_row(f"[bold]{key}[/bold]", str(value))
    console.print(table)
    print_source_grade(view["reliability"], view["grade_explanation"], view["overrides"])


@source_app.command("grade")
def grade(
    name: str,
    reliability: Annotated[str | None, typer.Argument(
        help="A–F, the analyst's reliability grade (omit with --clear).")] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (required, kept on record).")
                      ] = "",
    analyst: Annotated[str | None, typer.Option("--analyst", help="Who (default: login).")
                       ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Back to the computed grade.")
                     ] = False,
) -> None:
    """Override a source's computed reliability (recorded: who, when, why)."""
    from allsource.cli.common import analyst_name
    from allsource.model.admiralty import Reliability
    from allsource.verify.run import set_override

    source = state.source(name)
    if not reason.strip():
        raise InputError("say why with --reason (it is kept with the override)")
    if clear == (reliability is not None):
        raise InputError("give a grade A–F, or --clear to return to the computed grade")
    try:
        grade_value = Reliability.parse(reliability) if reliability else None
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    set_override(state.store, source.id, grade_value, analyst_name(analyst), reason.strip())
    what = grade_value.value if grade_value else "the computed grade"
    console.print(f"{source.name}: reliability set to [bold]{what}[/bold]; "
                  "run [cyan]allsource verify[/cyan] to re-grade what it reported")


@source_app.command("remove")
def remove(name: str) -> None:
    """Remove a source's configuration (collected documents are kept)."""
    if not state.store.remove_source(name):
        raise SourceError(f"unknown source {name!r} (see `allsource source list`)")
    console.print(f"removed source [bold]{name}[/bold]; its documents stay in the store")
