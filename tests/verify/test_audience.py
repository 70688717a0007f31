"""Grades as a reader may see them (leak 1 of issue 10), on SQLite and PostgreSQL: a
TLP:CLEAR reader's grade of a CLEAR report names no TLP:RED document or outlet, and every
figure in it is the one a store holding only what they may read would give.

Texts: MITRE ATT&CK v15 (as in ``test_verify_store``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from allsource.config import load_settings
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import open_store
from allsource.store import schema as t
from allsource.store.sql import SqlStore
from allsource.verify import audience as audience_mod
from allsource.verify.audience import ReaderGrades, grade_for
from allsource.verify.run import get_grade, verify_store
from tests.verify.test_verify_store import COPIES, INDEPENDENT, ORIGINAL, WHEN, _process

CLEAR_READER = Audience(max_tlp=TLP.CLEAR)
RED_OUTLETS = ("hidden-one.example", "hidden-two.example")


def _add(store: SqlStore, outlet: str, text: str, marking: Marking) -> Document:
    src = store.get_source(outlet)
    if src is None:
        src = Source(outlet, "rss", f"https://{outlet}/feed")
        store.add_source(src)
    doc = Document.build(kind="article", title=f"{outlet} on CHOPSTICK", text=text,
                         url=f"https://{outlet}/chopstick", published_at=WHEN,
                         marking=marking)
    store.write_batch(src, [Collected(doc)], [], None)
    return doc


def _uses(grade: dict[str, Any]) -> dict[str, Any]:
    [claim] = [c for c in grade["explanation"]["claims"]
               if c["key"].startswith("rel:uses:") and "APT28" in c["claim"]]
    return claim


def _figures(grade: dict[str, Any]) -> dict[str, Any]:
    return {k: grade[k] for k in ("reliability", "credibility", "corroboration",
                                  "explanation")}


def test_a_clear_reader_grade_rests_on_clear_reports_only(store: SqlStore,
                                                          tmp_path: Path) -> None:
    clear = _add(store, "first.example", ORIGINAL, Marking())
    red = [_add(store, outlet, text, Marking(tlp=TLP.RED))
           for outlet, text in zip(RED_OUTLETS, INDEPENDENT, strict=True)]
    _process(store)
    verify_store(store)

    stored = get_grade(store, "document", clear.id)
    assert stored is not None
    assert (_uses(stored)["independent_origins"], _uses(stored)["credibility"]) == (3, 1)
    owner = grade_for(store, "document", clear.id, Audience.owner())
    assert owner is not None and _figures(owner) == _figures(stored)

    seen = grade_for(store, "document", clear.id, CLEAR_READER)
    assert seen is not None
    text = orjson.dumps(seen).decode()
    for doc, outlet in zip(red, RED_OUTLETS, strict=True):
        assert doc.id not in text and outlet not in text
    assert (_uses(seen)["independent_origins"], _uses(seen)["credibility"]) == (1, 3)

    # the same figures as a store that never held the RED reports
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'clear-only.db'}",
                             blob_dir=tmp_path / "blobs-clear")
    other = open_store(settings)
    try:
        _add(other, "first.example", ORIGINAL, Marking())
        _process(other)
        verify_store(other)
        alone = get_grade(other, "document", clear.id)
        assert alone is not None
        assert _figures(seen) == _figures(alone)
    finally:
        other.close()


def test_the_source_record_is_recomputed_from_readable_claims(store: SqlStore) -> None:
    _add(store, "first.example", ORIGINAL, Marking())
    _add(store, RED_OUTLETS[0], INDEPENDENT[0], Marking(tlp=TLP.RED))
    _process(store)
    verify_store(store)
    src = store.get_source("first.example")
    assert src is not None
    stored = get_grade(store, "source", src.id)
    seen = grade_for(store, "source", src.id, CLEAR_READER)
    assert stored is not None and seen is not None
    assert stored["explanation"]["confirmations"] >= 1  # the RED report confirmed it
    assert seen["explanation"]["confirmations"] == 0
    assert seen["explanation"]["claims"] >= 1


def test_a_grade_of_hidden_evidence_only_is_none(store: SqlStore) -> None:
    red = _add(store, RED_OUTLETS[0], ORIGINAL, Marking(tlp=TLP.RED))
    _process(store)
    verify_store(store)
    assert get_grade(store, "document", red.id) is not None
    assert grade_for(store, "story", red.id, CLEAR_READER) is None


def test_copies_joined_through_a_hidden_founder_stay_copies(store: SqlStore,
                                                           tmp_path: Path) -> None:
    """Two CLEAR copies of a RED original: for a CLEAR reader they are still one origin
    (their own texts agree), and the story they share is named by a CLEAR copy."""
    red = _add(store, RED_OUTLETS[0], ORIGINAL, Marking(tlp=TLP.RED))
    _process(store)  # the RED original founds the story
    copies = [_add(store, f"copy{i}.example", text, Marking()) for i, text in enumerate(COPIES)]
    _process(store)
    verify_store(store)
    seen = grade_for(store, "document", copies[1].id, CLEAR_READER)
    assert seen is not None and red.id not in orjson.dumps(seen).decode()
    claim = _uses(seen)
    assert (claim["reports"], claim["independent_origins"]) == (2, 1)

    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'clear-only.db'}",
                             blob_dir=tmp_path / "blobs-clear")
    other = open_store(settings)
    try:
        for i, text in enumerate(COPIES):
            _add(other, f"copy{i}.example", text, Marking())
            _process(other)  # in the same order as above
        verify_store(other)
        alone = get_grade(other, "document", copies[1].id)
        assert alone is not None and _figures(seen) == _figures(alone)
    finally:
        other.close()


# --- lists: many documents at once (ReaderGrades) ----------------------------------------------

def hidden_support(store: SqlStore) -> tuple[Document, list[Document]]:
    """A CLEAR report whose stored grade rests on two independent RED reports (stored
    credibility 1, marked RED); a CLEAR reader's grade of it is 3 (one origin). Shared by the
    tests of every list and filter of grades (timeline, graph, cases, facets, risk)."""
    clear = _add(store, "first.example", ORIGINAL, Marking())
    red = [_add(store, outlet, text, Marking(tlp=TLP.RED))
           for outlet, text in zip(RED_OUTLETS, INDEPENDENT, strict=True)]
    _process(store)
    verify_store(store)
    stored, seen = (get_grade(store, "document", clear.id),
                    grade_for(store, "document", clear.id, CLEAR_READER))
    assert stored is not None and seen is not None
    assert (stored["credibility"], stored["tlp"], seen["credibility"]) == (1, int(TLP.RED), 3)
    return clear, red


class Spy:
    """Counts the documents each read-time regrading batch recomputes (a full regrade,
    ``_Regrade.documents``, or a credibility-only one, ``_Regrade.credibilities``: both in
    ``batches``, the latter also in ``counted``), and the sources regraded
    (``_Regrade._source``: each a regrading of every claim the source made)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.batches: list[list[str]] = []
        self.counted: list[list[str]] = []
        self.sources: list[str] = []
        regrade = audience_mod._Regrade
        real, real_count, real_source = (regrade.documents, regrade.credibilities,
                                         regrade._source)

        def documents(self_: Any, doc_ids: Sequence[str]) -> Any:
            self.batches.append(list(doc_ids))
            return real(self_, doc_ids)

        def credibilities(self_: Any, doc_ids: Sequence[str]) -> Any:
            self.batches.append(list(doc_ids))
            self.counted.append(list(doc_ids))
            return real_count(self_, doc_ids)

        def source(self_: Any, source_id: str) -> Any:
            self.sources.append(source_id)
            return real_source(self_, source_id)

        monkeypatch.setattr(regrade, "documents", documents)
        monkeypatch.setattr(regrade, "credibilities", credibilities)
        monkeypatch.setattr(regrade, "_source", source)

    @property
    def recomputed(self) -> list[str]:
        return [d for batch in self.batches for d in batch]


def test_a_list_gets_the_single_view_grade_recomputing_only_hidden_ones(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    clear, red = hidden_support(store)
    ids = [clear.id, *(d.id for d in red)]
    spy = Spy(monkeypatch)
    with store.engine.connect() as conn:
        owner = ReaderGrades(store, conn, Audience.owner()).documents(ids)
    assert spy.batches == []  # the owner reads every stored grade as it is
    assert {d: g["credibility"] for d, g in owner.items()} == dict.fromkeys(ids, 1)

    with store.engine.connect() as conn:
        listed = ReaderGrades(store, conn, CLEAR_READER).documents([clear.id])
    single = grade_for(store, "document", clear.id, CLEAR_READER)
    assert single is not None and _figures(listed[clear.id]) == _figures(single)
    # one batch, of exactly the readable rows whose stored grade is hidden from the reader
    assert spy.batches == [[clear.id]]

    # a grade readable as stored is not recomputed
    green = Audience(max_tlp=TLP.RED)
    with store.engine.connect() as conn:
        assert ReaderGrades(store, conn, green).documents(ids)[clear.id]["credibility"] == 1
    assert spy.batches == [[clear.id]]


def test_passing_recomputes_each_hidden_candidate_once(store: SqlStore,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    clear, _ = hidden_support(store)
    spy = Spy(monkeypatch)
    d = t.documents
    with store.engine.connect() as conn:
        grades = ReaderGrades(store, conn, CLEAR_READER)
        candidates = sa.select(d.c.id).where(store._readable(d, CLEAR_READER))
        assert [grades.passing(candidates, c) for c in range(1, 7)] == [
            [], [], [clear.id], [clear.id], [clear.id], [clear.id]]
    assert spy.recomputed == [clear.id]  # six filters, one recomputation


def test_a_source_the_reader_may_not_read_is_not_named(store: SqlStore) -> None:
    """Reports collected as CLEAR from a source later raised to AMBER: a CLEAR reader reads
    them and their grades, which count the report as an independent origin, but never name
    its source, by name or by ID (derived from the name); the owner's grade names it."""
    clear = _add(store, "first.example", ORIGINAL, Marking())
    secret = Source("secret-outlet.example", "rss", "https://secret-outlet.example/feed")
    store.add_source(secret)
    doc = Document.build(kind="article", title="On CHOPSTICK", text=INDEPENDENT[0],
                         url="https://news.example/chopstick", published_at=WHEN)
    store.write_batch(secret, [Collected(doc)], [], None)
    secret.marking = Marking(tlp=TLP.AMBER)
    store.update_source(secret)
    _process(store)
    verify_store(store)

    owner = grade_for(store, "document", clear.id, Audience.owner())
    assert owner is not None and "secret-outlet.example" in orjson.dumps(owner).decode()
    for subject in (clear.id, doc.id):
        seen = grade_for(store, "document", subject, CLEAR_READER)
        assert seen is not None
        text = orjson.dumps(seen).decode()
        assert "secret-outlet" not in text and secret.id not in text
        assert _uses(seen)["independent_origins"] == _uses(owner)["independent_origins"] == 2
    assert audience_mod.UNNAMED_SOURCE in orjson.dumps(
        grade_for(store, "document", clear.id, CLEAR_READER)).decode()


# --- credibility only (facets and filters) ------------------------------------------------------

GRID = ("Sandworm Team has used BlackEnergy to attack the power grid.",
        "BlackEnergy was used by Sandworm Team in attacks on electricity distribution.",
        "Sandworm Team relied on BlackEnergy against energy companies.")


def _report(store: SqlStore, outlet: str, title: str, text: str) -> Document:
    src = store.get_source(outlet)
    if src is None:
        src = Source(outlet, "rss", f"https://{outlet}/feed")
        store.add_source(src)
    doc = Document.build(kind="article", title=title, text=text,
                         url=f"https://{outlet}/{title.lower().replace(' ', '-')}",
                         published_at=WHEN)
    store.write_batch(src, [Collected(doc)], [], None)
    return doc


def source_hidden(store: SqlStore) -> tuple[Document, Document, Document]:
    """``first.example`` reports CHOPSTICK's use (also reported by a RED outlet: that claim
    row, and so the source's record and every grade of its documents, is marked RED) and,
    in a second CLEAR document, Sandworm's use of BlackEnergy, which ``second.example``
    confirms in CLEAR. Returns (the CHOPSTICK report, the BlackEnergy report — stored grade
    hidden from a CLEAR reader only through its source's record, its claim row CLEAR and
    credibility 2 —, the confirming report)."""
    chopstick = _add(store, "first.example", ORIGINAL, Marking())
    _add(store, RED_OUTLETS[0], INDEPENDENT[0], Marking(tlp=TLP.RED))
    grid = _report(store, "first.example", "On the grid", GRID[0])
    confirming = _report(store, "second.example", "Grid report", GRID[1])
    _process(store)
    verify_store(store)
    stored = get_grade(store, "document", grid.id)
    assert stored is not None and (stored["credibility"], stored["tlp"]) == (2, int(TLP.RED))
    return chopstick, grid, confirming


def _credibility(store: SqlStore, doc: Document) -> int | None:
    """The credibility of the single-document view (the full regrade) for a CLEAR reader."""
    seen = grade_for(store, "document", doc.id, CLEAR_READER)
    return None if seen is None else seen["credibility"]


def test_a_grade_hidden_through_its_source_record_is_counted_without_regrading(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The credibility needs no source record: a document whose stored grade is hidden only
    through its source's record gets its figure from its claim rows (all readable), with
    no document and no source regraded; one whose claim rests on RED reporting is regraded
    from its claims alone. Both are the single-document view's figures."""
    chopstick, grid, confirming = source_hidden(store)
    expected = {d.id: _credibility(store, d) for d in (chopstick, grid, confirming)}
    assert expected == {chopstick.id: 3, grid.id: 2, confirming.id: 2}
    spy = Spy(monkeypatch)
    with store.engine.connect() as conn:
        grades = ReaderGrades(store, conn, CLEAR_READER)
        assert grades.credibilities(list(expected)) == expected
        d = t.documents
        readable = sa.select(d.c.id).where(store._readable(d, CLEAR_READER))
        assert grades.passing(readable, 2) == [grid.id]
    assert (spy.counted, spy.sources) == ([[chopstick.id]], [])
    assert spy.batches == spy.counted  # no full regrade


def test_stored_claims_leave_out_a_document_marked_since_verify(
        store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A confirming report marked RED after ``verify`` ran (as a rebuild may tighten a
    marking) no longer confirms the claim for a CLEAR reader, although the stored claim row
    still says CLEAR: the document is regraded, as the single-document view is."""
    _, grid, confirming = source_hidden(store)
    d = t.documents
    with store.engine.begin() as conn:
        conn.execute(d.update().where(d.c.id == confirming.id).values(tlp=int(TLP.RED)))
    spy = Spy(monkeypatch)
    with store.engine.connect() as conn:
        assert ReaderGrades(store, conn, CLEAR_READER).credibilities([grid.id]) == {
            grid.id: 3}
    assert spy.counted == [[grid.id]] and _credibility(store, grid) == 3


def test_a_readable_stored_grade_follows_markings_raised_since_verify(
        store: SqlStore) -> None:
    """A document's stored grade that a CLEAR reader may read (every report was CLEAR when
    ``verify`` ran) is not shown as stored once the reports supporting it are marked RED:
    the single-document view (API ``.grade``, web "Why this grade"), lists, facets and
    filters all give the grade regraded over what the reader may read now — no hidden ID,
    no hidden outlet, no credibility moved by the hidden reports — as for a reader of a
    store that never held them (the first test's figures); the source's record likewise."""
    clear = _add(store, "first.example", ORIGINAL, Marking())
    raised = [_add(store, outlet, text, Marking())
              for outlet, text in zip(RED_OUTLETS, INDEPENDENT, strict=True)]
    _process(store)
    verify_store(store)
    before = grade_for(store, "document", clear.id, CLEAR_READER)
    assert before is not None and (_uses(before)["independent_origins"],
                                   _uses(before)["credibility"]) == (3, 1)
    d = t.documents
    with store.engine.begin() as conn:
        conn.execute(d.update().where(d.c.id.in_([r.id for r in raised]))
                     .values(tlp=int(TLP.RED)))

    def leaks(grade: dict[str, Any]) -> list[str]:
        text = orjson.dumps(grade).decode()
        return [x for r, o in zip(raised, RED_OUTLETS, strict=True) for x in (r.id, o)
                if x in text]

    seen = grade_for(store, "document", clear.id, CLEAR_READER)
    assert seen is not None and leaks(seen) == []
    assert (_uses(seen)["independent_origins"], _uses(seen)["credibility"]) == (1, 3)
    assert seen["credibility"] == 3
    owner = grade_for(store, "document", clear.id, Audience.owner())
    assert owner is not None and owner["credibility"] == 1  # the owner still reads all
    with store.engine.connect() as conn:
        grades = ReaderGrades(store, conn, CLEAR_READER)
        listed = grades.documents([clear.id])[clear.id]
        assert leaks(listed) == [] and _figures(listed) == _figures(seen)
        assert grades.credibilities([clear.id]) == {clear.id: 3}
        readable = sa.select(d.c.id).where(store._readable(d, CLEAR_READER))
        assert clear.id not in grades.passing(readable, 2)
        passing = grades.passing(readable, 2)
        kept = set(conn.execute(sa.select(d.c.id).where(
            store._readable(d, CLEAR_READER),
            audience_mod.credible(d.c.id, 2, CLEAR_READER, passing))).scalars())
        assert clear.id not in kept
        assert clear.id in grades.passing(readable, 3)
    src = store.get_source("first.example")
    assert src is not None
    record = grade_for(store, "source", src.id, CLEAR_READER)
    assert record is not None and record["explanation"]["confirmations"] == 0
