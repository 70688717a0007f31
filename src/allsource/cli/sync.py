"""``allsource sync``: partner sync rounds (pull the delta, push sightings and notes back)
with every TAXII partner source, once or every N seconds (:mod:`allsource.share.sync`,
:mod:`allsource.share.sync_loop`). One line per partner per round; Ctrl-C stops cleanly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from sqlalchemy.exc import OperationalError

from allsource.cli.collecting import progress_for
from allsource.cli.common import console, err_console, state
from allsource.errors import AllsourceError, InputError
from allsource.model.records import Source

if TYPE_CHECKING:
    from allsource.share.sync import SyncResult


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)


def partners(names: list[str] | None) -> list[Source]:
    """The named sources, or every enabled TAXII source."""
    if names:
        found = [state.source(n) for n in names]
        wrong = [s.name for s in found if s.kind != "taxii"]
        if wrong:
            raise InputError(f"not TAXII sources: {', '.join(wrong)} (sync runs over TAXII)")
        return found
    chosen = [s for s in state.store.list_sources() if s.kind == "taxii" and s.enabled]
    if not chosen:
        raise InputError("no TAXII partner source: add one with `allsource source add NAME "
                         "taxii https://partner/taxii2/ -o token_env=VAR`")
    return chosen


def line(result: SyncResult) -> str:
    """One round with one partner, as one line."""
    c, p = result.pulled.counts, result.pushed
    text = (f"{result.source}: pulled {c.objects + c.relationships:,} new "
            f"({c.items:,} items, {c.quarantined:,} quarantined); pushed {p.accepted:,} of "
            f"{p.posted:,} back")
    if p.refused:
        text += f" ({len(p.refused)} refused: {p.refused[0]})"
    if result.errors:
        text += " — " + "; ".join(result.errors)
    return text


def sync(
    source: Annotated[list[str] | None, typer.Argument(help="Partner sources (TAXII); "
                                                          "default: every enabled one.")] = None,
    every: Annotated[float, typer.Option(help="Seconds between rounds.", min=1)] = 300.0,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit (status 1 if "
                                                      "it failed).")] = False,
    rounds: Annotated[int | None, typer.Option(help="Stop after this many rounds.",
                                               min=1)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress line.")] = False,
) -> None:
    """Sync with partners over TAXII: pull what they have that this store does not hold
    (their manifest first: nothing already held is downloaded again), then push back our
    sightings, notes and opinions about their objects. Repeats every --every seconds with
    backoff after failures until Ctrl-C; --once runs one round."""
    from allsource.share.sync import sync_source
    from allsource.share.sync_loop import run_loop

    chosen = partners(source)
    ctx = state.context()

    def step(number: int) -> bool:
        ok = True
        for partner in chosen:
            try:
                with progress_for(f"round {number} · {partner.name}", quiet) as update:
                    result = sync_source(state.store, partner, ctx, progress=update)
            except AllsourceError as exc:
                err_console.print(f"[red]{escape(partner.name)}: {escape(str(exc))}[/red]")
                ok = False
                continue
            except OperationalError as exc:  # the database busy or gone: try next round
                first = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
                err_console.print(f"[red]{escape(partner.name)}: the store failed "
                                  f"({escape(first)}); retrying next round[/red]")
                ok = False
                continue
            ok = ok and result.ok
            style = "green" if result.ok else "red"
            console.print(f"[{style}]round {number}[/{style}] {escape(line(result))}")
        return ok

    try:
        done = run_loop(step, every=every, rounds=1 if once else rounds,
                        say=lambda text: err_console.print(escape(text)))
    finally:
        ctx.close()
    if once and done.failed:
        raise typer.Exit(1)
