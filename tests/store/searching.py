"""A small store for the search tests (ranking, excerpts, match pages, the search route), and
a count of the rows the store cut excerpts for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store.sql import SqlStore

# ATT&CK v15 sentences (T1566.001, T1003, T1486), as in tests/store/test_store.py
SENTENCES = [
    "Adversaries may send spearphishing emails with a malicious attachment in an attempt to "
    "gain access to victim systems.",
    "Adversaries may attempt to dump credentials to obtain account login and credential "
    "material, normally in the form of a hash or a clear text password.",
    "Adversaries may encrypt data on target systems or on large numbers of systems in a "
    "network to interrupt availability to system and network resources.",
]


def fill(store: SqlStore, n: int = 12) -> list[Document]:
    """``n`` documents that all say "adversaries" (every third one is TLP:RED), stored one
    batch each, oldest first (so they are numbered in that order)."""
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
def excerpted(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The ids of the rows the store cut an excerpt for inside the block."""
    cut: list[str] = []
    original = store._cut_snippets

    def counting(conn: Any, parsed: Any, rows: Any, *args: Any) -> dict[str, str]:
        cut.extend(r.id for r in rows)
        return original(conn, parsed, rows, *args)

    monkeypatch.setattr(store, "_cut_snippets", counting)
    yield cut
