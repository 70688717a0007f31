"""The scratch-index excerpts are the ones the store's own FTS5 index gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from allsource.config import load_settings
from allsource.model.records import Collected, Document, Source
from allsource.store import excerpts, open_store
from allsource.store import query as q
from allsource.store.sql import HL_END, HL_START, SqlStore

# ATT&CK v15 (T1003, T1486)
TEXTS = [
    ("OS Credential Dumping", "Adversaries may attempt to dump credentials to obtain account "
     "login and credential material, normally in the form of a hash or a clear text password. "
     "Credential dumping is often followed by lateral movement."),
    ("Data Encrypted for Impact", "Adversaries may encrypt data on target systems or on large "
     "numbers of systems in a network to interrupt availability to system and network "
     "resources. Encrypted files cannot be read without the key."),
]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> SqlStore:
    store = open_store(load_settings(database_url=f"sqlite:///{tmp_path / 'x.db'}",
                                     blob_dir=tmp_path / "blobs"))
    src = Source(name="src", kind="files", location="/tmp/x")
    store.add_source(src)
    store.write_batch(src, [Collected(Document.build(kind="report", title=a, text=b))
                            for a, b in TEXTS], [], None)
    return store


def test_scratch_index_splits_words_as_the_store_does(sqlite_store: SqlStore) -> None:
    with sqlite_store.engine.connect() as conn:
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'documents_fts'").scalar_one()
    assert f"tokenize='{excerpts.TOKENIZE}'" in sql


@pytest.mark.parametrize("text", ["credential*", '"network resources"', "encrypt OR dump",
                                  "credentials -encrypt", "Impact"])
def test_excerpts_equal_the_store_index_snippets(sqlite_store: SqlStore, text: str) -> None:
    match = q.to_fts5(q.parse(text))
    with sqlite_store.engine.connect() as conn:
        expected = dict(conn.exec_driver_sql(
            "SELECT rowid, snippet(documents_fts, -1, ?, ?, '…', 24) FROM documents_fts "
            "WHERE documents_fts MATCH ?", (HL_START, HL_END, match)).all())
        rows = [tuple(r) for r in conn.exec_driver_sql(
            "SELECT seq, title, text FROM documents ORDER BY seq")]
    assert expected
    assert excerpts.fts5_snippets(match, rows, HL_START, HL_END) == expected
    # nothing is kept between calls
    assert excerpts.fts5_snippets(match, [], HL_START, HL_END) == {}
    assert excerpts._scratch().execute("SELECT count(*) FROM scratch").fetchone() == (0,)
