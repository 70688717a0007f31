"""Blind tokens kept in the full-text index only (store/blind_storage.py, migration 0028), on
both backends: sealed rows store a marker instead of the token strings, the index holds
exactly the tokens, stores sealed before 0028 are converted and still answer the same,
``keys encrypt-existing`` leaves no plain word in the index, and going back refuses to lose
tokens."""

from __future__ import annotations

import base64
import os
import re
from typing import Any

import pytest
import sqlalchemy as sa

from allsource.config import Settings
from allsource.model.markings import Audience
from allsource.model.records import Collected, Document, Source
from allsource.store import blind_storage
from allsource.store import schema as t
from allsource.store.encrypt_existing import encrypt_existing
from allsource.store.keys import KeyRing
from allsource.store.query import SearchQuery
from allsource.store.sql import SqlStore
from tests.store.migrating import alembic
from tests.store.test_keys import TEXTS, _open

OWNER = Audience.owner()
MORE = ("Exfiltration Over Web Service",
        "Adversaries may use an existing, legitimate external Web service to exfiltrate data "
        "rather than their primary command and control channel.")
QUERIES = ["credentials", "attempting", '"malicious attachment"', '"attachment malicious"',
           "encrypt OR spearphishing", "adversaries -encrypt", "network", "exfiltrate data"]
TOKEN = re.compile(r"k[0-9a-v]{9}[0-7]")


def _write(store: SqlStore, texts: list[tuple[str, str]]) -> None:
    src = store.get_source("src")
    if src is None:
        src = Source(name="src", kind="files", location="/tmp/x")
        store.add_source(src)
    store.write_batch(src, [Collected(Document.build(kind="attack-pattern", title=ti, text=x))
                            for ti, x in texts], [], None)


def _answers(store: SqlStore) -> dict[str, list[str]]:
    return {q: sorted(h.title for h in store.search(SearchQuery(q), OWNER).hits)
            for q in QUERIES}


def _index_terms(store: SqlStore) -> set[str]:
    """Every term the full-text index holds."""
    with store.engine.connect() as conn:
        if store.dialect_name == "sqlite":
            conn.exec_driver_sql("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_terms "
                                 "USING fts5vocab(main, 'documents_fts', 'row')")
            return {r[0] for r in conn.exec_driver_sql("SELECT term FROM temp.fts_terms")}
        return {r[0] for r in conn.exec_driver_sql(
            "SELECT word FROM ts_stat('SELECT tsv FROM documents')")}


def _tokens(store: SqlStore, texts: list[tuple[str, str]]) -> set[str]:
    blind = store.keys.blind()
    return {tok for ti, x in texts for tok in blind.tokens(ti) + blind.tokens(x)}


def _stored(store: SqlStore) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            "SELECT index_title, index_text FROM documents ORDER BY seq")]


def test_sealed_rows_keep_a_marker_and_the_index_holds_exactly_their_tokens(
        backend: Settings) -> None:
    store = _open(backend, base64.b64encode(os.urandom(32)).decode())
    _write(store, TEXTS)
    _write(store, [MORE])  # a second batch: the plan and the rowids of a later insert
    assert _stored(store) == [(blind_storage.NOT_STORED, blind_storage.NOT_STORED)] * 4
    terms = _index_terms(store)
    assert all(TOKEN.fullmatch(term) for term in terms), sorted(terms)[:5]
    assert terms == _tokens(store, [*TEXTS, MORE])
    answers = _answers(store)
    assert answers["credentials"] == ["OS Credential Dumping"]
    assert answers['"malicious attachment"'] == ["Phishing: Spearphishing Attachment"]
    assert answers['"attachment malicious"'] == []
    assert answers["exfiltrate data"] == ["Exfiltration Over Web Service"]
    store.close()


def _old_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the store write sealed documents as it did before 0028: token strings in the
    row, indexed by the triggers (SQLite) or the generated column (PostgreSQL)."""
    seal_rows = KeyRing.seal_rows

    def old(self: KeyRing, table: sa.Table, rows: list[dict[str, Any]]
            ) -> list[dict[str, Any]]:
        out = seal_rows(self, table, rows)
        for row in out:
            if blind_storage.TEXT_TOKENS in row:
                row["index_title"] = row.pop(blind_storage.TITLE_TOKENS)
                row["index_text"] = row.pop(blind_storage.TEXT_TOKENS)
        return out

    monkeypatch.setattr(KeyRing, "seal_rows", old)


def test_a_store_sealed_before_0028_is_converted_and_answers_the_same(
        backend: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _open(backend, base64.b64encode(os.urandom(32)).decode())
    alembic(store, "downgrade", "0027")
    with monkeypatch.context() as patch:
        _old_format(patch)
        _write(store, TEXTS)
    old_rows = _stored(store)
    assert all(TOKEN.fullmatch(tok) for _, text in old_rows for tok in text.split())
    before = _answers(store)
    assert before["credentials"] == ["OS Credential Dumping"]
    alembic(store, "upgrade", "head")
    assert _stored(store) == [(blind_storage.NOT_STORED, blind_storage.NOT_STORED)] * 3
    assert _answers(store) == before  # the index kept the tokens the strings were
    _write(store, [MORE])  # written after: the new format, next to converted rows
    assert _index_terms(store) == _tokens(store, [*TEXTS, MORE])
    after = _answers(store)
    assert after["exfiltrate data"] == ["Exfiltration Over Web Service"]
    assert after["credentials"] == before["credentials"]
    assert after["adversaries -encrypt"] == sorted([*before["adversaries -encrypt"], MORE[0]])
    store.close()


def test_downgrade_refuses_to_drop_tokens_it_cannot_rebuild(backend: Settings) -> None:
    store = _open(backend, base64.b64encode(os.urandom(32)).decode())
    _write(store, TEXTS)
    with pytest.raises(RuntimeError, match="cannot be rebuilt without the key"):
        alembic(store, "downgrade", "0027")
    assert _answers(store)["credentials"] == ["OS Credential Dumping"]
    store.close()


def test_plain_store_indexes_words_both_ways_across_the_migration(backend: Settings) -> None:
    store = _open(backend, None)
    _write(store, TEXTS)
    before = _answers(store)
    alembic(store, "downgrade", "0027")
    alembic(store, "upgrade", "head")
    _write(store, [MORE])
    after = _answers(store)
    assert after["credentials"] == before["credentials"] == ["OS Credential Dumping"]
    assert after["exfiltrate data"] == ["Exfiltration Over Web Service"]
    assert not any(TOKEN.fullmatch(term) for term in _index_terms(store))
    store.close()


def test_encrypt_existing_leaves_only_tokens_in_the_index(backend: Settings) -> None:
    store = _open(backend, None)
    _write(store, TEXTS)
    plain = _answers(store)
    store.close()
    store = _open(backend, base64.b64encode(os.urandom(32)).decode())
    assert encrypt_existing(store).documents == 3
    assert _stored(store) == [(blind_storage.NOT_STORED, blind_storage.NOT_STORED)] * 3
    terms = _index_terms(store)
    assert terms == _tokens(store, TEXTS), sorted(terms - _tokens(store, TEXTS))[:5]
    sealed = _answers(store)
    for q in ("credentials", '"malicious attachment"', "encrypt OR spearphishing"):
        assert sealed[q] == plain[q]
    with store.engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(t.documents).where(
            t.documents.c.index_text.is_(None))).scalar_one()
    assert n == 0
    store.close()
