"""Prefix searches give the exact answer on both backends, and on PostgreSQL the window of a
dense prefix (store/dense_scan.py) returns exactly what the index plan returns — same hits,
scores, counts, for every reader — or falls back to the index plan. Which path ran is proven
by the statements sent, never by the clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from allsource.errors import InputError
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import dense_scan, postgres
from allsource.store.query import SearchQuery, SearchResult
from allsource.store.sql import SqlStore
from tests.statements import statements

OWNER = Audience.owner()
GREEN = Audience(max_tlp=TLP.GREEN)
# a sentence of ATT&CK v15 (T1071) and words that do not start with "comm"
DENSE = ("Adversaries may communicate using application layer protocols associated with web "
         "traffic to avoid detection and network filtering by blending in with existing "
         "traffic. Commands to the remote system, and often the results of those commands, "
         "will be embedded within the protocol traffic between the client and server. ")
SPARSE = ("Adversaries may obtain and abuse credentials of existing accounts as a means of "
          "gaining initial access, persistence, privilege escalation, or defense evasion. ")
QUERIES = ["comm*", "comm* traffic", "comm* OR credentials", "comm* -protocols",
           '"remote system" comm*']


def _fill(store: SqlStore, dense_at: range, n: int = 90) -> list[Document]:
    """``n`` documents of about 2 KB, stored oldest first, one batch each: those numbered in
    ``dense_at`` say "communicate" and "commands", the rest do not; every third is TLP:RED."""
    src = Source(name="src", kind="files", location="/tmp/x")
    store.add_source(src)
    docs = [Document.build(kind="report", title=f"Report {i}",
                           text=(DENSE if i in dense_at else SPARSE) * 8 + f"Case {i}.",
                           marking=Marking(tlp=TLP.RED if i % 3 == 2 else TLP.CLEAR))
            for i in range(n)]
    for d in docs:
        store.write_batch(src, [Collected(d)], [], None)
    if store.dialect_name == "postgresql":
        with store.engine.begin() as conn:  # the window is sized from the table's statistics
            conn.exec_driver_sql("ANALYZE documents")
    return docs


def _answer(res: SearchResult) -> tuple[list[tuple[str, float]], int, bool]:
    return [(h.id, h.score) for h in res.hits], res.total, res.total_exact


@pytest.fixture
def small_bounds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Bounds this small store can exceed: 6 candidates ranked, counts capped at 5, and the
    window taken for any prefix matching a tenth of the rows."""
    monkeypatch.setattr(postgres, "RANK_CANDIDATES", 6)
    monkeypatch.setattr(postgres, "MAX_COUNT", 5)
    monkeypatch.setattr(dense_scan, "ROW_COST", 0.01)
    monkeypatch.setattr(dense_scan, "_sizes", {})  # each test's own table
    yield


def _searches(store: SqlStore, reader: Audience) -> list[tuple[object, ...]]:
    return [_answer(store.search(SearchQuery(text, limit=4, offset=offset), reader))
            for text in QUERIES for offset in (0, 4, 40)]


@pytest.mark.parametrize("reader", [OWNER, GREEN], ids=["owner", "green"])
def test_a_dense_prefix_gets_what_the_index_plan_gets(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch, small_bounds: None,
        reader: Audience) -> None:
    if store.dialect_name != "postgresql":
        pytest.skip("the window is PostgreSQL's (SQLite: test_sqlite_prefix_is_a_full_bm25)")
    _fill(store, dense_at=range(120), n=180)  # the first 120 say "comm…", the last 60 not
    with statements(store) as windowed:
        got = _searches(store, reader)
    monkeypatch.setattr(dense_scan, "window_end", lambda *_args: None)
    with statements(store) as indexed:
        want = _searches(store, reader)
    assert got == want
    assert any(total for _, total, _ in want)  # the queries do find something
    assert not any("ctid <" in s for s in indexed)
    # every search estimated its matches; the dense ones read a window
    assert sum(s.startswith("EXPLAIN") for s in windowed) == len(QUERIES) * 3
    assert sum("ctid <" in s for s in windowed) >= len(QUERIES)


def test_a_window_short_of_candidates_falls_back_to_the_index(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch, small_bounds: None) -> None:
    """Every match sits in the last blocks: the window the estimate sizes holds none of them,
    so the index plan runs after it and gives the answer."""
    if store.dialect_name != "postgresql":
        pytest.skip("the window is PostgreSQL's")
    _fill(store, dense_at=range(60, 90), n=90)
    with statements(store) as seen:
        res = store.search(SearchQuery("comm*", limit=4), OWNER)
    matching = [s for s in seen if "@@" in s and not s.startswith("EXPLAIN")]
    # the window (its page, empty, then its count), then the index plan once
    assert ["ctid <" in s for s in matching] == [True, True, False]
    monkeypatch.setattr(dense_scan, "window_end", lambda *_args: None)
    assert _answer(res) == _answer(store.search(SearchQuery("comm*", limit=4), OWNER))
    assert res.total == 5 and not res.total_exact


def test_small_tables_and_sparse_prefixes_skip_the_window(store: SqlStore) -> None:
    """Without lowered bounds a small store never reads a window: one statement that
    matches, and no estimate asked for."""
    _fill(store, dense_at=range(0, 90, 2), n=30)
    with statements(store) as seen:
        res = store.search(SearchQuery("comm*", limit=4), OWNER)
    assert res.total == 15 and res.total_exact
    marker = "MATCH" if store.dialect_name == "sqlite" else "@@"
    assert sum(marker in s for s in seen) == 1 and not any("EXPLAIN" in s for s in seen)


def test_sqlite_prefix_is_a_full_bm25(store: SqlStore) -> None:
    """SQLite ranks a prefix in one statement; below the candidate bound its hits and count
    are those of a full bm25 sort of every match."""
    if store.dialect_name != "sqlite":
        pytest.skip("bm25 is SQLite's")
    _fill(store, dense_at=range(0, 60, 3), n=60)
    for text, match in [("comm*", '"comm"*'), ("comm* OR credentials",
                                              '"comm"* OR "credentials"')]:
        res = store.search(SearchQuery(text, limit=30), OWNER)
        with store.engine.connect() as conn:
            ref = [r[0] for r in conn.exec_driver_sql(
                "SELECT d.id FROM documents_fts JOIN documents d ON d.seq = documents_fts.rowid"
                " WHERE documents_fts MATCH ? ORDER BY bm25(documents_fts, 10.0, 1.0), "
                "d.seq DESC", (match,))]
        assert [h.id for h in res.hits] == ref[:30] and res.total == len(ref)


def test_encrypted_stores_still_refuse_prefixes(sealed_store: SqlStore) -> None:
    _fill(sealed_store, dense_at=range(0, 30, 2), n=30)
    with pytest.raises(InputError, match="prefix search"):
        sealed_store.search(SearchQuery("comm*"), OWNER)
    assert sealed_store.search(SearchQuery("communicate"), OWNER).total == 15
