"""Risk scoring: ``risk = likelihood × impact``, each in [0, 1], every component explained.

A subject is an *indicator* (an observable or a STIX indicator), an *entity* (threat actor,
malware, tool, campaign, vulnerability) or a *story* (near-duplicate documents clustered by
the ``stories`` stage). Its score is shown ×100; the components say what each number is and
which document, grade, topic or watchlist it came from (:meth:`RiskScore.explain`).

Likelihood: how far we believe the subject is real and still current::

    base       = 0.50·credibility + 0.25·reliability + 0.25·corroboration
    likelihood = base × recency

* ``credibility`` — the best Admiralty information credibility of the reporting documents (or
  the story's own grade from ``allsource verify``), on the STIX 2.1 confidence ladder
  (1→0.95, 2→0.7, 3→0.5, 4→0.3, 5→0.1; 6 "cannot be judged"→0.3, and so is an ungraded
  document);
* ``reliability`` — the best source reliability among them, on the same ladder (A→0.95,
  B→0.7, C→0.5, D→0.3, E→0.1; F "cannot be judged"→0.3, as an ungraded source);
* ``corroboration`` — ``1 − 0.5ⁿ`` for ``n`` independent sources (distinct sources reporting
  it, or one plus the independent corroboration that grading found, whichever is more): each
  further source halves the remaining doubt (1→0.5, 2→0.75, 3→0.875);
* ``recency`` — the decay factor below at the age of the last sighting (the latest
  publication date of a reporting document), never below the type's ``floor``.

Impact: how much it would matter to us::

    relevance = 1 − (1 − sector)·(1 − watchlist)
    impact    = type_weight × (0.3 + 0.7·relevance)          (× 0.05 if warninglisted)

* ``type`` — a weight per STIX type (``Settings.risk_type_weights``: intrusion sets and threat
  actors 1.0, malware and campaigns 0.9, … tools 0.6); a story takes the highest weight of
  the entities its documents mention (``story`` weight 0.5 when none);
* ``sector`` — how far the reporting documents concern a priority sector
  (``Settings.risk_priority_sectors``): a ``topics`` stage score for a sector that is a topic
  (``cyber``, ``economic`` …), or 1.0 when the document mentions a sector entity of that name
  (MISP sector galaxy: "Energy", "Finance" …); the best document counts;
* ``watchlist`` — a watchlist hit on the subject itself (the term matched this object, or for
  a story any of its documents) counts the watchlist's severity (low 0.4, medium 0.6, high
  0.8, critical 1.0); a hit only elsewhere in a reporting document counts half;
* a value that the MISP warninglists know as public infrastructure (top sites, public
  resolvers, cloud ranges …; flagged by the ``observables`` stage) keeps 5 % of its impact:
  it is almost certainly a false positive, and the explanation names the lists.

The sum relevance is a probabilistic OR: either a priority sector or a watchlist makes a
subject relevant, both make it more so, and the 0.3 baseline keeps an unmatched subject from
scoring nothing (we may not have told the platform everything we care about).

Decay (MISP decaying models). MISP scores an attribute with the polynomial formula of
Mokaddem et al., "An indicator scoring method for MISP platforms" (arXiv:1902.03914), as
implemented in MISP's ``app/Model/DecayingModelsFormulas/Polynomial.php``::

    score(t) = base_score × (1 − (t / τ)^(1/δ))        (0 once t ≥ τ)

with ``t`` the time since the last sighting, ``τ`` the lifetime and ``δ`` the decay speed; the
attribute is *decayed* (expired) once ``score < threshold`` (MISP compares on its 0–100
scale). ``δ = 1`` is linear; ``δ > 1`` drops fast at first and then slowly (network
infrastructure changes hands quickly); ``δ < 1`` holds up for most of the lifetime and then
drops (a file hash stays what it is). MISP's "NIDS Simple Decaying Model" uses τ = 120 days,
δ = 2, threshold 30 on a base score of 80. Here the base score is ``100 × base`` (the
undecayed likelihood), so an indicator expires at::

    t_expire = τ × (1 − threshold / (100·base))^δ        (at once if 100·base ≤ threshold)

τ, δ, the threshold and a floor are set per type (``Settings.risk_decay``, keyed by value
type: ``ipv4``, ``domain``, ``sha256`` …, plus ``indicator``, ``entity``, ``story`` and
``default``); see :data:`allsource.config.Settings` for the defaults and
:func:`decay_key` for how a stored object finds its entry. Entities and stories decay too but
do not expire (threshold 0); an entity keeps a floor of 0.1, since a known actor does not
become harmless by going quiet. A sighting dated after ``now`` (clock skew, time zones)
counts as age 0, where MISP would score it 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from allsource.model.admiralty import Credibility, Reliability

__all__ = [
    "BASELINE_IMPACT", "CREDIBILITY_VALUES", "LIKELIHOOD_WEIGHTS", "RELIABILITY_VALUES",
    "SEVERITY_VALUES", "SUBJECT_TYPES", "WARNINGLIST_FACTOR", "Component", "DecayParams",
    "Impact", "Likelihood", "RiskScore", "SectorMatch", "WatchMatch", "corroboration",
    "credibility", "decay", "decay_key", "decay_table", "expiry", "impact", "likelihood",
    "recency", "reliability", "sector", "sector_key", "sector_match", "type_weight",
    "watchlist",
]

SUBJECT_TYPES = ("indicator", "entity", "story")

#: Admiralty information credibility → [0, 1]: the STIX 2.1 confidence ladder (90, 70, 50,
#: 30, 10) with "confirmed" at 0.95; "cannot be judged" sits with "doubtful"
CREDIBILITY_VALUES: Mapping[int, float] = {1: 0.95, 2: 0.7, 3: 0.5, 4: 0.3, 5: 0.1, 6: 0.3}
#: source reliability → [0, 1], on the same ladder; F ("cannot be judged") as 6
RELIABILITY_VALUES: Mapping[str, float] = {"A": 0.95, "B": 0.7, "C": 0.5, "D": 0.3, "E": 0.1,
                                           "F": 0.3}
LIKELIHOOD_WEIGHTS: Mapping[str, float] = {"credibility": 0.5, "reliability": 0.25,
                                           "corroboration": 0.25}
#: impact of a subject that matches no priority sector and no watchlist, per unit type weight
BASELINE_IMPACT = 0.3
#: what is left of the impact of a value on a MISP warninglist
WARNINGLIST_FACTOR = 0.05
#: watchlist severity (1 low … 4 critical) → [0, 1]
SEVERITY_VALUES: Mapping[int, float] = {1: 0.4, 2: 0.6, 3: 0.8, 4: 1.0}
SEVERITY_LABELS: Mapping[int, str] = {1: "low", 2: "medium", 3: "high", 4: "critical"}
#: a watchlist hit elsewhere in a reporting document, not on the subject, counts this much
INDIRECT_WATCH = 0.5


# --- decay ---------------------------------------------------------------------------------

def decay(base: float, age_days: float, lifetime_days: float, speed: float) -> float:
    """MISP's polynomial decay: ``base × (1 − (t/τ)^(1/δ))``, 0 from ``t = τ`` on.

    ``age_days`` is ``t`` (negative ages count as 0), ``lifetime_days`` is ``τ`` and ``speed``
    is ``δ`` (both > 0)."""
    if lifetime_days <= 0 or speed <= 0:
        raise ValueError(f"decay needs a positive lifetime and speed, not "
                         f"{lifetime_days} and {speed}")
    t = max(0.0, age_days)
    if t >= lifetime_days:
        return 0.0
    return max(0.0, base * (1.0 - math.pow(t / lifetime_days, 1.0 / speed)))


@dataclass(frozen=True, slots=True)
class DecayParams:
    """One type's decay: lifetime ``τ`` (days), speed ``δ``, the MISP expiry threshold on the
    0–100 scale (0: never expires) and the floor under the recency factor (0–1)."""

    lifetime_days: float
    speed: float
    threshold: float = 0.0
    floor: float = 0.0

    def __post_init__(self) -> None:
        if not (self.lifetime_days > 0 and self.speed > 0 and 0 <= self.threshold <= 100
                and 0 <= self.floor < 1):
            raise ValueError(f"invalid decay: lifetime {self.lifetime_days} d and speed "
                             f"{self.speed} must be > 0, threshold {self.threshold} in 0-100, "
                             f"floor {self.floor} in [0, 1)")

    def factor(self, age_days: float) -> float:
        """The recency factor at ``age_days``: ``decay(1, …)``, at least ``floor``."""
        return max(self.floor, decay(1.0, age_days, self.lifetime_days, self.speed))

    def expiry_age(self, base: float) -> float | None:
        """Days after the last sighting at which ``100·base × factor`` falls below the
        threshold (0.0: already; ``None``: never, with threshold 0 or a floor above it)."""
        threshold = self.threshold / 100
        if threshold <= 0 or self.floor * base >= threshold:
            return None
        if base <= threshold:
            return 0.0
        return self.lifetime_days * math.pow(1.0 - threshold / base, self.speed)

    def describe(self) -> str:
        text = f"lifetime {self.lifetime_days:g} d, speed {self.speed:g}"
        if self.threshold:
            text += f", threshold {self.threshold:g}"
        if self.floor:
            text += f", floor {self.floor:g}"
        return text

    def as_json(self) -> dict[str, float]:
        return {"lifetime_days": self.lifetime_days, "speed": self.speed,
                "threshold": self.threshold, "floor": self.floor}


def decay_table(raw: Mapping[str, Mapping[str, float]], default_threshold: float = 0.0
                ) -> dict[str, DecayParams]:
    """Settings' ``risk_decay`` entries as :class:`DecayParams`; an entry without a
    threshold takes ``default_threshold``. The table must have a ``default`` entry."""
    if "default" not in raw:
        raise ValueError("the decay table needs a 'default' entry")
    out = {}
    for key, entry in raw.items():
        unknown = set(entry) - {"lifetime_days", "speed", "threshold", "floor"}
        if unknown:
            raise ValueError(f"decay entry {key!r}: unknown field(s) {', '.join(sorted(unknown))}"
                             " (lifetime_days, speed, threshold, floor)")
        out[key] = DecayParams(float(entry["lifetime_days"]), float(entry["speed"]),
                               float(entry.get("threshold", default_threshold)),
                               float(entry.get("floor", 0.0)))
    return out


#: STIX cyber-observable type → decay entry (value-type names of :mod:`allsource.model.types`)
_SCO_KEYS: Mapping[str, str] = {
    "ipv4-addr": "ipv4", "ipv6-addr": "ipv6", "domain-name": "domain", "url": "url",
    "email-addr": "email", "windows-registry-key": "regkey", "autonomous-system": "asn",
    "cryptocurrency-wallet": "btc", "x-allsource-cryptocurrency-wallet": "btc",
}
#: STIX ``hashes`` keys, strongest first
_HASH_KEYS: Sequence[tuple[str, str]] = (("SHA-512", "sha512"), ("SHA-256", "sha256"),
                                         ("SHA-1", "sha1"), ("MD5", "md5"))
_PATTERN = re.compile(r"\[\s*([a-z0-9-]+):([A-Za-z0-9_.'-]+)")


def decay_key(stix_type: str, stix: Mapping[str, Any], table: Mapping[str, Any]) -> str:
    """The decay entry of a stored object: its value type (``x_allsource_value_type``, set by
    the value types), else what its STIX type or an indicator's pattern says (``[file:hashes.
    'SHA-256' = …]`` → ``sha256``), else ``indicator`` for indicators, else ``default``."""
    candidates: list[str] = []
    value_type = stix.get("x_allsource_value_type")
    if isinstance(value_type, str):
        candidates.append(value_type)
    if stix_type == "indicator":
        found = _PATTERN.search(str(stix.get("pattern") or ""))
        if found:
            candidates.append(_sco_key(found.group(1), found.group(2)))
        candidates.append("indicator")
    elif stix_type == "file":
        hashes = stix.get("hashes") or {}
        candidates += [key for name, key in _HASH_KEYS if name in hashes]
        candidates.append("filename")
    else:
        candidates.append(_SCO_KEYS.get(stix_type, stix_type))
    return next((c for c in candidates if c in table), "default")


def _sco_key(sco_type: str, path: str) -> str:
    if sco_type == "file":
        upper = path.upper()
        return next((key for name, key in _HASH_KEYS if name in upper or
                     name.replace("-", "") in upper), "filename")
    return _SCO_KEYS.get(sco_type, sco_type)


# --- components ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Component:
    """One input of a score: its value in [0, 1], where it came from (one readable line), its
    weight in a weighted sum (``None`` where it multiplies), and the raw facts behind it."""

    name: str
    value: float
    source: str
    weight: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": round(self.value, 4), "source": self.source,
                "weight": self.weight, "details": dict(self.details)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Component:
        return cls(data["name"], float(data["value"]), data["source"], data.get("weight"),
                   dict(data.get("details") or {}))


def credibility(grade: int | None, origin: str) -> Component:
    """The best information credibility (1–6) among the reporting documents; ``None`` when
    none of them is graded (counted as 6)."""
    weight = LIKELIHOOD_WEIGHTS["credibility"]
    if grade is None:
        return Component("credibility", CREDIBILITY_VALUES[6],
                         "not graded (run `allsource verify`): counted as 6, cannot be judged",
                         weight, {"grade": None})
    meaning = Credibility(grade).meaning
    return Component("credibility", CREDIBILITY_VALUES[grade], f"{grade} ({meaning}): {origin}",
                     weight, {"grade": grade})


def reliability(grade: str | None, origin: str) -> Component:
    """The best source reliability (A–F) among the reporting documents' sources; ``None``
    when no source is graded (counted as F)."""
    weight = LIKELIHOOD_WEIGHTS["reliability"]
    if grade is None:
        return Component("reliability", RELIABILITY_VALUES["F"],
                         "no graded source: counted as F, reliability cannot be judged",
                         weight, {"grade": None})
    meaning = Reliability.parse(grade).meaning
    return Component("reliability", RELIABILITY_VALUES[grade], f"{grade} ({meaning}): {origin}",
                     weight, {"grade": grade})


def corroboration(independent: int, sources: Sequence[str] = (), origin: str = "") -> Component:
    """``1 − 0.5ⁿ`` for ``n`` independent sources (at least one: something reported it)."""
    n = max(1, independent)
    shown = ", ".join(sources[:5]) + (f" and {len(sources) - 5} more" if len(sources) > 5
                                      else "")
    text = f"{n} independent source{'s' if n != 1 else ''}"
    if shown:
        text += f" ({shown})"
    if origin:
        text += f"; {origin}"
    return Component("corroboration", 1.0 - 0.5 ** n, text, LIKELIHOOD_WEIGHTS["corroboration"],
                     {"independent": n, "sources": list(sources[:20])})


def recency(last_seen: datetime | None, now: datetime, params: DecayParams, key: str,
            note: str = "") -> Component:
    """The decay factor at the age of the last sighting (``None``: never seen, factor 0)."""
    if last_seen is None:
        return Component("recency", 0.0, "never seen in a dated document", None,
                         {"decay": key, **params.as_json(), "age_days": None})
    age = (now - last_seen).total_seconds() / 86400
    value = params.factor(age)
    shown = max(0.0, age)
    raw = decay(1.0, age, params.lifetime_days, params.speed)
    how = (f"1 − ({shown:.1f}/{params.lifetime_days:g})^(1/{params.speed:g})"
           if shown < params.lifetime_days else f"past the {params.lifetime_days:g}-day lifetime")
    if value > raw:
        how += f", held at the floor {params.floor:g}"
    text = (f"last seen {last_seen:%Y-%m-%d} ({shown:.1f} days ago){note}; decay {key!r} "
            f"({params.describe()}): {how}")
    return Component("recency", value, text, None,
                     {"decay": key, **params.as_json(), "age_days": round(age, 3),
                      "last_seen": last_seen.isoformat()})


@dataclass(frozen=True, slots=True)
class Likelihood:
    credibility: Component
    reliability: Component
    corroboration: Component
    recency: Component

    @property
    def parts(self) -> tuple[Component, Component, Component]:
        return (self.credibility, self.reliability, self.corroboration)

    @property
    def base(self) -> float:
        """The undecayed likelihood: the weighted sum of credibility, reliability and
        corroboration (MISP's base score, /100)."""
        return sum((c.weight or 0.0) * c.value for c in self.parts)

    @property
    def value(self) -> float:
        return self.base * self.recency.value


def likelihood(cred: Component, rel: Component, corr: Component, rec: Component) -> Likelihood:
    return Likelihood(cred, rel, corr, rec)


def type_weight(kind: str, weights: Mapping[str, float], origin: str = "") -> Component:
    """The weight of a STIX type (``default`` for a type without one)."""
    if kind in weights:
        value, text = weights[kind], f"{kind} weight"
    else:
        value, text = weights.get("default", 0.5), f"{kind}: default weight"
    if origin:
        text += f" ({origin})"
    return Component("type", value, text, None, {"type": kind})


def sector_key(text: str) -> str:
    """A sector or topic name as compared: lower case, words joined by ``-``
    (``Supply chain`` → ``supply-chain``, like the watchlists' sector terms)."""
    return "-".join(text.strip().lower().replace("_", " ").replace("/", " ")
                    .replace(",", " ").split())


@dataclass(frozen=True, slots=True)
class SectorMatch:
    """A priority sector found in a document: the topic score or 1.0 for a sector entity."""

    sector: str
    value: float
    how: str
    document_id: str


def sector_match(document_id: str, topics: Mapping[str, Any] | None,
                 sector_names: Iterable[str], priorities: Iterable[str]) -> SectorMatch | None:
    """The best priority sector of one document: a mentioned sector entity (1.0), else the
    ``topics`` stage's score for a priority topic (every topic's score when stored, else the
    assigned topics')."""
    wanted = {sector_key(p): p for p in priorities}
    if not wanted:
        return None
    for name in sector_names:
        if sector_key(name) in wanted:
            return SectorMatch(wanted[sector_key(name)], 1.0, f"sector entity {name!r} mentioned",
                               document_id)
    scores: dict[str, float] = {}
    if topics:
        stored = topics.get("scores")
        if isinstance(stored, Mapping):
            scores = {str(k): float(v) for k, v in stored.items()}
        else:
            scores = {str(x.get("topic")): float(x.get("score", 0.0))
                      for x in topics.get("topics") or ()}
    found = [(v, k) for k, v in scores.items() if sector_key(k) in wanted and v > 0]
    if not found:
        return None
    value, topic = max(found)
    return SectorMatch(wanted[sector_key(topic)], value, f"topic {topic!r} scored {value:.2f}",
                       document_id)


def sector(best: SectorMatch | None, priorities: Sequence[str]) -> Component:
    """The best priority-sector match among the reporting documents."""
    if not priorities:
        return Component("sector", 0.0, "no priority sectors configured "
                         "(Settings.risk_priority_sectors)", None, {})
    if best is None:
        return Component("sector", 0.0, f"no reporting document concerns "
                         f"{', '.join(priorities)}", None, {"priorities": list(priorities)})
    return Component("sector", best.value, f"{best.sector}: {best.how} in {best.document_id}",
                     None, {"sector": best.sector, "document_id": best.document_id,
                            "priorities": list(priorities)})


@dataclass(frozen=True, slots=True)
class WatchMatch:
    """A watchlist hit: which watchlist (and its severity 1–4), in which document, on what."""

    watchlist: str
    severity: int
    document_id: str
    matched: str

    @property
    def value(self) -> float:
        return SEVERITY_VALUES.get(self.severity, SEVERITY_VALUES[1])


def watchlist(direct: WatchMatch | None, indirect: WatchMatch | None,
              available: bool = True) -> Component:
    """The severity of the strongest watchlist hit on the subject itself, or half that of a
    hit elsewhere in a reporting document, whichever is more."""
    if not available:
        return Component("watchlist", 0.0, "no watchlists in this store", None, {})
    options = []
    if direct is not None:
        options.append((direct.value, "direct", direct,
                        f"watchlist {direct.watchlist!r} ({SEVERITY_LABELS.get(direct.severity)})"
                        f" matched {direct.matched!r} in {direct.document_id}"))
    if indirect is not None:
        options.append((INDIRECT_WATCH * indirect.value, "document", indirect,
                        f"a reporting document ({indirect.document_id}) hit watchlist "
                        f"{indirect.watchlist!r} ({SEVERITY_LABELS.get(indirect.severity)}) on "
                        f"{indirect.matched!r}: half its severity"))
    if not options:
        return Component("watchlist", 0.0, "no watchlist hit", None, {})
    value, how, hit, text = max(options, key=lambda o: o[0])
    return Component("watchlist", value, text, None,
                     {"via": how, "watchlist": hit.watchlist, "severity": hit.severity,
                      "document_id": hit.document_id, "matched": hit.matched})


@dataclass(frozen=True, slots=True)
class Impact:
    type: Component
    sector: Component
    watchlist: Component
    warninglists: tuple[str, ...] = ()

    @property
    def relevance(self) -> float:
        return 1.0 - (1.0 - self.sector.value) * (1.0 - self.watchlist.value)

    @property
    def value(self) -> float:
        value = self.type.value * (BASELINE_IMPACT + (1.0 - BASELINE_IMPACT) * self.relevance)
        return value * WARNINGLIST_FACTOR if self.warninglists else value


def impact(type_: Component, sector_: Component, watch: Component,
           warninglists: Iterable[str] = ()) -> Impact:
    return Impact(type_, sector_, watch, tuple(sorted(warninglists)))


# --- the score -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RiskScore:
    """A subject's risk with its components. ``expires_at`` is when an indicator's decayed
    likelihood falls below its threshold (``None``: it does not expire)."""

    subject_type: str
    subject_id: str
    name: str
    kind: str
    likelihood: Likelihood
    impact: Impact
    last_seen: datetime | None = None
    expires_at: datetime | None = None
    now: datetime | None = None

    @property
    def score(self) -> float:
        return min(1.0, max(0.0, self.likelihood.value * self.impact.value))

    @property
    def score100(self) -> int:
        return round(100 * self.score)

    @property
    def expired(self) -> bool:
        return (self.expires_at is not None and self.now is not None
                and self.expires_at <= self.now)

    @property
    def components(self) -> dict[str, Any]:
        """Everything :meth:`explain` needs, as JSON (stored with the score)."""
        lk, im = self.likelihood, self.impact
        return {
            "likelihood": {"value": round(lk.value, 4), "base": round(lk.base, 4),
                           "parts": [c.as_json() for c in (*lk.parts, lk.recency)]},
            "impact": {"value": round(im.value, 4), "relevance": round(im.relevance, 4),
                       "baseline": BASELINE_IMPACT,
                       "parts": [c.as_json() for c in (im.type, im.sector, im.watchlist)],
                       "warninglists": list(im.warninglists)},
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "now": self.now.isoformat() if self.now else None,
        }

    @classmethod
    def from_components(cls, subject_type: str, subject_id: str, name: str, kind: str,
                        components: Mapping[str, Any], last_seen: datetime | None = None,
                        expires_at: datetime | None = None) -> RiskScore:
        """A score read back from the store."""
        lk = {c["name"]: Component.from_json(c) for c in components["likelihood"]["parts"]}
        im = {c["name"]: Component.from_json(c) for c in components["impact"]["parts"]}
        now = components.get("now")
        return cls(subject_type, subject_id, name, kind,
                   Likelihood(lk["credibility"], lk["reliability"], lk["corroboration"],
                              lk["recency"]),
                   Impact(im["type"], im["sector"], im["watchlist"],
                          tuple(components["impact"].get("warninglists") or ())),
                   last_seen, expires_at,
                   datetime.fromisoformat(now) if isinstance(now, str) else None)

    def explain(self) -> str:
        """Each component with its value and where it came from, as lines of text."""
        lk, im = self.likelihood, self.impact
        lines = [f"{self.subject_type} {self.name} ({self.kind}) — risk {self.score100}/100 "
                 f"= likelihood {lk.value:.2f} × impact {im.value:.2f}",
                 f"likelihood {lk.value:.2f} = base {lk.base:.2f} × recency "
                 f"{lk.recency.value:.2f}; base = "
                 + " + ".join(f"{c.weight:g}·{c.name}" if c.weight is not None else c.name
                              for c in lk.parts)]
        lines += [_line(c) for c in (*lk.parts, lk.recency)]
        formula = (f"impact {im.value:.2f} = type {im.type.value:.2f} × ({BASELINE_IMPACT:g} + "
                   f"{1 - BASELINE_IMPACT:g} × relevance {im.relevance:.2f})")
        if im.warninglists:
            formula += f" × {WARNINGLIST_FACTOR:g} (warninglisted)"
        lines += [formula + "; relevance = 1 − (1 − sector)(1 − watchlist)"]
        lines += [_line(c) for c in (im.type, im.sector, im.watchlist)]
        if im.warninglists:
            shown = "; ".join(im.warninglists[:4])
            more = f" and {len(im.warninglists) - 4} more" if len(im.warninglists) > 4 else ""
            lines.append(f"  warninglist    likely false positive, on MISP warninglist(s): "
                         f"{shown}{more}")
        if self.expires_at is not None:
            verb = "expired" if self.expired else "expires"
            threshold = lk.recency.details.get("threshold", 0)
            lines.append(f"{verb} {self.expires_at:%Y-%m-%d %H:%M} UTC: 100 × base × decay "
                         f"below the threshold {threshold:g} (MISP decaying model)")
        return "\n".join(lines)


def _line(c: Component) -> str:
    weight = f"×{c.weight:g}" if c.weight is not None else ""
    return f"  {c.name:<14} {c.value:.2f} {weight:<5} {c.source}"


def expiry(last_seen: datetime | None, base: float, params: DecayParams) -> datetime | None:
    """When ``100·base × decay`` falls below the threshold (see the module doc)."""
    if last_seen is None:
        return None
    age = params.expiry_age(base)
    return None if age is None else last_seen + timedelta(days=age)
