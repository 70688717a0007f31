"""Every match of a query, unranked, in keyset pages (store/match_pages.py), on both backends
and on an encrypted store: uncapped by the search caps, only what the reader may read, in
storage order, one statement per page (counted)."""

from __future__ import annotations

import pytest

from allsource.errors import InputError
from allsource.model.markings import TLP, Audience
from allsource.store import fts_rank, postgres
from allsource.store.query import SearchQuery
from allsource.store.sql import SqlStore
from tests.statements import statements
from tests.store.searching import fill

OWNER = Audience.owner()
GREEN = Audience(max_tlp=TLP.GREEN)


def _small_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (fts_rank, postgres):
        monkeypatch.setattr(module, "RANK_CANDIDATES", 3)
        monkeypatch.setattr(module, "MAX_COUNT", 2)


def _check_every_match(store: SqlStore, reader: Audience) -> None:
    docs = fill(store)
    readable = [d.id for i, d in enumerate(docs) if reader is OWNER or i % 3 != 2]
    capped = store.search(SearchQuery("adversaries"), reader)
    assert (capped.total, capped.total_exact) == (2, False)  # search stops at its caps
    with statements(store) as seen:
        pages = list(store.matching_ids("adversaries", reader, page_size=5))
    assert [i for page in pages for i in page] == readable  # all of them, in storage order
    assert [len(p) for p in pages] == [5] * (len(readable) // 5) + [len(readable) % 5]
    # one bounded statement per page (an encrypted store asked once, in the search above,
    # whether rows written in plain text remain; none can appear later, so it asks no more)
    assert len(seen) == len(pages)
    assert all("LIMIT" in s.upper() for s in seen if "documents_fts" in s or "tsv" in s)


@pytest.mark.parametrize("reader", [OWNER, GREEN], ids=["owner", "green"])
def test_every_readable_match_in_keyset_pages(store: SqlStore, monkeypatch: pytest.MonkeyPatch,
                                              reader: Audience) -> None:
    _small_caps(monkeypatch)
    _check_every_match(store, reader)


@pytest.mark.parametrize("reader", [OWNER, GREEN], ids=["owner", "green"])
def test_every_match_of_an_encrypted_store(sealed_store: SqlStore,
                                           monkeypatch: pytest.MonkeyPatch,
                                           reader: Audience) -> None:
    assert sealed_store.keys.encrypted  # its full-text index holds keyed hashes
    _small_caps(monkeypatch)
    _check_every_match(sealed_store, reader)


def test_phrases_are_exact_and_bad_queries_refused(store: SqlStore,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _small_caps(monkeypatch)
    docs = fill(store)
    found = [i for page in store.matching_ids('"send spearphishing emails"', OWNER, 2)
             for i in page]
    assert found == [d.id for i, d in enumerate(docs) if i % 3 == 0]
    # both words in 8 documents, the phrase in none
    assert list(store.matching_ids('"adversaries systems"', OWNER)) == []
    with pytest.raises(InputError):
        list(store.matching_ids("a*", OWNER))
