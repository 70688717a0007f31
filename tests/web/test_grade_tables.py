"""A grade explanation as tables: one row per claim, reports by title, the corroborating
list built from the same rows (independent origins apart from copies), and a report the
reader may not read never named."""

from __future__ import annotations

from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import crypto
from allsource.store.sql import SqlStore
from allsource.web.grade_tables import explain, titles


def _docs(store: SqlStore) -> dict[str, Document]:
    src = Source("desk", "rss", "https://desk.example/feed")
    store.add_source(src)
    docs = {name: Document.build(kind="article", title=f"{name} report", text=f"{name} text",
                                 marking=Marking(tlp=TLP.RED) if name == "hidden" else Marking())
            for name in ("own", "copy", "other", "against", "hidden")}
    store.write_batch(src, [Collected(d) for d in docs.values()], [], None)
    return docs


def test_claims_as_rows_and_lists_that_agree(store: SqlStore) -> None:
    docs = _docs(store)
    ids = {k: d.id for k, d in docs.items()}
    grade = {"reliability": "B", "credibility": 2, "corroboration": 1, "explanation": {
        "grade": "B2", "credibility_meaning": "probably true",
        "rule": "best-supported claim decides",
        "claims": [{"claim": "Sandcat uses Dropper", "key": "rel:uses:a:b", "credibility": 2,
                    "meaning": "probably true", "independent_origins": 2, "reports": 4,
                    "supporting": [{"documents": [ids["own"], ids["copy"]]},
                                   {"documents": [ids["other"], ids["hidden"]]}],
                    "contradicting": [{"documents": [ids["against"]]}]}]}}
    reader = Audience(max_tlp=TLP.AMBER)
    shown = explain(store, grade, ids["own"], reader)
    assert shown is not None and shown.grade == "B2"
    [row] = shown.rows
    assert (row.claim, row.credibility, row.origins) == ("Sandcat uses Dropper", 2, 2)
    assert [r.title for r in row.supporting] == ["copy report", "other report"]
    assert [r.title for r in row.contradicting] == ["against report"]
    assert [(r.title, independent) for r, independent in shown.corroborating] == [
        ("other report", True), ("copy report", False)]
    assert shown.independent_others == 1
    text = repr(shown)
    assert ids["hidden"] not in text and "hidden report" not in text
    owner = explain(store, grade, ids["own"], Audience.owner())
    assert owner is not None and "hidden report" in [r.title for r in owner.rows[0].supporting]


def test_no_grade_no_tables(store: SqlStore) -> None:
    assert explain(store, None, "x", Audience.owner()) is None
    empty = explain(store, {"credibility": None, "explanation": "not a mapping"}, "x",
                    Audience.owner())
    assert empty is not None and empty.rows == [] and empty.corroborating == []


def test_titles_on_an_encrypted_store_are_sealed_on_disk_and_read_plain(
        sealed_store: SqlStore) -> None:
    """``titles`` reads ``documents.title`` through the sealed column: on disk a token, to
    the reader the title, and still only for documents the reader may read."""
    store = sealed_store
    docs = _docs(store)
    with store.engine.connect() as conn:
        raw = [r[0] for r in conn.exec_driver_sql("SELECT title FROM documents")]
    assert len(raw) == len(docs)
    assert not any("report" in value for value in raw)
    assert all(crypto.is_token(value) for value in raw)
    reader = Audience(max_tlp=TLP.AMBER)
    shown = titles(store, [d.id for d in docs.values()], reader)
    assert shown == {d.id: f"{name} report" for name, d in docs.items() if name != "hidden"}
    owner = titles(store, [docs["hidden"].id], Audience.owner())
    assert owner == {docs["hidden"].id: "hidden report"}
