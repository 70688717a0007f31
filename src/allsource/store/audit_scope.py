"""Writes audit themselves: an action scope plus a commit hook on the store's engine.

The code that changes data (the store's methods, called from API routes, web forms and CLI
commands) opens its own transactions and knows nothing of auditing. Instead, the caller of an
action opens a :func:`scope` naming who acts and how (``write`` or ``permission``), and
:func:`attach` puts two listeners on the engine:

- after each statement, a data-changing one (INSERT, UPDATE, DELETE) made while a scope that
  records writes is active is counted on its connection (rows changed);
- when that connection commits, *before* the database commits, one ``audit_events`` row is
  appended on the same connection (:func:`allsource.store.audit.record`) naming the actor,
  the action, the scope's target and the rows changed.

So the event commits in the same transaction as the write, or neither does: if appending
fails, the commit raises and the write is rolled back. A transaction that changed nothing
(a refused or invalid request) leaves no event; one request that commits several
transactions leaves one event per transaction. Bookkeeping writes are not actions and are not
counted: the audit tables themselves and a token's ``last_used_at`` touch.

The scope lives in a :class:`~contextvars.ContextVar`, which the web framework copies into
the worker thread that runs a route, so the route's writes see the scope its request opened.
"""

from __future__ import annotations

import getpass
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from allsource.store import audit
from allsource.store.audit import DEFAULT_EVERY, Action, AuditEvent, record, record_many
from allsource.store.audit_keys import AuditKey, load_key

__all__ = ["Scope", "append", "append_many", "attach", "cli_actor", "current", "note", "scope"]

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE")
_BOOKKEEPING = ("audit_", "api_tokens SET last_used_at")


@dataclass(slots=True)
class Scope:
    """Who is acting, on what, and what the request has noted so far."""

    actor: str
    action: Action = "write"
    target: str = ""
    records_writes: bool = True
    detail: dict[str, Any] = field(default_factory=dict)
    count: int | None = None
    events: int = 0  # events the commit hook appended for this scope


_current: ContextVar[Scope | None] = ContextVar("allsource_audit_scope", default=None)


@dataclass(slots=True)
class _Signing:
    """An engine's checkpoint set-up: where the key is and how often to sign."""

    key_file: Path | None
    every: int
    loader: Callable[[Path | None], AuditKey | None]
    key: AuditKey | None = None

    def current_key(self) -> AuditKey | None:
        if self.key is None:
            self.key = self.loader(self.key_file)
        return self.key


_signing: weakref.WeakKeyDictionary[Engine, _Signing] = weakref.WeakKeyDictionary()


def current() -> Scope | None:
    return _current.get()


@contextmanager
def scope(actor: str, action: Action = "write", target: str = "", *,
          records_writes: bool = True, **detail: Any) -> Iterator[Scope]:
    """Audit the writes made inside the block as ``action`` by ``actor`` on ``target``."""
    s = Scope(actor, action, target, records_writes, dict(detail))
    token = _current.set(s)
    try:
        yield s
    finally:
        _current.reset(token)


def cli_actor() -> str:
    """The actor of a command run by the local operator: ``cli:<os user>``."""
    try:
        return "cli:" + getpass.getuser()
    except (OSError, KeyError):  # no user name for this uid (e.g. a bare container)
        return "cli:unknown"


def _is_counted(statement: str) -> bool:
    head = statement.lstrip()[:80]
    if not head[:7].upper().startswith(_WRITES):
        return False
    return not any(mark in head for mark in _BOOKKEEPING)


def attach(engine: Engine, key_file: Path | None, *, every: int = DEFAULT_EVERY,
           key_loader: Callable[[Path | None], AuditKey | None] = load_key) -> None:
    """Install the listeners (see the module docstring) on ``engine``. The signing key is
    loaded when first needed, and again while none is found (``allsource audit keygen`` in
    another process takes effect without a restart)."""
    _signing[engine] = _Signing(key_file, every, key_loader)

    def after_execute(conn: Connection, cursor: Any, statement: str, parameters: Any,
                      context: Any, executemany: bool) -> None:
        s = _current.get()
        if s is None or not s.records_writes or not _is_counted(statement):
            return
        rows = cursor.rowcount if cursor.rowcount and cursor.rowcount > 0 else 1
        conn.info["audit_rows"] = conn.info.get("audit_rows", 0) + rows

    def on_commit(conn: Connection) -> None:
        rows = conn.info.pop("audit_rows", 0)
        s = _current.get()
        if not rows or s is None:
            return
        append(conn, AuditEvent(actor=s.actor, action=s.action, target=s.target, count=rows,
                                detail=s.detail))
        s.events += 1

    def on_rollback(conn: Connection) -> None:
        conn.info.pop("audit_rows", None)

    sa.event.listen(engine, "after_cursor_execute", after_execute)
    sa.event.listen(engine, "commit", on_commit)
    sa.event.listen(engine, "rollback", on_rollback)


def append(conn: Connection, event: AuditEvent) -> int:
    """:func:`~allsource.store.audit.record` with the checkpoint set-up :func:`attach` gave
    ``conn``'s engine (no checkpoints on an engine it never saw)."""
    signing = _signing.get(conn.engine)
    if signing is None:
        return record(conn, event, key=None)
    return record(conn, event, key=signing.current_key(), every=signing.every)


def append_at_once(conn: Connection, events: list[AuditEvent]) -> list[int] | None:
    """:func:`~allsource.store.audit.append_at_once` with this engine's signing set-up:
    one statement on PostgreSQL in autocommit, or ``None`` for :func:`append_many`."""
    signing = _signing.get(conn.engine)
    if signing is None:
        return audit.append_at_once(conn, events, key=None)
    return audit.append_at_once(conn, events, key=signing.current_key(), every=signing.every)


def append_many(conn: Connection, events: list[AuditEvent]) -> list[int]:
    """:func:`append` for several events in one transaction (one head bump, one insert:
    :func:`~allsource.store.audit.record_many`)."""
    signing = _signing.get(conn.engine)
    if signing is None:
        return record_many(conn, events, key=None)
    return record_many(conn, events, key=signing.current_key(), every=signing.every)


def note(**values: Any) -> None:
    """Add what a handler knows to the current scope (``actor``, ``count`` or detail keys);
    a no-op outside a scope."""
    s = _current.get()
    if s is None:
        return
    for name, value in values.items():
        if name in ("actor", "count", "target"):
            setattr(s, name, value)
        else:
            s.detail[name] = value
