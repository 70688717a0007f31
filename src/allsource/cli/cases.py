"""``allsource case new|list|hypothesis|evidence|rate|show|close|reopen``: Analysis of
Competing Hypotheses workspaces (scores and formulas: :mod:`allsource.analyze.ach`).

Hypotheses and evidence are named by their labels in ``case show`` (``H1``, ``E2``) or ids;
a case by its id or the first 8 characters of its UUID."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from allsource.analyze import ach
from allsource.analyze.ach import AchResult, Rating
from allsource.cli.common import IdsOpt, analyst_name, console, print_ids, print_json, state
from allsource.errors import InputError
from allsource.model.markings import TLP, Marking
from allsource.store import cases as cs

case_app = typer.Typer(help="Analysis of Competing Hypotheses (ACH) case workspaces.",
                       no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
AnalystOpt = Annotated[str | None, typer.Option(
    "--analyst", help="Who is acting (default: the login name).")]
CaseArg = Annotated[str, typer.Argument(help="Case id, or the first 8 characters of its id.")]

_RATING_STYLE = {Rating.VERY_CONSISTENT: "bold green", Rating.CONSISTENT: "green",
                 Rating.NEUTRAL: "dim", Rating.INCONSISTENT: "red",
                 Rating.VERY_INCONSISTENT: "bold red"}


def register(app: typer.Typer) -> None:
    app.add_typer(case_app, name="case")



def _short(case_id: str) -> str:
    return case_id.rsplit("--", 1)[-1][:8]


@case_app.command("new")
def new(
    title: Annotated[str, typer.Argument(help="A short name for the case.")],
    question: Annotated[str, typer.Option(help="The question the hypotheses answer.")] = "",
    tlp: Annotated[str, typer.Option(help="The case's TLP marking.")] = "TLP:CLEAR",
    analyst: AnalystOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Open a new case."""
    try:
        marking = Marking(tlp=TLP.parse(tlp))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    case = cs.create_case(state.store, title, owner=analyst_name(analyst), question=question,
                          marking=marking)
    if json_:
        print_json(case.as_dict())
        return
    console.print(f"case [bold]{_short(case.id)}[/bold] opened: {escape(case.title)}")


@case_app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="open or closed (default: all).")] = None,
    ids: IdsOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Cases, most recently changed first (short ids; --ids or --json: full ids)."""
    found, _ = cs.list_cases(state.store, status=status, limit=10_000)
    if json_:
        print_json([c.as_dict() for c in found])
        return
    if ids:
        print_ids(c.id for c in found)
        return
    table = Table(title=f"{len(found)} case(s)")
    for col in ("id", "status", "title", "owner", "tlp", "updated"):
        table.add_column(col, no_wrap=col != "title")
    for c in found:
        table.add_row(_short(c.id), c.status, escape(c.title), escape(c.owner),
                      c.marking.tlp.label, c.updated_at.strftime("%Y-%m-%d %H:%M"))
    console.print(table)


@case_app.command("hypothesis")
def hypothesis(
    case: CaseArg,
    title: Annotated[str, typer.Argument(help="The hypothesis, as a statement.")],
    description: Annotated[str, typer.Option(help="Longer explanation.")] = "",
    analyst: AnalystOpt = None,
) -> None:
    """Add a hypothesis (a column of the matrix)."""
    h = cs.add_hypothesis(state.store, case, title, actor=analyst_name(analyst),
                          description=description)
    console.print(f"{h.label} added: {escape(h.title)}")


@case_app.command("evidence")
def evidence(
    case: CaseArg,
    document: Annotated[str | None, typer.Option(
        "--document", help="A stored document's id (its grade gives the credibility).")] = None,
    claim: Annotated[str | None, typer.Option(
        "--claim", help="A graded claim's key (see `allsource verify`).")] = None,
    claim_value: Annotated[str | None, typer.Option(help="The claim's value, if any.")] = None,
    text: Annotated[str, typer.Option(
        "--text", help="What the evidence says (default: the document's title).")] = "",
    relevance: Annotated[str, typer.Option(help="low, medium or high.")] = "medium",
    credibility: Annotated[int | None, typer.Option(
        help="Override the Admiralty credibility (1-6).")] = None,
    analyst: AnalystOpt = None,
) -> None:
    """Add evidence (a row of the matrix): a document, a graded claim, or a note such as an
    assumption or an absence of evidence."""
    e = cs.add_evidence(state.store, case, actor=analyst_name(analyst), description=text,
                        document_id=document, claim_key=claim, claim_value=claim_value,
                        credibility=credibility, relevance=relevance)
    cred = f"credibility {e.credibility} ({e.credibility_from})" if e.credibility else \
        "no credibility grade"
    console.print(f"{e.label} added: {escape(e.description[:100])} · {cred} · "
                  f"relevance {e.relevance.value}")


@case_app.command("rate")
def rate(
    case: CaseArg,
    evidence: Annotated[str, typer.Argument(help="Evidence label (E1) or id.")],
    hypothesis: Annotated[str, typer.Argument(help="Hypothesis label (H1) or id.")],
    rating: Annotated[str, typer.Argument(
        help="CC (very consistent), C, N (neutral / not applicable), I, II (very "
             "inconsistent); '-' clears the cell.")],
    note: Annotated[str, typer.Option(help="Why (kept with the rating).")] = "",
    analyst: AnalystOpt = None,
) -> None:
    """Rate how consistent one piece of evidence is with one hypothesis."""
    value = None if rating.strip() == "-" else rating
    cs.set_rating(state.store, case, evidence, hypothesis, value, actor=analyst_name(analyst),
                  note=note)
    console.print(f"{evidence.upper()} × {hypothesis.upper()} = {value.upper() if value else '—'}")


def _status(case: CaseArg, status: str, analyst: str | None) -> None:
    c = cs.update_case(state.store, case, actor=analyst_name(analyst), status=status)
    console.print(f"case {_short(c.id)} is {c.status}")


@case_app.command("close")
def close(case: CaseArg, analyst: AnalystOpt = None) -> None:
    """Close a case (it can no longer be changed until reopened)."""
    _status(case, "closed", analyst)


@case_app.command("reopen")
def reopen(case: CaseArg, analyst: AnalystOpt = None) -> None:
    """Reopen a closed case."""
    _status(case, "open", analyst)


@case_app.command("show")
def show(case: CaseArg, json_: JsonOpt = False) -> None:
    """The ACH matrix: ratings, weighted inconsistency scores (least inconsistent first is
    the most likely), diagnosticity of each item and the linchpins."""
    ws = cs.workspace(state.store, case)
    result = ach.analyze_workspace(ws)
    if json_:
        print_json({**ws.as_dict(), "analysis": result.as_dict()})
        return
    _print_matrix(ws, result)


def _print_matrix(ws: cs.Workspace, result: AchResult) -> None:
    c = ws.case
    console.print(f"[bold]{escape(c.title)}[/bold]  ({_short(c.id)} · {c.status} · "
                  f"{c.marking.tlp.label} · owner {escape(c.owner)})")
    if c.question:
        console.print(f"question: {escape(c.question)}")
    if not ws.hypotheses or not ws.evidence:
        console.print("add hypotheses and evidence: `allsource case hypothesis` and "
                      "`allsource case evidence`")
        return
    scores = {h.id: h for h in result.hypotheses}
    labels = {h.id: h.label for h in ws.hypotheses}
    table = Table(title="ACH matrix (Heuer)", show_footer=True)
    table.add_column("", footer="weighted inconsistency\nrank", no_wrap=True)
    # the evidence is the prose: it takes the width left and wraps; ratings never wrap
    table.add_column("evidence", footer="", ratio=1, min_width=16, overflow="fold")
    table.add_column("cred", justify="right", footer="", no_wrap=True)
    table.add_column("rel", footer="", no_wrap=True)
    for h in ws.hypotheses:
        s = scores[h.id]
        table.add_column(h.label, justify="center", no_wrap=True,
                         footer=f"{s.weighted:.2f}\n{'*' if s.id in result.leaders else ''}"
                                f"{s.rank}")
    table.add_column("diag", justify="right", footer="", no_wrap=True)
    analysis = {e.id: e for e in result.evidence}
    for e in ws.evidence:
        a = analysis[e.id]
        cells = []
        for h in ws.hypotheses:
            r = a.ratings[h.id]
            cells.append(f"[{_RATING_STYLE[r]}]{r.value}[/]" if r else "[dim]·[/dim]")
        mark = " [bold yellow]![/]" if a.linchpin else ""
        table.add_row(f"{e.label}{mark}", escape(e.description[:70]),
                      str(e.credibility) if e.credibility else "-", e.relevance.value[0],
                      *cells, f"{a.diagnosticity:.2f}")
    console.print(table)
    for n, h in enumerate(ws.hypotheses, 1):
        console.print(f"H{n}: {escape(h.title)}")
    lead = ", ".join(labels[i] for i in result.leaders)
    margin = "" if result.margin is None else f" · margin {result.margin:.2f}"
    console.print(f"most likely (least inconsistent): {lead}"
                  f"{' (tie)' if result.tied else ''}{margin}"
                  + (f" · {result.unrated} cell(s) unrated" if result.unrated else ""))
    if result.linchpins:
        names = {e.id: e.label for e in ws.evidence}
        console.print("linchpins (if wrong or removed, the conclusion changes): "
                      + ", ".join(names[i] for i in result.linchpins))
    else:
        console.print("no linchpins: no single item, removed or reversed, changes the leader")
