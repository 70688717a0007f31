"""Analysts' topic labels and stored topic models, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from allsource.errors import InputError
from allsource.model.records import Collected, Document, Source
from allsource.store import labels
from allsource.store.sql import SqlStore


def _doc(store: SqlStore, text: str) -> str:
    src = Source("desk", "files", "x")
    if store.get_source("desk") is None:
        store.add_source(src)
    doc = Document.build(kind="article", title=text[:20], text=text)
    store.write_batch(src, [Collected(doc)], [], None)
    return doc.id


def test_labels_replace_per_topic_and_keep_who(store: SqlStore) -> None:
    doc = _doc(store, "Ransomware hit the county hospital's records system.")
    assert labels.add_labels(store, doc, ["Cyber", "health disaster"], analyst="ana") == [
        "cyber", "health-disaster"]
    labels.add_labels(store, doc, ["cyber"], positive=False, analyst="bo", note="not really")
    rows = {r.topic: r for r in labels.list_labels(store)}
    assert set(rows) == {"cyber", "health-disaster"}
    assert (rows["cyber"].positive, rows["cyber"].analyst, rows["cyber"].note) == (
        False, "bo", "not really")
    assert rows["health-disaster"].positive and rows["health-disaster"].analyst == "ana"
    assert [r.topic for r in labels.list_labels(store, topic="cyber")] == ["cyber"]
    assert labels.remove_labels(store, doc, ["cyber"]) == 1
    assert [r.topic for r in labels.list_labels(store, document_id=doc)] == ["health-disaster"]
    assert labels.document_texts(store, [doc, "nope"]) == {
        doc: ("Ransomware hit the c", "Ransomware hit the county hospital's records system.")}


def test_label_errors_are_clear(store: SqlStore) -> None:
    doc = _doc(store, "text")
    with pytest.raises(InputError, match="no document"):
        labels.add_labels(store, "doc--missing", ["cyber"])
    with pytest.raises(InputError, match="not a topic name"):
        labels.add_labels(store, doc, ["cyber; DROP TABLE topic_labels"])
    with pytest.raises(InputError, match="at least one topic"):
        labels.add_labels(store, doc, [])
    assert labels.list_labels(store) == []


def test_models_are_kept_and_can_be_rolled_back(store: SqlStore) -> None:
    assert labels.active_model(store) is None
    first = labels.save_model(store, {"topics": ["a"]}, "f1", {"retrained": {"f1": 0.5}}, 3, "ana")
    second = labels.save_model(store, {"topics": ["b"]}, "f2", {}, 5, "bo")
    assert labels.active_model(store) == {"topics": ["b"]}
    labels.activate_model(store, first)
    assert labels.active_model(store) == {"topics": ["a"]}
    history = labels.model_history(store)
    assert [(h["id"], h["active"], h["labels_used"]) for h in history] == [
        (first, True, 3), (second, False, 5)]
    labels.activate_model(store, None)
    assert labels.active_model(store) is None
    with pytest.raises(InputError, match="no topic model"):
        labels.activate_model(store, 999)
