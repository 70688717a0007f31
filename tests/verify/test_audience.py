"""Grades as a reader may see them (leak 1 of issue 10), on SQLite and PostgreSQL: a
TLP:CLEAR reader's grade of a CLEAR report names no TLP:RED document or outlet, and every
figure in it is the one a store holding only what they may read would give.

Texts: MITRE ATT&CK v15 (as in ``test_verify_store``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from allsource.config import load_settings
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import open_store
from allsource.store.sql import SqlStore
from allsource.verify.audience import grade_for
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
