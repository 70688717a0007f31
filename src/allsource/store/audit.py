"""The audit trail: an append-only, hash-chained log of who did what, with signed checkpoints.

Every row of ``audit_events`` carries ``hash = SHA-256(prev_hash ‖ canonical(row))`` where
``prev_hash`` is the hash of the row before it (64 zeros for seq 1), ``‖`` is concatenation of
the hex text and the canonical bytes, and ``canonical(row)`` is the compact JSON array
``[seq, at, actor, action, target, tlp, classification, compartments, count, detail]``
(``at`` as naive-UTC ISO 8601 with microseconds, ``detail`` with sorted keys). Because the
seq and the previous hash are inside the hash, editing a field, deleting, inserting or
swapping rows breaks the chain at the first row touched; :mod:`allsource.store.audit_verify`
walks it and names that row.

A chain alone does not stop someone with write access from rebuilding it from scratch, so
every :data:`DEFAULT_EVERY` events (and on demand) a *checkpoint* is written: the seq, the hash
there and the time, signed with the Ed25519 key of :mod:`allsource.store.audit_keys`. A rebuilt
chain no longer matches the signed hashes, and a truncated one lacks the rows the checkpoints
name. Events after the last checkpoint are protected only by an exported head kept elsewhere
(``allsource audit export``), which ``allsource audit verify --anchor`` checks.

Appending (:func:`record`) takes an open connection, so an action and its event commit in the
same transaction or not at all. Sequence numbers come from the single ``audit_head`` row,
bumped with ``UPDATE … RETURNING``: that statement takes PostgreSQL's row lock (a concurrent
appender waits for this transaction to end, then sees its new head) and SQLite's write lock,
so two writers never get the same seq or the same predecessor on either backend. An event
that needs no other write in its transaction (an API read's) can instead be appended on
PostgreSQL by one statement in autocommit that moves the head only if it is still the one
this engine last wrote (:func:`append_at_once`), with the transaction as the fallback.
"""

from __future__ import annotations

import functools
import hashlib
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from allsource.store import schema as t
from allsource.store.audit_keys import AuditKey
from allsource.store.sql import chunks, naive_utc, utc_now

__all__ = [
    "ACTIONS",
    "DEFAULT_EVERY",
    "GENESIS",
    "Action",
    "AuditEvent",
    "Head",
    "append_at_once",
    "canonical",
    "chain_hash",
    "checkpoint",
    "checkpoint_message",
    "head",
    "marking_of",
    "markings_of",
    "recent",
    "record",
    "record_many",
]

Action = Literal["login", "login_failed", "logout", "read", "search", "export", "share",
                 "write", "permission"]
ACTIONS: tuple[str, ...] = get_args(Action)
GENESIS = "0" * 64
#: events between two automatic checkpoints
DEFAULT_EVERY = 1000
_TARGET_MAX = 2000


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audited action, before it has a place in the chain."""

    actor: str
    action: Action
    target: str = ""
    tlp: int = 0
    classification: int = 0
    compartments: str = ""
    count: int = 0
    detail: Mapping[str, Any] = field(default_factory=dict)
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Head:
    """The newest link: how many events there are and the hash of the last one."""

    seq: int
    hash: str
    at: datetime | None = None


def _clean_text(value: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; the cut keeps hostile input from bloating the log
    return value.replace("\x00", "")[:limit]


def _clean_detail(detail: Mapping[str, Any]) -> Any:
    """``detail`` as it will read back from either backend (JSON round trip, no NUL)."""
    try:
        text = orjson.dumps(detail, default=str, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # e.g. an int beyond 64 bits: keep a readable trace rather than fail
        text = orjson.dumps({"unencodable": str(detail)[:1000]})
    return orjson.loads(text.replace(b"\\u0000", b""))


def canonical(seq: int, at: datetime, actor: str, action: str, target: str, tlp: int,
              classification: int, compartments: str, count: int, detail: Any) -> bytes:
    """The bytes a row's hash covers (see the module docstring)."""
    return orjson.dumps([seq, at.isoformat(timespec="microseconds"), actor, action, target,
                         tlp, classification, compartments, count, detail],
                        option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: str, encoded: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + encoded).hexdigest()


def checkpoint_message(seq: int, hash_: str, at: datetime) -> bytes:
    """What a checkpoint's signature covers."""
    return (f"allsource-audit-checkpoint\n{seq}\n{hash_}\n"
            f"{at.isoformat(timespec='microseconds')}").encode("ascii")


# Every audited read appends an event, so these statements are built once (not per call):
# building and cache-keying a Core statement costs more CPU than SQLite spends running it.
_H = t.audit_head
_BUMP = (_H.update().where(_H.c.id == 1).values(seq=_H.c.seq + sa.bindparam("step"))
         .returning(_H.c.seq, _H.c.hash))
_SET_HASH = _H.update().where(_H.c.id == 1).values(hash=sa.bindparam("new_hash"))
_INSERT = t.audit_events.insert()
_IDS: sa.BindParameter[list[str]] = sa.bindparam("ids", expanding=True)
_MARKINGS = sa.union_all(*(
    sa.select(sa.literal(rank).label("rank"), table.c.id, table.c.tlp, table.c.classification,
              table.c.compartments).where(table.c.id.in_(_IDS))
    for rank, table in enumerate((t.documents, t.objects, t.relationships))))


def _bump_head(conn: Connection, step: int) -> tuple[int, str]:
    """Lock the head row and move it ``step`` ahead: (new seq, hash before the move)."""
    row = conn.execute(_BUMP, {"step": step}).first()
    if row is None:
        raise RuntimeError("the audit_head row is missing: run the migrations")
    return int(row[0]), str(row[1])


def record(conn: Connection, event: AuditEvent, *, key: AuditKey | None = None,
           every: int = DEFAULT_EVERY) -> int:
    """Append ``event`` in ``conn``'s transaction and return its seq. With ``key``, the
    event whose seq is a multiple of ``every`` also gets a signed checkpoint."""
    return record_many(conn, [event], key=key, every=every)[0]


def record_many(conn: Connection, events: Sequence[AuditEvent], *,
                key: AuditKey | None = None, every: int = DEFAULT_EVERY) -> list[int]:
    """Append ``events`` in order in ``conn``'s transaction and return their seqs: one head
    bump for all of them, one multi-row insert, one head update — the same chain as
    appending them one by one (each row hashes its predecessor), at three statements
    whatever their number. Checkpoints as :func:`record`, for each seq of the run that is
    a multiple of ``every``.

    On PostgreSQL, when this engine knows the head it last wrote, the three statements are
    first tried as the one of :func:`append_at_once` (in this transaction: the head row's
    lock is then held to the commit, as the bump's would be); if another writer moved the
    head since, that statement changes nothing and takes no lock, and the three follow. So
    a process that writes one batch after another (``allsource ingest``: one event per
    committed batch) pays one statement per event instead of three."""
    _check_actions(events)
    if not events:
        return []
    at_once = append_at_once(conn, events, key=key, every=every)
    if at_once is not None:
        return at_once
    last, prev = _bump_head(conn, len(events))
    first = last - len(events) + 1
    rows, signed = _rows(events, first, prev, key, every)
    conn.execute(_INSERT, rows)
    conn.execute(_SET_HASH, {"new_hash": rows[-1]["hash"]})
    if key is not None:
        for seq, hash_, at in signed:
            _sign(conn, key, seq, hash_, at)
    # what this engine last wrote: the one-statement append starts from it (if this
    # transaction rolls back, that append's condition fails and it falls back here)
    heads[conn.engine] = (last, rows[-1]["hash"])
    return list(range(first, last + 1))


def _check_actions(events: Sequence[AuditEvent]) -> None:
    for event in events:
        if event.action not in ACTIONS:
            raise ValueError(f"unknown audit action {event.action!r}")


def _rows(events: Sequence[AuditEvent], first: int, prev: str, key: AuditKey | None,
          every: int) -> tuple[list[dict[str, Any]], list[tuple[int, str, datetime]]]:
    """The rows of ``events`` chained from ``prev`` at seqs ``first``…, and the
    ``(seq, hash, at)`` of those that get a signed checkpoint."""
    rows: list[dict[str, Any]] = []
    signed: list[tuple[int, str, datetime]] = []
    for seq, event in enumerate(events, start=first):
        at = naive_utc(event.at) or utc_now()
        row = {"seq": seq, "at": at, "actor": _clean_text(event.actor, 200) or "unknown",
               "action": event.action, "target": _clean_text(event.target, _TARGET_MAX),
               "tlp": int(event.tlp), "classification": int(event.classification),
               "compartments": _clean_text(event.compartments, _TARGET_MAX),
               "count": max(0, min(int(event.count), 2**62)),
               "detail": _clean_detail(event.detail)}
        hash_ = chain_hash(prev, canonical(**row))
        rows.append({**row, "prev_hash": prev, "hash": hash_})
        prev = hash_
        if key is not None and every > 0 and seq % every == 0:
            signed.append((seq, hash_, at))
    return rows, signed


#: engine → (seq, hash) of the head it last wrote (see :func:`append_at_once`)
heads: weakref.WeakKeyDictionary[Engine, tuple[int, str]] = weakref.WeakKeyDictionary()
_AT_ONCE_MAX = 64  # events of one group commit written by one statement (else a transaction)


@functools.lru_cache(maxsize=_AT_ONCE_MAX)
def _at_once(n: int) -> sa.Insert:
    """The statement of :func:`append_at_once` for ``n`` events, built once per ``n`` (its
    values are bound parameters: building a statement costs more than running it)."""
    moved = (_H.update().where(_H.c.id == 1, _H.c.seq == sa.bindparam("old_seq"),
                               _H.c.hash == sa.bindparam("old_hash"))
             .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
             .returning(_H.c.seq).cte("moved"))
    go = sa.exists(sa.select(moved.c.seq))
    cols = list(t.audit_events.c)
    values = [sa.select(*[sa.bindparam(f"v{i}_{c.name}", type_=c.type).label(c.name)
                          for c in cols]).where(go) for i in range(n)]
    return (t.audit_events.insert()
            .from_select([c.name for c in cols], values[0] if n == 1 else sa.union_all(*values))
            .add_cte(moved).returning(t.audit_events.c.seq))


def append_at_once(conn: Connection, events: Sequence[AuditEvent], *,
                   key: AuditKey | None = None, every: int = DEFAULT_EVERY
                   ) -> list[int] | None:
    """Append ``events`` in ONE statement on a PostgreSQL connection (in autocommit mode,
    or inside the caller's transaction, as :func:`record_many` does), or return ``None``
    (nothing written) for the caller to use :func:`record_many`'s three statements in a
    transaction instead.

    :func:`record_many` needs the head before it can hash the rows, so it takes a
    transaction of five round trips (BEGIN, bump, insert, head update, COMMIT) — most of
    what an audited API read costs on PostgreSQL. Here the rows are chained from the head
    this engine last wrote (:data:`heads`), and one statement moves the head *only if it is
    still that one* and inserts the rows only if it moved::

        WITH moved AS (UPDATE audit_head SET seq = :last, hash = :new
                       WHERE id = 1 AND seq = :seq AND hash = :hash RETURNING seq)
        INSERT INTO audit_events … SELECT … WHERE EXISTS (SELECT 1 FROM moved)

    One statement is atomic, and the ``UPDATE`` takes the head row's lock and re-checks its
    condition on the newest version if another writer changed it meanwhile, so the chain is
    exactly :func:`record_many`'s: the same rows, each hashing its predecessor, no seq given
    twice. When another writer (a worker process, the CLI, a write's commit hook) moved the
    head since, nothing is written and ``None`` is returned; so it is too without a known
    head, and for a batch holding a checkpoint's seq (signed in :func:`record_many`)."""
    _check_actions(events)
    known = heads.get(conn.engine)
    if not events or known is None or conn.dialect.name != "postgresql":
        return None
    seq0, prev0 = known
    rows, signed = _rows(events, seq0 + 1, prev0, key, every)
    if signed:
        return None
    if len(rows) > _AT_ONCE_MAX:
        return None
    last, new_hash = rows[-1]["seq"], rows[-1]["hash"]
    params = {"old_seq": seq0, "old_hash": prev0, "new_seq": last, "new_hash": new_hash}
    for i, row in enumerate(rows):
        params.update({f"v{i}_{name}": value for name, value in row.items()})
    stmt = _at_once(len(rows))
    written = sorted(conn.execute(stmt, params).scalars())
    if not written:
        heads.pop(conn.engine, None)
        return None
    heads[conn.engine] = (last, new_hash)
    return written


def _sign(conn: Connection, key: AuditKey, seq: int, hash_: str, at: datetime) -> None:
    conn.execute(t.audit_checkpoints.insert().values(
        seq=seq, hash=hash_, at=at, public_key=key.public_hex,
        signature=key.sign(checkpoint_message(seq, hash_, at))))


def checkpoint(conn: Connection, key: AuditKey) -> Head | None:
    """Sign the current head now (on demand); ``None`` while the chain is empty. Signing a
    head that already has a checkpoint returns that one unchanged."""
    seq, hash_ = _bump_head(conn, 0)  # takes the lock, so no event slips in meanwhile
    if seq == 0:
        return None
    c = t.audit_checkpoints
    found = conn.execute(sa.select(c.c.at).where(c.c.seq == seq)).first()
    if found is not None:
        return Head(seq, hash_, found[0])
    at = utc_now()
    _sign(conn, key, seq, hash_, at)
    return Head(seq, hash_, at)


def head(conn: Connection) -> Head:
    """The chain head as the events table has it (not as ``audit_head`` claims)."""
    e = t.audit_events
    row = conn.execute(sa.select(e.c.seq, e.c.hash, e.c.at).order_by(e.c.seq.desc())
                       .limit(1)).first()
    return Head(int(row[0]), str(row[1]), row[2]) if row else Head(0, GENESIS)


def recent(conn: Connection, limit: int = 50, *, actor: str | None = None,
           action: str | None = None) -> list[dict[str, Any]]:
    """The newest events first (for ``allsource audit log``)."""
    e = t.audit_events
    stmt = sa.select(e).order_by(e.c.seq.desc()).limit(limit)
    if actor:
        stmt = stmt.where(e.c.actor == actor)
    if action:
        stmt = stmt.where(e.c.action == action)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def query_digest(text: str) -> str:
    """SHA-256 (hex) of a search's query text: what the trail keeps instead of the text. A
    search event's target is ``q:`` and its first 16 hex digits, the whole digest in its
    detail as ``query_sha256``."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def marking_of(conn: Connection, object_id: str) -> tuple[int, int, str]:
    """(tlp, classification, compartments) of a stored document, object or relationship;
    zeros when there is none (then nothing marked was read)."""
    return markings_of(conn, [object_id]).get(object_id, (0, 0, ""))


def markings_of(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[int, int, str]]:
    """:func:`marking_of` for several ids, in one statement (per 300 ids) over the three
    tables; an id stored in more than one (never, ids are minted per type) reads as the
    first of documents, objects, relationships; ids stored nowhere are left out."""
    wanted = sorted(set(ids))
    found: dict[str, tuple[int, int, str, int]] = {}
    for chunk in chunks(wanted, 300):
        for rank, id_, tlp, classification, compartments in conn.execute(
                _MARKINGS, {"ids": list(chunk)}):
            if id_ not in found or rank < found[id_][3]:
                found[id_] = (int(tlp), int(classification), str(compartments or ""), rank)
    return {k: v[:3] for k, v in found.items()}
