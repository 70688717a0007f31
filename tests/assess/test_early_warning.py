"""Early warning: the detectors, the backtest scoring, and the series the store counts.

The detector tests use SYNTHETIC series drawn with fixed seeds (Poisson and negative-binomial
counts with a weekly rhythm, planted surges, normal tone): they check the statistics — the
false-alarm rate against the nominal ``alpha`` above all — not any real-world claim. The
store tests count real GDELT rows (``tests/fixtures/gdelt`` and the shared samples); where a
test needs documents on more than one day it rewrites the rows' DATEADDED and says so.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from allsource.assess.backtest import (
    Episode,
    by_month,
    labelled_episodes,
    score_warnings,
    surge_episodes,
)
from allsource.assess.baseline import build_series, fips_to_iso2, match_keys
from allsource.assess.early_warning import (
    CountParams,
    ThresholdParams,
    ToneParams,
    detect_counts,
    detect_threshold,
    detect_tone,
    nb_upper_tail,
    nominal_tone_rate,
)
from allsource.assess.warnings_run import list_warnings, run_warnings
from allsource.collect.base import CollectContext
from allsource.collect.runner import run_source
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Source, StixObject
from allsource.process.base import Work
from allsource.store.processing import documents_due, write_results
from allsource.store.sql import SqlStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gdelt"
#: a weekly rhythm, Monday first: busy weekdays, quiet weekends (synthetic)
WEEK = np.array([1.4, 1.2, 1.1, 1.1, 1.0, 0.55, 0.65])
WEEK = WEEK / WEEK.mean()


def _synthetic(rng: np.random.Generator, n: int, mean: float, k: float = 0.0,
               week: npt.NDArray[np.float64] = WEEK) -> npt.NDArray[np.float64]:
    """Seeded in-control counts: Poisson (k = 0) or negative binomial (Var = μ + kμ²)
    with a weekly rhythm; day 0 is a Monday."""
    mu = mean * week[np.arange(n) % 7]
    if k == 0:
        return rng.poisson(mu).astype(np.float64)
    r = 1.0 / k
    return rng.negative_binomial(r, r / (r + mu)).astype(np.float64)


# --- the count detector -------------------------------------------------------------------

def test_nb_tail_matches_scipy() -> None:
    from scipy import stats

    for x, mu, k in [(10, 4.0, 0.3), (1, 0.5, 1.0), (40, 20.0, 0.05)]:
        r = 1 / k
        assert nb_upper_tail(x, mu, k) == pytest.approx(
            stats.nbinom.sf(x - 1, r, r / (r + mu)), rel=1e-9)
    assert nb_upper_tail(7, 3.0, 0.0) == pytest.approx(stats.poisson.sf(6, 3.0))
    assert nb_upper_tail(0, 3.0, 0.2) == 1.0


@pytest.mark.parametrize(("mean", "k", "alpha", "seed"), [
    (20.0, 0.0, 0.01, 11),     # Poisson
    (6.0, 0.0, 0.01, 12),      # Poisson, small counts
    (30.0, 0.2, 0.01, 13),     # over-dispersed
    (80.0, 0.1, 0.001, 14),    # over-dispersed, the default alpha
])
def test_false_alarm_rate_is_nominal(mean: float, k: float, alpha: float, seed: int) -> None:
    """On seeded in-control series the observed rate of signals per tested series-day is
    close to alpha: at most 1.5 alpha, and not far below it (discrete counts make the test
    somewhat conservative)."""
    rng = np.random.default_rng(seed)
    params = CountParams(alpha=alpha, min_count=0, cooldown=0)
    days = 400 if alpha >= 0.01 else 600
    runs = 40 if alpha >= 0.01 else 90
    signals = tested = 0
    for _ in range(runs):
        det = detect_counts(_synthetic(rng, days, mean, k), 0, params)
        ok = ~np.isnan(det.score)
        tested += int(ok.sum())
        signals += int(det.signal[ok].sum())
    rate = signals / tested
    assert 0.3 * alpha <= rate <= 1.5 * alpha, (rate, alpha, signals, tested)


def test_planted_surge_is_warned_once_with_lead() -> None:
    """A surge building over three days (×1.6, ×2.5, ×4 on a seeded Poisson series) is
    warned of before its peak, once, whatever the cool-down leaves of the surge."""
    rng = np.random.default_rng(3)
    x = _synthetic(rng, 200, 12.0)
    onset = 150
    for i, factor in enumerate([1.6, 2.5, 4.0, 3.0, 2.0]):
        x[onset + i] = rng.poisson(12.0 * WEEK[(onset + i) % 7] * factor)
    det = detect_counts(x, 0)
    warned = [int(d) for d in np.flatnonzero(det.warning)]
    surge = [d for d in warned if onset - 7 <= d <= onset + 6]
    assert len(surge) == 1, warned
    assert surge[0] <= onset + 2  # before (or at) the peak on onset + 2
    score = score_warnings(det.warning, labelled_episodes([(onset + 2, "peak")]), lo=60)
    assert score.leads[0] is not None and score.leads[0] >= 0
    assert det.expected[surge[0]] < x[surge[0]] / 1.5
    assert len(warned) <= 2  # the rest of 200 days: at most one false alarm


def test_weekday_rhythm_raises_nothing() -> None:
    """A regular Monday peak (3× the other days) is the baseline, not news. The fixed
    threshold flags Mondays; a model without weekday factors reads the rhythm as noise and
    misses a Tuesday surge (×2.5) that the seasonal detector warns of."""
    rng = np.random.default_rng(5)
    week = np.array([3.0, 1, 1, 1, 1, 1, 1])
    week = week / week.mean()
    x = _synthetic(rng, 182, 10.0, week=week)
    assert not detect_counts(x, 0).warning.any()
    mondays = np.flatnonzero(detect_threshold(x).warning)
    assert len(mondays) and all(d % 7 == 0 for d in mondays)
    tuesday = 20 * 7 + 1
    x[tuesday] = rng.poisson(10.0 * week[1] * 2.5)
    seasonal = detect_counts(x, 0)
    assert list(np.flatnonzero(seasonal.warning)) == [tuesday]
    assert seasonal.extra["weekday_factor"][tuesday - 1] > 2.0  # Monday's factor
    flat = detect_counts(x, 0, CountParams(weekly=False))
    assert not flat.warning[tuesday] and flat.expected[tuesday] > seasonal.expected[tuesday]


def test_cooldown_gives_one_warning_per_surge() -> None:
    rng = np.random.default_rng(8)
    x = _synthetic(rng, 120, 10.0)
    x[80:86] = 60  # six days of surge
    one = detect_counts(x, 0, CountParams(cooldown=7))
    assert list(np.flatnonzero(one.warning[70:100]) + 70) == [80]
    every = detect_counts(x, 0, CountParams(cooldown=0))
    assert int(every.warning[80:86].sum()) >= 2
    assert every.signal[80:86].sum() == one.signal[80:86].sum()


def test_run_test_catches_a_rise_no_single_day_shows() -> None:
    """Three days at +40 % (Poisson, mean 50): no day alone is significant, their sum is."""
    rng = np.random.default_rng(12)
    x = rng.poisson(50.0, 120).astype(np.float64)
    x[100:103] = [70, 71, 70]
    det = detect_counts(x, 0, CountParams(weekly=False))
    assert det.extra["p_day"][100:103].min() > 0.0005
    first = int(np.flatnonzero(det.warning[95:110])[0]) + 95
    assert first in (101, 102) and det.extra["p_run"][first] < 0.0005
    assert det.score[first] == pytest.approx(2 * det.extra["p_run"][first])


def test_min_count_and_history() -> None:
    x = np.zeros(60)
    x[40] = 3  # from nothing to 3: significant but below min_count
    assert not detect_counts(x, 0).warning.any()
    assert detect_counts(x, 0, CountParams(min_count=3)).warning[40]
    short = detect_counts(np.array([1.0] * 10 + [50.0]), 0)
    assert np.isnan(short.score).all()  # fewer than min_history days: not tested


def test_days_without_coverage_are_skipped() -> None:
    rng = np.random.default_rng(9)
    x = _synthetic(rng, 100, 10.0)
    x[:30] = np.nan
    det = detect_counts(x, 0)
    assert np.isnan(det.score[:44]).all() and not np.isnan(det.score[44:]).any()
    assert det.extra["history_days"][44] == 14


# --- tone ---------------------------------------------------------------------------------

def test_tone_shift() -> None:
    rng = np.random.default_rng(4)
    tone = rng.normal(-2.0, 0.3, 140)
    counts = np.full(140, 20.0)
    tone[[10, 11, 12]] = np.nan  # days without events
    tone[120] = -4.5
    det = detect_tone(tone, counts)
    assert list(np.flatnonzero(det.warning)) == [120]
    assert det.score[120] < -5
    few = counts.copy()
    few[120] = 2
    assert not detect_tone(tone, few).warning[120]  # below min_count events
    assert nominal_tone_rate(3.0) == pytest.approx(0.0027, abs=1e-4)


def test_tone_false_alarm_rate() -> None:
    rng = np.random.default_rng(21)
    params = ToneParams(z=2.5, cooldown=0, min_count=0)
    signals = tested = 0
    for _ in range(30):
        det = detect_tone(rng.normal(-1.5, 0.8, 300), np.full(300, 10.0), params)
        ok = ~np.isnan(det.score)
        tested += int(ok.sum())
        signals += int(det.signal[ok].sum())
    nominal = nominal_tone_rate(2.5)
    assert 0.5 * nominal <= signals / tested <= 1.5 * nominal


# --- backtest scoring ---------------------------------------------------------------------

def test_surge_episodes_and_scoring() -> None:
    x = np.array([10.0, 10, 10, 10, 10, 3, 3] * 8)
    x[30], x[31], x[33] = 30, 45, 25  # one episode (gap of one day merged), peak on day 31
    x[47] = 4  # a Saturday slightly busier than usual: not an event (ratio < 1.5)
    episodes = surge_episodes(x, q=0.9)
    assert episodes == [Episode(onset=30, peak=31, end=33)]
    warning = np.zeros(len(x), dtype=bool)
    warning[[27, 40]] = True  # 3 days ahead (within the horizon), and a false alarm
    score = score_warnings(warning, episodes, horizon=7)
    assert score.leads == [3] and score.false_alarms == [40]
    assert score.summary()["detected"] == 1
    rows = by_month(score, date(2024, 1, 1), range(len(x)))
    assert [r.month for r in rows] == ["2024-01", "2024-02"]
    assert rows[0].as_dict()["median_lead_days"] == 3 and rows[1].false_alarms == 1
    late = np.zeros(len(x), dtype=bool)
    late[32] = True
    assert score_warnings(late, episodes).leads == [-2]


def test_threshold_baseline() -> None:
    x = np.array([10.0, 12, 8, 11, 9, 10, 13] * 5 + [40.0])
    det = detect_threshold(x, ThresholdParams())
    assert det.warning[-1] and det.warning.sum() == 1


# --- series from the store ----------------------------------------------------------------

def _redated_export(tmp_path: Path) -> Path:
    """The three real events of the fixture export, the first one's DATEADDED moved back
    one day (so the store holds two days)."""
    rows = [line.split("\t") for line in
            (FIXTURES / "20170701234500.export.CSV").read_text().splitlines()]
    rows[0][59] = "20170630120000"
    out = tmp_path / "redated.export.CSV"
    out.write_text("".join("\t".join(r) + "\n" for r in rows))
    return out


def _ingest(store: SqlStore, ctx: CollectContext, name: str, location: Path,
            marking: Marking | None = None) -> Source:
    source = Source(name=name, kind="gdelt", location=str(location),
                    marking=marking or Marking())
    store.add_source(source)
    assert run_source(store, source, ctx).status == "ok"
    return source


def _annotate(store: SqlStore) -> None:
    """Topic, place and entity results written as the stages write them (values chosen by
    the test: the point is the SQL that counts them)."""
    rows = documents_due(store, {"topics": "t", "places": "t", "entities": "t"}, limit=1000)
    works = []
    actor = StixObject(id="intrusion-set--11111111-1111-4111-8111-111111111111",
                       type="intrusion-set", name="Example Group",
                       stix={"type": "intrusion-set", "name": "Example Group"})
    for row in rows:
        w = Work(id=row.id, title=row.title, text=row.text, kind=row.kind,
                 published_at=row.published_at, marking=row.marking)
        egypt = "Egypt" in row.text or "[EG]" in row.text
        w.annotations["topics"] = {"topics": [{"topic": "political", "score": 0.9}]
                                   + ([{"topic": "military", "score": 0.6}] if egypt else [])}
        w.annotations["places"] = {"countries": ["EG"] if egypt else ["GB", "US"],
                                   "places": 1}
        if egypt:  # a span in the body (a title the body repeats records no mention)
            end = len(w.full_text)
            w.add_object(actor, "entities@1", end - 5, end)
        works.append(w)
    write_results(store, works, {"topics": "1", "places": "1", "entities": "1"})


def test_series_from_store(store: SqlStore, ctx: CollectContext, tmp_path: Path) -> None:
    _ingest(store, ctx, "gdelt", _redated_export(tmp_path))
    _ingest(store, ctx, "gdelt-amber", FIXTURES / "20170701234500.mentions.CSV",
            Marking(tlp=TLP.AMBER))
    _annotate(store)
    built = build_series(store, date(2017, 6, 28), date(2017, 7, 2))
    s = built.series
    assert built.coverage == (date(2017, 6, 30), date(2017, 7, 1))
    # events: EG on 06-30 and 07-01, UK (FIPS) = GB on 07-01
    assert list(s["gdelt:EG"].counts[2:4]) == [1, 1] and s["gdelt:GB"].counts[3] == 1
    assert np.isnan(s["gdelt:EG"].counts[[0, 1, 4]]).all()  # outside the store's coverage
    tone = s["tone:EG"].tone
    assert tone is not None and tone[2] == pytest.approx(-0.3009, abs=1e-3)
    assert np.isnan(tone[1])
    # annotations, unnested in SQL: every document is political; EG ones military too
    assert s["topic:political"].counts[3] == 2 + 3  # two events and three mentions
    assert s["topic:military"].counts[2] == 1
    assert s["country:EG"].counts[2] == 1 and s["country:GB"].counts[3] >= 1
    entity = s["entity:intrusion-set--11111111-1111-4111-8111-111111111111"]
    assert entity.label == "Example Group" and entity.counts[2] == 1
    sources = {v.label: v for k, v in s.items() if k.startswith("source:")}
    assert sources["gdelt"].counts[2] == 1 and sources["gdelt"].counts[3] == 2
    # the mentions source has documents on 07-01 only: its own coverage
    assert np.isnan(sources["gdelt-amber"].counts[2]) and sources["gdelt-amber"].counts[3] == 3
    assert sources["gdelt-amber"].tlp[3] == int(TLP.AMBER)
    assert s["topic:political"].tlp[3] == int(TLP.AMBER)  # mentions counted that day
    # readers below AMBER do not see the mentions counted
    green = build_series(store, date(2017, 6, 28), date(2017, 7, 2),
                         audience=Audience(max_tlp=TLP.GREEN))
    assert green.series["topic:political"].counts[3] == 2
    assert all(not k.endswith(sources["gdelt-amber"].key[7:]) for k in green.series)
    only = build_series(store, date(2017, 6, 28), date(2017, 7, 2), families=["topic"],
                        patterns=["topic:mil*"])
    assert list(only.series) == ["topic:military"]
    assert set(built.timings) >= {"topic", "country", "entity", "source", "gdelt"}


def test_run_stores_once_and_lists(store: SqlStore, ctx: CollectContext,
                                   tmp_path: Path, samples: Path) -> None:
    """Real GDELT mention rows, their MentionTimeDate rewritten by the test to spread them
    over nine weeks (a weekday rhythm, then 90 on one Monday): the run warns of that day,
    once, and lists it."""
    with (samples / "gdelt" / "mentions-1635.csv").open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list({(r[0], r[5]): r for r in reader}.values())
    col = [h.lower() for h in header].index("mentiontimedate")
    start = date(2017, 5, 1)  # a Monday
    plan = [20 if d % 7 < 5 else 8 for d in range(63)] + [90]
    out, i = [header], 0
    for day, n in enumerate(plan):
        for _ in range(n):
            row = list(rows[i])
            row[col] = (start + timedelta(days=day)).strftime("%Y%m%d") + "120000"
            out.append(row)
            i += 1
    path = tmp_path / "redated-mentions.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(out)
    _ingest(store, ctx, "gdelt-mentions", path)
    surge = start + timedelta(days=63)
    quiet = run_warnings(store, surge - timedelta(days=1), days=40, raise_alerts=False)
    assert quiet.new == []
    summary = run_warnings(store, surge, raise_alerts=False)
    [w] = summary.new
    assert w.key.startswith("source:") and w.day == surge and w.observed == 90
    assert w.expected == pytest.approx(20, rel=0.25)
    assert w.details["weekday"] == "Monday" and w.score < 1e-10
    assert "expected" in w.explanation and "Monday factor" in w.explanation
    again = run_warnings(store, surge, raise_alerts=False)
    assert again.new == [] and again.already == 1
    [listed] = list_warnings(store, patterns=["source:*"])
    assert listed.id == w.id and listed.alert_id is None
    assert list_warnings(store, patterns=["topic:*"]) == []
    assert match_keys(["source:a", "topic:b"], ["topic:*"]) == ["topic:b"]


def test_fips_codes() -> None:
    assert fips_to_iso2("UK") == "GB" and fips_to_iso2("RP") == "PH"
    assert fips_to_iso2("CH") == "CN" and fips_to_iso2("") is None
