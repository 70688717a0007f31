"""Search by meaning over stored embeddings, on SQLite and PostgreSQL: ranks passages about
the asked-for subject first even without the query's words, is incremental, and keeps the
store's filters and markings.

Texts: passages of ``benchmarks/data/topics.jsonl`` (origin of each in that file)."""

from __future__ import annotations

from allsource.analyze.semantic import index_embeddings, semantic_search
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store.query import SearchQuery
from allsource.store.sql import SqlStore
from tests.process.test_topics import ROWS

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
