"""How the store searches, on both backends: excerpts only for the rows shown, one ranking
statement, phrases checked exactly, bounded ranking that still pages through every match,
and short prefixes refused. Bounds are proven by counting statements and excerpted rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from allsource.errors import InputError
from allsource.model.markings import TLP, Audience
from allsource.model.records import Collected, Document, Source
from allsource.store import fts_rank, postgres
from allsource.store.query import SearchHit, SearchQuery
from allsource.store.sql import HL_START, SqlStore
from tests.statements import statements
from tests.store.searching import excerpted, fill

OWNER = Audience.owner()
GREEN = Audience(max_tlp=TLP.GREEN)


def test_excerpts_only_for_the_rows_shown(store: SqlStore,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    fill(store)
    with excerpted(store, monkeypatch) as cut:
        page = store.search(SearchQuery("adversaries", limit=5), OWNER)
        assert len(page.hits) == 5 and len(cut) == 5
        assert all(HL_START in h.snippet for h in page.hits)
        cut.clear()
        window = store.search(SearchQuery("adversaries", limit=12, snippets=False), OWNER)
        assert len(window.hits) == 12 and cut == [] and all(h.snippet == "" for h in window.hits)
        shown = window.hits[:2]
        store.add_snippets("adversaries", shown, OWNER)
        assert sorted(cut) == sorted(h.id for h in shown)
    # the same excerpts as a search that cuts them itself
    by_id = {h.id: h.snippet for h in page.hits}
    assert all(h.snippet == by_id[h.id] for h in shown if h.id in by_id)
    assert all(HL_START in h.snippet for h in shown)


def test_add_snippets_reads_only_what_the_reader_may_read(store: SqlStore) -> None:
    docs = fill(store, 3)
    red = docs[2]
    hit = SearchHit(id=red.id, kind="report", title="", snippet="", score=0.0, url=None,
                    published_at=None, collected_at=datetime.now(UTC), source="src",
                    tlp="RED")
    store.add_snippets("adversaries", [hit], GREEN)
    assert hit.snippet == ""
    store.add_snippets("adversaries", [hit], OWNER)
    assert HL_START in hit.snippet


def test_a_light_window_is_completed_for_the_rows_shown_only(store: SqlStore) -> None:
    """``details=False``: the window is ranked, counted and paged as a full search, but its
    row read names only the columns stored before the text; ``add_snippets`` then fills the
    shown hits' title, url, dates and TLP as a full search reads them — for rows the reader
    may read only."""
    docs = fill(store)
    full = store.search(SearchQuery("adversaries", limit=12, snippets=False), OWNER)
    with statements(store) as seen:
        light = store.search(SearchQuery("adversaries", limit=12, snippets=False,
                                         titles=False, details=False), OWNER)
    assert light.total == full.total == 12 and light.total_exact == full.total_exact
    assert ([(h.id, h.kind, h.source, h.score) for h in light.hits]
            == [(h.id, h.kind, h.source, h.score) for h in full.hits])
    assert all((h.title, h.url, h.published_at, h.collected_at, h.tlp) == ("", None, None,
                                                                          None, "")
               for h in light.hits)
    reads = [s for s in seen if "FROM documents" in s and "documents.seq" in s
             and "MATCH" not in s and "@@" not in s]
    assert reads and not any(f"documents.{c}" in s for s in reads
                             for c in ("text", "url", "collected_at", "tlp"))
    red = next(h for h in light.hits if h.id == docs[2].id)
    shown = [*light.hits[:3], red]
    store.add_snippets("adversaries", shown, GREEN)
    by_id = {h.id: h for h in full.hits}
    for h in shown:
        if h is red:  # above the reader: left as it was
            assert (h.title, h.collected_at, h.tlp, h.snippet) == ("", None, "", "")
            continue
        want = by_id[h.id]
        assert (h.title, h.url, h.published_at, h.collected_at, h.tlp) == (
            want.title, want.url, want.published_at, want.collected_at, want.tlp)
        assert HL_START in h.snippet
    assert all(h.collected_at is None for h in light.hits if h not in shown)


def test_one_ranking_statement_per_search(store: SqlStore) -> None:
    """A prefix is expanded by the engine once per statement that matches it: the search
    ranks, counts and pages in one such statement (and excerpts come from elsewhere)."""
    fill(store)
    with statements(store) as seen:
        res = store.search(SearchQuery("adversar* credentials", limit=3), OWNER)
    assert res.total == 4 and len(res.hits) == 3
    marker = "MATCH" if store.dialect_name == "sqlite" else "@@"
    assert sum(marker in s for s in seen) == 1


def test_phrases_are_exact_also_when_their_words_are_common(store: SqlStore) -> None:
    src = Source(name="src", kind="files", location="/tmp/x")
    store.add_source(src)
    near = Document.build(kind="report", title="a", text="The network systems were down.")
    apart = Document.build(kind="report", title="b",
                           text="Systems on the network were down.")
    store.write_batch(src, [Collected(near), Collected(apart)], [], None)
    found = store.search(SearchQuery('"network systems"'), OWNER)
    assert [h.id for h in found.hits] == [near.id] and found.total == 1
    either = store.search(SearchQuery('"network systems" OR "systems on"'), OWNER)
    assert {h.id for h in either.hits} == {near.id, apart.id} and either.total == 2
    # an excluded phrase excludes only the phrase, not its words apart
    assert [h.id for h in store.search(SearchQuery('systems -"network systems"'),
                                       OWNER).hits] == [apart.id]


@pytest.mark.parametrize("reader", [OWNER, GREEN], ids=["owner", "green"])
def test_bounded_ranking_pages_through_every_readable_match_once(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch, reader: Audience) -> None:
    """With only 4 candidates ranked (3 counted), paging still reaches every match the reader
    may read exactly once, and counts never include what they may not read."""
    docs = fill(store)
    for module in (fts_rank, postgres):
        monkeypatch.setattr(module, "RANK_CANDIDATES", 4)
        monkeypatch.setattr(module, "MAX_COUNT", 3)
    readable = {d.id for i, d in enumerate(docs) if reader is OWNER or i % 3 != 2}
    first = store.search(SearchQuery("adversaries", limit=3), reader)
    assert first.total == 3
    seen: list[str] = []
    for offset in range(0, 15, 3):
        page = store.search(SearchQuery("adversaries", limit=3, offset=offset), reader)
        seen += [h.id for h in page.hits]
        assert set(seen) <= readable
    if store.dialect_name == "sqlite":  # PostgreSQL ranks its candidates and stops there
        assert sorted(seen) == sorted(readable)
        # the candidates are the newest readable matches, best first
        newest = [d.id for d in reversed(docs) if d.id in readable][:4]
        assert set(seen[:4]) == set(newest)
    assert len(seen) == len(set(seen))


def test_counts_beyond_the_cap_say_they_are_a_lower_bound(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A count that reaches the cap is reported as not exact (also past the last page); one
    below it is exact. On PostgreSQL a phrase checked on a full set of word candidates only
    is a lower bound too; SQLite checks every phrase match, so its count stays exact."""
    fill(store)  # 12 documents say "adversaries", 4 of them "spearphishing"
    for module in (fts_rank, postgres):
        monkeypatch.setattr(module, "RANK_CANDIDATES", 6)
        monkeypatch.setattr(module, "MAX_COUNT", 5)
    broad = store.search(SearchQuery("adversaries", limit=3), OWNER)
    assert (broad.total, broad.total_exact) == (5, False)
    beyond = store.search(SearchQuery("adversaries", limit=3, offset=40), OWNER)
    assert (beyond.hits, beyond.total, beyond.total_exact) == ([], 5, False)
    narrow = store.search(SearchQuery("spearphishing"), OWNER)
    assert (narrow.total, narrow.total_exact) == (4, True)
    # 8 GREEN-readable "adversaries" documents: still more than the cap for that reader
    assert not store.search(SearchQuery("adversaries"), GREEN).total_exact
    # the two words co-occur in 8 documents, the phrase in none
    phrase = store.search(SearchQuery('"adversaries systems"'), OWNER)
    assert phrase.total == 0
    assert phrase.total_exact is (store.dialect_name == "sqlite")


def test_same_hits_as_a_full_bm25_sort_below_the_bound(store: SqlStore) -> None:
    if store.dialect_name != "sqlite":
        pytest.skip("bm25 is SQLite's")
    fill(store)
    res = store.search(SearchQuery("adversaries OR credentials", limit=12), OWNER)
    with store.engine.connect() as conn:
        ref = [r[0] for r in conn.exec_driver_sql(
            "SELECT d.id FROM documents_fts JOIN documents d ON d.seq = documents_fts.rowid "
            "WHERE documents_fts MATCH ? ORDER BY bm25(documents_fts, 10.0, 1.0), d.seq DESC",
            ('"adversaries" OR "credentials"',))]
    assert [h.id for h in res.hits] == ref and res.total == 12


@pytest.mark.parametrize("text", ["r*", "long-r*", "-x*", "a* b"])
def test_one_letter_prefixes_are_refused(store: SqlStore, text: str) -> None:
    with pytest.raises(InputError, match="at least 2"):
        store.search(SearchQuery(text), OWNER)


def test_two_letter_prefixes_still_work(store: SqlStore) -> None:
    fill(store, 3)
    assert store.search(SearchQuery("cr*"), OWNER).total == 1
    assert store.search(SearchQuery("ta* OR lo*"), OWNER).total == 2
