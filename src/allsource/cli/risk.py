"""``allsource risk score|top|show``: risk of indicators, entities and stories
(likelihood × impact, indicators decaying like MISP's decaying models; see
:mod:`allsource.assess.risk`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from allsource.assess.risk import SUBJECT_TYPES
from allsource.assess.risk_run import StoredRisk, find_scores, score_store, top_scores
from allsource.cli.common import IdsOpt, console, parse_when, print_ids, print_json, state
from allsource.cli.tables import Column, WideOpt, fitted, print_table
from allsource.errors import InputError

risk_app = typer.Typer(help="Risk scores: likelihood × impact, explained, with decay.",
                       no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    app.add_typer(risk_app, name="risk")


def _kind(kind: str | None) -> str | None:
    if kind is None:
        return None
    value = kind.strip().lower()
    if value not in SUBJECT_TYPES:
        raise InputError(f"unknown kind {kind!r}: use {', '.join(SUBJECT_TYPES)}")
    return value


# no id column: a 50-character id squeezes every other column; `risk show NAME` takes the
# name shown, and --ids/--json give the ids
_COLUMNS = (Column("risk", justify="right"), Column("kind"), Column("name", flex=True),
            Column("likelihood", keep=False, justify="right"),
            Column("impact", keep=False, justify="right"), Column("last seen"),
            Column("expires", keep=False))


def _table(title: str, found: list[StoredRisk], wide: bool = False) -> Table:
    rows = []
    for x in found:
        r = x.risk
        expires = "-" if r.expires_at is None else f"{r.expires_at:%Y-%m-%d}"
        if r.impact.warninglists:
            expires += " (warninglisted)"
        rows.append({"risk": str(r.score100), "kind": r.kind, "name": escape(r.name[:80]),
                     "likelihood": f"{r.likelihood.value:.2f}",
                     "impact": f"{r.impact.value:.2f}",
                     "last seen": "-" if r.last_seen is None else f"{r.last_seen:%Y-%m-%d}",
                     "expires": expires})
    return fitted(_COLUMNS, rows, title=title, wide=wide, more="--wide, or `risk show NAME`")


@risk_app.command("score")
def score(
    top: Annotated[int, typer.Option("--top", help="Show this many of each kind.")] = 5,
    at: Annotated[str | None, typer.Option(
        "--at", help="Score as of this time (YYYY-MM-DD or ISO; default now).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Score every indicator, entity and story, store the scores and show the highest."""
    when = parse_when(at)
    with console.status("scoring…") as status:
        summary = score_store(state.store, state.settings, now=when,
                              progress=lambda msg: status.update(msg))
    best = {kind: top_scores(state.store, kind=kind, limit=top, now=summary.now)
            for kind in SUBJECT_TYPES} if top > 0 else {}
    if json_:
        print_json({**summary.as_dict(),
                    "top": {k: [x.as_dict() for x in v] for k, v in best.items()}})
        return
    console.print(f"scored {summary.indicators:,} indicators ({summary.expired:,} expired, "
                  f"{summary.warninglisted:,} warninglisted), {summary.entities:,} entities and "
                  f"{summary.stories:,} stories in {summary.seconds:.1f} s")
    for kind, found in best.items():
        if found:
            console.print(_table(f"highest risk: {kind}", found))
    console.print("explain one: [cyan]allsource risk show ID-OR-NAME[/cyan]")


@risk_app.command("top")
def top_cmd(
    kind: Annotated[str | None, typer.Option(
        "--kind", help="indicator, entity or story (default: all).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 20,
    expired: Annotated[bool, typer.Option(
        "--expired", help="Include indicators that have expired.")] = False,
    wide: WideOpt = False,
    ids: IdsOpt = False,
    json_: JsonOpt = False,
) -> None:
    """The highest stored risk scores (run `allsource risk score` first); --ids or --json
    give the scored things' ids."""
    found = top_scores(state.store, kind=_kind(kind), limit=limit, include_expired=expired)
    if json_:
        print_json([x.as_dict() for x in found])
        return
    if ids:
        print_ids(x.risk.subject_id for x in found)
        return
    if not found:
        console.print("no risk scores: run `allsource risk score` first")
        return
    print_table(_table("highest risk", found, wide), wide)


@risk_app.command("show")
def show(
    subject: Annotated[str, typer.Argument(
        help="An object or story id, or a name (an indicator's value, an entity's name).")],
    json_: JsonOpt = False,
) -> None:
    """Explain a risk score: each component, its value and where it came from."""
    found = find_scores(state.store, subject)
    if not found:
        raise InputError(f"no risk score for {subject!r}: run `allsource risk score` first, or "
                         "check the id or name")
    if json_:
        print_json([x.as_dict() for x in found])
        return
    for i, x in enumerate(found):
        if i:
            console.print()
        console.print(escape(x.risk.explain()), highlight=False, soft_wrap=True)
        console.print(f"  id {escape(x.risk.subject_id)} · marking {x.marking.tlp.label} · "
                      f"computed {x.computed_at:%Y-%m-%d %H:%M} UTC", highlight=False)
