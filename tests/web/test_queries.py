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
