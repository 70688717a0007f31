"""Scoring the store: every indicator, entity and story gets a risk score (see
:mod:`allsource.assess.risk` for the formulas), stored with its explanation in
``risk_scores``.

The scoring is recomputed as a whole, like ``allsource verify``: a new document changes the
last sighting, the corroboration and the markings of everything it mentions. The work is a
handful of whole-table reads, each aggregated in one pass:

* documents (source, date, title, marking) and the grades of ``allsource verify`` (documents,
  sources, stories);
* only with priority sectors configured: the ``topics`` stage's results and the sector
  entities each document mentions;
* the watchlist hits, with their watchlist's name and severity (a hit whose evidence is an
  object id matched that object itself);
* the subjects (objects of the indicator and entity types) and the distinct
  (object, document) pairs of their mentions, folded per object into the last sighting, the
  sources, the best grade, the best sector and watchlist match and the combined marking.

A subject's *last sighting* is the latest publication date of a document mentioning it, or
the date the document was collected when it carries none (galaxy clusters, some feeds); the
explanation says which. Objects no stored document mentions are not scored. A score is
marked no lower than the most restrictive document it was computed from (and the object
itself). Reading it back (:func:`find_scores`, :func:`top_scores`) shows it as stored to a
reader who may read that marking and recomputes it for anyone else from what they may read
(:mod:`allsource.assess.risk_views`), so a hidden report neither lifts a score nor hides it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from allsource.assess import risk
from allsource.model.admiralty import Reliability
from allsource.model.markings import Audience, Marking, can_release
from allsource.store import schema as t
from allsource.store.base import RunRecord
from allsource.store.sql import aware, naive_utc, new_run_id, utc_now

if TYPE_CHECKING:
    from allsource.assess.risk_views import ReadTally
    from allsource.config import Settings
    from allsource.store.sql import SqlStore

__all__ = ["ENTITY_TYPES", "INDICATOR_TYPES", "RiskSummary", "StoredRisk", "find_scores",
           "score_store", "top_scores"]

#: STIX types scored as indicators: cyber observables and STIX indicators
INDICATOR_TYPES = ("indicator", "ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr",
                   "file", "windows-registry-key", "autonomous-system", "mac-addr", "mutex",
                   "x509-certificate", "cryptocurrency-wallet",
                   "x-allsource-cryptocurrency-wallet")
#: STIX types scored as entities
ENTITY_TYPES = ("intrusion-set", "threat-actor", "campaign", "malware", "tool", "vulnerability")
_NAME_MAX = 2000


@dataclass(slots=True)
class RiskSummary:
    indicators: int = 0
    entities: int = 0
    stories: int = 0
    expired: int = 0
    warninglisted: int = 0
    unreported: int = 0
    now: datetime | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"indicators": self.indicators, "entities": self.entities,
                "stories": self.stories, "expired": self.expired,
                "warninglisted": self.warninglisted, "unreported": self.unreported,
                "now": self.now.isoformat() if self.now else None,
                "seconds": round(self.seconds, 2)}


@dataclass(frozen=True, slots=True)
class StoredRisk:
    """A stored score: the explained :class:`~allsource.assess.risk.RiskScore`, its marking
    and when it was computed."""

    risk: risk.RiskScore
    marking: Marking
    computed_at: datetime

    def as_dict(self) -> dict[str, Any]:
        r = self.risk
        return {"subject_type": r.subject_type, "subject_id": r.subject_id, "name": r.name,
                "kind": r.kind, "score": round(r.score, 4), "score100": r.score100,
                "likelihood": round(r.likelihood.value, 4),
                "impact": round(r.impact.value, 4), "expired": r.expired,
                "last_seen": r.last_seen.isoformat() if r.last_seen else None,
                "expires_at": r.expires_at.isoformat() if r.expires_at else None,
                "components": r.components, "marking": self.marking.as_dict(),
                "computed_at": self.computed_at.isoformat()}


# --- reading the store ---------------------------------------------------------------------

@dataclass(slots=True)
class _Doc:
    source_id: str
    title: str
    seen: datetime
    dated: bool
    marking: Marking


@dataclass(slots=True)
class _Inputs:
    docs: dict[str, _Doc]
    source_names: Mapping[str, str]  # risk_views: verify.audience.ReaderSourceNames
    doc_credibility: dict[str, int] = field(default_factory=dict)
    doc_corroboration: dict[str, int] = field(default_factory=dict)
    source_reliability: dict[str, str] = field(default_factory=dict)
    story_grades: dict[str, tuple[str | None, int | None, int]] = field(default_factory=dict)
    doc_sector: dict[str, risk.SectorMatch] = field(default_factory=dict)
    watch_direct: dict[str, risk.WatchMatch] = field(default_factory=dict)
    watch_doc: dict[str, risk.WatchMatch] = field(default_factory=dict)
    watchlists: bool = False


def _marking_reader() -> Callable[[Any], Marking]:
    """Marking of a row, one shared object per distinct marking."""
    seen: dict[tuple[Any, ...], Marking] = {}

    def read(row: Any) -> Marking:
        key = (row.tlp, row.classification, row.compartments, row.releasability)
        found = seen.get(key)
        if found is None:
            found = seen[key] = Marking.from_columns(dict(row._mapping))
        return found

    return read


def _documents(conn: sa.Connection, marking: Callable[[Any], Marking]) -> dict[str, _Doc]:
    d = t.documents
    out: dict[str, _Doc] = {}
    for r in conn.execution_options(yield_per=5000).execute(sa.select(
            d.c.id, d.c.source_id, d.c.title, d.c.published_at, d.c.collected_at, d.c.tlp,
            d.c.classification, d.c.compartments, d.c.releasability)):
        seen = aware(r.published_at or r.collected_at)
        assert seen is not None  # collected_at is NOT NULL
        out[r.id] = _Doc(r.source_id, r.title, seen, r.published_at is not None, marking(r))
    return out


def _source_markings(inputs: _Inputs, markings: Mapping[str, Marking],
                     combine: Callable[[Marking, Marking], Marking]) -> None:
    """Each document's marking raised to its source's: an explanation names the reporting
    sources, so a score is stored under a marking that covers the sources it names (a source
    raised to AMBER after its reports were collected as CLEAR stays unnamed to a CLEAR
    reader, whose score is then recomputed without the name: :mod:`risk_views`,
    :class:`~allsource.verify.audience.ReaderSourceNames`)."""
    for doc in inputs.docs.values():
        raised = markings.get(doc.source_id)
        if raised is not None and raised != doc.marking:
            doc.marking = combine(doc.marking, raised)


def _grades(conn: sa.Connection, inputs: _Inputs,
            marking: Callable[[Any], Marking] | None = None) -> None:
    """The grades of ``allsource verify``. A document's marking here also covers what its
    grade and its source's grade rest on (their markings, see
    :mod:`allsource.verify.audience`), so a score built on a grade is never shown to a reader
    who may not read the reporting behind that grade."""
    g = t.grades
    rested: dict[tuple[str, str], Marking] = {}
    for r in conn.execute(sa.select(g.c.subject_type, g.c.subject_id, g.c.reliability,
                                    g.c.credibility, g.c.corroboration, g.c.tlp,
                                    g.c.classification, g.c.compartments, g.c.releasability)):
        if marking is not None and r.subject_type in ("document", "source"):
            rested[(r.subject_type, r.subject_id)] = marking(r)
        if r.subject_type == "document":
            if r.credibility is not None:
                inputs.doc_credibility[r.subject_id] = int(r.credibility)
            inputs.doc_corroboration[r.subject_id] = int(r.corroboration or 0)
        elif r.subject_type == "source" and r.reliability:
            inputs.source_reliability[r.subject_id] = Reliability.parse(r.reliability).value
        elif r.subject_type == "story":
            inputs.story_grades[r.subject_id] = (
                r.reliability, int(r.credibility) if r.credibility is not None else None,
                int(r.corroboration or 0))
    for doc_id, doc in inputs.docs.items():
        for key in (("document", doc_id), ("source", doc.source_id)):
            if key in rested and rested[key] != doc.marking:
                doc.marking = doc.marking.combine(rested[key])


def _sectors(conn: sa.Connection, inputs: _Inputs, priorities: list[str]) -> None:
    """Each document's best priority-sector match: sector entities it mentions, else its
    ``topics`` scores."""
    m, o, a = t.mentions, t.objects, t.stage_annotations
    names: dict[str, list[str]] = defaultdict(list)
    for r in conn.execute(sa.select(m.c.document_id, o.c.name, o.c.stix)
                          .join(o, o.c.id == m.c.object_id).where(o.c.type == "identity")):
        stix = r.stix or {}
        if ((stix.get("x_allsource_entity_type") == "sector"
                or stix.get("identity_class") == "class")
                and r.name not in names[r.document_id]):
            names[r.document_id].append(r.name)
    topics: dict[str, Mapping[str, Any]] = {}
    for row in conn.execution_options(yield_per=2000).execute(
            sa.select(a.c.document_id, a.c.data).where(a.c.stage == "topics")):
        topics[row.document_id] = row.data or {}
    for doc_id in set(names) | set(topics):
        found = risk.sector_match(doc_id, topics.get(doc_id), names.get(doc_id, ()), priorities)
        if found is not None:
            inputs.doc_sector[doc_id] = found


def _stronger(a: risk.WatchMatch | None, b: risk.WatchMatch) -> risk.WatchMatch:
    return b if a is None or b.severity > a.severity else a


def _watchlists(conn: sa.Connection, inputs: _Inputs) -> None:
    h, w = t.watchlist_hits, t.watchlists
    inputs.watchlists = conn.execute(sa.select(sa.func.count()).select_from(w)).scalar_one() > 0
    if not inputs.watchlists:
        return
    for r in conn.execute(sa.select(h.c.document_id, h.c.evidence, h.c.matched, w.c.name,
                                    w.c.severity).join(w, w.c.id == h.c.watchlist_id)
                          .where(w.c.enabled.is_(True))):
        hit = risk.WatchMatch(r.name, int(r.severity), r.document_id, r.matched)
        inputs.watch_doc[r.document_id] = _stronger(inputs.watch_doc.get(r.document_id), hit)
        if r.evidence and "--" in r.evidence:  # an object id: the term matched that object
            inputs.watch_direct[r.evidence] = _stronger(inputs.watch_direct.get(r.evidence),
                                                        hit)


# --- folding documents into subjects -------------------------------------------------------

@dataclass(slots=True)
class _Agg:
    """What the documents reporting one subject add up to."""

    marking: Marking
    docs: int = 0
    last: str | None = None
    sources: set[str] = field(default_factory=set)
    credibility: str | None = None  # the document with the best credibility
    corroborated: str | None = None  # the document with the most independent corroboration
    sector: risk.SectorMatch | None = None
    watch: risk.WatchMatch | None = None

    def add(self, doc_id: str, doc: _Doc, inputs: _Inputs,
            combine: Callable[[Marking, Marking], Marking]) -> None:
        self.docs += 1
        if self.last is None or doc.seen > inputs.docs[self.last].seen:
            self.last = doc_id
        self.sources.add(doc.source_id)
        cred = inputs.doc_credibility.get(doc_id)
        if cred is not None and (self.credibility is None or risk.CREDIBILITY_VALUES[cred] >
                                 risk.CREDIBILITY_VALUES[inputs.doc_credibility[
                                     self.credibility]]):
            self.credibility = doc_id
        corr = inputs.doc_corroboration.get(doc_id, 0)
        if corr and (self.corroborated is None
                     or corr > inputs.doc_corroboration[self.corroborated]):
            self.corroborated = doc_id
        found = inputs.doc_sector.get(doc_id)
        if found is not None and (self.sector is None or found.value > self.sector.value):
            self.sector = found
        hit = inputs.watch_doc.get(doc_id)
        if hit is not None:
            self.watch = _stronger(self.watch, hit)
        if doc.marking is not self.marking:
            self.marking = combine(self.marking, doc.marking)


def _combiner() -> Callable[[Marking, Marking], Marking]:
    cache: dict[tuple[Marking, Marking], Marking] = {}

    def combine(a: Marking, b: Marking) -> Marking:
        found = cache.get((a, b))
        if found is None:
            found = cache[a, b] = a.combine(b)
        return found

    return combine


def _title(inputs: _Inputs, doc_id: str) -> str:
    title = " ".join(inputs.docs[doc_id].title.split())
    return f"{doc_id} ({title[:70]})" if title else doc_id


def _likelihood(agg: _Agg, inputs: _Inputs, params: risk.DecayParams, key: str,
                now: datetime, story: tuple[str | None, int | None, int] | None = None
                ) -> risk.Likelihood:
    # credibility: the story's own grade, else the best graded document
    if story is not None and story[1] is not None:
        cred = risk.credibility(story[1], "the story's grade (allsource verify)")
    elif agg.credibility is not None:
        cred = risk.credibility(inputs.doc_credibility[agg.credibility],
                                f"best-graded of {agg.docs} reporting document(s), "
                                f"{_title(inputs, agg.credibility)}")
    else:
        cred = risk.credibility(None, "")
    # reliability: the best graded source
    graded = [(risk.RELIABILITY_VALUES[g], g, s) for s in agg.sources
              if (g := inputs.source_reliability.get(s)) is not None]
    if story is not None and story[0]:
        graded.append((risk.RELIABILITY_VALUES[story[0]], story[0], ""))
    if graded:
        _, grade, sid = max(graded)
        rel = risk.reliability(grade, f"source {inputs.source_names.get(sid, sid)}" if sid
                               else "the story's best source")
    else:
        rel = risk.reliability(None, "")
    # corroboration: distinct sources, or what grading found independent
    names = sorted(inputs.source_names.get(s, s) for s in agg.sources)
    extra, origin = 0, ""
    if story is not None and story[2]:
        extra, origin = story[2], f"grading found {story[2]} independent corroboration(s)"
    elif agg.corroborated is not None:
        extra = inputs.doc_corroboration[agg.corroborated]
        origin = (f"grading found {extra} independent corroboration(s) for "
                  f"{_title(inputs, agg.corroborated)}")
    if 1 + extra <= len(names):
        origin = ""
    corr = risk.corroboration(max(len(names), 1 + extra), names, origin)
    # recency: MISP decay since the last sighting
    last = inputs.docs[agg.last] if agg.last else None
    note = "" if last is None or last.dated else " — collection date: the document has none"
    rec = risk.recency(last.seen if last else None, now, params, key, note)
    return risk.likelihood(cred, rel, corr, rec)


def _impact(agg: _Agg, inputs: _Inputs, type_: risk.Component, direct: risk.WatchMatch | None,
            priorities: list[str], warninglists: Iterable[str] = ()) -> risk.Impact:
    return risk.impact(type_, risk.sector(agg.sector, priorities),
                       risk.watchlist(direct, agg.watch, inputs.watchlists), warninglists)


# --- scoring ---------------------------------------------------------------------------------

def score_store(store: SqlStore, settings: Settings, *, now: datetime | None = None,
                progress: Callable[[str], None] | None = None) -> RiskSummary:
    """Score every indicator, entity and story in ``store`` as of ``now`` (default: the
    current time) and replace the stored scores; returns the counts."""
    began = time.perf_counter()
    say = progress or (lambda _msg: None)
    when = (now or datetime.now(UTC))
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    table = risk.decay_table(settings.risk_decay, settings.risk_expire_threshold)
    weights = settings.risk_type_weights
    priorities = list(settings.risk_priority_sectors)
    summary = RiskSummary(now=when)
    run = RunRecord(id=new_run_id(), plugin="risk", source_id=None, started_at=datetime.now(UTC))
    store.save_run(run)
    try:
        scores = _score(store, table, weights, priorities, when, say, summary)
        say(f"writing {len(scores)} scores")
        _write(store, scores)
    except Exception as exc:
        run.status, run.errors = "failed", [str(exc)[:2000]]
        run.finished_at = datetime.now(UTC)
        store.save_run(run)
        raise
    summary.seconds = time.perf_counter() - began
    run.status, run.finished_at = "ok", datetime.now(UTC)
    run.counts = summary.as_dict()
    store.save_run(run)
    return summary


def _score(store: SqlStore, table: dict[str, risk.DecayParams], weights: Mapping[str, float],
           priorities: list[str], now: datetime, say: Callable[[str], None],
           summary: RiskSummary) -> list[tuple[risk.RiskScore, Marking]]:
    marking = _marking_reader()
    combine = _combiner()
    o, m = t.objects, t.mentions
    with store.engine.connect() as conn:
        say("reading documents and grades")
        sources = store.list_sources()
        inputs = _Inputs(_documents(conn, marking), {s.id: s.name for s in sources})
        _source_markings(inputs, {s.id: s.marking for s in sources}, combine)
        _grades(conn, inputs, marking)
        if priorities:
            say("reading topics and sectors")
            _sectors(conn, inputs, priorities)
        _watchlists(conn, inputs)
        say("reading indicators and entities")
        subjects: dict[str, tuple[str, str, dict[str, Any], Marking]] = {}
        for r in conn.execution_options(yield_per=5000).execute(sa.select(
                o.c.id, o.c.type, o.c.name, o.c.stix, o.c.tlp, o.c.classification,
                o.c.compartments, o.c.releasability).where(
                    o.c.type.in_(INDICATOR_TYPES + ENTITY_TYPES),
                    o.c.canonical_id.is_(None))):  # a linked object is scored as its entity
            stix = (r.stix or {}) if r.type in INDICATOR_TYPES else {}
            subjects[r.id] = (r.type, r.name, stix, marking(r))
        say("folding mentions")
        aggs: dict[str, _Agg] = {}
        #: per document, the entity of the highest type weight it mentions (for stories)
        doc_entity: dict[str, tuple[float, str, str]] = {}
        for object_id, doc_id in conn.execution_options(yield_per=10000).execute(
                sa.select(m.c.object_id, m.c.document_id).distinct()
                .join(o, o.c.id == m.c.object_id)
                .where(o.c.type.in_(INDICATOR_TYPES + ENTITY_TYPES))):
            doc = inputs.docs.get(doc_id)
            if doc is None:
                continue
            stype, name, _, own = subjects[object_id]
            agg = aggs.get(object_id)
            if agg is None:
                agg = aggs[object_id] = _Agg(own)
            agg.add(doc_id, doc, inputs, combine)
            if stype in ENTITY_TYPES:
                w = weights.get(stype, weights.get("default", 0.5))
                if doc_id not in doc_entity or w > doc_entity[doc_id][0]:
                    doc_entity[doc_id] = (w, stype, name)
        say("reading stories")
        sm, st, d = t.story_members, t.stories, t.documents
        members: dict[str, list[str]] = defaultdict(list)
        for story_id, doc_id in conn.execute(sa.select(sm.c.story_id, sm.c.document_id)):
            members[story_id].append(doc_id)
        titles = {story_id: title for story_id, title in conn.execute(sa.select(
            st.c.id, d.c.title).join(d, d.c.id == st.c.canonical_document_id))}

    say(f"scoring {len(aggs)} subjects and {len(members)} stories")
    out: list[tuple[risk.RiskScore, Marking]] = []
    summary.unreported = len(subjects) - len(aggs)
    for object_id, agg in aggs.items():
        stype, name, stix, _ = subjects[object_id]
        scored = score_object(object_id, stype, name, stix, agg, inputs, table, weights,
                              priorities, now)
        out.append((scored, agg.marking))
        summary.warninglisted += bool(stix.get("x_allsource_warninglists"))
    for story_id, docs in members.items():
        found = score_story(story_id, docs, titles.get(story_id), doc_entity, inputs, table,
                            weights, priorities, now, combine)
        if found is not None:
            out.append(found)
    for score, _ in out:
        if score.subject_type == "indicator":
            summary.indicators += 1
        elif score.subject_type == "entity":
            summary.entities += 1
        else:
            summary.stories += 1
        summary.expired += score.expired
    return out


def score_object(object_id: str, stype: str, name: str, stix: Mapping[str, Any], agg: _Agg,
                 inputs: _Inputs, table: dict[str, risk.DecayParams],
                 weights: Mapping[str, float], priorities: list[str], now: datetime
                 ) -> risk.RiskScore:
    """One indicator's or entity's score from its folded documents."""
    if stype in INDICATOR_TYPES:
        subject, key = "indicator", risk.decay_key(stype, stix, table)
        lists = [str(x) for x in stix.get("x_allsource_warninglists") or ()]
    else:
        subject, key, lists = "entity", stype if stype in table else "entity", []
    params = table[key]
    lk = _likelihood(agg, inputs, params, key, now)
    im = _impact(agg, inputs, risk.type_weight(stype, weights),
                 inputs.watch_direct.get(object_id), priorities, lists)
    return _scored(subject, object_id, name, stype, lk, im, agg, inputs, params, now)


def score_story(story_id: str, docs: Iterable[str], title: str | None,
                doc_entity: Mapping[str, tuple[float, str, str]], inputs: _Inputs,
                table: dict[str, risk.DecayParams], weights: Mapping[str, float],
                priorities: list[str], now: datetime,
                combine: Callable[[Marking, Marking], Marking]
                ) -> tuple[risk.RiskScore, Marking] | None:
    """One story's score from those of its documents in ``inputs`` (None: none is)."""
    story_params = table.get("story", table["default"])
    present = [doc_id for doc_id in docs if doc_id in inputs.docs]
    if not present:
        return None
    agg = _Agg(inputs.docs[present[0]].marking)
    for doc_id in present:
        agg.add(doc_id, inputs.docs[doc_id], inputs, combine)
    lk = _likelihood(agg, inputs, story_params, "story", now,
                     inputs.story_grades.get(story_id, (None, None, 0)))
    best = max((doc_entity[x] for x in present if x in doc_entity), default=None)
    type_ = (risk.type_weight(best[1], weights, f"its documents mention {best[2]}") if best
             else risk.type_weight("story", weights, "its documents mention no entity"))
    direct = max((inputs.watch_doc[x] for x in present if x in inputs.watch_doc),
                 key=lambda h: h.severity, default=None)
    im = _impact(agg, inputs, type_, direct, priorities)
    name = " ".join((title or inputs.docs[present[0]].title).split())
    return (_scored("story", story_id, name or story_id, "story", lk, im, agg, inputs,
                    story_params, now), agg.marking)


def _scored(subject: str, subject_id: str, name: str, kind: str, lk: risk.Likelihood,
            im: risk.Impact, agg: _Agg, inputs: _Inputs, params: risk.DecayParams,
            now: datetime) -> risk.RiskScore:
    last = inputs.docs[agg.last].seen if agg.last else None
    return risk.RiskScore(subject, subject_id, name[:_NAME_MAX], kind, lk, im, last,
                          risk.expiry(last, lk.base, params), now)


def _write(store: SqlStore, scores: list[tuple[risk.RiskScore, Marking]]) -> None:
    computed = utc_now()
    rows = [{"subject_type": s.subject_type, "subject_id": s.subject_id, "name": s.name,
             "kind": s.kind, "score": s.score, "likelihood": s.likelihood.value,
             "impact": s.impact.value, "components": s.components,
             "last_seen": naive_utc(s.last_seen), "expires_at": naive_utc(s.expires_at),
             "computed_at": computed, **mk.to_columns()} for s, mk in scores]
    with store.engine.begin() as conn:
        conn.execute(t.risk_scores.delete())
        for i in range(0, len(rows), 5000):
            store._bulk_insert(conn, t.risk_scores, rows[i:i + 5000])


# --- reading scores --------------------------------------------------------------------------

def _stored(row: Any) -> StoredRisk:
    score = risk.RiskScore.from_components(
        row.subject_type, row.subject_id, row.name, row.kind, row.components,
        aware(row.last_seen), aware(row.expires_at))
    return StoredRisk(score, Marking.from_columns(dict(row._mapping)),
                      aware(row.computed_at) or datetime.now(UTC))


def top_scores(store: SqlStore, *, kind: str | None = None, limit: int = 20,
               include_expired: bool = False, now: datetime | None = None,
               audience: Audience | None = None, settings: Settings | None = None,
               tally: ReadTally | None = None) -> list[StoredRisk]:
    """The highest scores as the audience sees them (:mod:`allsource.assess.risk_views`),
    of one subject type or all; expired indicators (``expires_at`` before ``now``) are left
    out unless ``include_expired``."""
    from allsource.assess.risk_views import scores_for  # it builds on this module

    audience = audience or Audience.owner()
    r = t.risk_scores
    when = now or datetime.now(UTC)
    stmt = sa.select(r)
    if kind is not None:
        stmt = stmt.where(r.c.subject_type == kind)
    live = stmt if include_expired else stmt.where(
        sa.or_(r.c.expires_at.is_(None), r.c.expires_at > naive_utc(when)))
    order = (r.c.score.desc(), r.c.subject_type, r.c.subject_id)
    out: list[StoredRisk] = []
    with store.engine.connect() as conn:
        for row in conn.execution_options(yield_per=500).execute(
                live.where(store._readable(r, audience)).order_by(*order)):
            found = _stored(row)
            if can_release(found.marking, audience):
                out.append(found)
                if len(out) >= limit:
                    break
        # a score hidden from the reader may still rank for them once recomputed over what
        # they may read: every such row of the kind is recomputed (none for the owner)
        hidden = [] if audience.unrestricted else [
            row for row in conn.execute(stmt.order_by(*order))
            if not can_release(Marking.from_columns(dict(row._mapping)), audience)]
    if hidden:
        again = [x for x in scores_for(store, hidden, audience, settings, tally)
                 if include_expired or x.risk.expires_at is None or x.risk.expires_at > when]
        out = sorted(out + again, key=lambda x: (-x.risk.score, x.risk.subject_type,
                                                 x.risk.subject_id))[:limit]
    return out


def find_scores(store: SqlStore, id_or_name: str, *, limit: int = 10,
                audience: Audience | None = None, settings: Settings | None = None,
                tally: ReadTally | None = None) -> list[StoredRisk]:
    """Scores of the subject with this id, else of subjects with this name (any case),
    highest first, as the audience sees them (:mod:`allsource.assess.risk_views`: a stored
    score resting on something they may not read is recomputed from what they may)."""
    from allsource.assess.risk_views import scores_for  # it builds on this module

    audience = audience or Audience.owner()
    r = t.risk_scores
    text = id_or_name.strip()
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(r).where(r.c.subject_id == text)).all()
    found = scores_for(store, rows, audience, settings, tally)
    if not found:  # judged on what the reader sees, so a hidden subject answers as none
        with store.engine.connect() as conn:
            rows = conn.execute(sa.select(r).where(sa.func.lower(r.c.name) == text.lower())
                                .order_by(r.c.score.desc(), r.c.subject_id)).all()
        found = scores_for(store, rows, audience, settings, tally)
    return sorted(found, key=lambda x: (-x.risk.score, x.risk.subject_id))[:limit]
