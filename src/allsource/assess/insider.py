"""Insider-risk detection: each user against their own baseline of access.

A stream of :class:`~allsource.assess.access_events.AccessEvent` is folded into one record per
(user, UTC day). Six daily *features* are measured, each a count of objects (or searches):

=====================  ==============================================================
``reads``              objects read
``exports``            objects exported or shared
``searches``           searches run
``rare_compartment``   objects read in compartments the user rarely touches
``off_hours``          objects touched at hours of the day the user rarely works
``above_ceiling``      objects read above the user's usual sensitivity
=====================  ==============================================================

**Profiles and baselines.** Every week (``refresh_days``) each user's *profile* is learned from
their events in a trailing window of ``window_days`` that ends ``gap_days`` before the week
starts (the gap keeps a recent, still-running departure out of its own baseline):

* the share of their events in each hour of the day (UTC), weekdays and weekends apart (48
  bins, each sharing half of its neighbours' activity); an hour below ``rare_hour_share`` is
  "off hours" for them;
* the share of their reads in each compartment; below ``rare_compartment_share`` is "rare";
* their sensitivity *ceiling*: the ``ceiling_quantile`` of the (classification, TLP) of what
  they read (events, not objects, so one bulk read does not move it).

The last three features are then counted over the window's days with that profile, so every
feature has a history of daily values. Its baseline is robust: the median, the MAD (×1.4826;
when most days are alike, e.g. mostly zero, the mean absolute deviation ×1.2533; floored at
``scale_floor``) and the 95th percentile of ``log1p(value)`` over the user's *active* days in
the window — a few odd days, or a departure that has run less than half the window, do not
move it.

**Peer prior.** Every user's profile leans on their peer group (teams, from identity; one group
by default) with the weight of ``k = prior_days`` of their own active days: the profile shares
are ``(user counts + k·days' worth of peer shares) / (user total + the same)``, so the prior
fades as the user's history grows. A user with fewer than ``4k`` active days in the window (a
newcomer, or back from a long absence) also blends each baseline statistic as
``(n·user + k·peer) / (n + k)``, where the peer statistic is the median over the group's
members with at least ``2 · min_active_days`` active days. A user is judged once ``n`` (plus
``k`` when the group has such members) reaches ``min_active_days``: a newcomer is judged
against their peers until their own habits dominate.

**Departures.** On each active day, for each feature ``x`` with baseline median ``m`` and scale
``s``: ``z = (log1p(x) - m) / s``.

* *spike*: ``z >= z_spike``, ``x >= min_objects[feature]``, ``x >= spike_ratio · e^m`` (so
  a jump from 1 to 4 is not "bulk") and ``x >= peak_ratio · (p95 + 1)``, where p95 is the
  user's 95th percentile of the feature (a liaison's regular export days are not a burst);
* *sustained*: a one-sided CUSUM ``S = max(0, S + min(z, z_cap) - cusum_k)`` per feature,
  updated on active days only (a weekend does not wash out a slow drip); ``S >= cusum_h``
  with at least ``min_objects`` objects above the median accumulated since ``S`` left zero
  is a departure, and resets ``S``. This catches slow-and-low exfiltration that never makes a
  daily spike.

**Changes of work.** A user who moves to another team reads new compartments (and maybe other
markings) *instead of* their old ones; an insider reads them *as well*. So a
``rare_compartment`` or ``above_ceiling`` departure is not raised when the user's reads did not
spike and their other reads (outside the rare compartments, or at or below their ceiling) fell
below ``substitution_share`` of their usual volume — that day for a spike, on average over the
CUSUM run for a sustained one (whose CUSUM then goes on: extra reading later still counts).
The new compartments become the user's own at the next refreshes. The price, stated plainly:
an insider who stops their normal work and reads another compartment at their normal volume
looks like a job change to this rule (a volume spike or an export burst is still caught).

**Episodes and cooldown.** Departures of one user less than ``quiet_days`` apart form one
*episode*, which gives one alert — on its first day, explaining each feature that departed
(observed value, usual median, the window it was learned from, robust z or the accumulated
excess). A new episode raises a new alert only ``cooldown_days`` after the last one.

Everything is deterministic. A week's work is one profile per user active in its window or
its days, each over that user's active days there, so the whole run is linear in the number of
user-days (times the window's weeks), however many users there are; an unknown action or the
actor ``system`` is ignored, and counts were clamped when the events were read.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from statistics import median
from typing import Any

from allsource.assess.access_events import AccessEvent
from allsource.model.markings import TLP, Classification

__all__ = [
    "FEATURES",
    "Departure",
    "InsiderAlert",
    "InsiderParams",
    "ThresholdRule",
    "daily_totals",
    "detect",
    "detect_threshold",
    "threshold_alerts",
]

FEATURES = ("reads", "exports", "searches", "rare_compartment", "off_hours", "above_ceiling")
_SUBSTITUTES = ("rare_compartment", "above_ceiling")
_DESCRIBE = {
    "reads": "objects read",
    "exports": "objects exported or shared",
    "searches": "searches",
    "rare_compartment": "objects read in compartments they rarely touch",
    "off_hours": "objects touched at hours they rarely work",
    "above_ceiling": "objects read above their usual sensitivity",
}
_HOURS = 48  # hour of the day, on weekdays and at weekends
_MAD = 1.4826
_MEAN_AD = 1.2533
_MAX_TARGETS = 5
_DEFAULT_GROUP = "*"


def _default_min_objects() -> dict[str, int]:
    return {"reads": 60, "exports": 12, "searches": 40, "rare_compartment": 25,
            "off_hours": 20, "above_ceiling": 20}


@dataclass(frozen=True, slots=True)
class InsiderParams:
    """The detector's knobs (module docstring). Defaults were tuned on the synthetic log of
    :mod:`allsource.assess.insider_synth` with seed 1 only (benchmarks/RESULTS.md)."""

    window_days: int = 56
    gap_days: int = 7
    refresh_days: int = 7
    min_active_days: int = 10       # own + prior-weighted days needed before judging
    prior_days: float = 10.0        # weight of the peer prior, in active days
    scale_floor: float = 0.45       # on the log1p scale
    z_spike: float = 3.0
    spike_ratio: float = 3.0
    peak_ratio: float = 3.0         # a spike is also this far above the user's 95th percentile
    z_cap: float = 4.0
    cusum_k: float = 2.0
    cusum_h: float = 7.0
    rare_hour_share: float = 0.002
    rare_compartment_share: float = 0.03
    ceiling_quantile: float = 0.995
    substitution_share: float = 0.75 # see "Changes of work" in the module docstring
    quiet_days: int = 7
    cooldown_days: int = 14
    min_objects: Mapping[str, int] = field(default_factory=_default_min_objects)


@dataclass(frozen=True, slots=True)
class Departure:
    """One feature of one day that left the user's baseline."""

    feature: str
    how: str                  # "spike" or "sustained"
    observed: float           # the day's value (spike) or the excess accumulated (sustained)
    usual: float              # the baseline median, back on the count scale
    z: float                  # robust z of the day (spike) or the CUSUM statistic (sustained)
    active_days: int          # the user's own active days in the baseline window
    window: tuple[date, date]  # the baseline window [first, last]
    days: int = 1             # active days the sustained excess was accumulated over
    what: tuple[str, ...] = ()  # the compartments, hours or levels concerned

    def explain(self) -> str:
        base = (f"usual {self.usual:.0f}/day (median of {self.active_days} active days "
                f"{self.window[0]}..{self.window[1]}")
        base += ", with the peer prior)" if self.active_days < 20 else ")"
        what = f" [{', '.join(self.what)}]" if self.what else ""
        if self.how == "spike":
            return (f"{_DESCRIBE[self.feature]}{what}: {self.observed:.0f} in a day vs "
                    f"{base}, robust z {self.z:.1f}")
        return (f"{_DESCRIBE[self.feature]}{what}: sustained, {self.observed:.0f} above usual "
                f"over {self.days} active days vs {base}, CUSUM {self.z:.1f}")

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "how": self.how, "observed": round(self.observed, 2),
                "usual": round(self.usual, 2), "z": round(self.z, 2),
                "active_days": self.active_days,
                "window": [self.window[0].isoformat(), self.window[1].isoformat()],
                "days": self.days, "what": list(self.what), "explanation": self.explain()}


@dataclass(frozen=True, slots=True)
class InsiderAlert:
    """One episode of one user's departure from their baseline (raised on its first day)."""

    actor: str
    day: date
    departures: tuple[Departure, ...]
    severity: str                     # "medium" or "high"
    last_day: date                    # the episode's last anomalous day seen
    anomalous_days: int
    later_features: tuple[str, ...]   # features that departed after the first day
    tlp: int                          # evidence: the highest marking touched on those days
    classification: int
    compartments: frozenset[str]
    targets: tuple[str, ...]

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d.feature for d in self.departures))

    def title(self) -> str:
        return (f"Insider risk: {self.actor} departed from their own baseline "
                f"({', '.join(self.features)}) on {self.day}")

    def explain(self) -> list[str]:
        lines = [d.explain() for d in self.departures]
        if self.anomalous_days > 1:
            later = f"; later also {', '.join(self.later_features)}" if self.later_features \
                else ""
            lines.append(f"episode: {self.anomalous_days} anomalous days up to "
                         f"{self.last_day}{later}")
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {"actor": self.actor, "day": self.day.isoformat(), "severity": self.severity,
                "features": list(self.features),
                "departures": [d.as_dict() for d in self.departures],
                "last_day": self.last_day.isoformat(), "anomalous_days": self.anomalous_days,
                "later_features": list(self.later_features), "targets": list(self.targets)}


# --- folding events into user-days ---------------------------------------------------------

@dataclass(slots=True)
class _Day:
    reads: int = 0
    exports: int = 0
    searches: int = 0
    hour_events: Counter[int] = field(default_factory=Counter)
    hour_objects: Counter[int] = field(default_factory=Counter)
    comp_events: Counter[str] = field(default_factory=Counter)
    comp_objects: Counter[str] = field(default_factory=Counter)
    sens_events: Counter[int] = field(default_factory=Counter)
    sens_objects: Counter[int] = field(default_factory=Counter)
    tlp: int = 0
    classification: int = 0
    compartments: set[str] = field(default_factory=set)
    targets: list[str] = field(default_factory=list)

    def value(self, feature: str) -> int:
        return int(getattr(self, feature))


def _fold(events: Iterable[AccessEvent]) -> dict[str, dict[int, _Day]]:
    users: dict[str, dict[int, _Day]] = defaultdict(dict)
    for e in events:
        if e.action not in ("read", "search", "export", "share") or e.actor == "system":
            continue
        ordinal = e.at.toordinal()
        day = users[e.actor].get(ordinal)
        if day is None:
            day = users[e.actor][ordinal] = _Day()
        how = (e.at.weekday() >= 5) * 24 + e.at.hour
        count = max(int(e.count), 0)
        objects = 1 if e.action == "search" else count
        day.hour_events[how] += 1
        day.hour_objects[how] += objects
        if e.action == "search":
            day.searches += 1
            continue
        if e.action == "read":
            day.reads += count
            sens = e.classification * 5 + e.tlp
            day.sens_events[sens] += 1
            day.sens_objects[sens] += count
            for c in e.compartments:
                day.comp_events[c] += 1
                day.comp_objects[c] += count
        else:
            day.exports += count
        day.tlp = max(day.tlp, e.tlp)
        day.classification = max(day.classification, e.classification)
        day.compartments |= e.compartments
        if len(day.targets) < _MAX_TARGETS and e.target and e.target not in day.targets:
            day.targets.append(e.target)
    return users


# --- profiles and baselines ----------------------------------------------------------------

@dataclass(slots=True)
class _Raw:
    """A user's raw counts over one baseline window."""

    active: list[int]
    hours: list[float]
    comps: Counter[str]
    sens: Counter[int]


@dataclass(slots=True)
class _Profile:
    off_hours: frozenset[int]
    common: frozenset[str]  # compartments the user works in (every other one is rare)
    ceiling: int
    stats: dict[str, tuple[float, float, float]]  # feature -> median, scale, p95 (log1p)
    own_days: int
    window: tuple[date, date]


def _raw(days: Mapping[int, _Day], ordered: list[int], lo: int, hi: int) -> _Raw:
    active = ordered[bisect_left(ordered, lo):bisect_left(ordered, hi)]
    hours = [0.0] * _HOURS
    comps: Counter[str] = Counter()
    sens: Counter[int] = Counter()
    for d in active:
        day = days[d]
        for h, n in day.hour_events.items():
            hours[h] += n
        comps.update(day.comp_events)
        sens.update(day.sens_events)
    return _Raw(active, hours, comps, sens)


def _shares(counts: Mapping[Any, float]) -> dict[Any, float]:
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()} if total else {}


def _smooth(hours: list[float]) -> list[float]:
    """Each hour shares a little of its neighbours' activity (an hour earlier or later than
    usual is not "off hours")."""
    return [hours[h] + 0.5 * (hours[(h - 1) % _HOURS] + hours[(h + 1) % _HOURS])
            for h in range(_HOURS)]


def _robust(values: list[float], floor: float) -> tuple[float, float, float]:
    """Median, scale and 95th percentile of ``log1p(values)``. The scale is the MAD (×1.4826);
    when more than half the days are alike (a mostly-zero series: MAD 0) it falls back to the
    mean absolute deviation (×1.2533), which still sees how often the user departs from zero."""
    if not values:
        return 0.0, floor, 0.0
    logs = sorted(math.log1p(v) for v in values)
    m = median(logs)
    dev = [abs(v - m) for v in logs]
    scale = median(dev) * _MAD or sum(dev) / len(dev) * _MEAN_AD
    return m, max(scale, floor), logs[min(int(0.95 * len(logs)), len(logs) - 1)]


@dataclass(slots=True)
class _Peer:
    hours: dict[int, float]
    comps: dict[str, float]
    sens: dict[int, float]
    stats: dict[str, tuple[float, float, float]]


def _peer(raws: list[_Raw], own_stats: list[dict[str, tuple[float, float, float]]],
          established: int, size: int) -> _Peer:
    """A group's prior: the mean of its members' shares and the median of the established
    members' baseline statistics."""
    hours: dict[int, float] = defaultdict(float)
    comps: dict[str, float] = defaultdict(float)
    sens: dict[int, float] = defaultdict(float)
    for r in raws:
        for h, s in _shares(dict(enumerate(r.hours))).items():
            hours[h] += s
        for c, s in _shares(r.comps).items():
            comps[c] += s
        for k, s in _shares(r.sens).items():
            sens[k] += s
    n = max(size, len(raws), 1)
    stats: dict[str, tuple[float, float, float]] = {}
    settled = [s for r, s in zip(raws, own_stats, strict=True) if len(r.active) >= established]
    for f in FEATURES:
        if settled:
            stats[f] = (median(s[f][0] for s in settled), median(s[f][1] for s in settled),
                        median(s[f][2] for s in settled))
    return _Peer({h: v / n for h, v in hours.items()}, {c: v / n for c, v in comps.items()},
                 {k: v / n for k, v in sens.items()}, stats)


def _blend_profile(raw: _Raw, peer: _Peer | None, p: InsiderParams
                   ) -> tuple[frozenset[int], frozenset[str], int]:
    k = p.prior_days if peer is not None else 0.0
    # the prior is worth k active days of the user's own events
    per_day = sum(raw.hours) / len(raw.active) if raw.active else 20.0
    weight = k * max(per_day, 1.0)
    hours = list(raw.hours)
    if peer is not None:
        for h, s in peer.hours.items():
            hours[h] += weight * s
    smooth = _smooth(hours)
    total = sum(smooth)
    off = frozenset(h for h in range(_HOURS) if not total or smooth[h] / total < p.rare_hour_share)
    comp_total = float(sum(raw.comps.values()))
    merged: dict[str, float] = {c: float(n) for c, n in raw.comps.items()}
    if peer is not None:
        w = k * max(comp_total / max(len(raw.active), 1), 1.0)
        for c, s in peer.comps.items():
            merged[c] = merged.get(c, 0.0) + w * s
        comp_total += w * sum(peer.comps.values())
    common = frozenset(c for c, n in merged.items()
                       if comp_total and n / comp_total >= p.rare_compartment_share)
    sens: dict[int, float] = {s: float(n) for s, n in raw.sens.items()}
    if peer is not None:
        w = k * max(sum(raw.sens.values()) / max(len(raw.active), 1), 1.0)
        for s, v in peer.sens.items():
            sens[s] = sens.get(s, 0.0) + w * v
    return off, common, _quantile(sens, p.ceiling_quantile)


def _quantile(weights: Mapping[int, float], q: float) -> int:
    total = sum(weights.values())
    if not total:
        return 24
    acc = 0.0
    for level in sorted(weights):
        acc += weights[level]
        if acc >= q * total - 1e-9:
            return level
    return max(weights)


def _derived(day: _Day, off: frozenset[int], common: frozenset[str], ceiling: int
             ) -> dict[str, int]:
    return {
        "rare_compartment": sum(n for c, n in day.comp_objects.items() if c not in common),
        "off_hours": sum(n for h, n in day.hour_objects.items() if h in off),
        "above_ceiling": sum(n for s, n in day.sens_objects.items() if s > ceiling),
    }


def _own_stats(days: Mapping[int, _Day], raw: _Raw, off: frozenset[int],
               common: frozenset[str], ceiling: int, floor: float
               ) -> dict[str, tuple[float, float, float]]:
    series: dict[str, list[float]] = {f: [] for f in FEATURES}
    for d in raw.active:
        day = days[d]
        for f in ("reads", "exports", "searches"):
            series[f].append(day.value(f))
        for f, v in _derived(day, off, common, ceiling).items():
            series[f].append(v)
    return {f: _robust(v, floor) for f, v in series.items()}


# --- detection -----------------------------------------------------------------------------

@dataclass(slots=True)
class _Cusum:
    s: float = 0.0
    excess: float = 0.0
    other: float = 0.0   # the user's other reads over the run (see "Changes of work")
    days: int = 0


@dataclass(slots=True)
class _Episode:
    first: int
    last: int
    departures: list[Departure]
    later: list[str]
    anomalous: int
    tlp: int
    classification: int
    compartments: set[str]
    targets: list[str]


@dataclass(slots=True)
class _UserState:
    cusum: dict[str, _Cusum] = field(default_factory=lambda: {f: _Cusum() for f in FEATURES})
    episode: _Episode | None = None
    last_alert: int | None = None


def detect(events: Iterable[AccessEvent], params: InsiderParams | None = None,
           peers: Mapping[str, str] | None = None, *, start: date | None = None
           ) -> list[InsiderAlert]:
    """Insider-risk alerts, one per episode, in day order. ``peers`` maps a user to a peer
    group (default: one group); only alerts raised on or after ``start`` are returned (the
    days before it still build the baselines and the cooldown)."""
    p = params or InsiderParams()
    users = _fold(events)
    if not users:
        return []
    first = min(min(days) for days in users.values())
    last = max(max(days) for days in users.values())
    # who is active on which day (in the users' order), and each user's days in order: a
    # week's work is then bounded by the user-days in its window, not by all users
    by_day: dict[int, list[str]] = defaultdict(list)
    for actor, days in users.items():
        for d in days:
            by_day[d].append(actor)
    ordered = {actor: sorted(days) for actor, days in users.items()}
    group_of = {actor: (peers or {}).get(actor, _DEFAULT_GROUP) for actor in users}
    group_size = Counter(group_of.values())
    states = {actor: _UserState() for actor in users}
    episodes: list[tuple[str, _Episode]] = []
    # Refreshes fall on a fixed grid of days (Mondays for a 7-day refresh), so scans that
    # start on different days learn the same profiles for the same day.
    for week in range(first - (first - 1) % p.refresh_days, last + 1, p.refresh_days):
        hi = week - p.gap_days
        lo = hi - p.window_days
        days_now = range(week, min(week + p.refresh_days, last + 1))
        judged = {a for d in days_now for a in by_day.get(d, ())}
        if not judged:
            continue
        learning = {a for d in range(lo, hi) for a in by_day.get(d, ())}
        groups: dict[str, list[str]] = defaultdict(list)
        for actor in sorted(learning | judged):
            groups[group_of[actor]].append(actor)
        window = (date.fromordinal(max(lo, 1)), date.fromordinal(max(hi - 1, 1)))
        profiles = {}
        for name, members in groups.items():
            profiles.update(_profiles(users, ordered, members, group_size[name], judged,
                                      lo, hi, window, p))
        for d in days_now:
            for actor in by_day.get(d, ()):
                profile = profiles.get(actor)
                if profile is None:
                    continue
                day = users[actor][d]
                found = _departures(day, profile, states[actor], p)
                if found:
                    _record(actor, d, day, found, states[actor], p, episodes)
    return [_alert(actor, ep) for actor, ep in episodes
            if start is None or date.fromordinal(ep.first) >= start]


def _profiles(users: Mapping[str, Mapping[int, _Day]], ordered: Mapping[str, list[int]],
              members: list[str], size: int, judged: set[str], lo: int, hi: int,
              window: tuple[date, date], p: InsiderParams) -> dict[str, _Profile]:
    """The profiles of one peer group's ``judged`` users for a week. ``members`` are the
    group's users active in the window or the week; ``size`` counts every user of the group
    (the peer shares are a mean over all of them)."""
    raws = [_raw(users[a], ordered[a], lo, hi) for a in members]
    own = []
    for a, r in zip(members, raws, strict=True):
        off, common, ceil = _blend_profile(r, None, p)
        own.append(_own_stats(users[a], r, off, common, ceil, p.scale_floor))
    peer = _peer(raws, own, established=p.min_active_days * 2, size=size)
    out: dict[str, _Profile] = {}
    for a, r in zip(members, raws, strict=True):
        if a not in judged:
            continue
        off, common, ceil = _blend_profile(r, peer, p)
        stats = _own_stats(users[a], r, off, common, ceil, p.scale_floor)
        n = len(r.active)
        weight = 0.0
        if peer.stats and n < 4 * p.prior_days:
            weight = p.prior_days
            stats = {f: tuple(  # type: ignore[misc]
                (n * own_v + weight * peer_v) / (n + weight)
                for own_v, peer_v in zip(stats[f], peer.stats[f], strict=True))
                for f in FEATURES}
        if n + weight >= p.min_active_days:
            out[a] = _Profile(off, common, ceil, stats, n, window)
    return out


def _departures(day: _Day, profile: _Profile, state: _UserState, p: InsiderParams
                ) -> list[Departure]:
    values = {f: day.value(f) for f in ("reads", "exports", "searches")}
    values.update(_derived(day, profile.off_hours, profile.common, profile.ceiling))
    found: list[Departure] = []
    m_reads = profile.stats["reads"][0]
    usual_reads = math.expm1(m_reads)
    no_spike = (math.log1p(values["reads"]) - m_reads) / profile.stats["reads"][1] < p.z_spike
    for f in FEATURES:
        x = values[f]
        m, s, top = profile.stats[f]
        z = (math.log1p(x) - m) / s
        usual = math.expm1(m)
        floor = p.min_objects.get(f, 1)
        c = state.cusum[f]
        c.s = max(0.0, c.s + min(z, p.z_cap) - p.cusum_k)
        if c.s > 0:
            c.excess += max(x - usual, 0.0)
            c.other += values["reads"] - x if f in _SUBSTITUTES else 0
            c.days += 1
        else:
            c.excess, c.other, c.days = 0.0, 0.0, 0
        replaced = f in _SUBSTITUTES and no_spike
        if (z >= p.z_spike and x >= floor and x >= p.spike_ratio * (usual + 1)
                and x >= p.peak_ratio * (math.expm1(top) + 1)):
            if replaced and values["reads"] - x < p.substitution_share * usual_reads:
                continue  # a change of work, not extra reading (docstring)
            found.append(Departure(f, "spike", x, usual, z, profile.own_days, profile.window,
                                   what=_what(f, day, profile)))
            c.s, c.excess, c.other, c.days = 0.0, 0.0, 0.0, 0
        elif c.s >= p.cusum_h and c.excess >= floor:
            if replaced and c.other < p.substitution_share * usual_reads * c.days:
                continue  # the CUSUM goes on: extra reading later on still counts
            found.append(Departure(f, "sustained", c.excess, usual, c.s, profile.own_days,
                                   profile.window, days=c.days, what=_what(f, day, profile)))
            c.s, c.excess, c.other, c.days = 0.0, 0.0, 0.0, 0
    return found


def _what(feature: str, day: _Day, profile: _Profile) -> tuple[str, ...]:
    if feature == "rare_compartment":
        return tuple(sorted(c for c in day.comp_objects if c not in profile.common))[:5]
    if feature == "off_hours":
        hours = sorted(h for h in day.hour_objects if h in profile.off_hours)
        return tuple(f"{'weekend' if h >= 24 else 'weekday'} {h % 24:02d}h UTC"
                     for h in hours)[:5]
    if feature == "above_ceiling":
        return tuple(_level(s) for s in sorted(day.sens_objects) if s > profile.ceiling)[:5]
    return ()


def _level(sens: int) -> str:
    return f"{Classification(sens // 5).name}/{TLP(sens % 5).label}"


def _record(actor: str, d: int, day: _Day, found: list[Departure], state: _UserState,
            p: InsiderParams, episodes: list[tuple[str, _Episode]]) -> None:
    ep = state.episode
    if ep is not None and d - ep.last <= p.quiet_days:
        ep.last = d
        ep.anomalous += 1
        ep.later.extend(x.feature for x in found
                        if x.feature not in ep.later
                        and x.feature not in {y.feature for y in ep.departures})
        _evidence(ep, day)
        return
    if state.last_alert is not None and d - state.last_alert < p.cooldown_days:
        if ep is not None:
            ep.last = d  # still cooling down: the old episode goes on, silently
        return
    ep = _Episode(d, d, found, [], 1, 0, 0, set(), [])
    _evidence(ep, day)
    state.episode = ep
    state.last_alert = d
    episodes.append((actor, ep))


def _evidence(ep: _Episode, day: _Day) -> None:
    ep.tlp = max(ep.tlp, day.tlp)
    ep.classification = max(ep.classification, day.classification)
    ep.compartments |= day.compartments
    for target in day.targets:
        if len(ep.targets) < _MAX_TARGETS and target not in ep.targets:
            ep.targets.append(target)


def _alert(actor: str, ep: _Episode) -> InsiderAlert:
    features = {d.feature for d in ep.departures}
    high = len(features) > 1 or bool(features & {"exports", "above_ceiling"})
    return InsiderAlert(
        actor=actor, day=date.fromordinal(ep.first), departures=tuple(ep.departures),
        severity="high" if high else "medium", last_day=date.fromordinal(ep.last),
        anomalous_days=ep.anomalous, later_features=tuple(ep.later), tlp=ep.tlp,
        classification=ep.classification, compartments=frozenset(ep.compartments),
        targets=tuple(ep.targets))


# --- the fixed-threshold baseline ----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """A typical SIEM rule, the baseline the detector is measured against: alert when a user
    reads more than ``max_reads`` or exports more than ``max_exports`` objects in a day (one
    alert per episode, with the same cooldown as the detector so the counts compare)."""

    max_reads: int = 400
    max_exports: int = 40
    substitution_share: float = 0.75 # see "Changes of work" in the module docstring
    quiet_days: int = 7
    cooldown_days: int = 14


def detect_threshold(events: Iterable[AccessEvent], rule: ThresholdRule | None = None
                     ) -> list[tuple[str, date]]:
    """(user, day) of each alert the fixed-threshold rule raises, in day order."""
    return threshold_alerts(daily_totals(events), rule)


def daily_totals(events: Iterable[AccessEvent]) -> dict[str, dict[int, tuple[int, int]]]:
    """Objects read and exported per user and day (ordinal), as the threshold rule counts
    them (fold once, try many thresholds)."""
    return {actor: {d: (day.reads, day.exports) for d, day in days.items()}
            for actor, days in _fold(events).items()}


def threshold_alerts(totals: Mapping[str, Mapping[int, tuple[int, int]]],
                     rule: ThresholdRule | None = None) -> list[tuple[str, date]]:
    """:func:`detect_threshold` over :func:`daily_totals`."""
    r = rule or ThresholdRule()
    out: list[tuple[str, date]] = []
    for actor in sorted(totals):
        last_hit: int | None = None
        last_alert: int | None = None
        for d in sorted(totals[actor]):
            reads, exports = totals[actor][d]
            if reads <= r.max_reads and exports <= r.max_exports:
                continue
            in_episode = last_hit is not None and d - last_hit <= r.quiet_days
            cooling = last_alert is not None and d - last_alert < r.cooldown_days
            last_hit = d
            if not in_episode and not cooling:
                last_alert = d
                out.append((actor, date.fromordinal(d)))
    return sorted(out, key=lambda a: (a[1], a[0]))
