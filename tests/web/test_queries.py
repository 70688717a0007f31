"""The workspace's bulk reads (web/queries.py) as one reader sees them, on SQLite and
PostgreSQL: search facets judge a document by the grade the reader sees."""

from __future__ import annotations

import pytest

from allsource.model.markings import Audience
from allsource.store.sql import SqlStore
from allsource.web.queries import window_facts
from tests.verify.test_audience import CLEAR_READER, Spy, hidden_support


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
