"""Case workspaces for Analysis of Competing Hypotheses: cases, their hypotheses, evidence
and ratings, with an audit trail of who changed what (``case_events``).

Reads take an :class:`Audience`; a case the audience may not read does not exist for it.
Linking a document raises the case's marking to cover the document's (``Marking.combine``),
so a matrix never shows evidence above the case's own handling.

An evidence item's credibility (Admiralty 1–6) is, in order: the analyst's override; the
linked document's grade (``grades``, subject_type ``document``); the linked claim's grade
(``claim_grades``: of several graded events of the claim, the one with most independent
reports, then the best credibility); 6 "cannot be judged" when it links something that is
not graded (yet); None for an unlinked note, which the matrix weights as 1.0. Grades are
those the reader sees (:class:`allsource.verify.audience.ReaderGrades`): a stored grade
resting on something they may not read is recomputed from what they may read.

On an encrypted store an evidence item's description (a linked document's title by default)
is sealed (:mod:`allsource.store.sealed`), and so is the new description an
``evidence-updated`` event logs; case titles, questions, hypotheses and ratings' notes are the
analysts' own words and stay in clear.

Hypotheses and evidence are referred to by id, by a unique id prefix of at least 6
characters, or by their label within the case: ``H1``, ``H2`` … and ``E1``, ``E2`` … in
list order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.errors import InputError
from allsource.model import ach_scales as ach
from allsource.model.markings import Audience, Marking, can_release
from allsource.store import schema as t
from allsource.store.access import readable
from allsource.store.sql import aware, naive_utc, utc_now

if TYPE_CHECKING:
    from allsource.store.keys import KeyRing
    from allsource.store.sql import SqlStore
    from allsource.verify.audience import ReaderGrades

CASE_TYPE = "x-allsource-case"
HYPOTHESIS_TYPE = "x-allsource-hypothesis"
EVIDENCE_TYPE = "x-allsource-evidence"
STATUSES = ("open", "closed")
UNGRADED = 6


class CaseNotFound(InputError):
    """The case, or a hypothesis or evidence item in it, does not exist for this reader."""


class CaseClosed(InputError):
    """A change to a closed case (reopen it first)."""


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    title: str
    question: str
    status: str
    owner: str
    marking: Marking
    created_at: datetime
    updated_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "question": self.question,
                "status": self.status, "owner": self.owner, "marking": self.marking.as_dict(),
                "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat()}


@dataclass(frozen=True, slots=True)
class CaseHypothesis:
    id: str
    case_id: str
    label: str
    title: str
    description: str
    position: int

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "case_id": self.case_id, "label": self.label,
                "title": self.title, "description": self.description,
                "position": self.position}


@dataclass(frozen=True, slots=True)
class CaseEvidence:
    id: str
    case_id: str
    label: str
    position: int
    description: str
    document_id: str | None
    claim_key: str | None
    claim_value: str | None
    credibility_override: int | None
    credibility: int | None
    credibility_from: str | None  # override | document | claim | ungraded | None
    relevance: ach.Relevance
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "case_id": self.case_id, "label": self.label,
                "position": self.position, "description": self.description,
                "document_id": self.document_id, "claim_key": self.claim_key,
                "claim_value": self.claim_value,
                "credibility_override": self.credibility_override,
                "credibility": self.credibility, "credibility_from": self.credibility_from,
                "relevance": self.relevance.value, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True, slots=True)
class CaseEvent:
    id: int
    case_id: str
    actor: str
    action: str
    details: dict[str, Any]
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "case_id": self.case_id, "actor": self.actor,
                "action": self.action, "details": self.details,
                "created_at": self.created_at.isoformat()}


@dataclass(frozen=True, slots=True)
class Workspace:
    """A case with everything the matrix needs, in list order."""

    case: Case
    hypotheses: list[CaseHypothesis]
    evidence: list[CaseEvidence]
    ratings: dict[tuple[str, str], tuple[ach.Rating, str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"case": self.case.as_dict(),
                "hypotheses": [h.as_dict() for h in self.hypotheses],
                "evidence": [e.as_dict() for e in self.evidence],
                "ratings": [{"evidence_id": e, "hypothesis_id": h, "rating": r.value,
                             "note": note} for (e, h), (r, note) in self.ratings.items()]}


# --- helpers -------------------------------------------------------------------------------

def _actor(actor: str) -> str:
    actor = " ".join(actor.split())
    if not actor:
        raise InputError("say who is acting (an analyst name)")
    return actor[:120]


def _text(value: str, what: str, *, required: bool = True, limit: int = 10_000) -> str:
    value = value.strip()
    if required and not value:
        raise InputError(f"a {what} must not be empty")
    if len(value) > limit:
        raise InputError(f"a {what} is at most {limit} characters")
    return value


def _credibility(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 6:
        raise InputError(f"credibility must be 1–6, not {value}")
    return value


def _relevance(value: str | ach.Relevance) -> ach.Relevance:
    try:
        return ach.Relevance.parse(str(value))
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _new_id(kind: str) -> str:
    return f"{kind}--{uuid.uuid4()}"


def _event(conn: Connection, case_id: str, actor: str, action: str, now: datetime,
           marked: Marking | None = None, sealer: KeyRing | None = None,
           **details: Any) -> None:
    """Log an event, marked as what it reveals: the case as it now stands (``marked``
    when the case row is gone) and the document it names, so lowering a case later does
    not open its earlier entries (see :func:`case_events`). Events whose details are
    sealed (``evidence-updated``) are written through ``sealer``, the store's key ring."""
    marking = marked
    if marking is None:
        row = conn.execute(sa.select(t.cases.c.tlp, t.cases.c.classification,
                                     t.cases.c.compartments, t.cases.c.releasability)
                           .where(t.cases.c.id == case_id)).first()
        marking = Marking.from_columns(dict(row._mapping)) if row else Marking()
    if details.get("document_id"):
        d = t.documents
        doc = conn.execute(sa.select(d.c.tlp, d.c.classification, d.c.compartments,
                                     d.c.releasability)
                           .where(d.c.id == details["document_id"])).first()
        if doc is not None:
            marking = marking.combine(Marking.from_columns(dict(doc._mapping)))
    event: dict[str, Any] = dict(case_id=case_id, actor=actor, action=action, details=details,
                                 created_at=now, **marking.to_columns())
    if sealer is not None:
        sealer.insert_with_id(conn, t.case_events, event)
    else:
        conn.execute(t.case_events.insert().values(**event))


def _case_from(row: sa.Row[Any]) -> Case:
    m = row._mapping
    return Case(id=m["id"], title=m["title"], question=m["question"], status=m["status"],
                owner=m["owner"], marking=Marking.from_columns(dict(m)),
                created_at=aware(m["created_at"]), updated_at=aware(m["updated_at"]))  # type: ignore[arg-type]


def _write_lock(conn: Connection) -> None:
    """SQLite starts transactions lazily: take its write lock before reading positions."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _not_found(ref: str) -> InputError:
    return CaseNotFound(f"no case {ref!r} (see `allsource case list`)")


def _resolve_case(conn: Connection, ref: str, audience: Audience) -> sa.Row[Any]:
    c = t.cases
    ref = ref.strip()
    row = conn.execute(sa.select(c).where(c.c.id == ref)).first()
    if row is None and len(ref) >= 6:
        prefix = ref if ref.startswith(f"{CASE_TYPE}--") else f"{CASE_TYPE}--{ref.lower()}"
        # only readable cases are candidates: a hidden one sharing the prefix must neither
        # make the ref ambiguous nor answer for it
        found = conn.execute(sa.select(c).where(c.c.id.startswith(prefix, autoescape=True),
                                                readable(c, audience))
                             .limit(2)).all()
        if len(found) > 1:
            raise InputError(f"case id {ref!r} is ambiguous: give more of it")
        row = found[0] if found else None
    if row is None or not can_release(Marking.from_columns(dict(row._mapping)), audience):
        raise _not_found(ref)
    return row


def _touch(conn: Connection, case_id: str, now: datetime, **values: Any) -> None:
    conn.execute(t.cases.update().where(t.cases.c.id == case_id)
                 .values(updated_at=now, **values))


def _writable(row: sa.Row[Any]) -> None:
    if row.status == "closed":
        raise CaseClosed(f"case {row.id} is closed: reopen it first")


def _resolve_member(conn: Connection, table: sa.Table, case_id: str, ref: str,
                    label: str, what: str) -> str:
    ref = ref.strip()
    ids = list(conn.execute(sa.select(table.c.id).where(table.c.case_id == case_id)
                            .order_by(table.c.position, table.c.id)).scalars())
    upper = ref.upper()
    if upper.startswith(label) and upper[1:].isdigit():
        n = int(upper[1:])
        if 1 <= n <= len(ids):
            return str(ids[n - 1])
    if ref in ids:
        return ref
    if len(ref) >= 6:
        matches = [i for i in ids if i.split("--", 1)[-1].startswith(ref.lower())]
        if len(matches) == 1:
            return str(matches[0])
        if len(matches) > 1:
            raise InputError(f"{what} id {ref!r} is ambiguous: give more of it")
    raise CaseNotFound(f"no {what} {ref!r} in case {case_id}")


# --- cases ---------------------------------------------------------------------------------

def create_case(store: SqlStore, title: str, *, owner: str, question: str = "",
                marking: Marking | None = None, now: datetime | None = None) -> Case:
    """Open a new case owned by ``owner``."""
    owner = _actor(owner)
    when = naive_utc(now) or utc_now()
    case_id = _new_id(CASE_TYPE)
    values = {"id": case_id, "title": _text(title, "case title", limit=500),
              "question": _text(question, "question", required=False),
              "status": "open", "owner": owner, "created_at": when, "updated_at": when,
              **(marking or Marking()).to_columns()}
    with store.engine.begin() as conn:
        conn.execute(t.cases.insert().values(**values))
        _event(conn, case_id, owner, "created", when, title=values["title"])
        row = conn.execute(sa.select(t.cases).where(t.cases.c.id == case_id)).one()
    return _case_from(row)


def list_cases(store: SqlStore, *, audience: Audience | None = None, status: str | None = None,
               limit: int = 100, offset: int = 0) -> tuple[list[Case], int]:
    """Cases the audience may read, most recently changed first, and how many there are."""
    audience = audience or Audience.owner()
    c = t.cases
    conds = [store._readable(c, audience)]
    if status is not None:
        if status not in STATUSES:
            raise InputError(f"unknown case status {status!r}: use open or closed")
        conds.append(c.c.status == status)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(c).where(*conds)
                            .order_by(c.c.updated_at.desc(), c.c.id)).all()
    readable = [case for case in map(_case_from, rows) if can_release(case.marking, audience)]
    return readable[offset:offset + limit], len(readable)


def get_case(store: SqlStore, ref: str, audience: Audience | None = None) -> Case:
    """The case by id or short id; an :class:`InputError` if the audience may not see it."""
    with store.engine.connect() as conn:
        return _case_from(_resolve_case(conn, ref, audience or Audience.owner()))


def update_case(store: SqlStore, ref: str, *, actor: str, audience: Audience | None = None,
                title: str | None = None, question: str | None = None,
                status: str | None = None, marking: Marking | None = None,
                now: datetime | None = None) -> Case:
    """Change a case's title, question, status or marking (a marking may only be raised
    while the case links documents: it always covers theirs)."""
    actor = _actor(actor)
    when = naive_utc(now) or utc_now()
    values: dict[str, Any] = {}
    if title is not None:
        values["title"] = _text(title, "case title", limit=500)
    if question is not None:
        values["question"] = _text(question, "question", required=False)
    if status is not None:
        if status not in STATUSES:
            raise InputError(f"unknown case status {status!r}: use open or closed")
        values["status"] = status
    with store.engine.begin() as conn:
        _write_lock(conn)
        row = _resolve_case(conn, ref, audience or Audience.owner())
        if marking is not None:
            values.update(marking.combine(_linked_marking(conn, row.id)).to_columns())
        changed = {k: v for k, v in values.items() if row._mapping[k] != v}
        if changed:
            _touch(conn, row.id, when, **changed)
            action = {"closed": "closed", "open": "reopened"}.get(changed.get("status", ""),
                                                                  "updated")
            _event(conn, row.id, actor, action, when, **changed)
        row = conn.execute(sa.select(t.cases).where(t.cases.c.id == row.id)).one()
    return _case_from(row)


def delete_case(store: SqlStore, ref: str, *, actor: str, audience: Audience | None = None,
                now: datetime | None = None) -> None:
    """Delete a case with its hypotheses, evidence and ratings; its audit trail stays."""
    actor = _actor(actor)
    when = naive_utc(now) or utc_now()
    with store.engine.begin() as conn:
        _write_lock(conn)
        row = _resolve_case(conn, ref, audience or Audience.owner())
        ev = sa.select(t.case_evidence.c.id).where(t.case_evidence.c.case_id == row.id)
        conn.execute(t.case_ratings.delete().where(t.case_ratings.c.evidence_id.in_(ev)))
        conn.execute(t.case_evidence.delete().where(t.case_evidence.c.case_id == row.id))
        conn.execute(t.case_hypotheses.delete().where(t.case_hypotheses.c.case_id == row.id))
        conn.execute(t.cases.delete().where(t.cases.c.id == row.id))
        _event(conn, row.id, actor, "deleted", when,
               Marking.from_columns(dict(row._mapping)), title=row.title)


def case_events(store: SqlStore, ref: str, audience: Audience | None = None
                ) -> list[CaseEvent]:
    """The case's audit trail, oldest first: the events ``audience`` may read (each is marked
    as what it revealed when written, see :func:`_event`)."""
    e = t.case_events
    audience = audience or Audience.owner()
    with store.engine.connect() as conn:
        case_id = _resolve_case(conn, ref, audience).id
        rows = conn.execute(sa.select(e).where(e.c.case_id == case_id,
                                               store._readable(e, audience))
                            .order_by(e.c.id)).all()
    return [CaseEvent(id=r.id, case_id=r.case_id, actor=r.actor, action=r.action,
                      details=dict(r.details or {}), created_at=aware(r.created_at))  # type: ignore[arg-type]
            for r in rows if can_release(Marking.from_columns(dict(r._mapping)), audience)]


def _linked_marking(conn: Connection, case_id: str) -> Marking:
    d, ev = t.documents, t.case_evidence
    rows = conn.execute(sa.select(d.c.tlp, d.c.classification, d.c.compartments,
                                  d.c.releasability)
                        .join(ev, ev.c.document_id == d.c.id).where(ev.c.case_id == case_id))
    marking = Marking()
    for r in rows:
        marking = marking.combine(Marking.from_columns(dict(r._mapping)))
    return marking


# --- hypotheses ----------------------------------------------------------------------------

def _hypotheses(conn: Connection, case_id: str) -> list[CaseHypothesis]:
    h = t.case_hypotheses
    rows = conn.execute(sa.select(h).where(h.c.case_id == case_id)
                        .order_by(h.c.position, h.c.id)).all()
    return [CaseHypothesis(id=r.id, case_id=r.case_id, label=f"H{n}", title=r.title,
                           description=r.description, position=r.position)
            for n, r in enumerate(rows, 1)]


def _next_position(conn: Connection, table: sa.Table, case_id: str) -> int:
    top = conn.execute(sa.select(sa.func.max(table.c.position))
                       .where(table.c.case_id == case_id)).scalar_one()
    return int(top or 0) + 1


def list_hypotheses(store: SqlStore, ref: str, audience: Audience | None = None
                    ) -> list[CaseHypothesis]:
    with store.engine.connect() as conn:
        return _hypotheses(conn, _resolve_case(conn, ref, audience or Audience.owner()).id)


def add_hypothesis(store: SqlStore, ref: str, title: str, *, actor: str,
                   description: str = "", audience: Audience | None = None,
                   now: datetime | None = None) -> CaseHypothesis:
    actor = _actor(actor)
    when = naive_utc(now) or utc_now()
    h = t.case_hypotheses
    with store.engine.begin() as conn:
        _write_lock(conn)
        row = _resolve_case(conn, ref, audience or Audience.owner())
        _writable(row)
        hyp_id = _new_id(HYPOTHESIS_TYPE)
        conn.execute(h.insert().values(
            id=hyp_id, case_id=row.id, title=_text(title, "hypothesis title", limit=500),
            description=_text(description, "description", required=False),
            position=_next_position(conn, h, row.id)))
        _touch(conn, row.id, when)
        _event(conn, row.id, actor, "hypothesis-added", when, hypothesis_id=hyp_id,
               title=title.strip())
        return next(x for x in _hypotheses(conn, row.id) if x.id == hyp_id)


def update_hypothesis(store: SqlStore, ref: str, hypothesis: str, *, actor: str,
                      title: str | None = None, description: str | None = None,
                      audience: Audience | None = None, now: datetime | None = None
                      ) -> CaseHypothesis:
    actor = _actor(actor)
    when = naive_utc(now) or utc_now()
    h = t.case_hypotheses
    values: dict[str, Any] = {}
    if title is not None:
        values["title"] = _text(title, "hypothesis title", limit=500)
    if description is not None:
        values["description"] = _text(description, "description", required=False)
    with store.engine.begin() as conn:
        _write_lock(conn)
        row = _resolve_case(conn, ref, audience or Audience.owner())
        _writable(row)
        hyp_id = _resolve_member(conn, h, row.id, hypothesis, "H", "hypothesis")
        if values:
            conn.execute(h.update().where(h.c.id == hyp_id).values(**values))
            _touch(conn, row.id, when)
            _event(conn, row.id, actor, "hypothesis-updated", when, hypothesis_id=hyp_id,
                   **values)
        return next(x for x in _hypotheses(conn, row.id) if x.id == hyp_id)


def delete_hypothesis(store: SqlStore, ref: str, hypothesis: str, *, actor: str,
                      audience: Audience | None = None, now: datetime | None = None) -> None:
    _delete_member(store, ref, hypothesis, t.case_hypotheses, "hypothesis", actor=actor,
                   audience=audience, now=now)


# --- evidence ------------------------------------------------------------------------------

def _claim_credibility(conn: Connection, key: str, value: str | None,
                       audience: Audience, grades: ReaderGrades) -> int | None:
    g = t.claim_grades
    stmt = sa.select(g.c.credibility, *[g.c[c] for c in _MARKING]).where(g.c.key == key)
    if value is not None:
        stmt = stmt.where(g.c.value == value)
    rows = conn.execute(stmt.order_by(g.c.independent.desc(), g.c.credibility)).all()
    if not rows:
        return None
    if all(_grade_readable(r, audience) for r in rows):
        found = rows[0].credibility
        return None if found is None else int(found)
    # a stored grade of this claim rests on a report the reader may not read: the claim is
    # graded again over the reports they may read (allsource.verify.audience)
    return grades.claim_credibility(key, value)


def _grade_readable(row: Any, audience: Audience, prefix: str = "") -> bool:
    """A stored grade counts for ``audience`` only when they may read all it rests on (its
    marking: see :mod:`allsource.verify.audience`); otherwise it is recomputed for them."""
    m = row._mapping
    return can_release(Marking.from_columns({c: m[prefix + c] for c in _MARKING}), audience)


_MARKING = t.MARKING_NAMES


def _evidence(store: SqlStore, conn: Connection, case_id: str,
              audience: Audience | None = None) -> list[CaseEvidence]:
    audience = audience or Audience.owner()
    ev = t.case_evidence
    rows = conn.execute(sa.select(ev).where(ev.c.case_id == case_id)
                        .order_by(ev.c.position, ev.c.id)).all()
    # the one place the store reaches up into verify (as for analyze.ach above): grades as a
    # reader sees them are verify's rules; imported here so the store module loads alone
    from allsource.verify.audience import ReaderGrades

    grades = ReaderGrades(store, conn, audience)
    # each linked document's grade as this reader sees it: stored, or recomputed from what
    # they may read (only for the documents whose stored grade is hidden from them)
    documents = grades.documents([r.document_id for r in rows if r.document_id is not None
                                  and r.credibility is None])
    found = []
    for n, r in enumerate(rows, 1):
        cred: int | None
        doc_grade = documents.get(r.document_id) if r.document_id is not None else None
        if r.credibility is not None:
            cred, origin = int(r.credibility), "override"
        elif doc_grade is not None and doc_grade["credibility"] is not None:
            cred, origin = int(doc_grade["credibility"]), "document"
        elif r.claim_key is not None and (
                claim := _claim_credibility(conn, r.claim_key, r.claim_value, audience, grades)
        ) is not None:
            cred, origin = claim, "claim"
        elif r.document_id is not None or r.claim_key is not None:
            cred, origin = UNGRADED, "ungraded"
        else:
            cred, origin = None, None
        found.append(CaseEvidence(
            id=r.id, case_id=r.case_id, label=f"E{n}", position=r.position,
            description=r.description, document_id=r.document_id, claim_key=r.claim_key,
            claim_value=r.claim_value, credibility_override=r.credibility, credibility=cred,
            credibility_from=origin, relevance=ach.Relevance(r.relevance),
            created_at=aware(r.created_at)))  # type: ignore[arg-type]
    return found


def list_evidence(store: SqlStore, ref: str, audience: Audience | None = None
                  ) -> list[CaseEvidence]:
    with store.engine.connect() as conn:
        audience = audience or Audience.owner()
        return _evidence(store, conn, _resolve_case(conn, ref, audience).id, audience)


def add_evidence(store: SqlStore, ref: str, *, actor: str, description: str = "",
                 document_id: str | None = None, claim_key: str | None = None,
                 claim_value: str | None = None, credibility: int | None = None,
                 relevance: str | ach.Relevance = ach.Relevance.MEDIUM,
                 audience: Audience | None = None, now: datetime | None = None
                 ) -> CaseEvidence:
    """Add an evidence row: a stored document, a graded claim, or the analyst's own note
    (an assumption, an absence of evidence). A linked document must be one the audience
    may read; its title is the default description."""
    actor = _actor(actor)
    audience = audience or Audience.owner()
    when = naive_utc(now) or utc_now()
    rel = _relevance(relevance)
    _credibility(credibility)
    ev, d = t.case_evidence, t.documents
    store.keys.prepare()  # the description is sealed on an encrypted store
    with store.engine.begin() as conn:
        _write_lock(conn)
        row = _resolve_case(conn, ref, audience)
        _writable(row)
        if document_id is not None:
            doc = conn.execute(sa.select(d.c.id, d.c.title, d.c.tlp, d.c.classification,
                                         d.c.compartments, d.c.releasability)
                               .where(d.c.id == document_id)).first()
            if doc is None or not can_release(Marking.from_columns(dict(doc._mapping)),
                                              audience):
                raise CaseNotFound(f"no document {document_id!r}")
            description = description.strip() or doc.title
            case_marking = Marking.from_columns(dict(row._mapping))
            raised = case_marking.combine(Marking.from_columns(dict(doc._mapping)))
            if raised != case_marking:
                _touch(conn, row.id, when, **raised.to_columns())
                _event(conn, row.id, actor, "marking-raised", when,
                       marking=raised.as_dict(), document_id=document_id)
        if claim_key is not None:
            claim_key = _text(claim_key, "claim key", limit=300)
            if claim_value is not None:
                claim_value = _text(claim_value, "claim value", required=False, limit=200)
            if not description.strip():
                description = claim_key + (f" = {claim_value}" if claim_value else "")
        ev_id = _new_id(EVIDENCE_TYPE)
        conn.execute(ev.insert(), store.keys.seal_rows(ev, [dict(
            id=ev_id, case_id=row.id, position=_next_position(conn, ev, row.id),
            document_id=document_id, claim_key=claim_key, claim_value=claim_value,
            description=_text(description, "evidence description"), credibility=credibility,
            relevance=rel.value, created_at=when)]))
        _touch(conn, row.id, when)
        _event(conn, row.id, actor, "evidence-added", when, evidence_id=ev_id,
               document_id=document_id, claim_key=claim_key)
        return next(x for x in _evidence(store, conn, row.id, audience) if x.id == ev_id)


_UNSET: Any = object()


def update_evidence(store: SqlStore, ref: str, evidence: str, *, actor: str,
                    description: str | None = None, credibility: int | None = _UNSET,
                    relevance: str | ach.Relevance | None = None,
                    audience: Audience | None = None, now: datetime | None = None
                    ) -> CaseEvidence:
    """Change an evidence row's description, relevance or credibility override
    (``credibility=None`` clears the override; leave it out to keep it)."""
    actor = _actor(actor)
    when = naive_utc(now) or utc_now()
    ev = t.case_evidence
    values: dict[str, Any] = {}
    if description is not None:
        values["description"] = _text(description, "evidence description")
    if credibility is not _UNSET:
        values["credibility"] = _credibility(credibility)
    if relevance is not None:
        values["relevance"] = _relevance(relevance).value
    store.keys.prepare()
    with store.engine.begin() as conn:
        _write_lock(conn)
        row = _resolve_case(conn, ref, audience or Audience.owner())
        _writable(row)
        ev_id = _resolve_member(conn, ev, row.id, evidence, "E", "evidence")
        if values:
            conn.execute(ev.update().where(ev.c.id == ev_id).values(
                **store.keys.seal_values(ev, {"id": ev_id}, values)))
            _touch(conn, row.id, when)
            _event(conn, row.id, actor, "evidence-updated", when, sealer=store.keys,
                   evidence_id=ev_id, **values)
        return next(x for x in _evidence(store, conn, row.id, audience) if x.id == ev_id)


def delete_evidence(store: SqlStore, ref: str, evidence: str, *, actor: str,
                    audience: Audience | None = None, now: datetime | None = None) -> None:
    _delete_member(store, ref, evidence, t.case_evidence, "evidence", actor=actor,
                   audience=audience, now=now)


def _delete_member(store: SqlStore, ref: str, member: str, table: sa.Table, kind: str, *,
                   actor: str, audience: Audience | None, now: datetime | None) -> None:
    """Delete a hypothesis or a piece of evidence (``kind``) of a writable case, with the
    matrix ratings that name it, in one transaction under the cases' write lock; the case
    is touched and the deletion recorded in its history."""
    actor = _actor(actor)
    when = naive_utc(now) or utc_now()
    with store.engine.begin() as conn:
        _write_lock(conn)
        row = _resolve_case(conn, ref, audience or Audience.owner())
        _writable(row)
        member_id = _resolve_member(conn, table, row.id, member, kind[0].upper(), kind)
        rating = t.case_ratings.c[f"{kind}_id"]
        conn.execute(t.case_ratings.delete().where(rating == member_id))
        conn.execute(table.delete().where(table.c.id == member_id))
        _touch(conn, row.id, when)
        details: dict[str, Any] = {f"{kind}_id": member_id}
        _event(conn, row.id, actor, f"{kind}-deleted", when, **details)


# --- ratings -------------------------------------------------------------------------------

def set_rating(store: SqlStore, ref: str, evidence: str, hypothesis: str,
               rating: str | ach.Rating | None, *, actor: str, note: str = "",
               audience: Audience | None = None, now: datetime | None = None
               ) -> tuple[str, str, ach.Rating | None]:
    """Rate one cell (``None`` clears it back to unrated). Returns the resolved
    (evidence id, hypothesis id, rating)."""
    actor = _actor(actor)
    when = naive_utc(now) or utc_now()
    try:
        parsed = None if rating is None else ach.Rating.parse(str(rating))
    except ValueError as exc:
        raise InputError(str(exc)) from None
    note = _text(note, "note", required=False)
    r = t.case_ratings
    with store.engine.begin() as conn:
        _write_lock(conn)
        row = _resolve_case(conn, ref, audience or Audience.owner())
        _writable(row)
        ev_id = _resolve_member(conn, t.case_evidence, row.id, evidence, "E", "evidence")
        hyp_id = _resolve_member(conn, t.case_hypotheses, row.id, hypothesis, "H",
                                 "hypothesis")
        where = sa.and_(r.c.evidence_id == ev_id, r.c.hypothesis_id == hyp_id)
        old = conn.execute(sa.select(r.c.rating, r.c.note).where(where)).first()
        if (old is None and parsed is None) or (
                old is not None and parsed is not None and old.rating == parsed.value
                and old.note == note):
            return ev_id, hyp_id, parsed
        conn.execute(r.delete().where(where))
        if parsed is not None:
            conn.execute(r.insert().values(evidence_id=ev_id, hypothesis_id=hyp_id,
                                           rating=parsed.value, note=note, updated_at=when))
        _touch(conn, row.id, when)
        _event(conn, row.id, actor, "rated" if parsed else "rating-cleared", when,
               evidence_id=ev_id, hypothesis_id=hyp_id,
               rating=parsed.value if parsed else None,
               previous=old.rating if old is not None else None)
    return ev_id, hyp_id, parsed


def workspace(store: SqlStore, ref: str, audience: Audience | None = None) -> Workspace:
    """The case with its hypotheses, evidence (with effective credibility) and ratings."""
    r, ev = t.case_ratings, t.case_evidence
    with store.engine.connect() as conn:
        row = _resolve_case(conn, ref, audience or Audience.owner())
        hyps = _hypotheses(conn, row.id)
        evidence = _evidence(store, conn, row.id, audience)
        cells = conn.execute(sa.select(r).join(ev, ev.c.id == r.c.evidence_id)
                             .where(ev.c.case_id == row.id)).all()
    ratings = {(c.evidence_id, c.hypothesis_id): (ach.Rating(c.rating), c.note)
               for c in cells}
    return Workspace(case=_case_from(row), hypotheses=hyps, evidence=evidence,
                     ratings=ratings)
