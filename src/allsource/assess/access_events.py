"""Access events: the rows of the audit chain that insider-risk detection learns from.

The audit helper owns the ``audit_events`` table (issue 10, shared decision): ``seq`` (1..n),
``at`` (UTC), ``actor``, ``action`` (login, login_failed, logout, read, search, export, share,
write, permission), ``target``, ``tlp`` and ``classification`` (the highest marking of what
the action touched), ``compartments`` (comma-joined), ``count`` (objects, hits or rows
touched), ``detail`` (JSON), ``prev_hash`` and ``hash``. :class:`AccessEvent` mirrors the
columns the detector needs; :func:`read_events` streams them from the store in ``seq`` order,
a bounded page at a time (keyset pagination), so a long history never sits in memory as rows.

Until the audit helper's table definition is in :mod:`allsource.store.schema`, the same shape
is declared here on a private ``MetaData`` (never created by the store's migrations; tests
create it themselves). Once ``schema.audit_events`` exists it is used instead.

Only the actions that express *access* are read (:data:`ACCESS_ACTIONS`). A row that cannot be
read as an event (no time, a negative count, an unknown marking level) is clamped or skipped,
never allowed to stop a scan.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from allsource.errors import StoreError
from allsource.store import schema as t

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["ACCESS_ACTIONS", "AccessEvent", "audit_events", "read_events"]

ACCESS_ACTIONS = ("read", "search", "export", "share")
#: a single event counting more objects than this is clamped (a hostile or broken row must
#: not overflow the detector's arithmetic)
MAX_COUNT = 10_000_000
_PAGE = 5_000


def _local_table() -> sa.Table:
    """The agreed ``audit_events`` shape, for use until the audit helper's schema is merged."""
    return sa.Table(
        "audit_events", sa.MetaData(),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime, nullable=False, index=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("target", sa.Text, nullable=False, server_default=""),
        sa.Column("tlp", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("classification", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("compartments", sa.Text, nullable=False, server_default=""),
        sa.Column("count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("detail", t.JSONType),
        sa.Column("prev_hash", sa.String(128)),
        sa.Column("hash", sa.String(128)),
    )


def _table() -> sa.Table:
    shared = getattr(t, "audit_events", None)  # the audit helper's, once merged
    return shared if isinstance(shared, sa.Table) else _local_table()


audit_events = _table()


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """One access by one user: ``count`` objects (or search hits) touched by ``action``."""

    at: datetime
    actor: str
    action: str
    target: str = ""
    tlp: int = 0
    classification: int = 0
    compartments: frozenset[str] = field(default_factory=frozenset)
    count: int = 1

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AccessEvent | None:
        """The event of an ``audit_events`` row, or None when it is unusable."""
        at = row.get("at")
        actor = row.get("actor")
        if not isinstance(at, datetime) or not isinstance(actor, str) or not actor:
            return None
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        comp = str(row.get("compartments") or "")
        return cls(at=at, actor=actor, action=str(row.get("action") or ""),
                   target=str(row.get("target") or "")[:500],
                   tlp=_level(row.get("tlp")), classification=_level(row.get("classification")),
                   compartments=frozenset(c.strip() for c in comp.split(",") if c.strip()),
                   count=_count(row.get("count")))


def _level(value: Any) -> int:
    """A marking level 0-4 (TLP and classification ladders both have five steps)."""
    try:
        return min(max(int(value), 0), 4)
    except (TypeError, ValueError):
        return 0


def _count(value: Any) -> int:
    try:
        return min(max(int(value), 0), MAX_COUNT)
    except (TypeError, ValueError):
        return 1


def read_events(store: SqlStore, since: datetime | None = None,
                until: datetime | None = None, *, page: int = _PAGE) -> Iterator[AccessEvent]:
    """Access events (read, search, export, share) with ``since <= at < until``, in ``seq``
    order, fetched ``page`` rows at a time."""
    a = audit_events
    cond: list[sa.ColumnElement[bool]] = [a.c.action.in_(ACCESS_ACTIONS)]
    if since is not None:
        cond.append(a.c.at >= _naive(since))
    if until is not None:
        cond.append(a.c.at < _naive(until))
    cols = [a.c.seq, a.c.at, a.c.actor, a.c.action, a.c.target, a.c.tlp, a.c.classification,
            a.c.compartments, a.c["count"]]
    if not sa.inspect(store.engine).has_table(a.name):
        raise StoreError("the store has no audit_events table yet: run `allsource init` to "
                         "bring it up to date")
    last = None
    while True:
        stmt = sa.select(*cols).where(*cond)
        if last is not None:
            stmt = stmt.where(a.c.seq > last)
        with store.engine.connect() as conn:
            rows = conn.execute(stmt.order_by(a.c.seq).limit(page)).all()
        for row in rows:
            event = AccessEvent.from_row(dict(row._mapping))
            if event is not None:
                yield event
        if len(rows) < page:
            return
        last = rows[-1].seq


def _naive(when: datetime) -> datetime:
    """The store keeps naive UTC datetimes."""
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
