"""Verification over a processed store, on SQLite and PostgreSQL: copies of one report stay
"possibly true" however many outlets carry them; independent reports confirm it.

Texts: MITRE ATT&CK v15 (CHOPSTICK's description and two APT28 procedure examples, links and
citations removed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from allsource.engine.inline import InlineEngine
from allsource.model.admiralty import Reliability
from allsource.model.records import Collected, Document, Source
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.store.sql import SqlStore
from allsource.verify.run import get_grade, set_override, verify_store

ORIGINAL = (
    "CHOPSTICK is a malware family of modular backdoors used by APT28. It has been used since "
    "at least 2012 and is usually dropped on victims as second-stage malware, though it has "
    "been used as first-stage malware in several cases. It has both Windows and Linux "
    "variants. It is tracked separately from the X-Agent for Android.")
COPIES = ["WIRE SERVICE — " + ORIGINAL + " Reporting by our security desk.",
          ORIGINAL + " Copyright the syndicate; all rights reserved."]
INDEPENDENT = [
    "APT28 has also used a machine to relay and obscure communications between CHOPSTICK and "
    "their server.",
    "Part of APT28's operation involved using CHOPSTICK modules to copy itself to air-gapped "
    "machines, using files written to USB sticks to transfer data and command traffic."]
WHEN = datetime(2024, 5, 2, 9, tzinfo=UTC)


def _add(store: SqlStore, outlet: str, text: str, hours: int = 0) -> Document:
    src = Source(outlet, "rss", f"https://{outlet}/feed")
    if store.get_source(outlet) is None:
        store.add_source(src)
    else:
        src = store.get_source(outlet)  # type: ignore[assignment]
    doc = Document.build(kind="article", title=f"{outlet} on CHOPSTICK", text=text,
                         url=f"https://{outlet}/chopstick",
                         published_at=WHEN + timedelta(hours=hours))
    store.write_batch(src, [Collected(doc)], [], None)
    return doc


def _process(store: SqlStore) -> None:
    pipeline = build_pipeline(store=store)
    process_store(store, pipeline, InlineEngine(pipeline))


def _claim(store: SqlStore, doc: Document) -> dict[str, object]:
    grade = get_grade(store, "document", doc.id)
    assert grade is not None
    [claim] = [c for c in grade["explanation"]["claims"]
               if c["key"].startswith("rel:uses:") and "APT28" in c["claim"]]
    return claim


def test_copies_count_once_and_independent_reports_confirm(store: SqlStore) -> None:
    original = _add(store, "first.example", ORIGINAL)
    copies = [_add(store, f"copy{i}.example", text, hours=i + 1)
              for i, text in enumerate(COPIES)]
    _process(store)
    verify_store(store)
    claim = _claim(store, copies[0])
    assert (claim["reports"], claim["independent_origins"], claim["credibility"]) == (3, 1, 3)
    [origin] = claim["supporting"]  # type: ignore[misc]
    assert any(r.startswith("copies: same story") for r in origin["joined_because"])
    assert origin["first"] == original.id
    doc_grade = get_grade(store, "document", copies[0].id)
    assert doc_grade is not None and doc_grade["explanation"]["grade"] == "F3"

    for i, text in enumerate(INDEPENDENT):
        _add(store, f"independent{i}.example", text)
    _process(store)
    result = verify_store(store)
    claim = _claim(store, copies[0])
    assert (claim["independent_origins"], claim["credibility"]) == (3, 1)
    assert get_grade(store, "document", original.id)["credibility"] == 1  # type: ignore[index]
    assert result.sources["first.example"]["reliability"] == "F"  # too little record yet

    src = store.get_source("first.example")
    assert src is not None
    set_override(store, src.id, Reliability.B, "ana", "long-standing partner")
    verify_store(store)
    graded = get_grade(store, "source", src.id)
    assert graded is not None and graded["reliability"] == "B"
    assert graded["explanation"]["override"]["analyst"] == "ana"
    assert graded["explanation"]["reliability"] == "F"  # the computed grade stays visible
    assert get_grade(store, "document", original.id)["reliability"] == "B"  # type: ignore[index]
