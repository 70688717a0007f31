"""The audit chain on both backends: every way of tampering is caught at the first bad row,
verification streams in bounded pages, and concurrent appenders never share a seq."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allsource.config import Settings
from allsource.model.records import Source
from allsource.store import audit, audit_scope, open_store
from allsource.store import schema as t
from allsource.store.audit import AuditEvent, canonical, chain_hash, checkpoint_message
from allsource.store.audit_keys import AuditKey, generate_key_file, load_key
from allsource.store.audit_verify import VerifyReport, verify
from allsource.store.sql import SqlStore
from tests.statements import statements

E = t.audit_events
EVERY = 5


def _fill(store: SqlStore, key: AuditKey | None, n: int = 22) -> None:
    with store.engine.begin() as conn:
        for i in range(n):
            audit.record(conn, AuditEvent(actor=f"user{i % 3}", action="read",
                                          target=f"doc-{i}", tlp=i % 5, count=1,
                                          detail={"route": "/documents/x", "i": i}),
                         key=key, every=EVERY)


@pytest.fixture
def key(tmp_path: Path) -> AuditKey:
    return generate_key_file(tmp_path / "chain.key")


def _verify(store: SqlStore, key: AuditKey, **kw: object) -> VerifyReport:
    with store.engine.connect() as conn:
        return verify(conn, trusted_keys=[key.public_hex], **kw)  # type: ignore[arg-type]


def _rows(store: SqlStore) -> dict[int, dict[str, object]]:
    with store.engine.connect() as conn:
        return {r.seq: dict(r._mapping) for r in conn.execute(sa.select(E))}


def _set(store: SqlStore, seq: int, **values: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(E.update().where(E.c.seq == seq).values(**values))


def _renumber(conn: sa.Connection, from_seq: int, step: int) -> None:
    """Shift seq >= from_seq by step (through a detour: PostgreSQL checks keys per row)."""
    conn.execute(E.update().where(E.c.seq >= from_seq).values(seq=E.c.seq + 1_000_000))
    conn.execute(E.update().where(E.c.seq >= 1_000_000).values(seq=E.c.seq - 1_000_000 + step))


def _forged_hash(row: dict[str, object], prev: str) -> str:
    fields = {k: row[k] for k in ("seq", "at", "actor", "action", "target", "tlp",
                                  "classification", "compartments", "count", "detail")}
    return chain_hash(prev, canonical(**fields))  # type: ignore[arg-type]


def test_an_untouched_chain_verifies(store: SqlStore, key: AuditKey) -> None:
    _fill(store, key)
    report = _verify(store, key)
    assert report.ok, report.problem
    assert report.events == 22 and report.head.seq == 22
    assert report.checkpoints == 4 and report.last_checkpoint == 20
    assert report.unsigned_tail == 2


def test_an_edited_field_is_named(store: SqlStore, key: AuditKey) -> None:
    _fill(store, key)
    _set(store, 7, actor="somebody-else")
    report = _verify(store, key)
    assert report.problem is not None and report.problem.seq == 7
    assert "edited" in report.problem.reason


def test_an_edited_detail_is_named(store: SqlStore, key: AuditKey) -> None:
    _fill(store, key)
    _set(store, 3, detail={"route": "/documents/x", "i": 4})
    report = _verify(store, key)
    assert report.problem is not None and report.problem.seq == 3


def test_a_deleted_row_is_named(store: SqlStore, key: AuditKey) -> None:
    _fill(store, key)
    with store.engine.begin() as conn:
        conn.execute(E.delete().where(E.c.seq == 9))
    report = _verify(store, key)
    assert report.problem is not None and report.problem.seq == 9
    assert "deleted" in report.problem.reason


def test_a_deleted_row_with_the_rest_renumbered_is_named(store: SqlStore, key: AuditKey
                                                         ) -> None:
    _fill(store, key)
    with store.engine.begin() as conn:
        conn.execute(E.delete().where(E.c.seq == 9))
        _renumber(conn, 10, -1)
    report = _verify(store, key)
    assert report.problem is not None and report.problem.seq == 9


def test_an_inserted_row_is_named_even_with_a_correct_hash(store: SqlStore, key: AuditKey
                                                           ) -> None:
    _fill(store, key)
    rows = _rows(store)
    forged = {**rows[6], "seq": 7, "actor": "intruder", "target": "doc-planted"}
    forged["prev_hash"] = rows[6]["hash"]
    forged["hash"] = _forged_hash(forged, str(rows[6]["hash"]))
    with store.engine.begin() as conn:
        _renumber(conn, 7, 1)
        conn.execute(E.insert().values(**forged))
    report = _verify(store, key)
    assert report.problem is not None and report.problem.seq == 7
    assert "inserted" in report.problem.reason


def test_two_swapped_rows_are_named(store: SqlStore, key: AuditKey) -> None:
    _fill(store, key)
    rows = _rows(store)
    a = {k: v for k, v in rows[12].items() if k != "seq"}
    b = {k: v for k, v in rows[13].items() if k != "seq"}
    _set(store, 12, **b)
    _set(store, 13, **a)
    report = _verify(store, key)
    assert report.problem is not None and report.problem.seq == 12


def test_a_tail_cut_after_a_checkpoint_is_named(store: SqlStore, key: AuditKey) -> None:
    _fill(store, key)
    rows = _rows(store)
    with store.engine.begin() as conn:
        conn.execute(E.delete().where(E.c.seq > 13))
        # a careful intruder also winds the head back, so only the checkpoints remain
        conn.execute(t.audit_head.update().values(seq=13, hash=rows[13]["hash"]))
    report = _verify(store, key)
    assert report.problem is not None and report.problem.seq == 14
    assert "cut off" in report.problem.reason


def test_a_cut_tail_with_checkpoints_removed_is_named_by_the_head(store: SqlStore,
                                                                  key: AuditKey) -> None:
    _fill(store, key)
    with store.engine.begin() as conn:
        conn.execute(E.delete().where(E.c.seq > 13))
        conn.execute(t.audit_checkpoints.delete().where(t.audit_checkpoints.c.seq > 13))
    report = _verify(store, key)
    assert report.problem is not None and report.problem.seq == 14


def test_an_unsigned_tail_cut_everywhere_is_caught_by_the_anchor(store: SqlStore,
                                                                 key: AuditKey) -> None:
    _fill(store, key)
    anchored = _verify(store, key).head
    rows = _rows(store)
    with store.engine.begin() as conn:
        conn.execute(E.delete().where(E.c.seq > 21))
        conn.execute(t.audit_head.update().values(seq=21, hash=rows[21]["hash"]))
    assert _verify(store, key).ok  # the limit of an unanchored chain: see the docstring
    report = _verify(store, key, anchor=anchored)
    assert report.problem is not None and report.problem.seq == 22


def test_a_rebuilt_chain_fails_at_the_next_checkpoint(store: SqlStore, key: AuditKey) -> None:
    """Whoever knows the algorithm can recompute every hash; not the signatures."""
    _fill(store, key)
    rows = _rows(store)
    prev = str(rows[7]["hash"])
    with store.engine.begin() as conn:
        for seq in range(8, 23):
            row = {**rows[seq], "prev_hash": prev}
            if seq == 8:
                row["target"] = "doc-hidden"
            row["hash"] = prev = _forged_hash(row, prev)
            conn.execute(E.update().where(E.c.seq == seq).values(**row))
        conn.execute(t.audit_head.update().values(hash=prev))
    report = _verify(store, key)
    assert report.problem is not None and report.problem.seq == 10
    assert "rewritten" in report.problem.reason


def test_a_forged_checkpoint_signature_is_named(store: SqlStore, key: AuditKey) -> None:
    _fill(store, key)
    c = t.audit_checkpoints
    with store.engine.begin() as conn:
        sig = conn.execute(sa.select(c.c.signature).where(c.c.seq == 15)).scalar_one()
        flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
        conn.execute(c.update().where(c.c.seq == 15).values(signature=flipped))
    report = _verify(store, key)
    assert report.problem is not None and report.problem.seq == 15
    assert "signature" in report.problem.reason


def test_a_checkpoint_re_signed_with_another_key_is_named(store: SqlStore, key: AuditKey
                                                          ) -> None:
    _fill(store, key)
    mallory = AuditKey.of(Ed25519PrivateKey.generate())
    c = t.audit_checkpoints
    with store.engine.begin() as conn:
        cp = conn.execute(sa.select(c).where(c.c.seq == 10)).one()
        conn.execute(c.update().where(c.c.seq == 10).values(
            public_key=mallory.public_hex,
            signature=mallory.sign(checkpoint_message(10, cp.hash, cp.at))))
    report = _verify(store, key)
    assert report.problem is not None and report.problem.seq == 10
    assert "untrusted" in report.problem.reason


def test_a_row_appended_behind_the_writers_back_is_named(store: SqlStore, key: AuditKey
                                                         ) -> None:
    _fill(store, key)
    rows = _rows(store)
    forged = {**rows[22], "seq": 23, "prev_hash": rows[22]["hash"]}
    forged["hash"] = _forged_hash(forged, str(rows[22]["hash"]))
    with store.engine.begin() as conn:
        conn.execute(E.insert().values(**forged))
    report = _verify(store, key)
    assert report.problem is not None and report.problem.seq == 23


def test_verification_reads_in_bounded_pages(store: SqlStore, key: AuditKey) -> None:
    _fill(store, key, n=53)
    report = _verify(store, key, page=7)
    assert report.ok
    assert report.max_rows_held == 7
    assert report.rows_read == 53  # each row read once: work is linear in the chain


def test_concurrent_appenders_never_share_a_seq(store: SqlStore, key: AuditKey) -> None:
    def append(name: str) -> None:
        for i in range(15):
            with store.engine.begin() as conn:
                audit.record(conn, AuditEvent(actor=name, action="search", count=i),
                             key=key, every=EVERY)

    threads = [threading.Thread(target=append, args=(f"t{n}",)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    report = _verify(store, key)
    assert report.ok, report.problem
    assert report.head.seq == 60 and report.checkpoints == 12


def test_an_event_commits_with_its_write_or_not_at_all(store: SqlStore, key: AuditKey
                                                       ) -> None:
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        audit.record(conn, AuditEvent(actor="alice", action="write"))
        conn.execute(t.sources.delete())
        raise RuntimeError("the action failed")
    assert _rows(store) == {}


def test_a_scope_audits_the_store_writes_inside_it(store: SqlStore) -> None:
    with audit_scope.scope("cli:alice", "write", "source add feed"):
        store.add_source(Source("feed", "rss", "https://example.org/feed"))
        store.list_sources()  # a read inside the scope leaves nothing
    rows = list(_rows(store).values())
    assert [(r["actor"], r["action"], r["target"], r["count"]) for r in rows] == [
        ("cli:alice", "write", "source add feed", 1)]
    store.add_source(Source("other", "rss", "https://example.org/other"))  # no scope
    assert len(_rows(store)) == 1


def test_a_write_whose_event_cannot_be_appended_is_rolled_back(store: SqlStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(t.audit_head.delete())
    with pytest.raises(RuntimeError, match="audit_head"), audit_scope.scope("alice"):
        store.add_source(Source("feed", "rss", "https://example.org/feed"))
    assert store.get_source("feed") is None


def test_the_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    key = generate_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = load_key(path)
    assert loaded is not None and loaded.public_hex == key.public_hex
    from allsource.errors import ConfigError

    with pytest.raises(ConfigError, match="never overwritten"):
        generate_key_file(path)
    assert load_key(tmp_path / "missing.pem") is None


_EDITS = {
    "actor": lambda v: v + "x", "action": lambda v: "export" if v != "export" else "read",
    "target": lambda v: v[::-1] + "!", "tlp": lambda v: (v + 1) % 5,
    "classification": lambda v: v + 1, "compartments": lambda v: v + ",X",
    "count": lambda v: v + 1, "detail": lambda v: {**v, "i": -1},
    "at": lambda v: v + timedelta(microseconds=1),
    "prev_hash": lambda v: ("f" if v[0] != "f" else "e") + v[1:],
    "hash": lambda v: ("f" if v[0] != "f" else "e") + v[1:],
}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.integers(1, 22), column=st.sampled_from(sorted(_EDITS)))
def test_any_single_edit_is_named_at_its_row(store: SqlStore, key: AuditKey, seq: int,
                                             column: str) -> None:
    """Property: whichever field of whichever row changes, verify names that row. Each
    example edits inside a transaction that is rolled back, so the chain is built once."""
    if not _rows(store):
        _fill(store, key)
    with store.engine.connect() as conn:
        old = conn.execute(sa.select(E.c[column]).where(E.c.seq == seq)).scalar_one()
        conn.execute(E.update().where(E.c.seq == seq).values({column: _EDITS[column](old)}))
        report = verify(conn, trusted_keys=[key.public_hex], page=6)
        conn.rollback()
    assert report.problem is not None and report.problem.seq == seq, (column, report.problem)


def _run_of(n: int) -> list[AuditEvent]:
    at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    return [AuditEvent(actor=f"user{i % 3}", action="read" if i % 2 else "search",
                       target=f"doc-{i}", tlp=i % 5, count=i, detail={"i": i},
                       at=at + timedelta(microseconds=i)) for i in range(n)]


def test_a_run_appended_at_once_is_the_chain_of_appending_one_by_one(
        store: SqlStore, key: AuditKey, settings: Settings, tmp_path: Path) -> None:
    """``record_many`` writes the rows (seqs, hashes, checkpoints) ``record`` writes one
    event at a time, in three statements plus one per checkpoint, whatever the run's
    length."""
    from tests.statements import statements

    events = _run_of(12)
    with statements(store) as sent, store.engine.begin() as conn:
        assert audit.record_many(conn, events[:1], key=key, every=EVERY) == [1]
        assert audit.record_many(conn, events[1:], key=key, every=EVERY) == list(range(2, 13))
    assert len(sent) == 3 + (3 + 2)  # the run of 11 crosses two checkpoints (5 and 10)
    one_by_one = open_store(settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'one-by-one.db'}"}))
    try:
        with one_by_one.engine.begin() as conn:
            for e in events:
                audit.record(conn, e, key=key, every=EVERY)
        chained = {s: (r["hash"], r["prev_hash"]) for s, r in _rows(one_by_one).items()}
    finally:
        one_by_one.close()
    assert {s: (r["hash"], r["prev_hash"]) for s, r in _rows(store).items()} == chained
    report = _verify(store, key)
    assert report.ok, report.problem
    assert report.head.seq == 12 and report.checkpoints == 2


def test_markings_of_many_targets_is_one_statement(store: SqlStore) -> None:
    """The stored markings of a group of read targets, whatever their number and table; a
    target stored nowhere is left out."""
    from allsource.model.markings import TLP, Marking
    from allsource.model.records import Collected, Document
    from tests.statements import statements

    src = Source("feed", "rss", "https://feed.example/rss")
    store.add_source(src)
    docs = [Document.build(kind="report", title=f"r{i}", text=f"report {i}",
                           marking=Marking(tlp=TLP.AMBER if i % 2 else TLP.CLEAR))
            for i in range(5)]
    store.write_batch(src, [Collected(d, [], [], []) for d in docs], [], None)
    ids = [d.id for d in docs] + ["tool--nowhere"]
    with statements(store) as sent, store.engine.connect() as conn:
        found = audit.markings_of(conn, ids)
    assert len(sent) == 1
    assert found == {d.id: (int(d.marking.tlp), 0, "") for d in docs}
    with store.engine.connect() as conn:
        assert audit.marking_of(conn, "tool--nowhere") == (0, 0, "")


def _ev(i: int) -> AuditEvent:
    return AuditEvent(actor="ana", action="search", target=f"q:{i:016x}", count=i,
                      detail={"route": "GET /api/v1/search", "n": i})


def _auto(store: SqlStore) -> tuple[sa.Connection, sa.Connection]:
    conn = store.engine.connect()
    return conn, conn.execution_options(isolation_level="AUTOCOMMIT")


def _append_elsewhere(settings: Settings, store: SqlStore, event: AuditEvent) -> None:
    """Another writer (a second engine on the same database) moves the chain head."""
    other = open_store(settings.model_copy(update={"database_url": store.url}))
    try:
        with other.engine.begin() as conn:
            audit_scope.append_many(conn, [event])
    finally:
        other.close()


def test_append_at_once_is_one_statement_in_the_same_chain(store: SqlStore,
                                                            settings: Settings) -> None:
    """On PostgreSQL an append from the head this engine last wrote is one statement in
    autocommit; once another writer (here another engine, as another worker process) has
    moved the head, it writes nothing and says so, and the transaction path takes over.
    SQLite always takes the transaction path. The chain verifies either way."""
    with store.engine.begin() as conn:
        audit_scope.append_many(conn, [_ev(1)])
    conn, auto = _auto(store)
    with conn, statements(store) as sent:
        done = audit_scope.append_at_once(auto, [_ev(2), _ev(3)])
    pg = store.dialect_name == "postgresql"
    assert done == ([2, 3] if pg else None) and len(sent) == (1 if pg else 0)
    if not pg:
        with store.engine.begin() as conn:
            audit_scope.append_many(conn, [_ev(2), _ev(3)])
    _append_elsewhere(settings, store, _ev(4))
    conn, auto = _auto(store)
    with conn:
        assert audit_scope.append_at_once(auto, [_ev(5)]) is None  # stale: nothing written
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.audit_events)
                            ).scalar_one() == 4
    with store.engine.begin() as conn:
        assert audit_scope.append_many(conn, [_ev(5)]) == [5]
    conn, auto = _auto(store)
    with conn:
        assert audit_scope.append_at_once(auto, [_ev(6)]) == ([6] if pg else None)
    with store.engine.connect() as conn:
        report = verify(conn)
        seqs = list(conn.execute(sa.select(t.audit_events.c.seq, t.audit_events.c.count)
                                 .order_by(t.audit_events.c.seq)))
    assert report.ok, report.problem
    assert [tuple(r) for r in seqs] == [(i, i) for i in range(1, 7 if pg else 6)]


def test_append_at_once_leaves_a_checkpoint_to_the_transaction(
        store: SqlStore, key: AuditKey) -> None:
    """A batch holding a checkpoint's seq is signed in a transaction, never at once."""
    with store.engine.begin() as conn:
        audit.record_many(conn, [_ev(1)], key=key, every=3)
    conn, auto = _auto(store)
    with conn:
        assert audit.append_at_once(auto, [_ev(2)], key=key, every=3) == (
            [2] if store.dialect_name == "postgresql" else None)
        assert audit.append_at_once(auto, [_ev(3)], key=key, every=3) is None


def test_a_write_transaction_appends_its_event_in_one_statement_once_the_head_is_known(
        store: SqlStore, settings: Settings) -> None:
    """On PostgreSQL, :func:`record_many` in a transaction (the commit hook's append: one
    event per committed ingest batch) is the one statement of ``append_at_once`` once this
    engine knows the head it wrote, and the three of the bump when another writer moved the
    head since; SQLite always pays three. Same chain either way, and it verifies."""
    pg = store.dialect_name == "postgresql"
    with store.engine.begin() as conn:
        audit_scope.append_many(conn, [_ev(1)])
    with statements(store) as sent, store.engine.begin() as conn:
        assert audit_scope.append_many(conn, [_ev(2), _ev(3)]) == [2, 3]
    assert len(sent) == (1 if pg else 3)
    _append_elsewhere(settings, store, _ev(4))
    with statements(store) as sent, store.engine.begin() as conn:
        assert audit_scope.append_many(conn, [_ev(5)]) == [5]  # stale head: the bump
    assert len(sent) == (4 if pg else 3)
    with statements(store) as sent, store.engine.begin() as conn:
        assert audit_scope.append_many(conn, [_ev(6)]) == [6]
    assert len(sent) == (1 if pg else 3)
    with store.engine.connect() as conn:
        report = verify(conn)
    assert report.ok and report.head.seq == 6, report.problem
