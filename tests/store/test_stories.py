"""The story index's run tables (store/stories.py ``RunTables``), on both backends.

The stories stage reads the index once per run and keeps it in memory; these tests check
that the stored stories, members, band rows and signatures are exactly those of the SQL
look-ups it replaces (the stage with ``RunTables.load`` returning None, i.e. the previous
implementation), across several runs over generated near-duplicate documents, also when the
copy is dropped for outgrowing ``memory_rows``; and, by counting statements, that a batch
then reads no story table and writes each at most once, however big the index has grown.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from allsource.config import load_settings
from allsource.engine.inline import InlineEngine
from allsource.model.records import Collected, Document, Source
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.process.stages.stories import StoriesStage
from allsource.store import open_store
from allsource.store import schema as t
from allsource.store import stories as story_tables
from allsource.store.sql import SqlStore

_STORY_TABLES = ("lsh_bands", "story_members", "minhash_signatures", "stories")


def _corpus(seed: int, n: int, earlier: list[str]) -> list[str]:
    """``n`` texts: fresh ones, near copies (a few words changed, some dropped), exact
    copies and re-spaced copies of fresh or ``earlier`` ones — what a news feed carries."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(400)]
    out: list[str] = []
    for _ in range(n):
        pool = out + earlier
        roll = rng.random()
        if not pool or roll < 0.45:
            out.append(" ".join(rng.choice(words) for _ in range(rng.randint(40, 90))))
            continue
        base = rng.choice(pool).split()
        if roll < 0.75:  # a rewrite: some words replaced, a few dropped (some too many)
            rate = rng.choice((0.01, 0.03, 0.06, 0.15))
            edited = [rng.choice(words) if rng.random() < rate else w for w in base
                      if rng.random() > rate / 2]
            out.append(" ".join(edited))
        elif roll < 0.9:
            out.append(" ".join(base))
        else:
            out.append("  ".join(base) + "\n")
    out.append("")  # no tokens: founds its own story, never indexed
    return out


def _add(store: SqlStore, texts: list[str], start: int) -> None:
    src = Source(f"feed {start}", "rss", "x")
    store.add_source(src)
    # one title (part of the text stories compare), one URL each (so copies are documents)
    store.write_batch(src, [Collected(Document.build(
        kind="article", title="Report", text=text, url=f"https://example.org/{start + i}"))
        for i, text in enumerate(texts)], [], None)


def _run(store: SqlStore, memory_rows: int | None = None) -> int:
    options = {} if memory_rows is None else {"stories": {"memory_rows": memory_rows}}
    pipeline = build_pipeline(["stories"], options, store=store)
    engine = InlineEngine(pipeline)
    try:
        return process_store(store, pipeline, engine, batch_size=15).documents
    finally:
        engine.close()


def _tables(store: SqlStore) -> dict[str, list[tuple[Any, ...]]]:
    """The story tables' rows, without their wall-clock columns, in key order; and each
    document's stored stories annotation."""
    m, s, b, st, a = (t.story_members, t.minhash_signatures, t.lsh_bands, t.stories,
                      t.stage_annotations)
    with store.engine.connect() as conn:
        return {
            "members": [tuple(r) for r in conn.execute(sa.select(
                m.c.document_id, m.c.story_id, m.c.matched_id, m.c.similarity
            ).order_by(m.c.document_id))],
            "signatures": [(r[0], bytes(r[1])) for r in conn.execute(
                sa.select(s.c.document_id, s.c.signature).order_by(s.c.document_id))],
            "bands": [(r[0], bytes(r[1]), r[2]) for r in conn.execute(
                sa.select(b.c.band, b.c.bucket, b.c.document_id)
                .order_by(b.c.band, b.c.bucket, b.c.document_id))],
            "stories": [tuple(r) for r in conn.execute(
                sa.select(st.c.id, st.c.canonical_document_id).order_by(st.c.id))],
            "annotations": [(r[0], r[1]) for r in conn.execute(
                sa.select(a.c.document_id, a.c.data).where(a.c.stage == "stories")
                .order_by(a.c.document_id))],
        }


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[SqlStore]:
    ref = open_store(load_settings(database_url=f"sqlite:///{tmp_path / 'ref.db'}",
                                   blob_dir=tmp_path / "ref-blobs"))
    yield ref
    ref.close()


def _sql_lookups(monkeypatch: pytest.MonkeyPatch) -> None:
    """The previous implementation: the stage's SQL look-ups in every batch."""
    monkeypatch.setattr(story_tables.RunTables, "load", classmethod(lambda cls, *a, **k: None))


@pytest.mark.parametrize("memory_rows", [None, 1_000])
def test_run_tables_store_exactly_what_sql_lookups_store(
        store: SqlStore, reference: SqlStore, monkeypatch: pytest.MonkeyPatch,
        memory_rows: int | None) -> None:
    """Three runs (the second and third read an index that is already there); with
    ``memory_rows`` 1,000 the copy is dropped during the first run (~27 band rows per
    document) and never made in the later ones."""
    earlier: list[str] = []
    loaded: list[bool] = []
    real_load = story_tables.RunTables.load.__func__  # type: ignore[attr-defined]

    def watched_load(cls: type, conn: Any, max_rows: int = story_tables.MAX_ROWS) -> Any:
        tables = real_load(cls, conn, max_rows)
        loaded.append(tables is not None)
        return tables

    for run, n in enumerate((90, 60, 45)):
        texts = _corpus(run, n, earlier)
        earlier += texts
        _add(store, texts, len(earlier))
        _add(reference, texts, len(earlier))
        with monkeypatch.context() as patched:
            patched.setattr(story_tables.RunTables, "load", classmethod(watched_load))
            assert _run(store, memory_rows) == n + 1
        with monkeypatch.context() as patched:
            _sql_lookups(patched)
            assert _run(reference) == n + 1
        got, want = _tables(store), _tables(reference)
        assert got == want
    # the generated texts did make stories of several documents, by exact and near copies
    members = want["members"]
    assert sum(1 for r in members if r[2] is not None and r[3] == 1.0) >= 10
    assert sum(1 for r in members if r[2] is not None and r[3] < 1.0) >= 10
    assert loaded == ([True, True, True] if memory_rows is None else [True, False, False])


@contextmanager
def _statements(store: SqlStore, monkeypatch: pytest.MonkeyPatch
                ) -> Iterator[list[list[str]]]:
    """Per batch of the stories stage: the statements it sent."""
    per_batch: list[list[str]] = []
    current: list[list[str]] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if current:
            current[-1].append(" ".join(statement.split()))

    real = StoriesStage.process

    def process(self: StoriesStage, batch: Any) -> None:
        current.append([])
        try:
            real(self, batch)
        finally:
            per_batch.append(current.pop())

    monkeypatch.setattr(StoriesStage, "process", process)
    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield per_batch
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)


def test_a_batch_reads_no_story_table_and_writes_each_once(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted, not timed: the first batch of a run reads the index (two statements), every
    batch writes each story table at most once (one executemany), and no batch reads a story
    table again — the same in a store four times bigger. The SQL look-ups it replaces send
    a band query per band and batch."""
    earlier: list[str] = []
    counts = []
    for run, n in enumerate((45, 135)):
        texts = _corpus(10 + run, n, earlier)
        earlier += texts
        _add(store, texts, len(earlier))
        with monkeypatch.context() as patched, _statements(store, patched) as per_batch:
            _run(store)
        counts.append(per_batch)
    for per_batch in counts:
        first, rest = per_batch[0], per_batch[1:]
        assert [s.split(" FROM ")[1].split()[0] for s in first if s.startswith("SELECT")] \
            == ["story_members", "lsh_bands"]
        for statements in rest:
            assert not [s for s in statements if s.startswith("SELECT")]
        for statements in per_batch:
            inserts = [s.split()[2] for s in statements if s.startswith("INSERT")]
            assert len(inserts) == len(set(inserts)) <= 4
            assert set(inserts) <= set(_STORY_TABLES)
            assert {"lsh_bands", "story_members"} <= set(inserts)
    assert len(counts[1]) > 2 * len(counts[0])  # 10 batches against 4, over 4× the rows

    # the SQL look-ups: about two band queries per band and batch (exact keys, then buckets)
    texts = _corpus(20, 30, earlier)
    _add(store, texts, len(earlier) + 1)
    with monkeypatch.context() as patched, _statements(store, patched) as per_batch:
        _sql_lookups(patched)
        _run(store)
    full = per_batch[:2]  # 15 documents each (the third holds the one without words)
    assert all(sum(1 for s in b if s.startswith("SELECT")) > 25 for b in full)
