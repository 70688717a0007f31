"""The API over an encrypted store (SQLite and PostgreSQL): alerts, their detail and triage,
and case evidence read back exactly as written, while the rows that quote the document hold
only sealed tokens (see "Encryption at rest" in the README)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from allsource.api.app import create_app
from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
from allsource.config import Settings
from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Document, Source
from allsource.store import users
from allsource.store.sql import SqlStore

TITLE = "Minister met the courier at the old harbour"


@pytest.fixture
def client(sealed_store: SqlStore, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store=sealed_store)) as c:
        yield c


def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def _raw(store: SqlStore, sql: str) -> list[str]:
    with store.engine.connect() as conn:
        return [str(v) for v in conn.execute(sa.text(sql)).scalars()]


def test_alerts_and_case_evidence_read_back_through_the_api(
        client: TestClient, sealed_store: SqlStore) -> None:
    store = sealed_store
    src = Source("desk", "files", "x")
    store.add_source(src)
    doc = Document.build(kind="article", title=TITLE, text=TITLE + ", sources said.",
                         marking=Marking(tlp=TLP.AMBER))
    store.write_batch(src, [Collected(doc)], [], None)
    [alert_id] = raise_alerts(store, [AlertDraft(
        kind="watchlist", severity=Severity.HIGH, title=f"wl: courier in “{TITLE}”",
        group_key="watchlist:w", document_id=doc.id,
        details={"hits": [{"matched": "courier"}]})])
    _, secret = users.create_token(store, users.add_user(store, "ana", "admin"))
    ana = {"Authorization": f"Bearer {secret}"}

    [listed] = _ok(client.get("/api/v1/alerts", headers=ana))["items"]
    assert listed["title"] == f"wl: courier in “{TITLE}”"
    acked = _ok(client.post(f"/api/v1/alerts/{alert_id}/ack", headers=ana,
                            json={"comment": f"read {TITLE}"}))
    assert [e["comment"] for e in acked["events"]] == [listed["title"], f"read {TITLE}"]
    assert acked["hits"][0]["title"] == listed["title"]
    assert acked["details"] == {"hits": [{"matched": "courier"}]}

    case = _ok(client.post("/api/v1/cases", headers=ana,
                           json={"title": "Harbour", "tlp": "amber"}), 201)
    _ok(client.post(f"/api/v1/cases/{case['id']}/evidence", headers=ana,
                    json={"document_id": doc.id}), 201)
    detail = _ok(client.get(f"/api/v1/cases/{case['id']}", headers=ana))
    assert [e["description"] for e in detail["evidence"]] == [TITLE]

    for sql in ("SELECT title FROM alerts", "SELECT title FROM alert_hits",
                "SELECT comment FROM alert_events", "SELECT description FROM case_evidence"):
        values = _raw(store, sql)
        assert values and all(v.startswith("as1.") and "courier" not in v for v in values)
