"""Analysts' verdicts on mentions: recorded with who/when/why, applied by the next processing
run, undoable, and evidence for later documents (a name rejected often needs support)."""

from __future__ import annotations

import pytest

from allsource.engine.inline import InlineEngine
from allsource.errors import InputError
from allsource.model.markings import Audience
from allsource.model.records import Collected, Document, Source
from allsource.process.entities import default_gazetteer
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.store import verdicts
from allsource.store.sql import SqlStore


def _add(store: SqlStore, *texts: str) -> list[str]:
    src = store.get_source("notes")
    if src is None:
        src = Source(name="notes", kind="files", location="/tmp/notes")
        store.add_source(src)
    docs = [Document.build(kind="note", title="", text=x) for x in texts]
    store.write_batch(src, [Collected(d) for d in docs], [], None)
    return [d.id for d in docs]


def _process(store: SqlStore) -> None:
    pipeline = build_pipeline(["normalize", "entities"], store=store)
    process_store(store, pipeline, InlineEngine(pipeline))


def _named(store: SqlStore, doc: str) -> dict[str, int]:
    view = store.get(doc, Audience.owner())
    assert view is not None
    return {e["name"]: e["mentions"] for e in view["entities"]}


def test_not_this_entity_here_then_undo(store: SqlStore) -> None:
    apt28 = default_gazetteer().resolve("APT28")
    assert apt28 is not None
    doc, other = _add(store, "Sofacy was blamed; APT28 denied it.",
                      "Sofacy was blamed again by the ministry.")
    _process(store)
    assert _named(store, doc)[apt28.name] == 2
    made = verdicts.record(store, "here", apt28.id, document_id=doc, name="Sofacy",
                           analyst="ana", reason="the Sofacy here is a football club")
    assert made.created_by == "ana" and made.reason.startswith("the Sofacy")
    # idempotent, and only this document is due again
    assert verdicts.record(store, "here", apt28.id, document_id=doc, name="sofacy",
                           analyst="bo", reason="same").id == made.id
    _process(store)
    assert _named(store, doc)[apt28.name] == 1  # APT28 itself still counts
    assert _named(store, other)[apt28.name] == 1  # another document is untouched
    verdicts.undo(store, made.short_id, analyst="ana", reason="it was the group after all")
    _process(store)
    assert _named(store, doc)[apt28.name] == 2
    assert [v.status for v in verdicts.list_verdicts(store, undone=True)] == ["undone"]


def test_different_entity_and_never(store: SqlStore) -> None:
    gazetteer = default_gazetteer()
    apt28, turla = gazetteer.resolve("APT28"), gazetteer.resolve("Turla")
    assert apt28 is not None and turla is not None
    first, second = _add(store, "Analysts attributed the spearphishing to Fancy Bear.",
                         "Fancy Bear, a toy shop chain, warned of phishing mails.")
    _process(store)
    verdicts.record(store, "other", apt28.id, document_id=first, name="Fancy Bear",
                    other_id=turla.id, other_name=turla.name, analyst="ana",
                    reason="the report means Turla")
    verdicts.record(store, "never", apt28.id, document_id=second, analyst="bo",
                    reason="the shop chain")  # the name is taken from the document
    _process(store)
    assert turla.name in _named(store, first) and apt28.name not in _named(store, first)
    assert apt28.name not in _named(store, second)
    [never] = [v for v in verdicts.list_verdicts(store) if v.verdict == "never"]
    assert never.document_id == "" and never.name == "Fancy Bear"


def test_a_name_rejected_in_three_documents_needs_support(store: SqlStore) -> None:
    apt28 = default_gazetteer().resolve("APT28")
    assert apt28 is not None
    rejected = _add(store, *(f"Sofacy FC won match {i} of the season." for i in range(3)))
    alone, backed = _add(store, "Sofacy FC lost the final.",
                         "Sofacy, better known as APT28, phished the ministry.")
    _process(store)
    assert apt28.name in _named(store, alone)
    for doc in rejected:
        verdicts.record(store, "here", apt28.id, document_id=doc, name="Sofacy",
                        analyst="ana", reason="a football club")
    assert verdicts.overrides(store)["doubtful"] == [["sofacy", apt28.id]]
    _process(store)  # the doubt changes the stage's fingerprint: every document is redone
    assert apt28.name not in _named(store, alone)
    assert _named(store, backed)[apt28.name] == 2


def test_verdicts_need_a_real_mention(store: SqlStore) -> None:
    apt28 = default_gazetteer().resolve("APT28")
    assert apt28 is not None
    [doc] = _add(store, "APT28 again.")
    _process(store)
    with pytest.raises(InputError, match="no mention of"):
        verdicts.record(store, "here", apt28.id, document_id=doc, name="Sofacy",
                        analyst="ana", reason="x")
    with pytest.raises(InputError, match="give a reason"):
        verdicts.record(store, "here", apt28.id, document_id=doc, analyst="ana", reason=" ")
    with pytest.raises(InputError, match="no document"):
        verdicts.record(store, "here", apt28.id, document_id="nope", analyst="ana",
                        reason="x")
    with pytest.raises(InputError, match="which name"):
        verdicts.record(store, "never", apt28.id, analyst="ana", reason="x")
