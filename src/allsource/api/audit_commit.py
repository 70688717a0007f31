"""Audit events committed in groups: one transaction for the reads that finish together.

Every audited read (a document, an entity, a search …) leaves its event in the chain,
committed, before its response goes out (:mod:`allsource.api.audit`). Written one
transaction per read, every read was a write: the chain's head is one row, so each read
took the database's write lock — on SQLite the worker processes and each process's own
threads queued on it — and paid a head bump, an insert, a head update and a commit.

Here the requests of one process that finish while a commit is under way wait for the next
commit and go together: the first waiter to find no commit running takes every event then
pending and writes them in one transaction (the targets' markings in one statement per
table, then :func:`allsource.store.audit_scope.append_many`: one head bump, one insert, one
head update whatever their number); the others wait until the commit carrying their event
has ended. Under load a commit carries many events; a lone request still commits at once.

Nothing changes for the chain (the same rows, each hashing its predecessor, checkpoints
signed where they fall) or for the guarantee: a response is held until the transaction
holding its event has committed, and no event is kept in memory once its response is sent
(a crash before the commit loses the response together with the event). If a group's
transaction fails, its events are retried one transaction each, so only a request whose own
event cannot be written is refused.

One committer per store and event loop (a worker process runs one loop; tests start one per
client).
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio.to_thread
import sqlalchemy as sa
from anyio.lowlevel import RunVar
from sqlalchemy.engine import Connection, Engine

from allsource.store import audit, audit_scope
from allsource.store.audit import AuditEvent, markings_of
from allsource.store.sql import SqlStore

__all__ = ["GroupCommit", "committer", "write_events"]


@dataclass(slots=True, eq=False)
class _Waiter:
    event: AuditEvent
    done: bool = False
    error: Exception | None = None


class GroupCommit:
    """See the module docstring; :meth:`append` returns once ``event`` is committed."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self._pending: list[_Waiter] = []
        self._lock = anyio.Lock()
        self.transactions = 0  # committed so far (tests count them)

    async def append(self, event: AuditEvent) -> None:
        """Return when ``event`` is committed; raise what writing it raised."""
        waiter = _Waiter(event)
        self._pending.append(waiter)
        async with self._lock:
            if not waiter.done:  # no commit carried it while this request waited: lead one
                group, self._pending = self._pending, []
                await anyio.to_thread.run_sync(self._write, group)
        if waiter.error is not None:
            raise waiter.error

    def _write(self, group: list[_Waiter]) -> None:
        try:
            write_events(self.store, [w.event for w in group])
            self.transactions += 1
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
            else:  # one event that cannot be written must not refuse the others' reads
                for w in group:
                    try:
                        write_events(self.store, [w.event])
                        self.transactions += 1
                    except Exception as one:
                        w.error = one
        finally:
            for w in group:
                w.done = True


class _HeldConnection:
    """One PostgreSQL connection in autocommit mode kept per engine for the one-statement
    appends, instead of one taken from the pool per group.

    From the pool, each group paid a checkout with its liveness ping (a round trip), the
    switch to autocommit and back, and the reset on return: about 0.4 ms of client CPU and
    a second round trip around the one statement that is the append. Held, the append is one
    round trip. One user at a time (``lock``; the committers of other event loops of the
    process, e.g. test clients, take the pool's way while it is busy rather than wait). A
    connection the server dropped (restart, idle timeout) is discarded on its first failure
    and that group goes the transaction way through the pool (which pings); the next group
    opens a new one. It is closed when the engine is disposed (``store.close()``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = threading.Lock()
        self.conn: Connection | None = None

    def get(self) -> Connection:
        if self.conn is None:
            self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return self.conn

    def discard(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # already gone: nothing to give back
                pass


_held: weakref.WeakKeyDictionary[Engine, _HeldConnection] = weakref.WeakKeyDictionary()
_held_guard = threading.Lock()


def _held_for(engine: Engine) -> _HeldConnection:
    with _held_guard:
        found = _held.get(engine)
        if found is None:
            found = _held[engine] = _HeldConnection(engine)
            sa.event.listen(engine, "engine_disposed", _closer(weakref.ref(found)))
        return found


def _closer(ref: weakref.ref[_HeldConnection]) -> Callable[[Engine], None]:
    def on_dispose(_: Engine) -> None:
        held = ref()
        if held is not None:
            with held.lock:
                held.discard()
    return on_dispose


def write_events(store: SqlStore, events: Sequence[AuditEvent], *, hold: bool = True) -> None:
    """Append ``events`` committed; a read's event carries its target's stored marking.

    On PostgreSQL, first as one statement in autocommit
    (:func:`allsource.store.audit_scope.append_at_once`) on the engine's held connection
    (:class:`_HeldConnection`: one round trip) or, while it is busy or with ``hold=False``,
    on a connection from the pool (two, with the pool's ping); when another writer moved the
    chain's head since this engine last wrote, that writes nothing and the events go in one
    transaction as before."""
    marked: list[AuditEvent] | None = None
    if store.dialect_name == "postgresql" and store.engine in audit.heads:
        held = _held_for(store.engine) if hold else None
        if held is not None and held.lock.acquire(blocking=False):
            try:
                auto = held.get()
                try:
                    marked = _marked(auto, events)
                    done = audit_scope.append_at_once(auto, marked) is not None
                except sa.exc.DBAPIError as exc:
                    held.discard()
                    if not exc.connection_invalidated:
                        raise
                    marked, done = None, False  # a dropped connection: the pool's way below
            finally:
                held.lock.release()
            if done:
                return
        else:
            with store.engine.connect() as conn:
                auto = conn.execution_options(isolation_level="AUTOCOMMIT")
                marked = _marked(auto, events)
                if audit_scope.append_at_once(auto, marked) is not None:
                    return
    with store.engine.begin() as conn:
        audit_scope.append_many(conn, marked if marked is not None else _marked(conn, events))


def _marked(conn: Connection, events: Sequence[AuditEvent]) -> list[AuditEvent]:
    """``events`` with each read's target's stored marking."""
    marks = markings_of(conn, [e.target for e in events if e.action == "read"])
    marked = []
    for e in events:
        if e.action == "read":
            tlp, classification, compartments = marks.get(e.target, (0, 0, ""))
            e = dataclasses.replace(e, tlp=tlp, classification=classification,
                                    compartments=compartments)
        marked.append(e)
    return marked


_committers: RunVar[weakref.WeakKeyDictionary[SqlStore, GroupCommit]] = RunVar("audit_commit")


def committer(store: SqlStore) -> GroupCommit:
    """The group committer of ``store`` in the running event loop."""
    try:
        by_store = _committers.get()
    except LookupError:
        by_store = weakref.WeakKeyDictionary()
        _committers.set(by_store)
    found = by_store.get(store)
    if found is None:
        found = by_store[store] = GroupCommit(store)
    return found
