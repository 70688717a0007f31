"""A synthetic access log with planted exfiltration, and how detectors are scored on it.

There is no public access log of an intelligence platform with labelled insiders, so the
insider-risk detector (:mod:`allsource.assess.insider`) is measured on a generated one whose
habits are drawn to look like an office's and whose exfiltration is planted at known times.

**Users.** Each user has a *role* (analyst, liaison, manager, engineer: different volumes of
reads, searches and exports), a *team* (two compartments they work in, with their own mix of
TLP and classification), two more compartments they hold but rarely touch, a working day
(start hour, length, time zone) and a personal volume level. On a working day the volume is
``level × weekday factor × lognormal noise``; reads come as single objects or list views of a
few to twenty, at times spread over the working day (a little before and after it on some
days), a few percent of them in a rarely used compartment or at a higher marking than usual.
Weekends are mostly idle (on-call engineers work some of them), public holidays and one or
two vacations a user are idle. Some users change team (a *job change*, benign drift): over a
week their reads move to the new team's compartments and markings and their volume changes.

**Plants** (each on a distinct user who does not change jobs, after a warm-up):

========================  =============================================================
``bulk_compartment``      1–2 days of hundreds of reads in a compartment the user holds
                          but rarely touches
``export_burst``          1–2 days of tens to ~150 objects exported
``slow_low``              4–6 weeks of a handful of extra reads a day in a rarely used
                          compartment, and a small export every few days
``off_hours``             3–5 nights within two weeks of reads between midnight and 4h
``sensitivity_escalation``  1–2 weeks of reads above the user's usual TLP/classification
========================  =============================================================

**Scoring** (:func:`score`): a plant is *detected* when the detector alerts on its user between
its first day and ``grace_days`` after its last; *time to detect* is the days from the first
planted day to that alert. Plant days are the user's local dates and the detector's days are
UTC, so the window opens one day early (a night at 00:30 in UTC+1 is the day before in
UTC). Every other alert is a *false alarm*, counted per user-month
(users × days / 30.44).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Any

import numpy as np

from allsource.assess.access_events import AccessEvent

__all__ = ["KINDS", "Plant", "Score", "SynthConfig", "SynthLog", "generate", "score",
           "variant"]

KINDS = ("bulk_compartment", "export_burst", "slow_low", "off_hours", "sensitivity_escalation")
_LEVELS = (0, 1, 2, 3, 4)
_WEEKDAY_FACTOR = (1.1, 1.0, 1.0, 1.0, 0.8, 0.15, 0.1)


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    weight: float
    reads: float       # median objects read on a working day
    searches: float
    exports: float     # export events on a working day (1-6 objects each)
    on_call: float     # share of weekends with some work


ROLES = (
    Role("analyst", 0.55, 45, 10, 0.3, 0.0),
    Role("liaison", 0.15, 25, 4, 1.2, 0.0),
    Role("manager", 0.15, 12, 2, 0.15, 0.0),
    Role("engineer", 0.15, 20, 6, 0.1, 0.25),
)


@dataclass(frozen=True, slots=True)
class SynthConfig:
    """How the log is generated; :func:`variant` gives a differently-parameterised one."""

    seed: int = 1
    users: int = 120
    days: int = 182
    start: date = date(2026, 1, 5)
    teams: int = 6
    roles: tuple[Role, ...] = ROLES
    level_sigma: float = 0.5          # spread of users' personal volume levels
    day_sigma: float = 0.35           # day-to-day volume noise
    rare_touch: float = 0.03          # share of read events in a rarely used compartment
    high_touch: float = 0.01          # share of read events one level above usual
    late_day: float = 0.05            # days with an hour or two of work after the usual end
    weekend_work: float = 0.03        # non-on-call weekends with a little work
    zones: tuple[int, ...] = (0, 0, 0, 1, -5)   # users' UTC offsets, drawn uniformly
    holidays: tuple[int, ...] = (0, 60, 87, 88, 116, 144)  # day offsets (a Monday is 0)
    job_change: float = 0.08          # share of users who change team
    plants_per_kind: int = 4
    plant_scale: float = 1.0          # multiplies planted volumes (lower: subtler)
    warmup_days: int = 70


def variant(seed: int) -> SynthConfig:
    """A differently-parameterised generator (held out: never used to tune the detector):
    more users and teams, another role mix, noisier days, more job changes and weekend work,
    wider time zones, other holidays, and planted exfiltration a quarter smaller."""
    roles = (
        Role("analyst", 0.40, 60, 14, 0.5, 0.0),
        Role("liaison", 0.25, 30, 6, 2.0, 0.0),
        Role("manager", 0.10, 8, 1, 0.3, 0.0),
        Role("engineer", 0.25, 25, 8, 0.2, 0.35),
    )
    return SynthConfig(seed=seed, users=180, days=210, start=date(2025, 9, 1), teams=9,
                       roles=roles, level_sigma=0.6, day_sigma=0.5, rare_touch=0.05,
                       high_touch=0.02, late_day=0.10, weekend_work=0.06,
                       zones=(0, 0, 1, 2, -5, -8, 8), holidays=(24, 52, 115, 116, 120, 122),
                       job_change=0.15, plants_per_kind=5, plant_scale=0.75, warmup_days=75)


@dataclass(frozen=True, slots=True)
class Plant:
    actor: str
    kind: str
    first: date
    last: date


@dataclass(slots=True)
class SynthLog:
    events: list[AccessEvent]
    plants: list[Plant]
    peers: dict[str, str]         # user -> team at the start of the log
    job_changes: dict[str, date]
    users: int
    days: int


@dataclass(slots=True)
class _User:
    name: str
    role: Role
    team: int
    comps: tuple[str, str]
    rare: tuple[str, str]
    tlp_p: Any
    cls_p: Any
    start_hour: float
    hours: float
    zone: int
    level: float
    idle: set[int] = field(default_factory=set)
    change_day: int | None = None
    new_team: int = 0


def _team_markings(rng: np.random.Generator, teams: int) -> list[tuple[Any, Any]]:
    out = []
    for _ in range(teams):
        tlp = rng.dirichlet([4, 4, 3, 0.6, 0.2])
        top = int(rng.integers(1, 4))       # classification levels the team works at
        cls = np.zeros(5)
        cls[: top + 1] = rng.dirichlet(np.ones(top + 1) * 2)
        out.append((tlp, cls))
    return out


def _capped(p: Any, rnd: random.Random, up: bool) -> int:
    """A marking level drawn from ``p``; ``up``: one level above the highest usual one."""
    if up:
        return min(int(np.flatnonzero(p > 0.02).max()) + 1, 4)
    return rnd.choices(_LEVELS, weights=p)[0]


def generate(config: SynthConfig | None = None) -> SynthLog:
    """The log of ``config`` (deterministic for a seed): events in time order, the plants."""
    c = config or SynthConfig()
    rng = np.random.default_rng(c.seed)
    markings = _team_markings(rng, c.teams)
    comps = [(f"T{t}A", f"T{t}B") for t in range(c.teams)]
    weights = np.array([r.weight for r in c.roles])
    users: list[_User] = []
    for i in range(c.users):
        team = int(rng.integers(c.teams))
        others = [x for x in range(c.teams) if x != team]
        rare_teams = rng.choice(others, size=2, replace=False)
        role = c.roles[int(rng.choice(len(c.roles), p=weights / weights.sum()))]
        u = _User(f"user{i:03d}", role, team, comps[team],
                  (comps[int(rare_teams[0])][0], comps[int(rare_teams[1])][1]),
                  markings[team][0], markings[team][1],
                  float(np.clip(rng.normal(8.5, 1.0), 6, 11)), float(rng.uniform(7.5, 9.5)),
                  int(rng.choice(c.zones)), float(np.exp(rng.normal(0, c.level_sigma))))
        for _ in range(int(rng.integers(1, 3))):
            v0 = int(rng.integers(0, c.days - 10))
            u.idle.update(range(v0, v0 + int(rng.integers(5, 12))))
        users.append(u)
    changers = rng.choice(c.users, size=round(c.job_change * c.users), replace=False)
    job_changes: dict[str, date] = {}
    for i in changers:
        u = users[int(i)]
        u.change_day = int(rng.integers(30, c.days - 20))
        u.new_team = int(rng.choice([x for x in range(c.teams) if x != u.team]))
        job_changes[u.name] = c.start + timedelta(days=u.change_day)
    events: list[AccessEvent] = []
    rnd = random.Random(c.seed)
    for u in users:
        events.extend(_habits(u, c, rng, rnd, comps, markings))
    plants = _plant(users, c, rng, events)
    events.sort(key=lambda e: (e.at, e.actor))
    return SynthLog(events, plants, {u.name: f"team{u.team}" for u in users}, job_changes,
                    c.users, c.days)


def _at(c: SynthConfig, day: int, local_hour: float, zone: int) -> datetime:
    base = datetime(c.start.year, c.start.month, c.start.day, tzinfo=UTC)
    return base + timedelta(days=day, hours=local_hour - zone)


def _habits(u: _User, c: SynthConfig, rng: np.random.Generator, rnd: random.Random,
            comps: list[tuple[str, str]], markings: list[tuple[Any, Any]]
            ) -> list[AccessEvent]:
    out: list[AccessEvent] = []
    holidays = set(c.holidays)
    level = u.level
    for day in range(c.days):
        weekday = (c.start + timedelta(days=day)).weekday()
        if day in holidays or day in u.idle:
            continue
        if weekday >= 5:
            p = u.role.on_call or c.weekend_work
            if rnd.random() >= p:
                continue
        elif rnd.random() < 0.04:        # sick days and the like
            continue
        my_comps, (tlp_p, cls_p) = u.comps, (u.tlp_p, u.cls_p)
        if u.change_day is not None and day >= u.change_day:
            # a week of handover, then the new team's habits and a new volume level
            if day >= u.change_day + 7 or rnd.random() < (day - u.change_day) / 7:
                my_comps, (tlp_p, cls_p) = comps[u.new_team], markings[u.new_team]
            level = u.level * (1.3 if u.new_team % 2 else 0.75)
        v = level * _WEEKDAY_FACTOR[weekday] * float(np.exp(rnd.gauss(0, c.day_sigma)))
        end = u.start_hour + u.hours + (rnd.uniform(1, 2.5) if rnd.random() < c.late_day else 0)

        def when(day: int = day, end: float = end) -> datetime:
            return _at(c, day, rnd.uniform(u.start_hour, end), u.zone)

        reads = int(rng.poisson(u.role.reads * v))
        while reads > 0:
            n = 1 if rnd.random() < 0.7 else rnd.randint(2, 20)
            n = min(n, reads)
            reads -= n
            r = rnd.random()
            if r < c.rare_touch:
                comp = frozenset({u.rare[rnd.randrange(2)]})
                n = min(n, 3)
            elif r < 0.35:
                comp = frozenset()
            else:
                comp = frozenset({my_comps[int(rnd.random() < 0.4)]})
            up = rnd.random() < c.high_touch
            out.append(AccessEvent(when(), u.name, "read", f"doc-{rnd.getrandbits(30):x}",
                                   _capped(tlp_p, rnd, up), _capped(cls_p, rnd, False), comp, n))
        for _ in range(int(rng.poisson(u.role.searches * v))):
            out.append(AccessEvent(when(), u.name, "search", f"q-{rnd.getrandbits(30):x}",
                                   0, 0, frozenset(), rnd.randrange(50)))
        for _ in range(int(rng.poisson(u.role.exports * v))):
            out.append(AccessEvent(when(), u.name, "export", f"export-{rnd.getrandbits(30):x}",
                                   _capped(tlp_p, rnd, False), _capped(cls_p, rnd, False),
                                   frozenset({my_comps[0]}) if rnd.random() < 0.5
                                   else frozenset(), rnd.randint(1, 6)))
    return out


def _working_days(c: SynthConfig, u: _User, lo: int, hi: int) -> list[int]:
    return [d for d in range(lo, min(hi, c.days))
            if (c.start + timedelta(days=d)).weekday() < 5 and d not in u.idle
            and d not in c.holidays]


def _plant(users: list[_User], c: SynthConfig, rng: np.random.Generator,
           events: list[AccessEvent]) -> list[Plant]:
    candidates = [u for u in users if u.change_day is None]
    chosen = rng.choice(len(candidates), size=min(len(candidates),
                                                  c.plants_per_kind * len(KINDS)), replace=False)
    plants: list[Plant] = []
    s = c.plant_scale
    for j, idx in enumerate(chosen):
        u = candidates[int(idx)]
        kind = KINDS[j % len(KINDS)]
        start = int(rng.integers(c.warmup_days, c.days - 45))
        days: list[int]
        if kind in ("bulk_compartment", "export_burst"):
            days = _working_days(c, u, start, start + 10)[: int(rng.integers(1, 3))]
        elif kind == "slow_low":
            span = _working_days(c, u, start, start + int(rng.integers(28, 43)))
            days = [d for d in span if rng.random() < 0.8]
        elif kind == "off_hours":
            days = sorted(int(d) for d in rng.choice(np.arange(start, start + 14),
                                                     size=int(rng.integers(3, 6)),
                                                     replace=False))
        else:
            days = _working_days(c, u, start, start + int(rng.integers(7, 15)))
        if not days:
            continue
        for k, d in enumerate(days):
            events.extend(_exfil(kind, u, c, rng, d, k, s))
        plants.append(Plant(u.name, kind, c.start + timedelta(days=days[0]),
                            c.start + timedelta(days=days[-1])))
    return plants


def _exfil(kind: str, u: _User, c: SynthConfig, rng: np.random.Generator, day: int, k: int,
           s: float) -> list[AccessEvent]:
    def at(lo: float, hi: float) -> datetime:
        return _at(c, day, float(rng.uniform(lo, hi)), u.zone)

    def reads(total: int, comp: frozenset[str], tlp: int, cls: int, lo: float, hi: float
              ) -> list[AccessEvent]:
        out = []
        while total > 0:
            n = min(total, int(rng.integers(1, 25)))
            total -= n
            out.append(AccessEvent(at(lo, hi), u.name, "read", f"doc-{rng.integers(1 << 30):x}",
                                   tlp, cls, comp, n))
        return out

    work = (u.start_hour, u.start_hour + u.hours)
    tlp = int(rng.choice(5, p=u.tlp_p))
    cls = int(rng.choice(5, p=u.cls_p))
    rare = frozenset({u.rare[0]})
    if kind == "bulk_compartment":
        return reads(int(rng.uniform(150, 500) * s), rare, tlp, cls, *work)
    if kind == "export_burst":
        total = int(rng.uniform(40, 150) * s)
        out = []
        while total > 0:
            n = min(total, int(rng.integers(3, 16)))
            total -= n
            out.append(AccessEvent(at(*work), u.name, "export",
                                   f"export-{rng.integers(1 << 30):x}", tlp, cls,
                                   frozenset({u.comps[0]}), n))
        return out
    if kind == "slow_low":
        out = reads(int(rng.uniform(5, 12) * s) or 1, rare, tlp, cls, *work)
        if k % 3 == 2:
            out.append(AccessEvent(at(*work), u.name, "export",
                                   f"export-{rng.integers(1 << 30):x}", tlp, cls, rare,
                                   int(rng.integers(2, 6))))
        return out
    if kind == "off_hours":
        return reads(int(rng.uniform(20, 80) * s), frozenset({u.comps[0]}), tlp, cls, 0.5, 4.0)
    top_tlp = int(np.flatnonzero(u.tlp_p > 0.02).max())
    top_cls = int(np.flatnonzero(u.cls_p > 0.02).max())
    return reads(int(rng.uniform(10, 30) * s), frozenset({u.comps[0]}), min(top_tlp + 1, 4),
                 min(top_cls + 1, 4), *work)


# --- scoring ---------------------------------------------------------------------------------

@dataclass(slots=True)
class Score:
    planted: dict[str, int]
    detected: dict[str, int]
    time_to_detect: dict[str, list[int]]
    false_alarms: int
    false_alarms_job_change: int     # of which on a user within 3 weeks of a job change
    alerts: int
    user_months: float

    def rate(self, kind: str) -> float:
        return self.detected[kind] / self.planted[kind] if self.planted[kind] else 0.0

    @property
    def overall(self) -> float:
        total = sum(self.planted.values())
        return sum(self.detected.values()) / total if total else 0.0

    @property
    def false_per_user_month(self) -> float:
        return self.false_alarms / self.user_months if self.user_months else 0.0

    def median_ttd(self, kind: str | None = None) -> float | None:
        values = (self.time_to_detect[kind] if kind else
                  [v for vs in self.time_to_detect.values() for v in vs])
        return float(median(values)) if values else None

    def merged(self, other: Score) -> Score:
        return replace(
            self,
            planted={k: self.planted[k] + other.planted[k] for k in KINDS},
            detected={k: self.detected[k] + other.detected[k] for k in KINDS},
            time_to_detect={k: self.time_to_detect[k] + other.time_to_detect[k]
                            for k in KINDS},
            false_alarms=self.false_alarms + other.false_alarms,
            false_alarms_job_change=self.false_alarms_job_change
            + other.false_alarms_job_change,
            alerts=self.alerts + other.alerts, user_months=self.user_months + other.user_months)


def score(alerts: Sequence[tuple[str, date]], log: SynthLog, *, grace_days: int = 3) -> Score:
    """Score (user, day) alerts against the log's plants (module docstring)."""
    by_actor: dict[str, list[Plant]] = defaultdict(list)
    for p in log.plants:
        by_actor[p.actor].append(p)
    planted = {k: sum(1 for p in log.plants if p.kind == k) for k in KINDS}
    first_hit: dict[Plant, date] = {}
    false = job = 0
    for actor, day in sorted(alerts, key=lambda a: (a[1], a[0])):
        hit = [p for p in by_actor.get(actor, ())
               if p.first - timedelta(days=1) <= day <= p.last + timedelta(days=grace_days)]
        if hit:
            for p in hit:
                first_hit.setdefault(p, day)
            continue
        false += 1
        changed = log.job_changes.get(actor)
        if changed is not None and changed <= day <= changed + timedelta(days=21):
            job += 1
    detected = {k: sum(1 for p in first_hit if p.kind == k) for k in KINDS}
    ttd = {k: [max((d - p.first).days, 0) for p, d in first_hit.items() if p.kind == k]
           for k in KINDS}
    return Score(planted, detected, ttd, false, job, len(alerts), log.users * log.days / 30.44)
