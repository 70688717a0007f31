"""``allsource insider scan``: insider-risk detection over the audit log.

Each user is compared with their own baseline of access (volume, exports, searches,
compartments, hours, sensitivity); each episode that departs from it is printed, explained,
and raised as an admin-only alert (see :mod:`allsource.assess.insider_run`). The output is
plain text wrapped at 80 columns, so it reads the same in a terminal, a mail or a log.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from allsource.cli.common import parse_when, print_json, state

insider_app = typer.Typer(help="Insider-risk detection: users departing from their own "
                               "baseline of access.", no_args_is_help=True)

WIDTH = 80


def register(app: typer.Typer) -> None:
    app.add_typer(insider_app, name="insider")


@insider_app.command("scan")
def scan(
    since: Annotated[str, typer.Option(
        help="Report episodes starting at or after this: YYYY-MM-DD, an ISO time or an age "
             "such as 7d (the baselines are learned from the weeks before it).")] = "7d",
    until: Annotated[str | None, typer.Option(
        help="Only events before this (default: now).")] = None,
    raise_: Annotated[bool, typer.Option(
        "--raise/--no-raise", help="Raise the episodes as alerts (admin-only).")] = True,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Scan the audit events and print (and raise) insider-risk alerts."""
    from allsource.assess.insider_run import alert_marking
    from allsource.assess.insider_run import scan as run_scan

    start = parse_when(since) or datetime.now(UTC) - timedelta(days=7)
    report = run_scan(state.store, start, parse_when(until), raise_=raise_)
    if json_:
        print_json(report.as_dict())
        return
    head = (f"{len(report.alerts)} insider-risk alert(s) from {report.since} to "
            f"{report.until} ({report.events} access events, {report.users} users)")
    typer.echo(textwrap.fill(head, WIDTH))
    ids = report.alert_ids or [""] * len(report.alerts)
    for alert, alert_id in zip(report.alerts, ids, strict=True):
        typer.echo("")
        short = alert_id.rsplit("--", 1)[-1][:8] if alert_id else "-"
        marking = alert_marking(alert)
        title = (f"{alert.day}  {alert.severity.upper()}  {alert.actor}  "
                 f"[{', '.join(alert.features)}]  alert {short}  {marking.tlp.label} "
                 f"{'+'.join(sorted(marking.compartments))}")
        typer.echo(textwrap.fill(title, WIDTH, subsequent_indent="    "))
        for line in alert.explain():
            typer.echo(textwrap.fill(line, WIDTH, initial_indent="  - ",
                                     subsequent_indent="    ", break_long_words=True))
        if alert.targets:
            typer.echo(textwrap.fill("targets: " + ", ".join(alert.targets), WIDTH,
                                     initial_indent="  ", subsequent_indent="    "))
