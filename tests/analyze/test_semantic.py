"""Search by meaning over stored embeddings, on SQLite and PostgreSQL: ranks passages about
the asked-for subject first even without the query's words, is incremental, and keeps the
store's filters and markings.

Texts: passages of ``benchmarks/data/topics.jsonl`` (origin of each in that file)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from allsource.analyze.semantic import (
    OVERSAMPLE,
    SNIPPET_CHARS,
    add_snippets,
    index_embeddings,
    semantic_search,
)
from allsource.config import Settings
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import open_store
from allsource.store import schema as t
from allsource.store.embeddings import MARKINGS, bump_version
from allsource.store.query import SearchQuery
from allsource.store.sql import SqlStore
from tests.process.test_topics import ROWS
from tests.statements import statements

QUAKES = ["t043", "t044", "t115"]  # earthquakes
OTHERS = ["t001", "t007", "t027", "t045", "t098"]  # ransomware, cyber, disease, supply


def _store(store: SqlStore) -> dict[str, Document]:
    desk, vault = Source("desk", "rss", "https://desk.example/feed"), Source(
        "vault", "rss", "https://vault.example/feed", marking=Marking(TLP.RED))
    store.add_source(desk)
    store.add_source(vault)
    docs = {i: Document.build(kind="article", title=ROWS[i]["title"], text=ROWS[i]["text"])
            for i in QUAKES + OTHERS}
    store.write_batch(desk, [Collected(docs[i]) for i in QUAKES[:2] + OTHERS], [], None)
    secret = Document.build(kind="article", title=ROWS[QUAKES[2]]["title"],
                            text=ROWS[QUAKES[2]]["text"], marking=Marking(TLP.RED))
    docs[QUAKES[2]] = secret
    store.write_batch(vault, [Collected(secret)], [], None)
    return docs


def test_meaning_ranks_and_respects_markings(store: SqlStore) -> None:
    docs = _store(store)
    assert index_embeddings(store) == len(docs)
    assert index_embeddings(store) == 0  # incremental
    owner = Audience.owner()
    # no passage contains these words together; the earthquake reports come first
    query = SearchQuery(text="tremor destroyed buildings, rescuers search rubble", limit=3)
    hits = semantic_search(store, query, owner).hits
    assert {h.id for h in hits[:2]} <= {docs[i].id for i in QUAKES}
    assert all(-1.0 <= h.score <= 1.0 for h in hits)
    assert hits[0].score >= hits[-1].score
    # a reader without TLP:RED never sees the vault's report
    reader = Audience(max_tlp=TLP.AMBER)
    seen = {h.id for h in semantic_search(store, SearchQuery(query.text, limit=10),
                                          reader).hits}
    assert docs[QUAKES[2]].id not in seen and docs[QUAKES[0]].id in seen
    # filters: only the vault
    only = semantic_search(store, SearchQuery(query.text, sources=["vault"], limit=10), owner)
    assert [h.id for h in only.hits] == [docs[QUAKES[2]].id]


def test_hidden_documents_do_not_crowd_out_readable_ones(store: SqlStore) -> None:
    """Hidden documents close to the query are not ranked for a reader at all: with limit 1
    (5 candidates), the reader's answer is the same whether or not many compartmented
    copies of the query's subject exist."""
    docs = _store(store)
    query = SearchQuery(text="tremor destroyed buildings, rescuers search rubble", limit=1)
    reader = Audience(max_tlp=TLP.AMBER)
    index_embeddings(store)
    before = semantic_search(store, query, reader)
    vault = Source("vault-2", "rss", "https://vault2.example/feed")
    store.add_source(vault)
    copies = [Document.build(kind="article", title=f"{ROWS[i]['title']} ({n})",
                             text=f"{ROWS[i]['text']} Copy {n}.",
                             marking=Marking(compartments=frozenset({"QUAKE"})))
              for i in QUAKES for n in range(4)]
    store.write_batch(vault, [Collected(c) for c in copies], [], None)
    assert index_embeddings(store) == len(copies)
    after = semantic_search(store, query, reader)
    assert [h.id for h in after.hits] == [h.id for h in before.hits]
    assert after.total == before.total
    assert after.hits and after.hits[0].id in {docs[i].id for i in QUAKES}
    # the owner does see the copies first
    owner_hits = semantic_search(store, query, Audience.owner()).hits
    assert owner_hits[0].id in {c.id for c in copies}


def _statements(store: SqlStore, run: Callable[[], object]) -> list[str]:
    with statements(store) as seen:
        run()
    return seen


def test_a_write_from_another_store_instance_is_seen(store: SqlStore,
                                                     settings: Settings) -> None:
    """The in-memory matrix is checked against the version counter, not against anything
    this process did: vectors written through another store instance (as another process
    would) show up on the next query."""
    docs = _store(store)
    index_embeddings(store)
    query = SearchQuery(text="tremor destroyed buildings, rescuers search rubble", limit=20)
    owner = Audience.owner()
    before = {h.id for h in semantic_search(store, query, owner).hits}
    assert before == {d.id for d in docs.values()}
    url = store.engine.url.render_as_string(hide_password=False)
    other = open_store(settings.model_copy(update={"database_url": url}))
    try:
        late = Document.build(kind="article", title="Aftershock", text=ROWS[QUAKES[0]]["text"]
                              + " An aftershock followed.")
        other.write_batch(Source("desk", "rss", "https://desk.example/feed"),
                          [Collected(late)], [], None)
        assert index_embeddings(other) == 1
    finally:
        other.close()
    after = {h.id for h in semantic_search(store, query, owner).hits}
    assert after == before | {late.id}


def test_a_warm_query_reads_the_version_not_the_vectors(store: SqlStore) -> None:
    """Proven by the statements run: once loaded, a query reads the model's version (one
    primary-key lookup) and never touches ``document_embeddings``; and it runs the same
    number of statements whatever the number of stored vectors."""
    _store(store)
    index_embeddings(store)
    owner = Audience.owner()
    query = SearchQuery(text="tremor destroyed buildings, rescuers search rubble", limit=3)
    semantic_search(store, query, owner)  # loads the matrix
    warm = _statements(store, lambda: semantic_search(store, query, owner))
    assert not [s for s in warm if "document_embeddings" in s]
    assert len([s for s in warm if "embedding_versions" in s]) == 1
    more = Source("more", "rss", "https://more.example/feed")
    store.add_source(more)
    store.write_batch(more, [Collected(Document.build(
        kind="article", title=f"{ROWS[i]['title']} {n}", text=f"{ROWS[i]['text']} {n}"))
        for i in OTHERS for n in range(8)], [], None)
    index_embeddings(store)
    reload = _statements(store, lambda: semantic_search(store, query, owner))
    assert [s for s in reload if "FROM document_embeddings" in s]  # the version moved
    again = _statements(store, lambda: semantic_search(store, query, owner))
    assert len(again) == len(warm)
    assert not [s for s in again if "document_embeddings" in s]


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_a_reader_gets_the_best_readable_documents(store: SqlStore, limit: int) -> None:
    """Whether the first candidates pass, a wider slice is needed, or every readable id is
    read to mask the rest, the reader's ranking is the owner's ranking with the hidden
    documents taken out (many hidden copies sit closest to the query)."""
    docs = _store(store)
    vault = Source("vault-3", "rss", "https://vault3.example/feed")
    store.add_source(vault)
    hidden = [Document.build(kind="article", title=f"{ROWS[i]['title']} ({n})",
                             text=f"{ROWS[i]['text']} Copy {n}.",
                             marking=Marking(compartments=frozenset({"QUAKE"})))
              for i in QUAKES for n in range(10)]
    store.write_batch(vault, [Collected(c) for c in hidden], [], None)
    index_embeddings(store)
    text = "tremor destroyed buildings, rescuers search rubble"
    everything = semantic_search(store, SearchQuery(text=text, limit=100),
                                 Audience.owner()).hits
    assert everything[0].id in {c.id for c in hidden}
    reader = Audience(max_tlp=TLP.AMBER)
    readable = [h.id for h in everything if h.id not in {c.id for c in hidden}
                and h.id != docs[QUAKES[2]].id]
    got = semantic_search(store, SearchQuery(text=text, limit=limit), reader)
    assert [h.id for h in got.hits] == readable[:limit]
    assert got.total == min(len(readable), limit * OVERSAMPLE)
    # with a filter the candidates are checked in SQL (the mask only narrows them)
    desk = {docs[i].id for i in QUAKES[:2] + OTHERS}
    only = semantic_search(store, SearchQuery(text=text, sources=["desk"], limit=limit), reader)
    assert [h.id for h in only.hits] == [i for i in readable if i in desk][:limit]


QUERY = "tremor destroyed buildings, rescuers search rubble"


def test_a_warm_reader_query_reads_only_the_page_through_the_access_rule(
        store: SqlStore) -> None:
    """Without filters, a reader's ranking is masked in memory by the loaded markings: a warm
    query sends one statement to ``documents`` — the page, through the SQL access rule — and
    no id check of every candidate; the same number of statements whatever the limit."""
    _store(store)
    index_embeddings(store)
    reader = Audience(max_tlp=TLP.AMBER)
    semantic_search(store, SearchQuery(QUERY, limit=2), reader)
    for limit in (1, 2, 8):
        warm = _statements(store, lambda n=limit: semantic_search(
            store, SearchQuery(QUERY, limit=n), reader))
        reads = [s for s in warm if "FROM documents" in s]
        assert len(reads) == 1 and "documents.tlp <=" in reads[0], warm
        assert len(warm) == 3  # counters, page, source names


def _best_readable(store: SqlStore, hidden: set[str], n: int) -> list[str]:
    everything = semantic_search(store, SearchQuery(QUERY, limit=100), Audience.owner()).hits
    return [h.id for h in everything if h.id not in hidden][:n]


def test_a_marking_tightened_behind_the_cache_is_still_enforced(store: SqlStore) -> None:
    """The masks are only a first cut: the database re-checks the page. A document raised to
    TLP:RED without the markings counter moving (a stale mask) is not shown, and the page is
    the best readable documents, ranked again through SQL."""
    docs = _store(store)
    index_embeddings(store)
    reader = Audience(max_tlp=TLP.AMBER)
    query = SearchQuery(QUERY, limit=3)
    first = semantic_search(store, query, reader).hits[0].id
    with store.engine.begin() as conn:
        conn.execute(t.documents.update().where(t.documents.c.id == first)
                     .values(tlp=int(TLP.RED)))
    got = semantic_search(store, query, reader)
    expected = _best_readable(store, {first, docs[QUAKES[2]].id}, 3)
    assert [h.id for h in got.hits] == expected
    assert got.total == len(docs) - 2


def test_a_markings_rewrite_reloads_the_masks(store: SqlStore) -> None:
    """A rewrite of documents' markings (as ``rebuild`` does) bumps the markings counter: the
    next query reloads the markings, so the document leaves both the page and the total."""
    docs = _store(store)
    index_embeddings(store)
    reader = Audience(max_tlp=TLP.AMBER)
    query = SearchQuery(QUERY, limit=2)  # 10 candidates: more than are stored
    before = semantic_search(store, query, reader)
    first = before.hits[0].id
    with store.engine.begin() as conn:
        conn.execute(t.documents.update().where(t.documents.c.id == first)
                     .values(tlp=int(TLP.RED)))
        bump_version(conn, MARKINGS)
    seen = _statements(store, lambda: semantic_search(store, query, reader))
    assert [s for s in seen if "FROM document_embeddings" in s]  # reloaded
    after = semantic_search(store, query, reader)
    assert [h.id for h in after.hits] == _best_readable(store, {first, docs[QUAKES[2]].id}, 2)
    assert after.total == before.total - 1 == len(docs) - 2


def test_snippets_only_when_asked(store: SqlStore) -> None:
    """A wide window without excerpts does not read the texts; ``add_snippets`` cuts those of
    the hits shown, and only for documents the reader may read."""
    docs = _store(store)
    index_embeddings(store)
    owner = Audience.owner()
    bare = _statements(store, lambda: semantic_search(
        store, SearchQuery(QUERY, limit=10, snippets=False), owner))
    assert not [s for s in bare if "documents.text" in s]
    hits = semantic_search(store, SearchQuery(QUERY, limit=10, snippets=False), owner).hits
    assert hits and all(h.snippet == "" for h in hits)
    add_snippets(store, hits, Audience(max_tlp=TLP.AMBER))
    for h in hits:
        doc = next(d for d in docs.values() if d.id == h.id)
        hidden = doc.id == docs[QUAKES[2]].id
        if hidden:
            assert h.snippet == ""
            continue
        # the start of the text, cut after a whole word within SNIPPET_CHARS ("…" if cut)
        text = " ".join(doc.text.split())
        shown = h.snippet.removesuffix("…")
        assert text.startswith(shown) and 0 < len(shown) <= SNIPPET_CHARS
        assert (shown == text) is (not h.snippet.endswith("…"))
        if shown != text:
            assert text[len(shown)] == " " and len(shown) > SNIPPET_CHARS // 2
