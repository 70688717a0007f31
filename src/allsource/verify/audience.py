"""Grades as one reader may see them: never resting on a document they may not read.

``allsource verify`` grades everything at once (:mod:`allsource.verify.run`): a claim's
credibility counts every independent report of it, a source's reliability every claim it
made, and a document's grade names the documents and outlets that support or contradict
it. Shown as stored to every reader, a TLP:CLEAR document's grade would list a TLP:RED
report's ID and outlet, and its credibility would move with RED reporting.

**Decision: stored grades carry the marking of their evidence; other readers get a grade
computed at read time from what they may read.** Each stored grade row (``grades``,
``claim_grades``) carries the combined (most restrictive) marking of every document the
figure rests on: for a claim, every report of its key, and every member of those reports'
stories (copies are judged by story); for a source, the claims it reports; for a document or
story, its own claims, its members and its sources' records. Then, per read:

* a reader who may read that marking — the local operator, and on most stores almost
  everyone, since most claims rest on reporting of one marking — gets the stored grade,
  unless something it rests on is hidden from them *now*: stored markings are those
  ``verify`` saw, and a document marked more restrictively since (a rebuild may tighten a
  marking) would otherwise be shown through the stale grade — its ID and outlet in the
  explanation, its weight in the credibility — until the next ``verify``. So a document's
  stored grade is used only when no report of its claims (nor a member of such a report's
  story) and nothing its source's record rests on is hidden from the reader as marked now
  (:func:`stale_documents`; a story's likewise over its members, a source's over its
  claims); otherwise the reader gets the grade recomputed below, on every path: the
  single-document view, lists, facets and the ``min_credibility`` filters;
* anyone else gets the grade recomputed by the same rules (:func:`grade_claims`,
  :func:`track_records`, :func:`~allsource.verify.run._subject_row`) over the reports they
  may read only: the subject's claims, every readable report of those claims, the stories
  as they see them (:mod:`allsource.store.story_views`; two readable reports are copies when
  one matched the other or their own MinHash signatures agree, never through a hidden
  member), and the source's reliability recomputed
  from its readable claims when its stored record rests on something they may not read. An
  analyst's reliability override is applied as in the stored grade.

**Sources are evidence too.** A grade names outlets, and for most documents the outlet is
the source's name; ``verify`` raises each document's marking to its source's, so a reader who
may read a document but not its source (a source raised to AMBER after its reports were
collected as CLEAR) is regraded, and the regrading names such a source "a source not shown to
you (n)", numbered in the order the grade first uses it (:class:`ReaderSourceNames`): distinct
sources stay distinct for independence, and neither the name nor the ID (derived from the
name) is shown.

The alternative — storing a grade per marking tier — does not fit: readers differ by
compartments and releasability groups as well as TLP and clearance, so the tiers are the
subsets of the store's distinct markings, and even by TLP alone it would multiply
``verify``'s work and storage five-fold to serve a minority of reads. The recomputation
touches only the claims of one subject (and, for an unreadable source record, that source's
claims), so its cost is that of the subject, not of the store.

A relationship claim's report also rests on the mention of the relationship in that
document and on its ends' evidence (:mod:`allsource.verify.evidence`): ``verify`` folds that
into the stored marking, and the regrading keeps only the reports the reader may read.

Lists and filters follow the same rule (:class:`ReaderGrades`): search facets, the graph's,
the timeline's and the map's ``min_credibility`` filters, case evidence and ACH matrices, and
risk (:mod:`allsource.assess.risk_views`) use, for each document, the grade the
single-document view would give that reader — the stored figure where they may read its
marking, else the recomputed one; never "not graded" in its place and never the stored
figure. Only the rows whose stored marking the reader may not read are recomputed, in one
batch per call and at most once per request: for a page or window, those of its documents;
for a filter, those of the documents the other filters keep (``ReaderGrades.passing``,
listed then as an ``IN`` list beside the SQL test of the stored grade, :func:`credible`).
``ReaderGrades.recomputed`` (full grades) and ``ReaderGrades.recounted`` (credibilities,
below) count them; on most stores, and always for the owner, none.

**A facet or filter needs the credibility only** (:meth:`ReaderGrades.credibilities`,
:meth:`ReaderGrades.passing`), and a document's credibility rests on its claims alone
(:func:`~allsource.verify.run.subject_credibility`), never on its source's reliability. A
stored document grade is often hidden from a reader only through its source's record (a
source's marking combines every claim it ever reported, so one releasability-restricted
report of one claim hides the grade of every document of that source), and regrading that
record means regrading every claim the source made: on the demo store three such sources
made a GREEN analyst's search page cost about 1.3 s of CPU. So for a credibility:

* where the reader may read every stored claim row the document asserts (``claim_grades``
  by ``claim_documents``; each row carries the combined marking of every report of its
  key, their stories and relationship mentions), the rule is applied to those rows as
  stored — the claim-level form of "a grade the reader may read is shown as stored" —
  unless a document those rows rest on (a report of the key, or a member of a report's
  story) is hidden from the reader as marked *now*: stored markings are those ``verify``
  saw, and a document marked more restrictively since is left out of every figure the
  reader gets (:func:`_stale`);
* otherwise the document's claims alone are regraded over the reports the reader may read
  (:meth:`_Regrade.credibilities`), with no source record and no explanation.

The claims-only regrade gives the full regrade's credibility by construction (same claims,
same reports, same rule); the stored rows rest only on what the reader may read, and on the
demo store they give the full regrade's figure for every document they cover (477 of the 478
whose stored grade a GREEN analyst may not read). Nothing is cached across requests, and the
full regrade — source record included — runs only where a grade is shown with its
reliability letter and explanation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from allsource.model.admiralty import Reliability
from allsource.model.markings import Audience, Marking, can_release
from allsource.process.stages.stories import DEFAULT_THRESHOLD
from allsource.store import schema as t
from allsource.store.access import readable
from allsource.store.sql import chunks
from allsource.store.story_views import StoryView, stories_by_stored_id, stories_of_documents
from allsource.verify.evidence import RELATION_PREFIX, relation_markings
from allsource.verify.grading import ClaimGrade, ClaimReport, grade_claims, track_records
from allsource.verify.independence import Report
from allsource.verify.run import (
    CLAIM_RELATIONSHIPS,
    _documents,
    _subject_row,
    _texts,
    active_overrides,
    effective_reliability,
    source_names,
    subject_credibility,
)

if TYPE_CHECKING:
    from allsource.model.records import Source
    from allsource.store.sql import SqlStore


def _parts(view: StoryView, signatures: dict[str, bytes]) -> dict[str, str]:
    """Each readable member's part of the story, named by the part's first member: members
    in order join the part of the member they matched (when readable), else the first part
    whose first member's signature agrees with theirs at the stories stage's threshold,
    else start a part (one comparison per part, as the stories stage assigns)."""
    part: dict[str, str] = {}
    heads: list[str] = []
    for m in view.members:
        if m.matched_id is not None and m.matched_id in part:
            part[m.document_id] = part[m.matched_id]
            continue
        own = signatures.get(m.document_id)
        found = next((h for h in heads if own is not None and h in signatures
                      and _similarity(own, signatures[h]) >= DEFAULT_THRESHOLD), None)
        if found is None:
            heads.append(m.document_id)
            found = m.document_id
        part[m.document_id] = found
    return part


def _similarity(a: bytes, b: bytes) -> float:
    """The share of equal MinHash values: the stories stage's estimate of Jaccard
    similarity (unsigned 32-bit little-endian values)."""
    x, y = np.frombuffer(a, dtype="<u4"), np.frombuffer(b, dtype="<u4")
    return float((x == y).mean()) if len(x) == len(y) and len(x) else 0.0

_GRADE_FIELDS = ("reliability", "credibility", "corroboration", "explanation", "computed_at")


def _public(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {"subject_type": m["subject_type"], "subject_id": m["subject_id"],
            **{k: m[k] for k in _GRADE_FIELDS}}


def readable_grade(row: Any, audience: Audience) -> bool:
    """Whether a stored ``grades``/``claim_grades`` row may be shown as it is."""
    return audience.unrestricted or can_release(Marking.from_columns(dict(row._mapping)),
                                                audience)


def grade_for(store: SqlStore, subject_type: str, subject_id: str,
              audience: Audience) -> dict[str, Any] | None:
    """The grade of a document, story (by its stored ID) or source as ``audience`` may see
    it; ``None`` when it has none (for them). The caller has checked that the reader may
    read the subject itself."""
    g = t.grades
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(g).where(g.c.subject_type == subject_type,
                                              g.c.subject_id == subject_id)).first()
        if row is None:
            return None
        if readable_grade(row, audience) and not _stale_subject(
                conn, store, subject_type, subject_id, audience):
            return _public(row)
        return _Regrade(store, conn, audience).subject(subject_type, subject_id, row)


class ReaderGrades:
    """Grades of many documents for one reader, for one request (lists, filters, facets).

    Stored rows the reader may read are used as stored; the others — and only those — are
    recomputed, all at once (one :meth:`_Regrade.documents` batch per call) and each at most
    once per request. ``recomputed`` holds every document recomputed, so callers and tests
    can count the work: it is the number of readable documents in the candidate set whose
    stored grade rests on something the reader may not read. :meth:`credibilities` and
    :meth:`passing` need the credibility only and fill ``recounted`` instead, from stored
    claim rows or one :meth:`_Regrade.credibilities` batch (see the module docstring)."""

    def __init__(self, store: SqlStore, conn: sa.Connection, audience: Audience) -> None:
        self.store, self.conn, self.audience = store, conn, audience
        self.recomputed: dict[str, dict[str, Any] | None] = {}
        #: credibility of each recomputed document (from a full regrade or a claims-only one)
        self.recounted: dict[str, int | None] = {}
        self.recomputed_claims: list[str] = []
        self._regrade: _Regrade | None = None

    def _recompute(self, ids: Sequence[str]) -> None:
        todo = sorted(set(ids) - set(self.recomputed))
        if not todo:
            return
        found = self._regrader().documents(todo)
        self.recomputed.update({d: found.get(d) for d in todo})
        self.recounted.update({d: _credibility(found.get(d)) for d in todo})

    def _recount(self, ids: Sequence[str]) -> None:
        """Credibility of each of ``ids`` (hidden stored grades): from the stored claim rows
        where the reader may read every one the document asserts, else regraded from its
        claims (:meth:`_Regrade.credibilities`, one batch)."""
        todo = sorted(set(ids) - set(self.recounted))
        if not todo:
            return
        stored = self._stored_claims(todo)
        self.recounted.update(stored)
        if rest := [d for d in todo if d not in stored]:
            self.recounted.update(self._regrader().credibilities(rest))

    def _stored_claims(self, doc_ids: Sequence[str]) -> dict[str, int]:
        """The credibility of each of ``doc_ids`` whose every stored claim row (``claim_grades``
        linked by ``claim_documents``) this reader may read, by the documents' rule
        (:func:`~allsource.verify.run.subject_credibility`) over those rows; documents with
        a hidden row, or none, or whose claims rest on a document hidden from the reader
        *now* (:func:`_stale`), are left out (they are regraded)."""
        c, g = t.claim_documents, t.claim_grades
        rows: dict[str, list[tuple[int, bool]]] = defaultdict(list)
        hidden: set[str] = set()
        for chunk in chunks(list(doc_ids)):
            hidden |= _stale(self.conn, chunk, self.audience)
            for row in self.conn.execute(
                    sa.select(c.c.document_id, g.c.credibility, g.c.contradicted,
                              *_marking_columns(g))
                    .join(g, sa.and_(g.c.key == c.c.key, g.c.value == c.c.value,
                                     g.c.event == c.c.event))
                    .where(c.c.document_id.in_(list(chunk)))):
                if readable_grade(row, self.audience):
                    rows[row.document_id].append((int(row.credibility),
                                                  bool(row.contradicted)))
                else:
                    hidden.add(row.document_id)
        return {doc: _stored_rule(held) for doc, held in rows.items() if doc not in hidden}

    def documents(self, doc_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The grade of each of ``doc_ids`` (documents the reader may read) as this reader
        sees it; documents without one (for them) are left out."""
        g = t.grades
        out: dict[str, dict[str, Any]] = {}
        hidden: dict[str, Any] = {}
        for chunk in chunks(sorted(set(doc_ids))):
            for row in self.conn.execute(sa.select(g).where(
                    g.c.subject_type == "document", g.c.subject_id.in_(list(chunk)))):
                if readable_grade(row, self.audience):
                    out[row.subject_id] = _public(row)
                else:
                    hidden[row.subject_id] = row.computed_at
        for doc_id in stale_documents(self.conn, list(out), self.audience):
            hidden[doc_id] = out.pop(doc_id)["computed_at"]
        self._recompute(list(hidden))
        for doc_id, computed_at in hidden.items():
            if (found := self.recomputed[doc_id]) is not None:
                out[doc_id] = {**found, "computed_at": computed_at}  # as the single view
        return out

    def credibilities(self, doc_ids: Sequence[str]) -> dict[str, int]:
        """The credibility of each of ``doc_ids`` (documents the reader may read) as this
        reader sees it — the ``credibility`` :meth:`documents` gives, without regrading any
        source (see the module docstring); documents without one (for them) are left
        out."""
        g = t.grades
        out: dict[str, int] = {}
        hidden: list[str] = []
        for chunk in chunks(sorted(set(doc_ids))):
            for row in self.conn.execute(sa.select(
                    g.c.subject_id, g.c.credibility, *_marking_columns(g)).where(
                    g.c.subject_type == "document", g.c.subject_id.in_(list(chunk)))):
                if not readable_grade(row, self.audience):
                    hidden.append(row.subject_id)
                elif row.credibility is not None:
                    out[row.subject_id] = int(row.credibility)
        for doc_id in _stale_in_chunks(self.conn, list(out), self.audience):
            del out[doc_id]
            hidden.append(doc_id)
        self._recount(hidden)
        out.update({d: found for d in hidden if (found := self.recounted[d]) is not None})
        return out

    def passing(self, candidates: sa.Select[Any], min_credibility: int) -> list[str]:
        """Of the documents ``candidates`` selects (an ID column; the caller's filters
        already keep only documents the reader may read), those whose stored grade the
        reader may not read and whose grade recomputed for them is at least
        ``min_credibility`` (Admiralty: a number at most that)."""
        if self.audience.unrestricted:
            return Passing()
        g = t.grades
        hidden = list(self.conn.execute(sa.select(g.c.subject_id).where(
            g.c.subject_type == "document", g.c.subject_id.in_(candidates),
            sa.not_(readable(g, self.audience)))).scalars())
        # stored grades the reader may read but resting on a document hidden from them now:
        # recounted like the hidden ones, and kept out of credible()'s stored branch
        stale_ids = _stale_query(candidates, self.audience).subquery()
        stale = sorted(set(self.conn.execute(sa.select(g.c.subject_id).where(
            g.c.subject_type == "document",
            g.c.subject_id.in_(sa.select(stale_ids.c[0])),
            readable(g, self.audience))).scalars()))
        self._recount(hidden + stale)
        return Passing(sorted(d for d in hidden + stale if (found := self.recounted[d])
                              is not None and found <= min_credibility), stale=stale)


    def _regrader(self) -> _Regrade:
        if self._regrade is None:
            self._regrade = _Regrade(self.store, self.conn, self.audience)
        return self._regrade

    def source_reliability(self, source_id: str) -> str | None:
        """A source's reliability letter as this reader sees it (None: not graded)."""
        g = t.grades
        row = self.conn.execute(sa.select(g).where(g.c.subject_type == "source",
                                                   g.c.subject_id == source_id)).first()
        if row is None:
            return None
        if readable_grade(row, self.audience) and not _stale_sources(
                self.conn, [source_id], self.audience):
            return Reliability.parse(row.reliability).value if row.reliability else None
        return self._regrader().source(source_id)[0].value

    def story(self, stored_id: str) -> dict[str, Any] | None:
        """A story's grade as this reader sees it (by its stored ID), as :func:`grade_for`."""
        g = t.grades
        row = self.conn.execute(sa.select(g).where(g.c.subject_type == "story",
                                                   g.c.subject_id == stored_id)).first()
        if row is None:
            return None
        if readable_grade(row, self.audience) and not _stale_subject(
                self.conn, self.store, "story", stored_id, self.audience):
            return _public(row)
        return self._regrader().subject("story", stored_id, row)

    def claim_credibility(self, key: str, value: str | None) -> int | None:
        """A graded claim's credibility recomputed from the reports this reader may read,
        picked as the stored one is (:mod:`allsource.store.cases`): of its graded events
        (and values, unless ``value`` names one), the most independently reported, then the
        most credible. ``recomputed_claims`` counts the calls."""
        self.recomputed_claims.append(key)
        found = [g for g in self._regrader().claims([], keys=[key])
                 if g.key == key and (value is None or g.value == value)]
        if not found:
            return None
        return int(min(found, key=lambda g: (-g.independent, int(g.credibility))).credibility)


_OWN, _KEY = t.claim_documents.alias("own_claim"), t.claim_documents.alias("key_report")
_IN, _CO = t.story_members.alias("in_story"), t.story_members.alias("co_member")


def _stale(conn: sa.Connection, doc_ids: Sequence[str] | sa.Select[Any],
           audience: Audience) -> set[str]:
    """Of ``doc_ids``, those with a claim reported by a document — or resting on a member
    of a reporting document's story — that ``audience`` may not read as the documents are
    marked now. A stored claim row's marking is that of its evidence when ``verify`` ran; a
    document marked more restrictively since (a rebuild never loosens a marking) must not
    count for a reader it is hidden from, so such claims are regraded over what the reader
    may read now, as the single-document view regrades them."""
    return set(conn.execute(_stale_query(doc_ids, audience)).scalars())


def _stale_query(doc_ids: Sequence[str] | sa.Select[Any], audience: Audience
                 ) -> sa.CompoundSelect[Any]:
    """The statement of :func:`_stale` (``doc_ids`` a list or a select of IDs)."""
    d = t.documents
    hidden = sa.not_(readable(d, audience))
    wanted = doc_ids if isinstance(doc_ids, sa.Select) else list(doc_ids)
    reporting = (sa.select(_OWN.c.document_id).distinct()
                 .join(_KEY, _KEY.c.key == _OWN.c.key)
                 .where(_OWN.c.document_id.in_(wanted)))
    by_report = reporting.join(d, d.c.id == _KEY.c.document_id).where(hidden)
    by_story = (reporting.join(_IN, _IN.c.document_id == _KEY.c.document_id)
                .join(_CO, _CO.c.story_id == _IN.c.story_id)
                .join(d, d.c.id == _CO.c.document_id).where(hidden))
    return sa.union(by_report, by_story)


def _stale_in_chunks(conn: sa.Connection, doc_ids: Sequence[str],
                     audience: Audience) -> set[str]:
    """:func:`_stale` over any number of IDs (none for a reader who may read everything)."""
    if audience.unrestricted or not doc_ids:
        return set()
    out: set[str] = set()
    for chunk in chunks(sorted(doc_ids)):
        out |= _stale(conn, chunk, audience)
    return out


def _stale_sources(conn: sa.Connection, source_ids: Sequence[str],
                   audience: Audience) -> set[str]:
    """Of ``source_ids``, those whose stored record rests on a document hidden from
    ``audience`` as marked now: a record is graded from every claim the source reported, and
    each claim from every report of it (and the reports' story members), so a claim of the
    source reported by a since-hidden document (its own included) makes the record stale."""
    if audience.unrestricted or not source_ids:
        return set()
    own = t.documents.alias("own_doc")
    stale = _stale_query(sa.select(own.c.id).where(own.c.source_id.in_(list(source_ids))),
                         audience).subquery()
    return set(conn.execute(sa.select(own.c.source_id).distinct().where(
        own.c.id.in_(sa.select(stale.c[0])))).scalars())


def stale_documents(conn: sa.Connection, doc_ids: Sequence[str],
                    audience: Audience) -> set[str]:
    """Of ``doc_ids`` (documents whose stored grade the reader may read), those whose grade
    rests on a document hidden from ``audience`` now: through their claims (:func:`_stale`)
    or their source's record (:func:`_stale_sources`). Stored markings are those ``verify``
    saw; a document marked more restrictively since must not count for a reader it is now
    hidden from, so these are regraded over what the reader may read now."""
    if audience.unrestricted or not doc_ids:
        return set()
    out = _stale_in_chunks(conn, doc_ids, audience)
    d = t.documents
    source_of: dict[str, str] = {}
    for chunk in chunks(sorted(set(doc_ids) - out)):
        source_of.update((i, s) for i, s in conn.execute(sa.select(d.c.id, d.c.source_id).where(
            d.c.id.in_(list(chunk)))))
    stale_sources = _stale_sources(conn, sorted(set(source_of.values())), audience)
    return out | {doc for doc, src in source_of.items() if src in stale_sources}


def _stale_subject(conn: sa.Connection, store: SqlStore, subject_type: str, subject_id: str,
                   audience: Audience) -> bool:
    """Whether a readable stored grade of a document, story (stored ID) or source rests
    on a document hidden from ``audience`` now (see :func:`stale_documents`)."""
    if audience.unrestricted:
        return False
    if subject_type == "source":
        return bool(_stale_sources(conn, [subject_id], audience))
    if subject_type == "document":
        return bool(stale_documents(conn, [subject_id], audience))
    m, d = t.story_members, t.documents
    members = list(conn.execute(sa.select(m.c.document_id).where(
        m.c.story_id == subject_id)).scalars())
    if conn.execute(sa.select(sa.literal(1)).where(
            d.c.id.in_(members), sa.not_(readable(d, audience))).limit(1)).first():
        return True  # a member hidden now: the stored story grade counts it
    return bool(stale_documents(conn, members, audience))


class Passing(list[str]):
    """:meth:`ReaderGrades.passing`'s answer: the documents that pass on a grade recomputed
    for the reader, and in ``stale`` those whose stored grade the reader may read but which
    rests on a document hidden from them now (:func:`credible` does not use their stored
    figure)."""

    def __init__(self, ids: Iterable[str] = (), *, stale: Iterable[str] = ()) -> None:
        super().__init__(ids)
        self.stale = frozenset(stale)


def _stored_rule(held: Sequence[tuple[int, bool]]) -> int:
    """:func:`~allsource.verify.run.subject_credibility` over stored ``(credibility,
    contradicted)`` claim rows."""
    contradicted = [cred for cred, against in held if against]
    return max(contradicted) if contradicted else min(cred for cred, _ in held)


def _credibility(grade: dict[str, Any] | None) -> int | None:
    return None if grade is None or grade["credibility"] is None else int(grade["credibility"])


def _marking_columns(table: sa.Table) -> list[sa.Column[Any]]:
    return [table.c.tlp, table.c.classification, table.c.compartments, table.c.releasability]


def credible(document_id: sa.ColumnElement[Any], min_credibility: int, audience: Audience,
             passing: Sequence[str]) -> sa.ColumnElement[bool]:
    """SQL: the document's grade, as ``audience`` sees it, is at least ``min_credibility``:
    its stored grade when they may read its marking, else one of ``passing``
    (:meth:`ReaderGrades.passing` over the same candidates)."""
    g = t.grades
    stored: sa.ColumnElement[bool] = (
        sa.exists().where(g.c.subject_type == "document", g.c.subject_id == document_id,
                          g.c.credibility <= int(min_credibility), readable(g, audience))
        .correlate_except(g))
    if stale := sorted(getattr(passing, "stale", ())):
        stored = sa.and_(stored, document_id.not_in(sa.bindparam(
            None, stale, type_=sa.String, expanding=True, literal_execute=True)))
    if not passing:
        return stored
    # rendered inline, so a long list never meets a driver's limit on bound parameters
    listed = sa.bindparam(None, list(passing), type_=sa.String, expanding=True,
                          literal_execute=True)
    return sa.or_(stored, document_id.in_(listed))


UNNAMED_SOURCE = "a source not shown to you"


class ReaderSourceNames(Mapping[str, str]):
    """Source ID → the name ``audience`` is shown: the source's own name where they may read
    the source's marking, else :data:`UNNAMED_SOURCE` numbered in order of first use (so
    the number counts hidden sources among the evidence shown, never in the store). Every
    key answers, even an unknown or deleted source's ID: nothing falls back to the ID."""

    def __init__(self, sources: Iterable[Source], audience: Audience) -> None:
        listed = list(sources)
        self._names = {s.id: s.name for s in listed if can_release(s.marking, audience)}
        self._known = [s.id for s in listed]
        self._hidden: dict[str, str] = {}

    def __getitem__(self, source_id: str) -> str:
        found = self._names.get(source_id)
        if found is None:
            found = self._hidden.get(source_id)
            if found is None:
                found = self._hidden[source_id] = f"{UNNAMED_SOURCE} ({len(self._hidden) + 1})"
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._known)

    def __len__(self) -> int:
        return len(self._known)

    def readable(self, source_id: str) -> bool:
        """Whether the source's own name is shown."""
        return source_id in self._names


class _Regrade:
    """One read-time regrading over what ``audience`` may read."""

    def __init__(self, store: SqlStore, conn: sa.Connection, audience: Audience) -> None:
        self.store, self.conn, self.audience = store, conn, audience
        self.names = ReaderSourceNames(store.list_sources(), audience)
        # the other names a source is known by name it as well: only readable sources'
        self.aka = {sid: names for sid, names in source_names(store).items()
                    if self.names.readable(sid)}
        self._sources: dict[str, tuple[Reliability, dict[str, Any]]] = {}

    def documents(self, doc_ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """Grades of several documents at once, as :meth:`subject` grades one: claims are
        graded per key, so grading the union of their claims once gives each document the
        grades it would get alone."""
        subjects = sorted(set(doc_ids))
        grades = self.claims(subjects)
        held: dict[str, list[ClaimGrade]] = defaultdict(list)
        wanted = set(subjects)
        for grade in grades:
            for doc in grade.asserting & wanted:
                held[doc].append(grade)
        docs = _documents(self.conn, self.names, self.aka, [d for d in subjects if d in held])
        out: dict[str, dict[str, Any] | None] = {}
        computed = datetime.now(UTC)
        for doc_id in subjects:
            if not held.get(doc_id) or doc_id not in docs:
                out[doc_id] = None
                continue
            reliability = self.source(docs[doc_id].source_id)[0]
            kind, sid, rel, cred, corr, explanation = _subject_row(
                "document", doc_id, held[doc_id], reliability)
            out[doc_id] = {"subject_type": kind, "subject_id": sid, "reliability": rel,
                           "credibility": cred, "corroboration": corr,
                           "explanation": explanation, "computed_at": computed}
        return out

    def credibilities(self, doc_ids: Sequence[str]) -> dict[str, int | None]:
        """The credibility :meth:`documents` gives each of ``doc_ids``, from their claims
        graded over the readable reports only: no source is regraded and no explanation
        built (``None``: no readable claim)."""
        subjects = sorted(set(doc_ids))
        wanted = set(subjects)
        held: dict[str, list[ClaimGrade]] = defaultdict(list)
        for grade in self.claims(subjects):
            for doc in grade.asserting & wanted:
                held[doc].append(grade)
        return {d: int(subject_credibility(held[d])) if held.get(d) else None
                for d in subjects}

    def subject(self, subject_type: str, subject_id: str, row: Any) -> dict[str, Any] | None:
        if subject_type == "source":
            reliability, explanation = self.source(subject_id)
            return {"subject_type": "source", "subject_id": subject_id,
                    "reliability": reliability.value, "credibility": None,
                    "corroboration": int(explanation.get("confirmations", 0)),
                    "explanation": explanation, "computed_at": row.computed_at}
        story: StoryView | None = None
        if subject_type == "story":
            story = stories_by_stored_id(self.conn, self.store, [subject_id],
                                         self.audience).get(subject_id)
            if story is None:
                return None
            subjects = [m.document_id for m in story.members]
        else:
            subjects = [subject_id]
        grades = self.claims(subjects)
        held = [g for g in grades if g.asserting & set(subjects)]
        if not held:
            return None
        docs = _documents(self.conn, self.names, self.aka, subjects)
        sources = sorted({d.source_id for d in docs.values()})
        reliability = min((self.source(s)[0] for s in sources), key=lambda r: r.rank,
                          default=Reliability.F)
        kind, sid, rel, cred, corr, explanation = _subject_row(
            subject_type, story.id if story else subject_id, held, reliability,
            subjects if story else None)
        return {"subject_type": kind, "subject_id": sid, "reliability": rel,
                "credibility": cred, "corroboration": corr, "explanation": explanation,
                "computed_at": row.computed_at}

    # -- claims -------------------------------------------------------------------------
    def _readable_docs(self, ids: Sequence[str]) -> set[str]:
        d = t.documents
        out: set[str] = set()
        for chunk in chunks(sorted(set(ids))):
            for r in self.conn.execute(
                    sa.select(d.c.id, d.c.tlp, d.c.classification, d.c.compartments,
                              d.c.releasability)
                    .where(d.c.id.in_(list(chunk)), self.store._readable(d, self.audience))):
                if can_release(Marking.from_columns(dict(r._mapping)), self.audience):
                    out.add(r.id)
        return out

    def claims(self, subjects: Sequence[str], *, by_source: str | None = None,
               keys: Sequence[str] = ()) -> list[ClaimGrade]:
        """Grades of the claims of ``subjects`` (or of every readable document of the
        source ``by_source``, or the claims ``keys``) over every readable report of them."""
        items = self.claim_reports(subjects, by_source=by_source, keys=keys)
        return grade_claims(items) if items else []

    def claim_reports(self, subjects: Sequence[str], *, by_source: str | None = None,
                      keys: Sequence[str] = ()) -> list[ClaimReport]:
        """The readable reports :meth:`claims` grades (for a replay over time:
        :mod:`allsource.verify.grade_history`)."""
        c, d = t.claim_documents, t.documents
        wanted: set[str]
        if keys:
            wanted = set(keys)
        elif by_source is not None:
            wanted = set(self.conn.execute(
                sa.select(c.c.key).distinct().join(d, d.c.id == c.c.document_id)
                .where(d.c.source_id == by_source,
                       self.store._readable(d, self.audience))).scalars())
        else:
            wanted = set()
            for chunk in chunks(list(subjects)):
                wanted.update(self.conn.execute(sa.select(c.c.key).where(
                    c.c.document_id.in_(list(chunk)))).scalars())
        reports: list[Any] = []
        for chunk in chunks(sorted(wanted)):
            reports += self.conn.execute(sa.select(c).where(c.c.key.in_(list(chunk)))).all()
        readable = self._readable_docs([r.document_id for r in reports])
        reports = [r for r in reports if r.document_id in readable]
        # a relationship claim is seen only through a report whose mention and ends the
        # reader may read (allsource.verify.evidence), as verify marks the stored grades
        related = [r.document_id for r in reports if r.key.startswith(RELATION_PREFIX)]
        if related:
            marks = relation_markings(self.conn, CLAIM_RELATIONSHIPS, related)
            reports = [r for r in reports if not r.key.startswith(RELATION_PREFIX) or (
                (r.document_id, r.key) in marks
                and can_release(marks[(r.document_id, r.key)], self.audience))]
        if not reports:
            return []
        meta = self._claim_meta(sorted({r.key for r in reports}))
        docs = _documents(self.conn, self.names, self.aka, sorted(readable))
        story_of = self._stories(sorted(readable))
        per_key: dict[str, set[str]] = defaultdict(set)
        for r in reports:
            per_key[r.key].add(r.document_id)
        texts = _texts(self.conn, sorted({x for ds in per_key.values() if len(ds) > 1
                                          for x in ds}))
        items = []
        for r in reports:
            kind, text = meta.get((r.key, r.value, r.event), ("", r.key))
            doc = docs[r.document_id]
            items.append(ClaimReport(r.key, r.value, kind, text, Report(
                doc.id, doc.outlet, doc.source_id, story_of.get(doc.id), doc.url,
                doc.published_at, texts.get(doc.id, ""), doc.names)))
        return items

    def _claim_meta(self, keys: list[str]) -> dict[tuple[str, str, int], tuple[str, str]]:
        g = t.claim_grades
        out: dict[tuple[str, str, int], tuple[str, str]] = {}
        for chunk in chunks(keys):
            for r in self.conn.execute(sa.select(g.c.key, g.c.value, g.c.event, g.c.kind,
                                                 g.c.text).where(g.c.key.in_(list(chunk)))):
                out[(r.key, r.value, r.event)] = (r.kind, r.text)
        return out

    def _stories(self, doc_ids: list[str]) -> dict[str, str]:
        """Each readable document's story *as the reader sees it* (:func:`_parts`): its
        readable members, joined where one matched the other, or where their stored MinHash
        signatures agree at the stories stage's threshold (two copies whose stored match is
        a hidden document are still copies: judged from their own texts, not through the
        hidden one). A part is named by its first member — a readable document, and for the part
        holding the story's first readable member the story's public ID (the stored story
        ID may be a hidden document's, and explanations quote it: "copies: same story …")."""
        views = stories_of_documents(self.conn, self.store, doc_ids, self.audience)
        out: dict[str, str] = {}
        for view in {v.stored_id: v for v in views.values()}.values():
            parts = _parts(view, self._signatures([m.document_id for m in view.members]))
            out.update({d: part for d, part in parts.items() if d in views})
        return out

    def _signatures(self, doc_ids: list[str]) -> dict[str, bytes]:
        s = t.minhash_signatures
        out: dict[str, bytes] = {}
        for chunk in chunks(doc_ids):
            out.update((d, bytes(sig)) for d, sig in self.conn.execute(
                sa.select(s.c.document_id, s.c.signature).where(
                    s.c.document_id.in_(list(chunk)))) if sig)
        return out

    # -- sources ------------------------------------------------------------------------
    def source(self, source_id: str) -> tuple[Reliability, dict[str, Any]]:
        """The source's effective reliability for this reader, with its explanation: the
        stored one when the reader may read all it rests on, else recomputed from the
        source's readable claims (once per regrading)."""
        if source_id not in self._sources:
            self._sources[source_id] = self._source(source_id)
        return self._sources[source_id]

    def _source(self, source_id: str) -> tuple[Reliability, dict[str, Any]]:
        g = t.grades
        row = self.conn.execute(sa.select(g).where(g.c.subject_type == "source",
                                                   g.c.subject_id == source_id)).first()
        if row is not None and readable_grade(row, self.audience) and not (
                _stale_sources(self.conn, [source_id], self.audience)):
            return Reliability.parse(row.reliability or "F"), dict(row.explanation or {})
        grades = self.claims([], by_source=source_id)
        record = track_records(grades, {source_id: self.names.get(source_id, source_id)}
                               )[source_id]
        return effective_reliability(record, active_overrides(self.conn).get(source_id))
