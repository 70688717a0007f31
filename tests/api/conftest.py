"""An API app over a small real store (both backends): three reports, two of them copies of
one story, one TLP:RED, an entity with an alias, a relationship and an alert; one admin and
one reader token. The report texts are ATT&CK v15 technique descriptions (T1566.001, T1486)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from allsource.api import create_app
from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
from allsource.config import Settings
from allsource.engine.inline import InlineEngine
from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Document, Source
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.store import schema as t
from allsource.store import users
from allsource.store.sql import SqlStore, utc_now

ORIGINAL = (
    "Adversaries may send spearphishing emails with a malicious attachment in an attempt to "
    "gain access to victim systems. Spearphishing attachment is a specific variant of "
    "spearphishing. Spearphishing attachment is different from other forms of spearphishing "
    "in that it employs the use of malware attached to an email. All forms of spearphishing "
    "are electronically delivered social engineering targeted at a specific individual, "
    "company, or industry. In this scenario, adversaries attach a file to the spearphishing "
    "email and usually rely upon User Execution to gain execution.")
OTHER = (
    "Adversaries may encrypt data on target systems or on large numbers of systems in a "
    "network to interrupt availability to system and network resources. They can attempt to "
    "render stored data inaccessible by encrypting files or data on local and remote drives "
    "and withholding access to a decryption key.")
ENTITY_ID = "intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c"


@dataclass
class World:
    store: SqlStore
    client: TestClient
    admin: dict[str, str]
    reader: dict[str, str]
    original: Document
    copy: Document
    other: Document
    red: Document
    alert_id: str


def _fill(store: SqlStore) -> tuple[Document, ...]:
    a, b = Source("outlet-a", "rss", "https://a.example/feed"), Source("outlet-b", "rss", "y")
    store.add_source(a)
    store.add_source(b)
    when = datetime(2024, 5, 1, tzinfo=UTC)
    original = Document.build(kind="article", title="Spearphishing wave", text=ORIGINAL,
                              published_at=when)
    copy = Document.build(kind="article", title="Spearphishing wave (wire)",
                          text="WIRE — " + ORIGINAL + " Reporting by our desk.",
                          published_at=datetime(2024, 5, 2, tzinfo=UTC))
    other = Document.build(kind="report", title="Ransomware wave", text=OTHER,
                           published_at=datetime(2024, 4, 1, tzinfo=UTC))
    red = Document.build(kind="article", title="Spearphishing against the ministry",
                         text="Red-only: spearphishing of ministry staff by APT28.",
                         marking=Marking(tlp=TLP.RED))
    store.write_batch(a, [Collected(original), Collected(other), Collected(red)], [], None)
    store.write_batch(b, [Collected(copy)], [], None)
    pipeline = build_pipeline(["stories"], store=store)
    process_store(store, pipeline, InlineEngine(pipeline))
    with store.engine.begin() as conn:
        conn.execute(t.objects.insert().values(
            id=ENTITY_ID, type="intrusion-set", name="APT28", created_at=utc_now(),
            stix={"type": "intrusion-set", "id": ENTITY_ID, "name": "APT28",
                  "aliases": ["APT28", "Fancy Bear"]}, **Marking().to_columns()))
        conn.execute(t.mentions.insert().values(object_id=ENTITY_ID, document_id=original.id,
                                                extractor="test", span_start=-1, span_end=-1))
    return original, copy, other, red


@pytest.fixture
def world(store: SqlStore, settings: Settings) -> Iterator[World]:
    original, copy, other, red = _fill(store)
    [alert_id] = raise_alerts(store, [AlertDraft(
        kind="watchlist", severity=Severity.HIGH, title="APT28 named", group_key="wl:apt28",
        document_id=original.id)])
    _, admin = users.create_token(store, users.add_user(store, "ana", "admin"))
    _, reader = users.create_token(store, users.add_user(store, "rita", "reader"))
    app = create_app(settings, store=store)
    with TestClient(app) as client:
        yield World(store, client, {"Authorization": f"Bearer {admin}"},
                    {"Authorization": f"Bearer {reader}"}, original, copy, other, red,
                    alert_id)
