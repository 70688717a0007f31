"""A small native store for the export tests: three reports on a CLEAR desk (observables,
a story, grades), one of them seen again by a second source (a sighting), one report from an
AMBER / SECRET / compartment ``alpha`` / releasable-to ``nato`` desk, a watchlist with hits
and a case whose evidence links a report. Fixtures in tests/fixtures/share (authored here)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from stix2validator import ValidationOptions, validate_parsed_json  # type: ignore[import-untyped]

from allsource.assess.watchlists import add_terms, backfill, keyword_spec, save_watchlist
from allsource.collect.base import CollectContext
from allsource.collect.files import FilesCollector
from allsource.collect.runner import run_source
from allsource.config import Settings
from allsource.engine.inline import InlineEngine
from allsource.model.markings import TLP, Audience, Classification, Marking
from allsource.model.records import Source
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.store.blobs import BlobStore
from allsource.store.cases import add_evidence, create_case
from allsource.store.sql import SqlStore
from allsource.verify.run import verify_store
from tests.conftest import FIXTURES

SHARE = FIXTURES / "share"
RESTRICTED = Marking(tlp=TLP.AMBER, classification=Classification.SECRET,
                     compartments=frozenset({"alpha"}), releasability=frozenset({"nato"}))
#: a reader of CLEAR and GREEN, unclassified, no compartment, no group
READER = Audience(max_tlp=TLP.GREEN, clearance=Classification.UNCLASSIFIED)
#: a reader cleared for the restricted desk
CLEARED = Audience(max_tlp=TLP.AMBER, clearance=Classification.SECRET,
                   compartments=frozenset({"alpha"}), groups=frozenset({"nato"}))
#: the validator's warnings that come from the content a source sent, not from the export
#: (README "Sharing": external references without hashes; other producers' custom properties)
SOURCE_WARNINGS = ("{302}", "{401} Custom property 'x_", "{401} Custom object type 'x-",
                   "is permitted, but not a suggested relationship target object",
                   "is permitted, but not a suggested relationship source object",
                   "is permitted, but not a suggested relationship type")
#: the warnings allsource's own content gives (README "Sharing"): a document's URL in an
#: external reference carries no hash (allsource holds no hash of the page it names), and
#: the objects allsource extracts keep their deterministic UUIDv5 ids (DESIGN.md)
EXPORT_WARNINGS = ("{302}", "{103}")


@dataclass
class Native:
    store: SqlStore
    docs: dict[str, str]  # fixture record id -> document id
    case_id: str


def validate(bundle: dict[str, Any], allowed: tuple[str, ...] = EXPORT_WARNINGS) -> None:
    """Zero errors from stix2-validator; warnings only of the ``allowed`` kinds."""
    result = validate_parsed_json(bundle, ValidationOptions(version="2.1"))
    results = result if isinstance(result, list) else [result]
    errors = [str(e) for r in results for e in r.errors]
    assert errors == [], errors[:10]
    warnings = [str(w) for r in results for w in r.warnings]
    unexplained = [w for w in warnings if not any(a in w for a in allowed)]
    assert unexplained == [], unexplained[:20] or sorted(Counter(
        re.sub(r"[a-z0-9-]+--[0-9a-f-]{36}", "ID", w)[:160] for w in unexplained).items())


def _run(store: SqlStore, ctx: CollectContext, name: str, path: Path,
         marking: Marking | None = None) -> None:
    src = Source(name=name, kind="files", location=str(path), marking=marking or Marking())
    store.add_source(src)
    result = run_source(store, src, ctx, collector_cls=FilesCollector)
    assert result.status == "ok", result


@pytest.fixture
def native(store: SqlStore, settings: Settings) -> Native:
    return _native(store, settings, ["observables", "stories"])


@pytest.fixture
def graded(store: SqlStore, settings: Settings) -> Native:
    """:func:`native` with claims extracted (entities, places: slower), so verify grades."""
    return _native(store, settings, ["observables", "claims", "stories"])


def _native(store: SqlStore, settings: Settings, stages: list[str]) -> Native:
    ctx = CollectContext(settings=settings, blobs=BlobStore(settings.blob_dir))
    _run(store, ctx, "desk", SHARE / "reports.jsonl")
    _run(store, ctx, "desk-copy", SHARE / "seen-again.jsonl", Marking(tlp=TLP.GREEN))
    _run(store, ctx, "restricted-desk", SHARE / "restricted.jsonl", RESTRICTED)
    pipeline = build_pipeline(stages, store=store)
    process_store(store, pipeline, InlineEngine(pipeline))
    verify_store(store)
    owner = Audience.owner()
    titles = {orjson.loads(line)["title"]: orjson.loads(line)["id"]
              for name in ("reports.jsonl", "restricted.jsonl")
              for line in (SHARE / name).read_bytes().splitlines() if line.strip()}
    docs = {}
    for doc_id in store.document_ids():
        view = store.get(doc_id, owner)
        assert view is not None
        docs[titles[view["title"]]] = doc_id  # sh-001's copy has the same title and id
    wl, _ = save_watchlist(store, "Hosting scans", marking=Marking())
    terms = [term for term, _ in add_terms(store, wl, [keyword_spec("VPN appliances")])]
    backfill(store, wl, terms)
    case = create_case(store, "Invoice phishing", owner="analyst")
    first = docs["sh-001"]
    add_evidence(store, case.id, actor="analyst", document_id=first,
                 description="The lure domain was registered two days before the wave.")
    return Native(store, docs, case.id)
