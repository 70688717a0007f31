"""Audit events of requests that finish together share one transaction (both backends):
every event is committed, in one chain that verifies, at a fixed number of statements per
group; an event that cannot be written fails its own request only."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import sqlalchemy as sa

from allsource.api import audit_commit
from allsource.api.audit_commit import committer
from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import schema as t
from allsource.store.audit import AuditEvent
from allsource.store.audit_verify import verify
from allsource.store.sql import SqlStore
from tests.statements import statements


def _documents(store: SqlStore, n: int) -> list[Document]:
    src = Source("feed", "rss", "https://feed.example/rss")
    store.add_source(src)
    docs = [Document.build(kind="report", title=f"r{i}", text=f"report {i}",
                           marking=Marking(tlp=TLP.AMBER if i % 2 else TLP.CLEAR))
            for i in range(n)]
    store.write_batch(src, [Collected(d, [], [], []) for d in docs], [], None)
    return docs


def _append_together(store: SqlStore, events: list[AuditEvent]
                     ) -> tuple[list[BaseException | None], int]:
    """Append ``events`` from concurrent tasks of one event loop; each task's outcome and
    the transactions the committer wrote."""
    outcome: list[BaseException | None] = [None] * len(events)
    used = [0]

    async def one(i: int) -> None:
        try:
            await committer(store).append(events[i])
        except Exception as exc:
            outcome[i] = exc

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for i in range(len(events)):
                tg.start_soon(one, i)
        used[0] = committer(store).transactions

    anyio.run(main)
    return outcome, used[0]


def _events(store: SqlStore) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            sa.select(t.audit_events).order_by(t.audit_events.c.seq))]


def test_reads_that_finish_together_commit_together(store: SqlStore) -> None:
    docs = _documents(store, 20)
    events = [AuditEvent(actor=f"user{i % 3}", action="read", target=d.id, count=1)
              for i, d in enumerate(docs)]
    with statements(store) as sent:
        outcome, transactions = _append_together(store, events)
    assert outcome == [None] * 20
    # one transaction per read would be 20; the group pays 4 statements (markings, head
    # bump, insert, head update) whatever its size — on PostgreSQL 2 (markings, one
    # append: store/audit.py append_at_once) once the engine knows the head it wrote
    assert 1 <= transactions <= 2
    later = 2 if store.dialect_name == "postgresql" else 4
    assert len(sent) == 4 + later * (transactions - 1)
    rows = _events(store)
    assert sorted(r["target"] for r in rows) == sorted(d.id for d in docs)
    # each read carries its target's stored marking
    assert {r["target"]: r["tlp"] for r in rows} == {d.id: int(d.marking.tlp) for d in docs}
    with store.engine.connect() as conn:
        report = verify(conn)
    assert report.ok and report.head.seq == 20, report.problem


def test_an_event_that_cannot_be_written_fails_its_own_request_only(store: SqlStore) -> None:
    docs = _documents(store, 4)
    events = [AuditEvent(actor="ana", action="read", target=d.id, count=1) for d in docs]
    bad = AuditEvent(actor="ana", action="bogus", target="x")  # type: ignore[arg-type]
    outcome, _ = _append_together(store, [*events[:2], bad, *events[2:]])
    assert [type(o) for o in outcome] == [type(None), type(None), ValueError, type(None),
                                         type(None)]
    assert sorted(r["target"] for r in _events(store)) == sorted(d.id for d in docs)
    with store.engine.connect() as conn:
        assert verify(conn).ok


@pytest.mark.parametrize("n", [1, 3])
def test_a_lone_request_commits_at_once(store: SqlStore, n: int) -> None:
    docs = _documents(store, n)
    for d in docs:  # one after another: each its own transaction, nothing left waiting
        outcome, _ = _append_together(store, [AuditEvent(actor="ana", action="read",
                                                         target=d.id, count=1)])
        assert outcome == [None]
        assert _events(store)[-1]["target"] == d.id


def test_appends_use_a_held_connection_instead_of_the_pool(store: SqlStore) -> None:
    """On PostgreSQL, once the head is known an audited request's group is one round trip on
    the autocommit connection held for the engine: no pool checkout (with its liveness
    ping) per group, whichever event loop's committer writes it. SQLite's groups go through
    the pool's transaction as before. The chain verifies, and closing the store closes the
    held connection."""
    docs = _documents(store, 6)
    checkouts = [0]

    def counted(*_: object) -> None:
        checkouts[0] += 1

    sa.event.listen(store.engine, "checkout", counted)
    try:
        for d in docs:  # one lone request after another, each from its own event loop
            outcome, _ = _append_together(store, [AuditEvent(
                actor="ana", action="search", target=f"q:{d.id[-16:]}", count=1)])
            assert outcome == [None]
    finally:
        sa.event.remove(store.engine, "checkout", counted)
    pg = store.dialect_name == "postgresql"
    # the first group learns the head in a transaction, the second opens the held
    # connection; every later one uses it (SQLite: a transaction from the pool each)
    assert checkouts[0] == (2 if pg else 6)
    with store.engine.connect() as conn:
        report = verify(conn)
    assert report.ok and report.head.seq == 6, report.problem
    if pg:
        held = audit_commit._held[store.engine]
        assert held.conn is not None
        store.close()  # the fixture closes it again: harmless
        assert held.conn is None
