"""The insider backtest on a small synthetic office: the generator is deterministic, its plants
are where it says, and on a log the detector was not tuned on (seed 5, 45 users, five months)
the per-user baseline finds most plants, including the kinds a fixed threshold cannot see,
at a low false-alarm rate. (The full run is benchmarks/insider_backtest.py.)"""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from allsource.assess.insider import ThresholdRule, detect, detect_threshold
from allsource.assess.insider_synth import KINDS, SynthConfig, generate, score, variant

REPO = Path(__file__).resolve().parents[2]
SMALL = SynthConfig(seed=5, users=45, days=150, plants_per_kind=2, warmup_days=70)


@pytest.fixture(scope="module")
def log():  # type: ignore[no-untyped-def]
    return generate(SMALL)


def test_generation_is_deterministic_and_plants_are_in_the_log(log) -> None:  # type: ignore[no-untyped-def]
    again = generate(SMALL)
    assert again.events == log.events and again.plants == log.plants
    assert sorted(p.kind for p in log.plants) == sorted(KINDS * 2)
    assert len({p.actor for p in log.plants}) == len(log.plants)
    assert not {p.actor for p in log.plants} & set(log.job_changes)
    for p in log.plants:
        days = {e.at.date() for e in log.events if e.actor == p.actor}
        assert p.first in days or p.first - timedelta(days=1) in days
    assert variant(5).users != SMALL.users  # the held-out generator differs


def test_detector_beats_the_fixed_threshold_on_a_small_office(log) -> None:  # type: ignore[no-untyped-def]
    ours = score([(a.actor, a.day) for a in detect(log.events, peers=log.peers)], log)
    theirs = score(detect_threshold(log.events, ThresholdRule(max_reads=300, max_exports=30)),
                   log)
    assert ours.overall >= 0.7, ours
    assert ours.false_per_user_month <= 0.1, ours
    stealthy = ("slow_low", "off_hours", "sensitivity_escalation")
    assert sum(ours.detected[k] for k in stealthy) > sum(theirs.detected[k] for k in stealthy)
    assert ours.median_ttd() is not None and ours.median_ttd() <= 7


def test_the_benchmark_runs_on_a_small_instance() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "insider_backtest.py"), "--users", "30",
         "--days", "120", "--seeds", "2", "--variant-seeds", "", "--json"],
        capture_output=True, text=True, timeout=600, check=True)
    figures = orjson.loads(proc.stdout)
    assert set(figures) >= {"threshold_rule", "tuning", "same generator"}
    held = figures["same generator"]
    assert sum(held["ours"]["planted"].values()) == len(KINDS)
    rule = figures["threshold_rule"]
    assert rule["max_reads"] > 0 and rule["max_exports"] > 0
    assert 0 <= held["ours"]["overall"] <= 1 and 0 <= held["threshold"]["overall"] <= 1
