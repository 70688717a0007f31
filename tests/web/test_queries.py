"""The workspace's bulk reads (web/queries.py) as one reader sees them, on SQLite and
PostgreSQL: search facets judge a document by the grade the reader sees."""

from __future__ import annotations

import pytest

from allsource.model.markings import TLP, Audience
from allsource.store import schema as t
from allsource.store.sql import SqlStore
from allsource.verify.run import verify_store
from allsource.web.queries import window_facts
from tests.verify.test_audience import (
    CLEAR_READER,
    GRID,
    Spy,
    _credibility,
    _report,
    hidden_support,
    source_hidden,
)
from tests.verify.test_verify_store import _process


def test_credibility_facet_is_the_grade_the_reader_sees(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CLEAR report graded 1 on RED support is in the reader's "3" facet (not "not
    graded", not "1"); only it is regraded, in one batch for the window."""
    clear, red = hidden_support(store)
    spy = Spy(monkeypatch)
    assert window_facts(store, [clear.id], CLEAR_READER).credibility == {clear.id: 3}
    assert spy.batches == [[clear.id]]
    everything = [clear.id, *(d.id for d in red)]
    assert window_facts(store, everything, Audience.owner()).credibility == dict.fromkeys(
        everything, 1)
    assert spy.batches == [[clear.id]]


def test_credibility_facet_regrades_no_source_and_follows_the_store(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The facet of a window whose documents' stored grades are hidden through their
    source's record regrades no source (each would regrade every claim the source made)
    and only the document whose claim rests on RED reporting; each figure is the
    single-document view's. Nothing is kept between requests: a confirming report marked
    RED since ``verify`` (no new verify) and a new confirming report (after ``verify``)
    change the next facet."""
    chopstick, grid, confirming = source_hidden(store)
    window = [chopstick.id, grid.id, confirming.id]
    single = {d.id: _credibility(store, d) for d in (chopstick, grid, confirming)}
    spy = Spy(monkeypatch)
    assert window_facts(store, window, CLEAR_READER).credibility == single == {
        chopstick.id: 3, grid.id: 2, confirming.id: 2}
    assert (spy.counted, spy.sources) == ([[chopstick.id]], [])
    assert spy.batches == spy.counted  # no full regrade

    d = t.documents
    with store.engine.begin() as conn:
        conn.execute(d.update().where(d.c.id == confirming.id).values(tlp=int(TLP.RED)))
    assert window_facts(store, window, CLEAR_READER).credibility[grid.id] == 3
    assert _credibility(store, grid) == 3

    _report(store, "third.example", "Grid attacks", GRID[2])
    _process(store)
    verify_store(store)
    assert window_facts(store, window, CLEAR_READER).credibility[grid.id] == 2
    assert _credibility(store, grid) == 2


def _entity_window(store: SqlStore) -> tuple[list[str], list[str], str, str]:
    """Thirty CLEAR reports; report ``i`` mentions intrusion sets 0..i (so set ``k`` is in
    30 − k reports), a place in every report, and intrusion set 0 once more through a RED
    mention in a CLEAR report. Returns report ids, intrusion-set ids (most mentioned first),
    the place's id and the RED-mentioned set's id."""
    from allsource.model.ids import minted_id
    from allsource.model.records import Collected, Document, Mention, Source, StixObject

    def obj(type_: str, name: str) -> StixObject:
        oid = minted_id(type_, name)
        return StixObject(oid, type_, name, {"type": type_, "id": oid, "name": name})

    sets = [obj("intrusion-set", f"Group {k:02d}") for k in range(30)]
    place = obj("location", "Kyiv")
    hidden = obj("intrusion-set", "Quiet Group")
    src = Source(name="feed", kind="files", location="/tmp/x")
    store.add_source(src)
    batch, docs = [], []
    for i in range(30):
        doc = Document.build(kind="report", title=f"Report {i}", text=f"quarterly report {i}")
        docs.append(doc.id)
        found = [*sets[:i + 1], place] + ([hidden] if i == 0 else [])
        batch.append(Collected(doc, found, [], [Mention(o.id, "t", 0, 5) for o in found]))
    store.write_batch(src, batch, [], None)
    m = t.mentions
    with store.engine.begin() as conn:
        conn.execute(m.update().where(m.c.object_id == hidden.id).values(tlp=int(TLP.RED)))
    return docs, [s.id for s in sets], place.id, hidden.id


def test_entity_facet_reads_mentions_only_and_names_only_what_it_shows(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window's entities come from its readable mentions alone (no ``objects`` row is
    read for them; a RED mention in a CLEAR report adds nothing for a CLEAR reader); the
    search page then reads names for the fifteen entities its facet shows, not for the 31
    the window names."""
    import sqlalchemy as sa

    from allsource.web import queries, search_page

    docs, sets, place, hidden = _entity_window(store)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        statements.append(sql.lower())

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        facts = window_facts(store, docs, CLEAR_READER)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
    assert not [s for s in statements if "from objects" in s or "join objects" in s]
    named = {e for es in facts.entities.values() for e in es}
    assert named == set(sets) and place not in named  # no RED-mentioned group either
    assert facts.entity_names == {}
    assert {e for es in window_facts(store, docs, Audience.owner()).entities.values()
            for e in es} == {*sets, hidden}

    asked: list[list[str]] = []
    names_of = queries.entity_names

    def spy(store_: SqlStore, ids: list[str]) -> dict[str, str]:
        asked.append(list(ids))
        return names_of(store_, ids)

    monkeypatch.setattr(queries, "entity_names", spy)
    chosen = {name: [] for name, _ in search_page.FACETS}
    found = search_page.run_search(store, CLEAR_READER, search_page.SearchParams(
        "quarterly", [], [], None, None, chosen))
    entity = next(f for f in found.facets if f.name == "entity")
    assert [(v, n) for v, _, n in entity.values] == [
        (sets[k], 30 - k) for k in range(search_page.FACET_SIZE)]
    assert [label for _, label, _ in entity.values] == [
        f"Group {k:02d}" for k in range(search_page.FACET_SIZE)]
    assert entity.more == 30 - search_page.FACET_SIZE
    assert asked == [sets[:search_page.FACET_SIZE]]
