"""Excerpts cut on word boundaries (store/excerpt_words.py), and the store's excerpts end on
whole words on both backends, plain and encrypted."""

from __future__ import annotations

import pytest

from allsource.model.markings import Audience
from allsource.model.records import Collected, Document, Source
from allsource.store.excerpt_words import MAX_WIDEN, whole_words
from allsource.store.query import SearchQuery
from allsource.store.sql import HL_END, HL_START, SqlStore

S, E = "<", ">"


@pytest.mark.parametrize(("excerpt", "text", "want"), [
    # cut inside "e-mail" at the start and inside "example.org" at the end: widened
    ("…mail from <APT28> at www.example…", "An e-mail from APT28 at www.example.org today.",
     "…e-mail from <APT28> at www.example.org…"),
    # the match itself is the partial word
    ("…<mail> from", "An e-mail from", "…e-<mail> from"),
    # already on whole words: unchanged
    ("…from <APT28> at…", "An e-mail from APT28 at www", "…from <APT28> at…"),
    # no cut ends: unchanged
    ("<APT28> at", "APT28 at", "<APT28> at"),
    # reaches the start or end of the text: no ellipsis left there
    ("…mail from", "e-mail from", "e-mail from"),
    # not found verbatim: unchanged
    ("…zzz <q>…", "nothing like it", "…zzz <q>…"),
])
def test_whole_words(excerpt: str, text: str, want: str) -> None:
    assert whole_words(excerpt, "", text, S, E) == want


def test_a_long_token_is_dropped_not_widened() -> None:
    token = "a" * (MAX_WIDEN * 3)
    text = f"start {token} then <the match> and more words"
    excerpt = f"…{token[-10:]} then <the match> and…"
    assert whole_words(excerpt, "", text.replace("<", "").replace(">", ""), S, E) == (
        "…then <the match> and…")


def _store_excerpt(store: SqlStore, query: str) -> str:
    src = Source(name="s", kind="files", location="/tmp/x")
    store.add_source(src)
    words = " ".join(f"w{i}" for i in range(60))
    doc = Document.build(kind="report", title="t",
                         text=f"{words} ex-ample.domain-name.org mentions APT28 in passing "
                              f"and {words} then www.some-host.example.net ends")
    store.write_batch(src, [Collected(doc)], [], None)
    [hit] = store.search(SearchQuery(query), Audience.owner()).hits
    return hit.snippet.replace(HL_START, "").replace(HL_END, "")


def test_store_excerpts_end_on_whole_words(store: SqlStore) -> None:
    snippet = _store_excerpt(store, "apt28")
    words = snippet.strip("…").split()
    text_words = set(("w " + " ".join(f"w{i}" for i in range(60)) + " ex-ample.domain-name.org "
                      "mentions APT28 in passing and then www.some-host.example.net ends"
                      ).split())
    assert "APT28" in words
    assert all(w in text_words for w in words), snippet


def test_encrypted_store_excerpts_end_on_whole_words(sealed_store: SqlStore) -> None:
    test_store_excerpts_end_on_whole_words(sealed_store)
