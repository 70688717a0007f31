"""``allsource export``: a story, a case, a search, an entity with its neighbourhood, a
watchlist's hits or a time window as a STIX 2.1 bundle, a MISP event or a MISP feed folder
(see :mod:`allsource.share.exports`). The CLI is the local operator: it exports what the
store holds for them — or, with ``--as USER``, exactly what that user would get from
``GET /api/v1/export``: an enabled user whose role may read, and their access (TLP,
clearance, compartments, groups) decides what the file holds. The export is recorded in the
audit chain (with the user it was made for) before it is written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from allsource.cli.audit import record_read
from allsource.cli.common import console, parse_when, state
from allsource.errors import InputError
from allsource.model.markings import Audience

#: the roles that may export through the API (``GET /api/v1/export``)
EXPORT_ROLES = frozenset({"admin", "analyst", "reader", "partner"})


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
    as_user: Annotated[str | None, typer.Option(
        "--as", help="Export as this user (name or id): only what their access lets them "
                     "read, as the API would give them.")] = None,
) -> None:
    """Export a selection as STIX 2.1, a MISP event or a MISP feed. Without a selection
    option, everything collected in --since/--until (at most 5,000 documents)."""
    from allsource.share import exports

    if fmt not in exports.FORMATS:
        raise InputError(f"unknown format {fmt!r}: use one of {', '.join(exports.FORMATS)}")
    options: dict[str, Any] = {"story": story, "case": case, "query": query, "entity": entity,
               "watchlist": watchlist, "since": parse_when(since), "until": parse_when(until)}
    audience = Audience.owner() if as_user is None else audience_for(as_user)
    made_for = {} if as_user is None else {"as_user": as_user}
    if fmt == "misp-feed":
        if str(output) == "-":
            raise InputError("misp-feed writes a folder: give -o FOLDER")
        counts = exports.export_feed(state.store, audience, output, **options)
        record_read("export", f"misp-feed:{output}", count=counts["events"], **made_for)
        console.print(f"wrote a MISP feed of {counts['events']:,} events "
                      f"({counts['hashes']:,} hashes) to {output}")
        return
    found = exports.export(state.store, audience, fmt, **options)
    record_read("export", f"{fmt}:{found.selection.kind}", count=found.objects,
                **made_for)
    if str(output) == "-":
        typer.echo(found.body.decode())
        return
    output.write_bytes(found.body)
    more = " (truncated: the selection holds more)" if found.selection.truncated else ""
    console.print(f"wrote {found.objects:,} {'objects' if fmt == 'stix' else 'attributes'} "
                  f"of {found.selection.label} to {output}{more}")


def audience_for(name: str) -> Audience:
    """What ``name`` may export: the API's checks (an enabled user with a reading role) and
    then their access; a one-line error otherwise."""
    from allsource.store import users

    user = users.get_user(state.store, name)
    if user is None:
        raise InputError(f"no user {name!r} (see `allsource user list`)")
    if user.disabled:
        raise InputError(f"user {user.name!r} is disabled: they may not export")
    if user.role not in EXPORT_ROLES:
        raise InputError(f"user {user.name!r} has the {user.role} role, which may not export")
    return user.audience
