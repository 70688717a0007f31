"""Alerts: watchlist hits and warnings, grouped, triaged and audited.

A detector hands :func:`raise_alerts` a batch of :class:`AlertDraft`. Each draft lands in a
*scope*: its ``group_key`` plus the story of its document (``story_members``), so copies of one
story hitting one watchlist entry make one alert listing every copy, not an alert per copy.
A draft without a story is scoped by its document, and one without either by its group key.

* At most one alert per scope is not closed (a partial unique index enforces it). A hit
  merges into that alert; once it is closed, the next new hit opens a new alert.
* A hit is recorded once per scope and ``occurrence_key`` (by default the document ID), in
  ``alert_hits``: re-running a detector over the same documents, even after the alert was
  closed, changes nothing. Drafts with neither a document nor an occurrence key count as a
  new occurrence each time.
* An alert's severity is the highest of its hits; its marking is the most restrictive
  combination of its hits' markings and its documents' stored markings.
* Every change is an ``alert_events`` row (raised, escalated, acknowledged, assigned, noted,
  closed, reopened) with actor, comment and the state after it.
* On an encrypted store an alert's title and details, its hits' titles and details and its
  events' comments are sealed (:mod:`allsource.store.sealed`): a watchlist alert quotes its
  document's title. Writes go through the store's key ring (``seal_rows``; an event's
  comment is bound to its id, known once inserted: ``insert_with_id``). "raised" and "escalated"
  events are written with ``notify`` set, in the same transaction as the alert: they are the
  outbox the delivery worker (:mod:`allsource.assess.delivery`) fans out to webhooks and
  e-mail, so a notification is never lost between the write and the send.

Alert IDs are deterministic: UUIDv5 over the scope and how many alerts the scope had before.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.errors import InputError, StoreError
from allsource.model.ids import minted_id
from allsource.model.markings import Audience, Marking, can_release
from allsource.model.periods import Bucket, bucket_end, fill
from allsource.store import schema as t
from allsource.store import users
from allsource.store.access import readable
from allsource.store.periods import period_start
from allsource.store.sql import aware, chunks, naive_utc, utc_now
from allsource.store.story_views import stories_by_stored_id

if TYPE_CHECKING:
    from allsource.store.keys import KeyRing
    from allsource.store.sql import SqlStore

__all__ = [
    "ACTIVE",
    "STATUSES",
    "Alert",
    "AlertDraft",
    "AlertEvent",
    "SeenHits",
    "Severity",
    "acknowledge",
    "add_note",
    "alert_events",
    "alert_hits",
    "assign",
    "close",
    "first_readable",
    "get_alert",
    "list_alerts",
    "raise_alerts",
    "readable_hits",
    "reopen",
    "resolve_alert_id",
    "shown",
]

ALERT_TYPE = "x-allsource-alert"
STATUSES = ("open", "acknowledged", "closed")
ACTIVE = ("open", "acknowledged")
SYSTEM_ACTOR = "allsource"
MAX_GROUP_KEY = 500
_RETRIES = 5


class Severity(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str | int) -> Severity:
        """``"high"``, ``"HIGH"``, ``"3"`` or ``3``."""
        if isinstance(text, int) or text.strip().isdigit():
            try:
                return cls(int(text))
            except ValueError:
                raise ValueError(f"unknown severity {text!r} (1-4)") from None
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}: use low, medium, high or critical"
                             ) from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class AlertDraft:
    """What a detector proposes; :func:`raise_alerts` decides whether it is a new alert."""

    kind: str
    severity: Severity
    title: str
    group_key: str
    document_id: str | None = None
    story_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    marking: Marking = field(default_factory=Marking)
    #: what makes a hit "the same hit" within its scope (default: the document ID)
    occurrence_key: str | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    kind: str
    severity: Severity
    title: str
    group_key: str
    story_id: str | None
    status: str
    assignee: str | None
    documents: tuple[str, ...]
    occurrences: int
    details: dict[str, Any]
    marking: Marking
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @property
    def short_id(self) -> str:
        """The first 8 characters of the id's UUID: what the CLI shows and accepts."""
        return self.id.rsplit("--", 1)[-1][:8]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "severity": self.severity.label,
            "title": self.title, "group_key": self.group_key, "story_id": self.story_id,
            "status": self.status, "assignee": self.assignee,
            "documents": list(self.documents), "occurrences": self.occurrences,
            "details": self.details, "marking": self.marking.as_dict(),
            "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }


@dataclass(frozen=True, slots=True)
class AlertEvent:
    id: int
    alert_id: str
    action: str
    actor: str
    comment: str
    severity: Severity
    status: str
    assignee: str | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "alert_id": self.alert_id, "action": self.action,
                "actor": self.actor, "comment": self.comment, "severity": self.severity.label,
                "status": self.status, "assignee": self.assignee,
                "created_at": self.created_at.isoformat()}


# --- raising -------------------------------------------------------------------------------

def raise_alerts(store: SqlStore, drafts: Sequence[AlertDraft], *,
                 now: datetime | None = None) -> list[str]:
    """Insert or merge (per open group) alerts; idempotent per (alert, document); enqueue
    deliveries for NEW alerts (and severity escalations) in the same transaction; returns
    alert ids (one per draft, in order)."""
    for draft in drafts:
        _check(draft)
    if not drafts:
        return []
    when = naive_utc(now) or utc_now()
    for attempt in range(1, _RETRIES + 1):
        store.keys.prepare()  # outside the transaction (see KeyRing.prepare)
        try:
            with store.engine.begin() as conn:
                write_lock(conn)
                return _raise(conn, store.keys, drafts, when)
        except sa.exc.DBAPIError as exc:
            # Another writer opened the same scope's alert first (a key conflict), or wrote
            # to SQLite after this transaction's first read (busy snapshot): redo the batch,
            # which then merges into what the other writer committed.
            conflict = isinstance(exc, sa.exc.IntegrityError) or (
                isinstance(exc, sa.exc.OperationalError) and "locked" in str(exc.orig))
            if not conflict or attempt == _RETRIES:
                raise StoreError(f"raising alerts failed: {exc.orig}") from exc
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def write_lock(conn: Connection) -> None:
    """Make a read-then-write transaction safe against concurrent writers. PostgreSQL needs
    nothing here (rows are locked with ``FOR UPDATE``); SQLite's driver starts transactions
    lazily at the first write, so reads before it would see a state another writer is
    changing: take SQLite's write lock up front instead (waiting up to the busy timeout)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _check(draft: AlertDraft) -> None:
    if not draft.group_key or len(draft.group_key) > MAX_GROUP_KEY:
        raise InputError(f"an alert's group_key must be 1-{MAX_GROUP_KEY} characters")
    if not draft.kind or len(draft.kind) > 60:
        raise InputError("an alert's kind must be 1-60 characters")
    if not isinstance(draft.severity, Severity):
        raise InputError(f"not a Severity: {draft.severity!r}")


def _scope(group_key: str, story_id: str | None, document_id: str | None) -> str:
    if story_id:
        return f"{group_key}|story:{story_id}"
    if document_id:
        return f"{group_key}|document:{document_id}"
    return f"{group_key}|"


def _raise(conn: Connection, keys: KeyRing, drafts: Sequence[AlertDraft], now: datetime
           ) -> list[str]:
    doc_ids = sorted({d.document_id for d in drafts if d.document_id})
    stories = _lookup(conn, t.story_members.c.document_id, t.story_members.c.story_id, doc_ids)
    doc_markings = _document_markings(conn, doc_ids)
    ids: list[str] = []
    for draft in drafts:
        story = draft.story_id or (stories.get(draft.document_id) if draft.document_id
                                   else None)
        scope = _scope(draft.group_key, story, draft.document_id)
        key = draft.occurrence_key or draft.document_id
        if key is not None:
            seen = conn.execute(sa.select(t.alert_hits.c.alert_id).where(
                t.alert_hits.c.scope == scope, t.alert_hits.c.hit_key == key)).first()
            if seen is not None:
                ids.append(seen.alert_id)
                continue
        marking = draft.marking
        if draft.document_id in doc_markings:
            marking = marking.combine(doc_markings[draft.document_id])
        ids.append(_merge(conn, keys, draft, scope, story, key, marking, now))
    return ids


def _merge(conn: Connection, keys: KeyRing, draft: AlertDraft, scope: str, story: str | None,
           key: str | None, marking: Marking, now: datetime) -> str:
    a = t.alerts
    row = conn.execute(sa.select(a).where(a.c.scope == scope, a.c.status != "closed")
                       .with_for_update()).first()
    if row is None:
        earlier = conn.execute(sa.select(sa.func.count()).select_from(a)
                               .where(a.c.scope == scope)).scalar_one()
        alert_id = minted_id(ALERT_TYPE, f"{scope}#{earlier}")
        documents = [draft.document_id] if draft.document_id else []
        conn.execute(a.insert(), keys.seal_rows(a, [dict(
            id=alert_id, kind=draft.kind, severity=int(draft.severity), title=draft.title[:2000],
            group_key=draft.group_key, scope=scope, story_id=story, status="open",
            assignee=None, documents=documents, occurrences=1, details=draft.details,
            created_at=now, updated_at=now, closed_at=None, **marking.to_columns())]))
        _event(conn, keys, alert_id, "raised", SYSTEM_ACTOR, draft.title[:2000],
               draft.severity, "open", None, now, notify=True)
        occurrence = 1
    else:
        alert_id = row.id
        documents = list(row.documents or [])
        if draft.document_id and draft.document_id not in documents:
            documents.append(draft.document_id)
        severity = max(Severity(row.severity), draft.severity)
        merged = Marking.from_columns(dict(row._mapping)).combine(marking)
        occurrence = int(row.occurrences) + 1
        conn.execute(a.update().where(a.c.id == alert_id).values(
            severity=int(severity), documents=documents, occurrences=occurrence,
            updated_at=now, **merged.to_columns()))
        if severity > row.severity:
            # A notification not yet fanned out is sent with the alert's current severity,
            # so the escalation needs no second one.
            e = t.alert_events
            queued = conn.execute(sa.select(e.c.id).where(
                e.c.alert_id == alert_id, e.c.notify.is_(True), e.c.dispatched_at.is_(None))
                .limit(1)).first()
            _event(conn, keys, alert_id, "escalated", SYSTEM_ACTOR,
                   f"{Severity(row.severity).label} → {severity.label}: {draft.title}"[:2000],
                   severity, row.status, row.assignee, now, notify=queued is None)
    conn.execute(t.alert_hits.insert(), keys.seal_rows(t.alert_hits, [dict(
        alert_id=alert_id, hit_key=key or f"#{occurrence}", scope=scope,
        document_id=draft.document_id, severity=int(draft.severity), title=draft.title[:2000],
        details=draft.details, created_at=now)]))
    return str(alert_id)


def _lookup(conn: Connection, key: sa.Column[Any], value: sa.Column[Any],
            keys: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in chunks(keys):
        for k, v in conn.execute(sa.select(key, value).where(key.in_(chunk))):
            found[k] = v
    return found


def _document_markings(conn: Connection, doc_ids: Sequence[str]) -> dict[str, Marking]:
    d = t.documents
    found: dict[str, Marking] = {}
    for chunk in chunks(doc_ids):
        for row in conn.execute(sa.select(d.c.id, d.c.tlp, d.c.classification, d.c.compartments,
                                          d.c.releasability).where(d.c.id.in_(chunk))):
            found[row.id] = Marking.from_columns(dict(row._mapping))
    return found


def _event(conn: Connection, keys: KeyRing, alert_id: str, action: str, actor: str,
           comment: str, severity: Severity, status: str, assignee: str | None, now: datetime,
           *, notify: bool = False) -> None:
    keys.insert_with_id(conn, t.alert_events, dict(
        alert_id=alert_id, action=action, actor=actor[:120], comment=comment,
        severity=int(severity), status=status, assignee=assignee, created_at=now,
        notify=notify, dispatched_at=None))


# --- reading -------------------------------------------------------------------------------

def _from_row(row: sa.Row[Any]) -> Alert:
    m = row._mapping
    return Alert(
        id=m["id"], kind=m["kind"], severity=Severity(m["severity"]), title=m["title"],
        group_key=m["group_key"], story_id=m["story_id"], status=m["status"],
        assignee=m["assignee"], documents=tuple(m["documents"] or ()),
        occurrences=int(m["occurrences"]), details=dict(m["details"] or {}),
        marking=Marking.from_columns(dict(m)), created_at=aware(m["created_at"]),  # type: ignore[arg-type]
        updated_at=aware(m["updated_at"]), closed_at=aware(m["closed_at"]),  # type: ignore[arg-type]
    )


def list_alerts(store: SqlStore, *, status: str | Iterable[str] | None = ACTIVE,
                severity: Severity | None = None, kind: str | Iterable[str] | None = None,
                assignee: str | None = None, audience: Audience | None = None,
                limit: int = 200) -> list[Alert]:
    """Alerts the audience may read, most severe and most recently changed first.

    ``status``: one status, several, or None for all (default: open and acknowledged);
    ``severity``: at least this severity; ``assignee``: assigned to this user."""
    audience = audience or Audience.owner()
    a = t.alerts
    stmt = sa.select(a).where(shown(a, audience))
    if status is not None:
        wanted = [status] if isinstance(status, str) else list(status)
        for s in wanted:
            if s not in STATUSES:
                raise InputError(f"unknown alert status {s!r}: use {', '.join(STATUSES)}")
        stmt = stmt.where(a.c.status.in_(wanted))
    if severity is not None:
        stmt = stmt.where(seen_severity(a, audience) >= int(severity))
    if kind is not None:
        stmt = stmt.where(a.c.kind.in_([kind] if isinstance(kind, str) else list(kind)))
    if assignee is not None:
        stmt = stmt.where(a.c.assignee == assignee)
    stmt = stmt.order_by(seen_severity(a, audience).desc(), a.c.updated_at.desc(),
                         a.c.id).limit(limit)
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
        return _as_seen(conn, store, [alert for alert in map(_from_row, rows)
                                      if can_release(alert.marking, audience)], audience)


@dataclass(slots=True)
class AlertPage:
    """One page of alerts, with how many match and how many each status holds."""

    alerts: list[Alert]
    total: int
    limit: int
    offset: int
    #: status → alerts matching the other filters (the tabs' counts)
    by_status: dict[str, int]


def _filters(store: SqlStore, audience: Audience, *, severity: Severity | None,
             kind: str | None, watchlist: str | None, assignee: str | None
             ) -> list[sa.ColumnElement[bool]]:
    a = t.alerts
    conds: list[sa.ColumnElement[bool]] = [shown(a, audience)]
    if severity is not None:
        conds.append(seen_severity(a, audience) >= int(severity))
    if kind:
        conds.append(a.c.kind == kind)
    if watchlist:
        conds.append(a.c.group_key == f"watchlist:{watchlist}")
    if assignee is not None:
        conds.append(a.c.assignee.is_(None) if assignee == "" else a.c.assignee == assignee)
    return conds


def alert_page(store: SqlStore, *, status: str | Iterable[str] | None = ACTIVE,
               severity: Severity | None = None, kind: str | None = None,
               watchlist: str | None = None, assignee: str | None = None,
               audience: Audience | None = None, limit: int = 50, offset: int = 0
               ) -> AlertPage:
    """A page of the alerts ``audience`` may read, most severe and most recently changed
    first, with the whole access rule in SQL so the total and the per-status counts are
    exact (``watchlist``: a watchlist id; ``assignee``: a name, ``""`` for unassigned)."""
    audience = audience or Audience.owner()
    if not 1 <= limit <= 500 or offset < 0:
        raise InputError("limit must be 1–500 and offset ≥ 0")
    wanted = None if status is None else [status] if isinstance(status, str) else list(status)
    for s in wanted or ():
        if s not in STATUSES:
            raise InputError(f"unknown alert status {s!r}: use {', '.join(STATUSES)}")
    a = t.alerts
    conds = _filters(store, audience, severity=severity, kind=kind, watchlist=watchlist,
                     assignee=assignee)
    shown = [*conds, a.c.status.in_(wanted)] if wanted is not None else conds
    with store.engine.connect() as conn:
        counts = {s: int(n) for s, n in conn.execute(
            sa.select(a.c.status, sa.func.count()).where(*conds).group_by(a.c.status))}
        # the tabs' counts already hold the total: one pass of the access rule fewer
        total = sum(n for s, n in counts.items() if wanted is None or s in wanted)
        rows = conn.execute(sa.select(a).where(*shown).order_by(
            seen_severity(a, audience).desc(), a.c.updated_at.desc(), a.c.id)
            .limit(limit).offset(offset)).all()
        found = _as_seen(conn, store, [_from_row(r) for r in rows], audience)
    return AlertPage(found, total, limit, offset, {s: counts.get(s, 0) for s in STATUSES})


def alert_volume(store: SqlStore, *, severity: Severity | None = None, kind: str | None = None,
                 watchlist: str | None = None, assignee: str | None = None,
                 audience: Audience | None = None, interval: str = "week") -> list[Bucket]:
    """How many alerts (any status) matching the filters of :func:`alert_page` were raised
    per ``interval``, oldest first, empty periods included (sparse beyond
    :data:`~allsource.model.periods.MAX_FILLED` periods); counted in SQL under the whole
    access rule."""
    a = t.alerts
    conds = _filters(store, audience or Audience.owner(), severity=severity, kind=kind,
                     watchlist=watchlist, assignee=assignee)
    period = period_start(store.engine.dialect.name, a.c.created_at, interval).label("period")
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(period, sa.func.count()).where(*conds)
                            .group_by(period).order_by(period)).all()
    buckets = []
    for start, n in rows:
        if start is None:
            continue
        day = start if isinstance(start, date) else date.fromisoformat(str(start))
        buckets.append(Bucket(day.isoformat(), bucket_end(day, interval).isoformat(), int(n)))
    filled = fill(buckets, interval)
    return buckets if filled is None else filled


def _as_seen(conn: Connection, store: SqlStore, alerts: list[Alert],
             audience: Audience) -> list[Alert]:
    """Alerts as ``audience`` sees them: their story named as they see it (the stored story
    ID is its founder's, which may be a document they may not read; see
    :mod:`allsource.store.story_views`), their hit count and documents limited to the hits
    they may read (:func:`readable_hits`), and, when the hit that raised the alert is not
    one of those, the title and details of the first hit that is (an alert's title and
    details are its first hit's, which quote that hit's document)."""
    if audience.unrestricted or not alerts:
        return alerts
    views = stories_by_stored_id(conn, store, [a.story_id for a in alerts if a.story_id],
                                 audience)
    seen = readable_hits(conn, [a.id for a in alerts], audience)
    first = first_readable(conn, [(a.id, a.documents) for a in alerts], seen)
    out = []
    for a in alerts:
        s = seen.get(a.id) or SeenHits(0, frozenset())
        story = (views[a.story_id].id if a.story_id in views else None) if a.story_id else None
        a = replace(a, story_id=story, occurrences=s.count,
                    severity=min(a.severity, Severity(s.severity)) if s.count else a.severity,
                    documents=tuple(d for d in a.documents if d in s.documents))
        if (hit := first.get(a.id)) is not None:
            a = replace(a, title=hit[0], details=hit[1])
        out.append(a)
    return out


def first_readable(conn: Connection, alerts: Iterable[tuple[str, Sequence[str]]],
                   seen: dict[str, SeenHits]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Alert id → (title, details) of the first hit the reader may read, for the alerts
    (``(id, documents)``, documents in the order their hits were merged) whose own title and
    details — their first hit's, quoting its document ``documents[0]`` — come from a
    document the reader may not read (``seen``: :func:`readable_hits`)."""
    h = t.alert_hits
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for alert_id, documents in alerts:
        s = seen.get(alert_id)
        if s is None or not documents or documents[0] in s.documents:
            continue
        doc = next((d for d in documents if d in s.documents), None)
        row = conn.execute(sa.select(h.c.title, h.c.details).where(
            h.c.alert_id == alert_id,
            h.c.document_id == doc if doc is not None else h.c.document_id.is_(None))
            .order_by(h.c.created_at, h.c.hit_key).limit(1)).one()
        out[alert_id] = (row.title, dict(row.details or {}))
    return out


def shown(alerts: sa.Table | Any, audience: Audience) -> sa.ColumnElement[bool]:
    """``WHERE`` condition on ``alerts``: readable by its own marking, and holding at least
    one hit ``audience`` may read (:func:`readable_hits`). An alert all of whose documents
    were marked above the reader since it was raised is hidden like a missing one: its
    title and details quote those documents."""
    if audience.unrestricted:
        return sa.true()
    h = t.alert_hits
    return sa.and_(readable(alerts, audience), sa.exists(
        sa.select(h.c.alert_id)
        .select_from(h.outerjoin(t.documents, t.documents.c.id == h.c.document_id))
        .where(h.c.alert_id == alerts.c.id, _hit_readable(audience))))


def seen_severity(alerts: sa.Table | Any, audience: Audience) -> sa.ColumnElement[Any]:
    """An alert's severity as ``audience`` sees it, in SQL: the highest of the hits they
    may read (:func:`readable_hits`), or the stored one (every hit's highest) for the owner.
    Lists filter and sort by it, so an alert escalated by a hit whose document was marked
    above the reader since is neither listed under nor sorted by that severity."""
    if audience.unrestricted:
        return alerts.c.severity
    h = t.alert_hits
    return (sa.select(sa.func.max(h.c.severity))
            .select_from(h.outerjoin(t.documents, t.documents.c.id == h.c.document_id))
            .where(h.c.alert_id == alerts.c.id, _hit_readable(audience))
            .scalar_subquery())


def _hit_readable(audience: Audience) -> sa.ColumnElement[bool]:
    """``WHERE`` condition on ``alert_hits`` outer-joined to ``documents``: a hit without a
    document, or one whose document ``audience`` may read (a hit whose document is not in
    the store is not readable: the join leaves its marking columns NULL, which no condition
    of :func:`~allsource.store.access.readable` accepts)."""
    return sa.or_(t.alert_hits.c.document_id.is_(None), readable(t.documents, audience))


@dataclass(frozen=True, slots=True)
class SeenHits:
    """What a reader may read of an alert's hits."""

    count: int
    documents: frozenset[str]
    #: the highest severity among those hits (an alert's severity is its hits' highest)
    severity: int = 0


def readable_hits(conn: Connection, alert_ids: Sequence[str], audience: Audience
                  ) -> dict[str, SeenHits]:
    """Alert id → what ``audience`` may read of its hits (alerts with none left out),
    decided in SQL by the documents' *current* markings.

    An alert's own marking combines its hits' markings as they were when each hit was
    merged, but a document's stored marking can be raised later (a rebuild never loosens a
    marking and may tighten it, :mod:`allsource.store.rebuild`); counting every hit would
    then tell a reader how many times a watchlist matched documents they may not read."""
    h, d = t.alert_hits, t.documents
    counts: dict[str, int] = {}
    docs: dict[str, set[str]] = {}
    highest: dict[str, int] = {}
    for chunk in chunks(list(alert_ids)):
        for alert_id, document_id, severity in conn.execute(
                sa.select(h.c.alert_id, h.c.document_id, h.c.severity)
                .select_from(h.outerjoin(d, d.c.id == h.c.document_id))
                .where(h.c.alert_id.in_(chunk), _hit_readable(audience))):
            counts[alert_id] = counts.get(alert_id, 0) + 1
            highest[alert_id] = max(highest.get(alert_id, 0), int(severity))
            if document_id is not None:
                docs.setdefault(alert_id, set()).add(document_id)
    return {a: SeenHits(n, frozenset(docs.get(a, ())), highest[a]) for a, n in counts.items()}


def resolve_alert_id(store: SqlStore, ref: str, audience: Audience | None = None) -> str:
    """The full id of the alert ``ref`` names: its id, or at least 6 leading characters of
    its UUID (as the CLI shows them). Unknown or ambiguous refs are an :class:`InputError`.
    Only alerts ``audience`` may read are candidates, so a hidden alert sharing a prefix
    neither makes a ref ambiguous nor answers for it."""
    ref = ref.strip()
    a = t.alerts
    prefix = ref if ref.startswith(f"{ALERT_TYPE}--") else f"{ALERT_TYPE}--{ref.lower()}"
    if len(ref) >= 6:
        with store.engine.connect() as conn:
            found = list(conn.execute(sa.select(a.c.id).where(
                a.c.id.startswith(prefix, autoescape=True),
                shown(a, audience or Audience.owner())).limit(2)).scalars())
        if len(found) == 1:
            return str(found[0])
        if len(found) > 1:
            raise InputError(f"alert id {ref!r} is ambiguous: give more of it")
    raise InputError(f"no alert {ref!r} (see `allsource alerts list --status all`)")


def get_alert(store: SqlStore, alert_id: str, audience: Audience | None = None
              ) -> Alert | None:
    """The alert (by id or short id), or None if there is none the audience may read."""
    try:
        full = resolve_alert_id(store, alert_id, audience)
    except InputError:
        return None
    audience = audience or Audience.owner()
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(t.alerts).where(t.alerts.c.id == full)).first()
        if row is None:
            return None
        alert = _from_row(row)
        if not can_release(alert.marking, audience):
            return None
        return _as_seen(conn, store, [alert], audience)[0]


def alert_events(store: SqlStore, alert_id: str, audience: Audience | None = None
                 ) -> list[AlertEvent]:
    """The alert's audit trail, oldest first; with ``audience``, as that reader may see it
    (:func:`_events_seen`)."""
    e = t.alert_events
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(e).where(e.c.alert_id == alert_id).order_by(e.c.id)).all()
        events = [AlertEvent(id=r.id, alert_id=r.alert_id, action=r.action, actor=r.actor,
                             comment=r.comment, severity=Severity(r.severity), status=r.status,
                             assignee=r.assignee, created_at=aware(r.created_at))  # type: ignore[arg-type]
                  for r in rows]
        if audience is None or audience.unrestricted or not events:
            return events
        return _events_seen(conn, alert_id, events, audience)


def _events_seen(conn: Connection, alert_id: str, events: list[AlertEvent],
                 audience: Audience) -> list[AlertEvent]:
    """The trail as ``audience`` sees the alert (:func:`_as_seen`), decided by its hits'
    documents as marked *now*: the system's "raised" and "escalated" events quote the title
    of the hit merged then, which quotes its document, and that document may have been
    marked above the reader since (a rebuild tightens markings, never loosens them). A
    "raised" event quoting only such a hit reads with the title of the first hit the reader
    may read (as the alert itself does); an "escalated" one is left out, since the
    escalation itself tells of a hit they may not read; and no event shows a severity above
    the highest of the hits they may read."""
    h = t.alert_hits
    hidden: set[str] = set()
    shown_titles: list[str] = []
    highest = 0
    for title, severity, ok in conn.execute(
            sa.select(h.c.title, h.c.severity, _hit_readable(audience))
            .select_from(h.outerjoin(t.documents, t.documents.c.id == h.c.document_id))
            .where(h.c.alert_id == alert_id).order_by(h.c.created_at, h.c.hit_key)):
        if ok:
            shown_titles.append(title)
            highest = max(highest, int(severity))
        else:
            hidden.add(title)
    hidden.difference_update(shown_titles)
    out = []
    for event in events:
        if event.actor == SYSTEM_ACTOR and event.action == "raised" and event.comment in hidden:
            event = replace(event, comment=shown_titles[0] if shown_titles else "")
        elif (event.actor == SYSTEM_ACTOR and event.action == "escalated"
              and _quoted(event.comment.partition(": ")[2], hidden)):
            continue
        if highest:
            event = replace(event, severity=min(event.severity, Severity(highest)))
        out.append(event)
    return out


def _quoted(quote: str, titles: set[str]) -> bool:
    """Whether ``quote`` is one of ``titles``, or the start of one (an event's comment is cut
    at 2,000 characters)."""
    return quote in titles or (len(quote) > 100 and any(t.startswith(quote) for t in titles))


def alert_hits(store: SqlStore, alert_id: str, audience: Audience | None = None
               ) -> list[dict[str, Any]]:
    """Each hit merged into the alert (document, severity, title, details), oldest first;
    with ``audience``, only the hits it may read (see :func:`readable_hits`)."""
    h = t.alert_hits
    stmt = sa.select(h).where(h.c.alert_id == alert_id)
    if audience is not None and not audience.unrestricted:
        stmt = (stmt.select_from(h.outerjoin(t.documents, t.documents.c.id == h.c.document_id))
                .where(_hit_readable(audience)))
    with store.engine.connect() as conn:
        rows = conn.execute(stmt.order_by(h.c.created_at, h.c.hit_key)).all()
    return [{"key": r.hit_key, "document_id": r.document_id,
             "severity": Severity(r.severity).label, "title": r.title,
             "details": r.details or {}, "created_at": aware(r.created_at).isoformat()}  # type: ignore[union-attr]
            for r in rows]


# --- triage --------------------------------------------------------------------------------

def _actor(actor: str) -> str:
    actor = " ".join(actor.split())
    if not actor:
        raise InputError("say who is acting (an analyst name)")
    return actor[:120]


def _change(store: SqlStore, alert_id: str, action: str, actor: str, comment: str,
            audience: Audience | None, now: datetime | None, **values: Any) -> Alert:
    """Apply ``values`` to the alert and record ``action``, unless the alert is already so;
    the alert after it as ``audience`` sees it (:func:`_as_seen`)."""
    after = _changed(store, alert_id, action, actor, comment, audience, now, **values)
    with store.engine.connect() as conn:
        return _as_seen(conn, store, [after], audience or Audience.owner())[0]


def _changed(store: SqlStore, alert_id: str, action: str, actor: str, comment: str,
             audience: Audience | None, now: datetime | None, **values: Any) -> Alert:
    actor = _actor(actor)
    full = resolve_alert_id(store, alert_id, audience)
    when = naive_utc(now) or utc_now()
    a = t.alerts
    store.keys.prepare()
    with store.engine.begin() as conn:
        write_lock(conn)
        row = conn.execute(sa.select(a).where(a.c.id == full).with_for_update()).first()
        if row is None or not can_release(Marking.from_columns(dict(row._mapping)),
                                          audience or Audience.owner()):
            raise InputError(f"no alert {alert_id!r} (see `allsource alerts list --status all`)")
        alert = _from_row(row)
        if _unchanged(alert, action, values):
            return alert
        if action == "reopened":
            other = conn.execute(sa.select(a.c.id).where(
                a.c.scope == row.scope, a.c.status != "closed")).scalar_one_or_none()
            if other is not None:
                raise InputError(f"alert {alert.short_id} has a newer open alert for the same "
                                 f"group ({other.rsplit('--', 1)[-1][:8]}): work on that one")
        conn.execute(a.update().where(a.c.id == full).values(updated_at=when, **values))
        changed = conn.execute(sa.select(a).where(a.c.id == full)).one()
        after = _from_row(changed)
        _event(conn, store.keys, full, action, actor, comment, after.severity, after.status,
               after.assignee, when)
    return after


def _unchanged(alert: Alert, action: str, values: dict[str, Any]) -> bool:
    """Whether ``action`` would change nothing (then it is not recorded either); refuses
    actions that make no sense in the alert's state."""
    if action == "noted":
        return False
    if alert.status == "closed" and action in ("acknowledged", "assigned"):
        raise InputError(f"alert {alert.short_id} is closed: reopen it first")
    if action == "reopened":
        return alert.status != "closed"
    return all(getattr(alert, k) == v for k, v in values.items() if k != "closed_at")


def acknowledge(store: SqlStore, alert_id: str, *, actor: str, comment: str = "",
                audience: Audience | None = None, now: datetime | None = None) -> Alert:
    """Mark an open alert as seen by ``actor``; acknowledging it again changes nothing."""
    return _change(store, alert_id, "acknowledged", actor, comment, audience, now,
                   status="acknowledged")


#: roles whose users may be given alerts (the ones that may triage them)
ASSIGNABLE_ROLES = ("admin", "analyst")


def assignees(store: SqlStore) -> list[str]:
    """The names alerts may be assigned to: enabled users who may triage, by name."""
    return sorted(u.name for u in users.list_users(store)
                  if not u.disabled and u.role in ASSIGNABLE_ROLES)


def assign(store: SqlStore, alert_id: str, assignee: str, *, actor: str, comment: str = "",
           audience: Audience | None = None, now: datetime | None = None) -> Alert:
    """Give the alert to ``assignee``, an enabled user who may triage (an empty name
    unassigns it); any other name is an :class:`InputError` that names the choices."""
    who = " ".join(assignee.split())[:120] or None
    if who is not None and who not in assignees(store):
        raise InputError(f"no user {who!r} who may triage alerts (see `allsource user list`)")
    return _change(store, alert_id, "assigned", actor, comment, audience, now, assignee=who)


def close(store: SqlStore, alert_id: str, *, actor: str, comment: str = "",
          audience: Audience | None = None, now: datetime | None = None) -> Alert:
    """Close the alert: later hits of its group open a new one."""
    return _change(store, alert_id, "closed", actor, comment, audience, now, status="closed",
                   closed_at=naive_utc(now) or utc_now())


def reopen(store: SqlStore, alert_id: str, *, actor: str, comment: str = "",
           audience: Audience | None = None, now: datetime | None = None) -> Alert:
    """Reopen a closed alert, unless its group has opened a newer one since."""
    return _change(store, alert_id, "reopened", actor, comment, audience, now, status="open",
                   closed_at=None)


def add_note(store: SqlStore, alert_id: str, comment: str, *, actor: str,
             audience: Audience | None = None, now: datetime | None = None) -> Alert:
    """Add a comment to the alert's audit trail."""
    if not comment.strip():
        raise InputError("a note needs some text")
    return _change(store, alert_id, "noted", actor, comment, audience, now)
