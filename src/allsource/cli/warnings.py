"""``allsource warn run|backtest|list``: early warning from activity baselines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from allsource.cli.common import console, print_json, say, state
from allsource.cli.tables import Column, WideOpt, fitted, print_table
from allsource.errors import InputError

if TYPE_CHECKING:
    from allsource.assess.warnings_run import WarningRecord

# The detectors import numpy and scipy: only when a warn command runs, not at CLI start-up.
FAMILIES = ("topic", "country", "entity", "source", "gdelt", "tone")
COUNT_FAMILIES = tuple(f for f in FAMILIES if f != "tone")

warn_app = typer.Typer(help="Early warning: activity departing from its baseline.",
                       no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
KeyOpt = Annotated[list[str] | None, typer.Option(
    "--key", help="Only keys matching this pattern, e.g. 'topic:*' or country:UA (repeatable).")]
FamilyOpt = Annotated[list[str] | None, typer.Option(
    "--family", help=f"Only these series families: {', '.join(FAMILIES)} (repeatable).")]
AlphaOpt = Annotated[float, typer.Option(
    "--alpha", help="Significance of the count test: the nominal false-alarm rate per "
                    "series-day.")]
MinCountOpt = Annotated[int, typer.Option(
    "--min-count", help="Never warn on fewer items than this in a day.")]


def register(app: typer.Typer) -> None:
    app.add_typer(warn_app, name="warn")


def _families(given: list[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    fams = tuple(given or default)
    unknown = [f for f in fams if f not in FAMILIES]
    if unknown:
        raise InputError(f"unknown family {unknown[0]!r}: use {', '.join(FAMILIES)}")
    return fams


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise InputError(f"--alpha must be between 0 and 1, not {alpha}")


@warn_app.command("run")
def run(
    day: Annotated[str | None, typer.Option(
        "--date", help="Day to evaluate, YYYY-MM-DD (default: yesterday, UTC).")] = None,
    days: Annotated[int, typer.Option("--days", help="Evaluate this many days up to --date."
                                      )] = 1,
    key: KeyOpt = None,
    family: FamilyOpt = None,
    alpha: AlphaOpt = 0.001,
    z: Annotated[float, typer.Option("--z", help="Tone: warn at |z| at least this.")] = 3.0,
    min_count: MinCountOpt = 5,
    no_alerts: Annotated[bool, typer.Option(
        "--no-alerts", help="Store warnings without raising alerts.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Warn where a day's activity departs from its baseline; store and alert what is new.

    Without --date it evaluates yesterday (UTC), the last whole day, and says so."""
    from allsource.assess.early_warning import CountParams, ToneParams
    from allsource.assess.warnings_run import parse_day, run_warnings

    _check_alpha(alpha)
    when = parse_day(day, default=datetime.now(UTC).date() - timedelta(days=1))
    summary = run_warnings(state.store, when, days=days,
                           count=CountParams(alpha=alpha, min_count=min_count),
                           tone=ToneParams(z=z), families=_families(family, FAMILIES),
                           patterns=key or (), raise_alerts=not no_alerts)
    if json_:
        print_json(summary.as_dict())
        return
    span = (f"{summary.first_day}" if summary.first_day == summary.last_day
            else f"{summary.first_day}..{summary.last_day}")
    if day is None:
        say(f"evaluating {'up to ' if days > 1 else ''}{when} (yesterday, UTC, the default; "
            "--date picks another day)")
    console.print(f"{span}: {summary.series} series, {len(summary.new)} new warning(s), "
                  f"{summary.already} already stored, {len(summary.alert_ids)} alert(s) "
                  f"raised ({summary.seconds:.2f} s)")
    for w in summary.new:
        console.print(f"  [bold]{escape(w.key)}[/bold] {escape(_name(w))}: "
                      f"{escape(w.explanation)}")


def _name(w: WarningRecord) -> str:
    raw = w.key.split(":", 1)[1]
    return "" if w.label in ("", raw) else f"({w.label})"


@warn_app.command("backtest")
def backtest_cmd(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    key: KeyOpt = None,
    family: FamilyOpt = None,
    alpha: AlphaOpt = 0.001,
    min_count: MinCountOpt = 5,
    method: Annotated[str, typer.Option(
        "--method", help="nb-weekday (the detector) or threshold (mean + 3 sd of 28 days, "
                         "the baseline rule).")] = "nb-weekday",
    horizon: Annotated[int, typer.Option(
        "--horizon", help="Days before an event's onset a warning still counts for it.")] = 7,
    quantile: Annotated[float, typer.Option(
        "--quantile", help="Events: days whose excess over their weekday's usual level is in "
                           "this top quantile.")] = 0.99,
    json_: JsonOpt = False,
) -> None:
    """Replay the detector over a past period (only past data each day): warnings, events,
    lead time and false alarms per month."""
    from allsource.assess.early_warning import CountParams, ThresholdParams
    from allsource.assess.warnings_run import backtest, parse_day

    _check_alpha(alpha)
    if not 0 < quantile < 1:
        raise InputError(f"--quantile must be between 0 and 1, not {quantile}")
    report = backtest(state.store, parse_day(start), parse_day(end), method=method,
                      count=CountParams(alpha=alpha, min_count=min_count),
                      threshold=ThresholdParams(min_count=min_count),
                      families=_families(family, COUNT_FAMILIES), patterns=key or (),
                      horizon=horizon, quantile=quantile)
    if json_:
        print_json(report.as_dict())
        return
    table = Table(title=f"backtest {report.start}..{report.end} · {report.method}")
    for col in ("month", "warnings", "false alarms", "events", "detected", "median lead (d)"):
        table.add_column(col, justify="left" if col == "month" else "right")
    for m in report.months:
        lead = m["median_lead_days"]
        table.add_row(m["month"], str(m["warnings"]), str(m["false_alarms"]), str(m["events"]),
                      str(m["detected"]), "-" if lead is None else f"{lead:g}")
    console.print(table)
    tot = report.totals
    lead = tot["median_lead_days"]
    console.print(f"{tot['series']} series · {tot['series_days_tested']} series-days tested "
                  f"(coverage {report.coverage[0] or '-'}..{report.coverage[1] or '-'}) · "
                  f"{tot['warnings']} warnings · "
                  f"{tot['false_alarms']} false alarms · {tot['detected']}/{tot['events']} "
                  f"events detected · median lead "
                  f"{'-' if lead is None else f'{lead:g} d'} ({report.seconds:.2f} s)")
    for k in report.keys[:10]:
        console.print(f"  {escape(k['key'])} {escape(k['label'])}: {k['warnings']} warnings, "
                      f"{k['false_alarms']} false, {k['detected']}/{k['events']} events")


@warn_app.command("list")
def list_cmd(
    since: Annotated[str | None, typer.Option("--since", help="From this day, YYYY-MM-DD."
                                              )] = None,
    key: KeyOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 50,
    wide: WideOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Stored warnings, newest first (the alert's short id; --json: full ids)."""
    from allsource.assess.warnings_run import list_warnings, parse_day

    found = list_warnings(state.store, since=parse_day(since) if since else None,
                          patterns=key or (), limit=limit)
    if json_:
        print_json([w.as_dict() for w in found])
        return
    if not found:
        console.print("no warnings")
        return
    columns = (Column("day"), Column("key", flex=True), Column("observed", justify="right"),
               Column("expected", justify="right"), Column("score", keep=False),
               Column("method", keep=False), Column("alert"))
    rows = [{"day": w.day.isoformat(), "key": escape(f"{w.key} {_name(w)}".strip()),
             "observed": f"{w.observed:g}", "expected": f"{w.expected:.2f}",
             "score": f"{w.score:.3g}", "method": w.method,
             "alert": (w.alert_id or "-").rsplit("--", 1)[-1][:8]} for w in found]
    print_table(fitted(columns, rows, wide=wide, more="--wide or --json"), wide)
