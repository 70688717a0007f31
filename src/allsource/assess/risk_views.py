"""Risk as one reader may see it: never resting on evidence they may not read.

``allsource risk score`` (:mod:`allsource.assess.risk_run`) scores every subject over every
document, and marks each stored score with the combined marking of what it rests on: the
reporting documents, their grades and their sources' grades (and the object itself). Shown
as stored, a TLP:CLEAR reader would see a score lifted by RED reporting; hidden, the missing
score would tell them that something they may not read mentions the subject.

**Decision: the same rule as grades** (:mod:`allsource.verify.audience`). A reader who may
read a stored score's marking gets it as stored; for anyone else the score is recomputed at
read time, by the same formulas (:func:`~allsource.assess.risk_run.score_object`,
:func:`~allsource.assess.risk_run.score_story`), from what they may read only:

* the documents they may read that mention the subject through a mention they may read (for
  a story: its members they may read);
* each document's grade and each source's reliability as they see them
  (:class:`~allsource.verify.audience.ReaderGrades`), and the story's grade likewise;
* priority-sector matches from the ``topics`` stage of those documents and from sector
  entities mentioned through mentions they may read;
* watchlist hits they may read, of watchlists they may read, in documents they may read
  (a direct hit on the object needs the same), and "watchlists exist" only if one they may
  read does;
* the decay clock of the stored score (its ``now``), so a recomputed score differs
  from the stored one only by the evidence left out.

A subject with no such document has no score for that reader. The cost is bounded by the
rows shown: :func:`scores_for` recomputes exactly the requested subjects whose stored
marking the reader may not read (``ReadTally.rescored`` counts them), in one batch of
queries per request. Listing the top scores for a restricted reader recomputes every stored
score of the kind that is hidden from them, since a recomputed score may rank anywhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from allsource.assess import risk
from allsource.assess.risk_run import (
    ENTITY_TYPES,
    INDICATOR_TYPES,
    StoredRisk,
    _Agg,
    _combiner,
    _Doc,
    _Inputs,
    _marking_reader,
    _stored,
    _stronger,
    score_object,
    score_story,
)
from allsource.model.markings import Audience, Marking, can_release
from allsource.store import schema as t
from allsource.store.access import readable
from allsource.store.sql import aware, chunks
from allsource.verify.audience import ReaderGrades, ReaderSourceNames

if TYPE_CHECKING:
    from allsource.config import Settings
    from allsource.store.sql import SqlStore

__all__ = ["ReadTally", "page_scores", "scores_for"]


@dataclass(slots=True)
class ReadTally:
    """What one read recomputed (the subject IDs), for callers and tests to count."""

    rescored: list[str] = field(default_factory=list)


def shown(row: Any, audience: Audience) -> bool:
    """Whether a stored ``risk_scores`` row may be shown to ``audience`` as it is."""
    return audience.unrestricted or can_release(Marking.from_columns(dict(row._mapping)),
                                                audience)


def scores_for(store: SqlStore, rows: Sequence[Any], audience: Audience,
               settings: Settings | None = None, tally: ReadTally | None = None
               ) -> list[StoredRisk]:
    """The stored ``risk_scores`` ``rows`` as ``audience`` may see them, in their order:
    stored where readable, else recomputed from what they may read (left out when nothing
    they may read reports the subject)."""
    hidden = [r for r in rows if not shown(r, audience)]
    again: dict[tuple[str, str], StoredRisk] = {}
    if hidden:
        if settings is None:
            from allsource.config import Settings
            settings = Settings()
        with store.engine.connect() as conn:
            again = _Rescore(store, conn, audience, settings).run(hidden)
        if tally is not None:
            tally.rescored += [r.subject_id for r in hidden]
    out: list[StoredRisk] = []
    for r in rows:
        if shown(r, audience):
            out.append(_stored(r))
        elif (found := again.get((r.subject_type, r.subject_id))) is not None:
            out.append(found)
    return out


def _as_stored(score: risk.RiskScore, marking: Marking, computed: datetime) -> StoredRisk:
    """The score as a stored row of it reads back (from its components, as
    :func:`~allsource.assess.risk_run._stored` does), so the two agree to the digit."""
    return StoredRisk(risk.RiskScore.from_components(
        score.subject_type, score.subject_id, score.name, score.kind, score.components,
        score.last_seen, score.expires_at), marking, computed)


class _Rescore:
    """One batch of read-time scoring over what ``audience`` may read."""

    def __init__(self, store: SqlStore, conn: sa.Connection, audience: Audience,
                 settings: Settings) -> None:
        self.store, self.conn, self.audience = store, conn, audience
        self.table = risk.decay_table(settings.risk_decay, settings.risk_expire_threshold)
        self.weights = settings.risk_type_weights
        self.priorities = list(settings.risk_priority_sectors)
        self.grades = ReaderGrades(store, conn, audience)

    def run(self, rows: Sequence[Any]) -> dict[tuple[str, str], StoredRisk]:
        aud, conn = self.audience, self.conn
        m, d, o, sm = t.mentions, t.documents, t.objects, t.story_members
        objects = sorted({r.subject_id for r in rows if r.subject_type != "story"})
        stories = sorted({r.subject_id for r in rows if r.subject_type == "story"})
        mentioned: dict[str, set[str]] = defaultdict(set)
        for chunk in chunks(objects):
            for oid, doc in conn.execute(
                    sa.select(m.c.object_id, m.c.document_id).distinct()
                    .join(d, d.c.id == m.c.document_id)
                    .where(m.c.object_id.in_(list(chunk)), readable(m, aud), readable(d, aud))):
                mentioned[oid].add(doc)
        members: dict[str, list[str]] = defaultdict(list)
        for chunk in chunks(stories):
            for sid, doc in conn.execute(
                    sa.select(sm.c.story_id, sm.c.document_id).join(d, d.c.id == sm.c.document_id)
                    .where(sm.c.story_id.in_(list(chunk)), readable(d, aud))):
                members[sid].append(doc)
        doc_ids = sorted(set().union(*mentioned.values(), *members.values()))
        inputs = self._inputs(doc_ids, objects)
        combine = _combiner()
        out: dict[tuple[str, str], StoredRisk] = {}
        kinds: dict[str, tuple[str, str, dict[str, Any]]] = {}
        for chunk in chunks(objects):
            kinds.update((r.id, (r.type, r.name, r.stix or {})) for r in conn.execute(
                sa.select(o.c.id, o.c.type, o.c.name, o.c.stix).where(o.c.id.in_(list(chunk)))))
        for row in rows:
            computed = aware(row.computed_at) or datetime.now(UTC)
            # the stored score's clock, so only the evidence differs
            now = _stored(row).risk.now or aware(row.computed_at) or datetime.now(UTC)
            if row.subject_type == "story":
                inputs.story_grades[row.subject_id] = self._story_grade(row.subject_id)
                # titled by its first member they may read (the stored title may be a
                # hidden document's)
                found = score_story(row.subject_id, members.get(row.subject_id, ()), None,
                                    self._doc_entities(members.get(row.subject_id, [])),
                                    inputs, self.table, self.weights, self.priorities, now,
                                    combine)
                if found is not None:
                    out[("story", row.subject_id)] = _as_stored(found[0], found[1], computed)
                continue
            docs = sorted(mentioned.get(row.subject_id, ()))
            if not docs or row.subject_id not in kinds:
                continue
            stype, name, stix = kinds[row.subject_id]
            agg = _Agg(inputs.docs[docs[0]].marking)
            for doc in docs:
                agg.add(doc, inputs.docs[doc], inputs, combine)
            score = score_object(row.subject_id, stype, name,
                                 stix if stype in INDICATOR_TYPES else {}, agg, inputs,
                                 self.table, self.weights, self.priorities, now)
            out[(row.subject_type, row.subject_id)] = _as_stored(score, agg.marking, computed)
        return out

    def _inputs(self, doc_ids: list[str], objects: list[str]) -> _Inputs:
        d = t.documents
        marking = _marking_reader()
        docs: dict[str, _Doc] = {}
        for chunk in chunks(doc_ids):
            for r in self.conn.execute(sa.select(
                    d.c.id, d.c.source_id, d.c.title, d.c.published_at, d.c.collected_at,
                    d.c.tlp, d.c.classification, d.c.compartments, d.c.releasability)
                    .where(d.c.id.in_(list(chunk)))):
                seen = aware(r.published_at or r.collected_at)
                assert seen is not None  # collected_at is NOT NULL
                docs[r.id] = _Doc(r.source_id, r.title, seen, r.published_at is not None,
                                  marking(r))
        inputs = _Inputs(docs, ReaderSourceNames(self.store.list_sources(), self.audience))
        for doc, grade in self.grades.documents(doc_ids).items():
            if grade["credibility"] is not None:
                inputs.doc_credibility[doc] = int(grade["credibility"])
            inputs.doc_corroboration[doc] = int(grade["corroboration"] or 0)
        for source in sorted({x.source_id for x in docs.values()}):
            if (letter := self.grades.source_reliability(source)) is not None:
                inputs.source_reliability[source] = letter
        if self.priorities:
            self._sectors(inputs, doc_ids)
        self._watchlists(inputs, doc_ids, objects)
        return inputs

    def _story_grade(self, story_id: str) -> tuple[str | None, int | None, int]:
        grade = self.grades.story(story_id)
        if grade is None:
            return (None, None, 0)
        cred = grade["credibility"]
        return (grade["reliability"], int(cred) if cred is not None else None,
                int(grade["corroboration"] or 0))

    def _doc_entities(self, doc_ids: list[str]) -> dict[str, tuple[float, str, str]]:
        """Per document, the entity of the highest type weight it mentions through a
        mention the reader may read (as the stored scoring does for stories)."""
        m, o = t.mentions, t.objects
        out: dict[str, tuple[float, str, str]] = {}
        for chunk in chunks(doc_ids):
            for doc, stype, name in self.conn.execute(
                    sa.select(m.c.document_id, o.c.type, o.c.name).distinct()
                    .join(o, o.c.id == m.c.object_id)
                    .where(m.c.document_id.in_(list(chunk)), o.c.type.in_(ENTITY_TYPES),
                           o.c.canonical_id.is_(None), readable(m, self.audience))):
                w = self.weights.get(stype, self.weights.get("default", 0.5))
                if doc not in out or w > out[doc][0]:
                    out[doc] = (w, stype, name)
        return out

    def _sectors(self, inputs: _Inputs, doc_ids: list[str]) -> None:
        m, o, a = t.mentions, t.objects, t.stage_annotations
        names: dict[str, list[str]] = defaultdict(list)
        topics: dict[str, Any] = {}
        for chunk in chunks(doc_ids):
            for r in self.conn.execute(
                    sa.select(m.c.document_id, o.c.name, o.c.stix).join(o, o.c.id == m.c.object_id)
                    .where(o.c.type == "identity", m.c.document_id.in_(list(chunk)),
                           readable(m, self.audience))):
                stix = r.stix or {}
                if ((stix.get("x_allsource_entity_type") == "sector"
                        or stix.get("identity_class") == "class")
                        and r.name not in names[r.document_id]):
                    names[r.document_id].append(r.name)
            for doc, data in self.conn.execute(sa.select(a.c.document_id, a.c.data).where(
                    a.c.stage == "topics", a.c.document_id.in_(list(chunk)))):
                topics[doc] = data or {}
        for doc_id in set(names) | set(topics):
            found = risk.sector_match(doc_id, topics.get(doc_id), names.get(doc_id, ()),
                                      self.priorities)
            if found is not None:
                inputs.doc_sector[doc_id] = found

    def _watchlists(self, inputs: _Inputs, doc_ids: list[str], objects: list[str]) -> None:
        h, w, d = t.watchlist_hits, t.watchlists, t.documents
        aud = self.audience
        inputs.watchlists = self.conn.execute(sa.select(sa.func.count()).select_from(w).where(
            readable(w, aud))).scalar_one() > 0
        if not inputs.watchlists:
            return
        base = (sa.select(h.c.document_id, h.c.evidence, h.c.matched, w.c.name, w.c.severity)
                .join(w, w.c.id == h.c.watchlist_id).join(d, d.c.id == h.c.document_id)
                .where(w.c.enabled.is_(True), readable(w, aud), readable(h, aud),
                       readable(d, aud)))
        rows: list[Any] = []
        for chunk in chunks(doc_ids):
            rows += self.conn.execute(base.where(h.c.document_id.in_(list(chunk)))).all()
        for chunk in chunks(objects):
            rows += self.conn.execute(base.where(h.c.evidence.in_(list(chunk)))).all()
        for r in rows:
            hit = risk.WatchMatch(r.name, int(r.severity), r.document_id, r.matched)
            if r.document_id in inputs.docs:
                inputs.watch_doc[r.document_id] = _stronger(
                    inputs.watch_doc.get(r.document_id), hit)
            if r.evidence and "--" in r.evidence:
                inputs.watch_direct[r.evidence] = _stronger(
                    inputs.watch_direct.get(r.evidence), hit)


def page_scores(store: SqlStore, subject_ids: Sequence[str], audience: Audience,
                settings: Settings | None = None, tally: ReadTally | None = None
                ) -> dict[str, StoredRisk]:
    """The scores of a page of subjects as ``audience`` sees them, in one batch: only the
    subjects whose stored score is hidden from them are recomputed."""
    r = t.risk_scores
    rows: list[Any] = []
    with store.engine.connect() as conn:
        for chunk in chunks(sorted(set(subject_ids))):
            rows += conn.execute(sa.select(r).where(r.c.subject_id.in_(list(chunk)))).all()
    out: dict[str, StoredRisk] = {}
    for found in scores_for(store, rows, audience, settings, tally):
        best = out.get(found.risk.subject_id)
        if best is None or found.risk.score > best.risk.score:
            out[found.risk.subject_id] = found
    return out
