"""``allsource warn run|backtest|list`` on stores built from real GDELT rows.

The shared samples' GDELT rows were all added on one day (2017-07-01), which gives no
baseline: the first test checks that the CLI says so instead of warning. The second rewrites
the MentionTimeDate of real mention rows (labelled as such: the rows are real, their dates
are the test's) to lay nine weeks of weekday rhythm and then one busy Monday.
"""

from __future__ import annotations

import csv
import importlib.util
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.cli.conftest import Run, Term, as_json

START = date(2017, 5, 1)  # a Monday
SURGE = START + timedelta(days=63)  # Monday 2017-07-03


def _redated_mentions(samples: Path, out: Path) -> Path:
    with (samples / "gdelt" / "mentions-1635.csv").open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list({(r[0], r[5]): r for r in reader}.values())  # distinct mentions
    col = [h.lower() for h in header].index("mentiontimedate")
    plan = [20 if d % 7 < 5 else 8 for d in range(63)] + [90]
    written: list[list[str]] = [header]
    for day, n in enumerate(plan):
        stamp = (START + timedelta(days=day)).strftime("%Y%m%d") + "120000"
        for _ in range(n):
            row = list(rows[len(written) - 1])
            row[col] = stamp
            written.append(row)
    with out.open("w", newline="") as fh:
        csv.writer(fh).writerows(written)
    return out


def _json(proc: Any) -> Any:
    return as_json(proc)


def test_one_day_of_samples_gives_no_baseline(cli: Run, samples: Path) -> None:
    cli("ingest", str(samples / "gdelt" / "events2samp.csv"),
        str(samples / "gdelt" / "mentions-1635.csv"))
    report = _json(cli("warn", "backtest", "--from", "2017-06-01", "--to", "2017-07-01",
                       "--json"))
    assert report["coverage"] == ["2017-07-01", "2017-07-01"]
    assert report["totals"]["series"] >= 2  # two sources, GDELT countries
    assert report["totals"]["series_days_tested"] == 0
    assert report["totals"]["warnings"] == 0
    assert [m["month"] for m in report["months"]] == ["2017-06", "2017-07"]
    run = _json(cli("warn", "run", "--date", "2017-07-01", "--json"))
    assert run["new_warnings"] == [] and run["series"] >= 2
    assert "no warnings" in cli("warn", "list").stdout


def test_backtest_run_and_list(cli: Run, samples: Path, tmp_path: Path) -> None:
    cli("ingest", str(_redated_mentions(samples, tmp_path / "mentions.csv")))
    args = ("--from", START.isoformat(), "--to", SURGE.isoformat(), "--key", "source:*")
    report = _json(cli("warn", "backtest", *args, "--json"))
    totals = report["totals"]
    assert totals["series"] == 1 and totals["series_days_tested"] == 64 - 14
    assert totals["warnings"] == 1 and totals["false_alarms"] == 0
    assert totals["events"] == 1 and totals["detected"] == 1
    assert totals["median_lead_days"] == 0
    assert report["months"] == [
        {"month": "2017-05", "warnings": 0, "false_alarms": 0, "events": 0, "detected": 0,
         "median_lead_days": None},
        {"month": "2017-06", "warnings": 0, "false_alarms": 0, "events": 0, "detected": 0,
         "median_lead_days": None},
        {"month": "2017-07", "warnings": 1, "false_alarms": 0, "events": 1, "detected": 1,
         "median_lead_days": 0}]
    text = cli("warn", "backtest", *args, "--method", "threshold").stdout
    assert "threshold" in text and "2017-06" in text and "series-days tested" in text

    alerts = importlib.util.find_spec("allsource.assess.alerts") is not None
    run = _json(cli("warn", "run", "--date", SURGE.isoformat(), "--json",
                    *(() if alerts else ("--no-alerts",))))
    [w] = run["new_warnings"]
    assert w["key"].startswith("source:") and w["day"] == SURGE.isoformat()
    assert w["observed"] == 90 and w["details"]["weekday"] == "Monday"
    if alerts:  # one alert per new warning, linked to it
        assert run["alerts"] == [w["alert_id"]]
    again = cli("warn", "run", "--date", SURGE.isoformat()).stdout
    assert "0 new warning(s), 1 already stored, 0 alert(s)" in again
    [listed] = _json(cli("warn", "list", "--json"))
    assert listed["id"] == w["id"] and listed["alert_id"] == w["alert_id"]


def test_user_errors(cli: Run) -> None:
    bad = cli("warn", "backtest", "--from", "2017-07-03", "--to", "2017-05-01", check=2)
    assert "before" in bad.stderr and "Traceback" not in bad.stderr
    assert "alpha" in cli("warn", "run", "--alpha", "2", check=2).stderr
    assert "unknown family" in cli("warn", "run", "--family", "nope", check=2).stderr


def test_cli_families_match_the_baseline() -> None:
    from allsource.assess import baseline
    from allsource.cli import warnings

    assert warnings.FAMILIES == baseline.FAMILIES


def test_run_says_it_evaluates_yesterday(term: Term) -> None:
    from datetime import UTC, datetime, timedelta

    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    out = term("warn", "run", "--no-alerts").out
    assert out.splitlines()[0] == (f"evaluating {yesterday} (yesterday, UTC, the default; "
                                   "--date picks another day)")
    assert "evaluating" not in term("warn", "run", "--date", str(yesterday), "--no-alerts").out
    assert "yesterday" in " ".join(term("warn", "run", "--help", columns=120).out.split())
