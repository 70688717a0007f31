"""``allsource alerts list|show|ack|assign|close|reopen|note|deliver``: triage alerts and
send them to the configured webhooks and e-mail recipients."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from allsource.assess import alerts as al
from allsource.assess import delivery
from allsource.cli.annotations import annotation_line
from allsource.cli.common import (
    IdsOpt,
    analyst_name,
    console,
    narrow,
    parse_duration,
    print_ids,
    print_json,
    state,
)
from allsource.cli.tables import Column, WideOpt, fitted, print_table
from allsource.errors import InputError

alerts_app = typer.Typer(help="Alerts from watchlists and early warning: triage and delivery.",
                         no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
AnalystOpt = Annotated[str | None, typer.Option(
    "--analyst", help="Who is acting (default: the login name).")]
CommentOpt = Annotated[str, typer.Option("--comment", "-m", help="Why (kept in the audit trail).")]
IdArg = Annotated[str, typer.Argument(help="Alert id, or its short id from `alerts list`.")]
IdsArg = Annotated[list[str], typer.Argument(help="Alert ids or short ids.")]

_SEVERITY_STYLE = {al.Severity.LOW: "dim", al.Severity.MEDIUM: "yellow",
                   al.Severity.HIGH: "bold red", al.Severity.CRITICAL: "bold white on red"}
_STATUS_CHOICES = ("active", "open", "acknowledged", "closed", "all")


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")



def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else ""


def _severity(alert: al.Alert) -> str:
    return f"[{_SEVERITY_STYLE[alert.severity]}]{alert.severity.label}[/]"


@alerts_app.command("list")
def list_(
    status: Annotated[str, typer.Option(
        help="active (open + acknowledged), open, acknowledged, closed or all.")] = "active",
    severity: Annotated[str | None, typer.Option(
        help="At least this severity: low, medium, high, critical.")] = None,
    kind: Annotated[list[str] | None, typer.Option(
        help="Only this kind, e.g. watchlist or warning (repeatable).")] = None,
    assignee: Annotated[str | None, typer.Option(help="Only alerts assigned to this user.")
                        ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 200,
    wide: Annotated[bool, typer.Option(
        "--wide", help="Every column, also on a terminal narrower than 120 columns.")] = False,
    ids: IdsOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Alerts, most severe and most recently changed first. Below 120 columns the table keeps
    id, severity, status, title and time (--wide for all); --ids or --json give full ids."""
    if status not in _STATUS_CHOICES:
        raise InputError(f"unknown --status {status!r}: use {', '.join(_STATUS_CHOICES)}")
    if not 1 <= limit <= 10_000:
        raise InputError("--limit must be between 1 and 10000")
    wanted: str | tuple[str, ...] | None = {"active": al.ACTIVE, "all": None}.get(status, status)
    try:
        floor = al.Severity.parse(severity) if severity else None
    except ValueError as exc:
        raise InputError(str(exc)) from None
    rows = al.list_alerts(state.store, status=wanted, severity=floor, kind=kind or None,
                          assignee=assignee, limit=limit)
    if json_:
        print_json([a.as_dict() for a in rows])
        return
    if ids:
        print_ids(a.id for a in rows)
        return
    table = _alerts_table(rows, status, wide)
    # --wide on a narrow terminal: lay the table out for 160 columns (for `less -S` or a file)
    (Console(width=max(console.width, 160)) if wide else console).print(table)


# (column, shown below 120 columns): a narrow terminal keeps what triage needs and the title,
# which takes the remaining width and wraps; the counts, kind, TLP and assignee come back at
# 120 columns, or with --wide
_ALERT_COLUMNS = (("id", True), ("severity", True), ("status", True), ("kind", False),
                  ("title", True), ("hits", False), ("docs", False), ("assignee", False),
                  ("tlp", False), ("updated", True))


def _alerts_table(rows: list[al.Alert], status: str, wide: bool) -> Table:
    every = wide or not narrow()
    shown = [col for col, essential in _ALERT_COLUMNS if every or essential]
    left_out = [col for col, _ in _ALERT_COLUMNS if col not in shown]
    table = Table(title=f"{len(rows)} alert(s) — {status}",
                  caption=(f"{', '.join(left_out)} left out at this width: --wide, or "
                           "`alerts show ID`" if left_out else None))
    for col in shown:
        if col == "title":
            table.add_column(col, ratio=1, min_width=20, overflow="fold")
        else:
            table.add_column(col, no_wrap=True)
    for a in rows:
        cells = {"id": a.short_id, "severity": _severity(a), "status": a.status,
                 "kind": escape(a.kind), "title": escape(a.title[:90]),
                 "hits": str(a.occurrences), "docs": str(len(a.documents)),
                 "assignee": escape(a.assignee or ""),
                 "tlp": a.marking.tlp.label.removeprefix("TLP:"),
                 "updated": _when(a.updated_at) if wide else _day(a.updated_at)}
        table.add_row(*(cells[col] for col in shown))
    return table


def _day(dt: datetime | None) -> str:
    return dt.strftime("%m-%d %H:%M") if dt else ""


def _alert(ref: str) -> al.Alert:
    found = al.get_alert(state.store, ref)
    if found is None:
        raise InputError(f"no alert {ref!r} (see `allsource alerts list --status all`)")
    return found


# an alert's tables at 80 columns: who did what, and the comment wrapping; where a
# delivery went and how it stands
_TRAIL = (Column("when"), Column("action"), Column("by"), Column("status", keep=False),
          Column("assignee", keep=False), Column("comment", flex=True))
_DELIVERIES = (Column("channel"), Column("target", flex=True), Column("status"),
               Column("attempts", keep=False, justify="right"), Column("next / sent"),
               Column("last error", keep=False))


@alerts_app.command("show")
def show(alert_id: IdArg, json_: JsonOpt = False, wide: WideOpt = False) -> None:
    """One alert with its hits, audit trail and deliveries."""
    store = state.store
    a = _alert(alert_id)
    hits = al.alert_hits(store, a.id)
    events = al.alert_events(store, a.id)
    sends = delivery.list_deliveries(store, alert_id=a.id)
    if json_:
        print_json({**a.as_dict(), "hits": hits, "events": [e.as_dict() for e in events],
                    "deliveries": [d.as_dict() for d in sends]})
        return
    console.print(f"[bold]{escape(a.title)}[/bold]")
    console.print(f"id {a.id}", soft_wrap=True, highlight=False)
    console.print(f"{_severity(a)} · {a.status} · {escape(a.kind)} · "
                  f"{a.marking.tlp.label} · assignee {escape(a.assignee or '-')}")
    console.print(f"group {escape(a.group_key)} · story {a.story_id or '-'} · "
                  f"{a.occurrences} hit(s) · raised {_when(a.created_at)}"
                  + (f" · closed {_when(a.closed_at)}" if a.closed_at else ""))
    if a.details:
        console.print(escape(annotation_line("details", a.details)), soft_wrap=True,
                      highlight=False)
    # one hit per block: the document id on a line of its own, whole at any width
    console.print(f"[bold]hits[/bold] ({len(hits)})")
    for h in hits:
        console.print(f"  {h['created_at'][:16].replace('T', ' ')}  {h['severity']}  "
                      f"{escape(h['title'][:90])}", soft_wrap=True, highlight=False)
        if h["document_id"]:
            console.print(f"    [dim]document[/dim] {h['document_id']}", soft_wrap=True,
                          highlight=False)
    print_table(fitted(_TRAIL, [
        {"when": _when(e.created_at), "action": e.action, "by": escape(e.actor),
         "status": e.status, "assignee": escape(e.assignee or ""),
         "comment": escape(e.comment[:500])} for e in events],
        title="audit trail", wide=wide, more="--wide, or --json"), wide)
    if sends:
        print_table(fitted(_DELIVERIES, [
            {"channel": d.channel, "target": escape(d.target), "status": d.status,
             "attempts": str(d.attempts), "next / sent": _when(d.sent_at or d.next_attempt_at),
             "last error": escape(d.last_error or "")} for d in sends],
            title="deliveries", wide=wide, more="--wide, or --json"), wide)


def _each(ids: list[str], change: Any, done: str) -> None:
    """Resolve every id first (so a typo changes nothing), then apply ``change`` to each."""
    store = state.store
    chosen = [_alert(ref) for ref in ids]
    for a in chosen:
        after = change(store, a.id)
        console.print(f"{after.short_id} {done}: {after.status}"
                      + (f", assigned to {escape(after.assignee)}" if after.assignee else "")
                      + f" — {escape(after.title[:80])}")


@alerts_app.command("ack")
def ack(alert_ids: IdsArg, comment: CommentOpt = "", analyst: AnalystOpt = None) -> None:
    """Acknowledge alerts (seen; being looked at)."""
    who = analyst_name(analyst)
    _each(alert_ids, lambda store, i: al.acknowledge(store, i, actor=who, comment=comment),
          "acknowledged")


@alerts_app.command("assign")
def assign(alert_id: IdArg,
           user: Annotated[str, typer.Argument(
               help="Who takes it: a user who may triage (admin or analyst, see "
                    "`allsource user list`); '' to unassign.")],
           comment: CommentOpt = "", analyst: AnalystOpt = None) -> None:
    """Assign an alert to a user who may triage it (any other name is refused)."""
    who = analyst_name(analyst)
    _each([alert_id], lambda store, i: al.assign(store, i, user, actor=who, comment=comment),
          "assigned")


@alerts_app.command("close")
def close(alert_ids: IdsArg, comment: CommentOpt = "", analyst: AnalystOpt = None) -> None:
    """Close alerts; later hits of the same group open a new alert."""
    who = analyst_name(analyst)
    _each(alert_ids, lambda store, i: al.close(store, i, actor=who, comment=comment), "closed")


@alerts_app.command("reopen")
def reopen(alert_id: IdArg, comment: CommentOpt = "", analyst: AnalystOpt = None) -> None:
    """Reopen a closed alert."""
    who = analyst_name(analyst)
    _each([alert_id], lambda store, i: al.reopen(store, i, actor=who, comment=comment),
          "reopened")


@alerts_app.command("note")
def note(alert_id: IdArg, text: Annotated[str, typer.Argument(help="The note.")],
         analyst: AnalystOpt = None) -> None:
    """Add a note to an alert's audit trail."""
    who = analyst_name(analyst)
    _each([alert_id], lambda store, i: al.add_note(store, i, text, actor=who), "noted")


def _print_report(report: delivery.DeliveryReport, json_: bool) -> None:
    if json_:
        print_json(report.as_dict())
        return
    line = (f"{report.sent} sent, {report.retrying} to retry, {report.dead} dead, "
            f"{report.queued} queued, {report.pending} pending")
    if report.skipped:
        line += f", {report.skipped} below alert_min_severity"
    console.print(f"{time.strftime('%H:%M:%S')} {line}")
    if report.waiting:
        console.print(f"[yellow]{report.waiting} alert notification(s) wait for a channel: "
                      "set alert_webhooks or alert_smtp_host + alert_email_to[/yellow]")
    for error in report.errors[:20]:
        console.print(f"  [red]{escape(error)}[/red]")


@alerts_app.command("deliver")
def deliver(
    watch: Annotated[bool, typer.Option(help="Keep delivering every --interval.")] = False,
    interval: Annotated[str, typer.Option(help="Pause between rounds with --watch (30s, 5m).")
                        ] = "30s",
    retry_dead: Annotated[bool, typer.Option(
        "--retry-dead", help="First give dead-lettered deliveries a fresh set of attempts.")
                          ] = False,
    rounds: Annotated[int, typer.Option(hidden=True, help="Stop --watch after N rounds.")] = 0,
    json_: JsonOpt = False,
) -> None:
    """Send due alert deliveries (webhooks, e-mail), retrying failures with backoff."""
    store, settings = state.store, state.settings
    pause = parse_duration(interval)
    if pause < 1:
        raise InputError("--interval must be at least 1s")
    if retry_dead:
        console.print(f"re-queued {delivery.requeue_dead(store)} dead deliveries")
    if not watch:
        report = delivery.deliver_pending(store, settings)
        _print_report(report, json_)
        if report.failed:
            raise typer.Exit(1)
        return
    console.print(f"delivering alerts every {interval}; Ctrl-C to stop")
    done = 0
    try:
        while True:
            _print_report(delivery.deliver_pending(store, settings), json_)
            done += 1
            if rounds and done >= rounds:
                break
            time.sleep(pause)
    except KeyboardInterrupt:
        console.print("stopped")
