"""Every match of a query, unranked, in keyset pages (store/match_pages.py), on both backends
and on an encrypted store: uncapped by the search caps, only what the reader may read, in
storage order, one statement per page (counted)."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from allsource.config import Settings
from allsource.errors import InputError
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import fts_rank, open_store, postgres
from allsource.store.query import SearchQuery
from allsource.store.sql import SqlStore
from tests.pgserver import PgServer

OWNER = Audience.owner()
GREEN = Audience(max_tlp=TLP.GREEN)

# ATT&CK v15 sentences (T1566.001, T1003, T1486), as in tests/store/test_store.py
SENTENCES = [
    "Adversaries may send spearphishing emails with a malicious attachment in an attempt to "
    "gain access to victim systems.",
    "Adversaries may attempt to dump credentials to obtain account login and credential "
    "material, normally in the form of a hash or a clear text password.",
    "Adversaries may encrypt data on target systems or on large numbers of systems in a "
    "network to interrupt availability to system and network resources.",
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sealed(request: pytest.FixtureRequest, settings: Settings) -> Iterator[SqlStore]:
    """An empty encrypted store on each backend (its full-text index holds keyed hashes)."""
    key = SecretStr(base64.b64encode(os.urandom(32)).decode())
    name = None
    if request.param == "postgres":
        server: PgServer = request.getfixturevalue("pg_server")
        name = "t_" + uuid.uuid4().hex[:12]
        settings = settings.model_copy(update={"database_url": server.create_database(name)})
    s = open_store(settings.model_copy(update={"encryption_key": key}))
    assert s.keys.encrypted
    yield s
    s.close()
    if name is not None:
        server.drop_database(name)


def _fill(store: SqlStore, n: int = 12) -> list[Document]:
    """``n`` documents that all say "adversaries" (every third one is TLP:RED), stored one
    batch each, oldest first."""
    src = Source(name="src", kind="files", location="/tmp/x")
    store.add_source(src)
    docs = [Document.build(kind="report", title=f"Report {i}",
                           text=f"{SENTENCES[i % 3]} Case {i}.",
                           marking=Marking(tlp=TLP.RED if i % 3 == 2 else TLP.CLEAR))
            for i in range(n)]
    for d in docs:
        store.write_batch(src, [Collected(d)], [], None)
    return docs


@contextmanager
def _statements(store: SqlStore) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)


def _small_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (fts_rank, postgres):
        monkeypatch.setattr(module, "RANK_CANDIDATES", 3)
        monkeypatch.setattr(module, "MAX_COUNT", 2)


def _check_every_match(store: SqlStore, reader: Audience, per_statement: int) -> None:
    docs = _fill(store)
    readable = [d.id for i, d in enumerate(docs) if reader is OWNER or i % 3 != 2]
    capped = store.search(SearchQuery("adversaries"), reader)
    assert (capped.total, capped.total_exact) == (2, False)  # search stops at its caps
    with _statements(store) as seen:
        pages = list(store.matching_ids("adversaries", reader, page_size=5))
    assert [i for page in pages for i in page] == readable  # all of them, in storage order
    assert [len(p) for p in pages] == [5] * (len(readable) // 5) + [len(readable) % 5]
    # one bounded statement per page (an encrypted store first asks if plain rows remain)
    assert len(seen) == per_statement * len(pages)
    assert all("LIMIT" in s.upper() for s in seen if "documents_fts" in s or "tsv" in s)


@pytest.mark.parametrize("reader", [OWNER, GREEN], ids=["owner", "green"])
def test_every_readable_match_in_keyset_pages(store: SqlStore, monkeypatch: pytest.MonkeyPatch,
                                              reader: Audience) -> None:
    _small_caps(monkeypatch)
    _check_every_match(store, reader, per_statement=1)


@pytest.mark.parametrize("reader", [OWNER, GREEN], ids=["owner", "green"])
def test_every_match_of_an_encrypted_store(sealed: SqlStore, monkeypatch: pytest.MonkeyPatch,
                                           reader: Audience) -> None:
    _small_caps(monkeypatch)
    _check_every_match(sealed, reader, per_statement=2)


def test_phrases_are_exact_and_bad_queries_refused(store: SqlStore,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _small_caps(monkeypatch)
    docs = _fill(store)
    found = [i for page in store.matching_ids('"send spearphishing emails"', OWNER, 2)
             for i in page]
    assert found == [d.id for i, d in enumerate(docs) if i % 3 == 0]
    # both words in 8 documents, the phrase in none
    assert list(store.matching_ids('"adversaries systems"', OWNER)) == []
    with pytest.raises(InputError):
        list(store.matching_ids("a*", OWNER))
