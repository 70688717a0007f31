"""``allsource export``: a story, a case, a search, an entity with its neighbourhood, a
watchlist's hits or a time window as a STIX 2.1 bundle, a MISP event or a MISP feed folder
(see :mod:`allsource.share.exports`). The CLI is the local operator: it exports what the
store holds for them, and the export is recorded in the audit chain before it is written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from allsource.cli.audit import record_read
from allsource.cli.common import console, parse_when, state
from allsource.errors import InputError
from allsource.model.markings import Audience


def register(app: typer.Typer) -> None:
    app.command("export")(export)


def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write (a folder for "
                                         "misp-feed); '-' for standard output.")],
    fmt: Annotated[str, typer.Option("--format", "-f",
                                     help="stix (STIX 2.1 bundle), misp (one MISP event) "
                                          "or misp-feed (a MISP feed folder).")] = "stix",
    story: Annotated[str | None, typer.Option(help="A story's id.")] = None,
    case: Annotated[str | None, typer.Option(help="A case's id.")] = None,
    query: Annotated[str | None, typer.Option(help="A search query: every match.")] = None,
    entity: Annotated[str | None, typer.Option(help="An entity's name or id, with its "
                                                    "neighbourhood.")] = None,
    watchlist: Annotated[str | None, typer.Option(help="A watchlist's hits.")] = None,
    since: Annotated[str | None, typer.Option(help="Collected since (YYYY-MM-DD, ISO "
                                                   "time or 7d).")] = None,
    until: Annotated[str | None, typer.Option(help="Collected before.")] = None,
) -> None:
    """Export a selection as STIX 2.1, a MISP event or a MISP feed. Without a selection
    option, everything collected in --since/--until (at most 5,000 documents)."""
    from allsource.share import exports

    if fmt not in exports.FORMATS:
        raise InputError(f"unknown format {fmt!r}: use one of {', '.join(exports.FORMATS)}")
    options: dict[str, Any] = {"story": story, "case": case, "query": query, "entity": entity,
               "watchlist": watchlist, "since": parse_when(since), "until": parse_when(until)}
    audience = Audience.owner()
    if fmt == "misp-feed":
        if str(output) == "-":
            raise InputError("misp-feed writes a folder: give -o FOLDER")
        counts = exports.export_feed(state.store, audience, output, **options)
        record_read("export", f"misp-feed:{output}", count=counts["events"])
        console.print(f"wrote a MISP feed of {counts['events']:,} events "
                      f"({counts['hashes']:,} hashes) to {output}")
        return
    found = exports.export(state.store, audience, fmt, **options)
    record_read("export", f"{fmt}:{found.selection.kind}", count=found.objects)
    if str(output) == "-":
        typer.echo(found.body.decode())
        return
    output.write_bytes(found.body)
    more = " (truncated: the selection holds more)" if found.selection.truncated else ""
    console.print(f"wrote {found.objects:,} {'objects' if fmt == 'stix' else 'attributes'} "
                  f"of {found.selection.label} to {output}{more}")
