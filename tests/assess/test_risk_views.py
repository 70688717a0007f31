"""Risk as a reader sees it (assess/risk_views.py), on SQLite and PostgreSQL: a CLEAR
reader's risk of every subject is the risk a store holding only what they may read gives,
through every read path (find, top, the API's entity list and page, the workspace page);
only the rows whose stored marking is hidden from them are recomputed.

Texts: MITRE ATT&CK v15 (as in ``tests/verify/test_verify_store``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from allsource.api import create_app
from allsource.assess import risk_views
from allsource.assess.risk_run import StoredRisk, find_scores, score_store, top_scores
from allsource.config import Settings
from allsource.model.markings import TLP, Audience, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import open_store, users
from allsource.store.sql import SqlStore
from allsource.verify.run import verify_store
from tests.verify.test_audience import CLEAR_READER, _add, hidden_support
from tests.verify.test_verify_store import ORIGINAL, WHEN, _process

NOW = WHEN + timedelta(days=20)


def _figures(found: StoredRisk) -> dict[str, Any]:
    shown = found.as_dict()
    del shown["computed_at"]
    return shown


class Spy:
    """The stored rows each read-time rescoring batch recomputes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.batches: list[list[str]] = []
        real = risk_views._Rescore.run

        def run(rescore: Any, rows: Sequence[Any]) -> Any:
            self.batches.append(sorted(r.subject_id for r in rows))
            return real(rescore, rows)

        monkeypatch.setattr(risk_views._Rescore, "run", run)


@pytest.fixture
def worlds(store: SqlStore, settings: Settings, tmp_path: Path
           ) -> tuple[SqlStore, SqlStore]:
    """The store with RED support, scored; and a store that never held the RED reports,
    scored at the same time (the reader's world)."""
    hidden_support(store)
    score_store(store, settings, now=NOW)
    other = open_store(settings.model_copy(update={
        "database_url": f"sqlite:///{tmp_path / 'clear-only.db'}",
        "blob_dir": tmp_path / "blobs-clear"}))
    _add(other, "first.example", ORIGINAL, Marking())
    _process(other)
    verify_store(other)
    score_store(other, settings, now=NOW)
    yield store, other
    other.close()


def test_a_reader_sees_the_risk_of_what_they_may_read(
        worlds: tuple[SqlStore, SqlStore], settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    store, alone = worlds
    expected = {x.risk.subject_id: _figures(x)
                for x in top_scores(alone, limit=100, include_expired=True, now=NOW)}
    assert {x.risk.subject_type for x in top_scores(alone, limit=100, include_expired=True,
                                                     now=NOW)} >= {"entity", "story"}
    spy = Spy(monkeypatch)
    seen = top_scores(store, limit=100, include_expired=True, now=NOW,
                      audience=CLEAR_READER, settings=settings)
    assert {x.risk.subject_id: _figures(x) for x in seen} == expected
    # the order is the reader's own scores' order
    assert [x.risk.score for x in seen] == sorted((x.risk.score for x in seen), reverse=True)
    # RED support moved the stored scores: a stored figure would have shown it
    owner = {x.risk.subject_id: _figures(x)
             for x in top_scores(store, limit=100, include_expired=True, now=NOW)}
    assert any(owner[k] != v for k, v in expected.items())
    # recomputed: exactly the stored rows hidden from the reader, in one batch
    hidden = sorted(k for k, v in owner.items() if v["marking"]["tlp"] != "TLP:CLEAR")
    assert spy.batches == [hidden]

    for subject, want in expected.items():
        [one] = find_scores(store, subject, audience=CLEAR_READER, settings=settings)
        assert _figures(one) == want
    assert all(len(batch) == 1 for batch in spy.batches[1:])
    # the owner's reads recompute nothing
    top_scores(store, limit=100, include_expired=True, now=NOW)
    assert len(spy.batches) == 1 + len(expected)


def test_risk_through_the_api_and_the_workspace(
        worlds: tuple[SqlStore, SqlStore], settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    store, alone = worlds
    user = users.add_user(store, "clear-reader", "reader", max_tlp=TLP.CLEAR)
    _, token = users.create_token(store, user)
    headers = {"Authorization": f"Bearer {token}"}
    spy = Spy(monkeypatch)
    with TestClient(create_app(settings, store=store)) as client:
        page = client.get("/api/v1/entities", headers=headers).json()
        want = {x.risk.subject_id: x for x in top_scores(alone, kind="entity", limit=100,
                                                          include_expired=True, now=NOW)}
        shown = {e["id"]: e["risk"] for e in page["items"]}
        assert set(shown) == set(want)
        for oid, risk in shown.items():
            assert risk is not None and risk["score"] == round(want[oid].risk.score, 4)
        # one batch for the page, of its rows whose stored score is hidden from the reader
        assert spy.batches == [sorted(shown)]
        for oid in shown:
            one = client.get(f"/api/v1/entities/{oid}", headers=headers).json()
            assert one["risk"]["score"] == shown[oid]["score"]
        r = client.post("/login", data={"token": token, "next": "/search"},
                        follow_redirects=False)
        assert r.status_code == 303
        for oid in shown:
            text = client.get(f"/objects/{oid}").text
            assert f"Risk {want[oid].risk.score100}/100" in text
    owner = {x.risk.subject_id: x.risk.score100
             for x in top_scores(store, kind="entity", limit=100, now=NOW)}
    assert any(owner[k] != want[k].risk.score100 for k in want)


def test_a_subject_only_hidden_evidence_reports_has_no_risk(
        store: SqlStore, settings: Settings) -> None:
    red = _add(store, "hidden-one.example", ORIGINAL, Marking(tlp=TLP.RED))
    _process(store)
    verify_store(store)
    score_store(store, settings, now=NOW)
    assert top_scores(store, limit=100, include_expired=True, now=NOW)
    assert top_scores(store, limit=100, include_expired=True, now=NOW,
                      audience=CLEAR_READER, settings=settings) == []
    assert find_scores(store, red.id, audience=CLEAR_READER, settings=settings) == []
    assert find_scores(store, "APT28", audience=Audience(max_tlp=TLP.AMBER),
                       settings=settings) == []


def test_a_source_the_reader_may_not_read_is_never_named(
        store: SqlStore, settings: Settings) -> None:
    """A source raised to AMBER after its reports were collected as CLEAR: a CLEAR reader
    reads the reports and the risk they support, but neither the stored explanation (which
    names the sources) nor a recomputed one may name it or give its id (derived from the
    name); the owner's names it."""
    clear = _add(store, "second.example", ORIGINAL, Marking())
    src = Source("secret-outlet.example", "rss", "https://secret-outlet.example/feed")
    store.add_source(src)
    doc = Document.build(kind="article", title="On CHOPSTICK", text=ORIGINAL,
                         url="https://news.example/chopstick", published_at=WHEN)
    store.write_batch(src, [Collected(doc)], [], None)
    src.marking = Marking(tlp=TLP.AMBER)
    store.update_source(src)
    _process(store)
    verify_store(store)
    score_store(store, settings, now=NOW)

    def said(found: Sequence[StoredRisk]) -> str:
        return repr([x.as_dict() for x in found])

    assert "secret-outlet.example" in said(top_scores(store, limit=100, include_expired=True,
                                                      now=NOW))
    seen = top_scores(store, limit=100, include_expired=True, now=NOW,
                      audience=CLEAR_READER, settings=settings)
    assert "second.example" in said(seen) and doc.id in said(seen)
    assert "secret-outlet" not in said(seen) and src.id not in said(seen)
    found = find_scores(store, "APT28", audience=CLEAR_READER, settings=settings)
    assert clear.id in said(found) or doc.id in said(found)
    assert "secret-outlet" not in said(found) and src.id not in said(found)
