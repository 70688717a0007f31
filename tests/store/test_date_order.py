"""Search newest first (store/date_order.py), on both backends and on an encrypted store:
every readable match in date order, however far past the ranking's candidates, pages that
neither skip nor repeat, counts exact up to the cap and "more than" beyond, filters applied,
and nothing the reader may not read in pages or counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import date_order, fts_rank, postgres
from allsource.store.query import SearchQuery
from allsource.store.sql import SqlStore

OWNER = Audience.owner()
GREEN = Audience(max_tlp=TLP.GREEN)
START = datetime(2024, 1, 1, tzinfo=UTC)


def _fill(store: SqlStore, n: int = 14) -> list[Document]:
    """``n`` reports saying "adversaries", dated out of storage order (so date order is not
    storage order); every third is TLP:RED, and report 5 has no report date."""
    src = Source(name="src", kind="files", location="/tmp/x")
    store.add_source(src)
    docs = []
    for i in range(n):
        day = START + timedelta(days=(i * 5) % n)  # a permutation of the days
        docs.append(Document.build(
            kind="memo" if i == 4 else "report", title=f"Report {i}",
            text=f"Adversaries may send e-mails. Case {i}.",
            published_at=None if i == 5 else day,
            marking=Marking(tlp=TLP.RED if i % 3 == 2 else TLP.CLEAR)))
    for d in docs:
        store.write_batch(src, [Collected(d)], [], None)
    return docs


def _small_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (fts_rank, postgres):
        monkeypatch.setattr(module, "RANK_CANDIDATES", 3)
        monkeypatch.setattr(module, "MAX_COUNT", 2)
    monkeypatch.setattr(date_order, "MAX_COUNT", 6)


def _expected(store: SqlStore, docs: list[Document], reader: Audience) -> list[str]:
    shown = [d for i, d in enumerate(docs) if reader is OWNER or i % 3 != 2]
    when = {h.id: h.published_at or h.collected_at
            for h in store.search(SearchQuery("adversaries", limit=100, order="date"),
                                  OWNER).hits}
    return [d.id for d in sorted(shown, key=lambda d: (when[d.id], d.id), reverse=True)]


def _check(store: SqlStore, reader: Audience) -> None:
    docs = _fill(store)
    expected = _expected(store, docs, reader)
    seen: list[str] = []
    for page in range(6):
        found = store.search(SearchQuery("adversaries", limit=4, offset=page * 4,
                                         order="date"), reader)
        seen += [h.id for h in found.hits]
        assert found.total == min(len(expected), 6)
        assert found.total_exact is (len(expected) <= 6)
        assert all(h.score == 0.0 and h.title and h.snippet for h in found.hits)
    # every readable match once, newest first, past the 3 ranked candidates
    assert seen == expected
    dates = [h.published_at or h.collected_at for h in store.search(
        SearchQuery("adversaries", limit=100, order="date"), reader).hits]
    assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]


@pytest.mark.parametrize("reader", [OWNER, GREEN], ids=["owner", "green"])
def test_every_readable_match_newest_first(store: SqlStore, monkeypatch: pytest.MonkeyPatch,
                                           reader: Audience) -> None:
    _small_caps(monkeypatch)
    _check(store, reader)


@pytest.mark.parametrize("reader", [OWNER, GREEN], ids=["owner", "green"])
def test_encrypted_store_newest_first(sealed_store: SqlStore,
                                      monkeypatch: pytest.MonkeyPatch,
                                      reader: Audience) -> None:
    _small_caps(monkeypatch)
    _check(sealed_store, reader)


def test_filters_and_phrases(store: SqlStore) -> None:
    docs = _fill(store)
    memo = store.search(SearchQuery("adversaries", kinds=["memo"], order="date"), OWNER)
    assert [h.id for h in memo.hits] == [docs[4].id] and memo.total == 1
    since = START + timedelta(days=7)
    late = store.search(SearchQuery("adversaries", since=since, limit=100, order="date"),
                        GREEN)
    assert late.hits and all((h.published_at or h.collected_at) >= since  # type: ignore[operator]
                             for h in late.hits)
    phrase = store.search(SearchQuery('"case 7"', order="date"), OWNER)
    assert [h.id for h in phrase.hits] == [docs[7].id]
    hidden = store.search(SearchQuery('"case 8"', order="date"), GREEN)  # TLP:RED
    assert (hidden.hits, hidden.total, hidden.total_exact) == ([], 0, True)
