"""Stop words on PostgreSQL: an encrypted store's blind index answers a query with English
stop words as the plain store's ``english`` configuration does (store/stopwords.py and
``postgres.without_stop_terms``), while SQLite, whose FTS5 index keeps every word, keeps them
on both kinds of store. One set of expectations per backend, checked on the plain and on the
encrypted store."""

from __future__ import annotations

from allsource.model.markings import Audience
from allsource.store.postgres import without_stop_terms
from allsource.store.query import SearchQuery, parse
from allsource.store.sql import SqlStore
from allsource.store.stopwords import ENGLISH
from tests.store.searching import fill

OWNER = Audience.owner()


def _expected(store: SqlStore, n: int = 12) -> dict[str, set[int]]:
    """Which of ``fill``'s documents each query finds: "the" is only in sentence 1 (every
    document ``i % 3 == 1``), "encrypt" only in sentence 2."""
    s0, s1, s2 = ({i for i in range(n) if i % 3 == k} for k in range(3))
    if store.engine.dialect.name == "postgresql":  # "the" is dropped from the query
        return {"the": set(), "the OR encrypt": s2, "adversaries -the": s0 | s1 | s2,
                "encrypt the": s2}
    return {"the": s1, "the OR encrypt": s1 | s2, "adversaries -the": s0 | s2,
            "encrypt the": set()}


def _check(store: SqlStore) -> None:
    docs = fill(store)
    index = {d.id: i for i, d in enumerate(docs)}
    for text, want in _expected(store).items():
        hits = store.search(SearchQuery(text, limit=50), OWNER).hits
        assert {index[h.id] for h in hits} == want, text


def test_plain_store_stop_words(store: SqlStore) -> None:
    _check(store)


def test_encrypted_store_answers_stop_words_as_the_plain_one(sealed_store: SqlStore) -> None:
    assert sealed_store.keys.encrypted
    _check(sealed_store)


def test_only_whole_stop_word_terms_are_dropped() -> None:
    assert {"the", "that", "of", "which"} <= ENGLISH and "bank" not in ENGLISH
    assert without_stop_terms(parse("that")) is None
    assert without_stop_terms(parse("The OR of")) is None
    kept = without_stop_terms(parse('"bank of england" that OR bank -the -x'))
    assert kept is not None
    assert [[t.text for t in g] for g in kept.all_of] == [["bank of england"], ["bank"]]
    assert [t.text for t in kept.none_of] == ["x"]
    # a prefix is never a stop word (it stands for every word it starts)
    assert without_stop_terms(parse("the*")) is not None
