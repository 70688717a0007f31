"""Alert triage at volume on the web: status counts, filters, the detail page with its trail
and notes, and bulk actions (own alerts, so the shared workspace's stay as they are)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote
from uuid import uuid4

import httpx
import pytest

from allsource.assess import alerts as al
from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Document, Source
from allsource.model.stories import Member
from allsource.store import schema as t
from allsource.store.stories import SqlMemberStore
from tests.web.conftest import Workspace
from tests.web.test_pages import _client, _csrf, _login, _no_raw


@pytest.fixture
def admin(workspace: Workspace) -> Iterator[httpx.Client]:
    with _client(workspace) as c:
        _login(c, workspace.admin_token)
        yield c


def _raise(ws: Workspace, n: int, kind: str = "warning") -> list[str]:
    tag = uuid4().hex[:8]
    return raise_alerts(ws.store, [AlertDraft(
        kind=kind, severity=Severity.LOW, title=f"<b>bulk</b> {tag} {i}",
        group_key=f"{kind}:{tag}:{i}") for i in range(n)])


def test_tabs_count_and_filters_narrow(admin: httpx.Client, workspace: Workspace) -> None:
    _raise(workspace, 2, kind="insider")
    page = admin.get("/alerts").text
    _no_raw(page)
    assert '<figure class="chart drawing" id="alert-volume">' in page
    assert re.search(r'aria-label="Alerts raised per (week|month)"', page)
    counts = dict(re.findall(r">(active|open|acknowledged|closed|all) \((\d+)\)<", page))
    assert set(counts) == {"active", "open", "acknowledged", "closed", "all"}
    assert int(counts["active"]) == int(counts["open"]) + int(counts["acknowledged"])
    insider = admin.get("/alerts", params={"kind": "insider", "status": "all"}).text
    titles = re.findall(r'<td class="title"><a href="/alerts/[^"]+">([^<]*)', insider)
    assert titles and all("bulk" in t for t in titles)
    assert admin.get("/alerts", params={"severity": "bogus"}).status_code == 422


def test_detail_page_trail_and_notes(admin: httpx.Client, workspace: Workspace) -> None:
    first = workspace.alert_ids[0]
    page = admin.get(f"/alerts/{first}").text
    _no_raw(page)
    assert "&lt;img src=x onerror=" in page and 'id="alert-events"' in page
    assert "raised" in page.split('id="alert-events"')[1]
    docs = page.split('id="alert-documents"')[1].split("</ul>")[0]
    assert "Script tag in a title" in docs  # the document by its title, not "1"
    r = admin.post(f"/alerts/{first}/note", data={"csrf": _csrf(page),
                                                   "note": "<i>called</i> the ISP"})
    assert r.status_code == 303
    trail = admin.get(f"/alerts/{first}").text.split('id="alert-events"')[1]
    assert "noted: “&lt;i&gt;called&lt;/i&gt; the ISP”" in trail
    assert admin.get("/alerts/x-allsource-alert--nope").status_code == 404
    with _client(workspace) as reader:
        _login(reader, workspace.reader_token)
        seen = reader.get(f"/alerts/{first}").text
        assert 'id="alert-title"' in seen and 'id="alert-note"' not in seen
        assert reader.post("/alerts/bulk", data={"csrf": _csrf(seen),
                                                 "ids": [first]}).status_code == 403


def test_bulk_acknowledge_close_and_assign(admin: httpx.Client, workspace: Workspace) -> None:
    ids = _raise(workspace, 3)
    page = admin.get("/alerts", params={"kind": "warning"}).text
    csrf = _csrf(page)
    r = admin.post("/alerts/bulk", data={"csrf": csrf, "ids": ids[:2], "action": "ack",
                                         "back": "/alerts?kind=warning"})
    assert r.status_code == 303 and r.headers["location"] == "/alerts?kind=warning"
    assert [al.get_alert(workspace.store, i).status for i in ids] == [  # type: ignore[union-attr]
        "acknowledged", "acknowledged", "open"]
    bad = admin.post("/alerts/bulk", data={"csrf": csrf, "ids": ids, "action": "assign",
                                           "assignee": "nobody-here"})
    assert bad.status_code == 400 and "0 of 3 changed" in bad.text
    ok = admin.post("/alerts/bulk", data={"csrf": csrf, "ids": ids, "action": "assign",
                                          "assignee": "admin", "back": "//evil.example/"})
    assert ok.status_code == 303 and ok.headers["location"] == "/alerts"
    assert {al.get_alert(workspace.store, i).assignee for i in ids} == {"admin"}  # type: ignore[union-attr]
    admin.post("/alerts/bulk", data={"csrf": csrf, "ids": ids, "action": "close"})
    assert {al.get_alert(workspace.store, i).status for i in ids} == {"closed"}  # type: ignore[union-attr]
    assert admin.post("/alerts/bulk", data={"csrf": csrf}).status_code == 400
    assert admin.post("/alerts/bulk", data={"csrf": "nope", "ids": ids}).status_code == 403


def test_a_reader_counts_only_the_hits_they_may_read(workspace: Workspace) -> None:
    """The alert row's "N hit(s)" and the alert page's Hits count and name only the hits
    whose documents the reader may read: here one of two copies of a story was marked
    TLP:RED after the alert was raised (as a rebuild tightens a marking)."""
    store, tag = workspace.store, uuid4().hex[:8]
    src = Source(f"desk-{tag}", "files", "x")
    store.add_source(src)
    docs = [Document.build(kind="article", title=f"{tag} {name}", text=f"{tag} {name} text")
            for name in ("first", "second")]
    store.write_batch(src, [Collected(d) for d in docs], [], None)
    first, second = (d.id for d in docs)
    with store.engine.begin() as conn:
        SqlMemberStore(store, conn).put({first: Member(first, None, 1.0),
                                         second: Member(first, first, 0.9)})
    [alert_id] = set(raise_alerts(store, [AlertDraft(
        kind="watchlist", severity=Severity.CRITICAL, title=f"count {tag}",
        group_key=f"watchlist:{tag}", document_id=d) for d in (first, second)]))
    with store.engine.begin() as conn:
        conn.execute(t.documents.update().where(t.documents.c.id == second)
                     .values(**Marking(tlp=TLP.RED).to_columns()))
    with _client(workspace) as reader, _client(workspace) as admin:
        _login(reader, workspace.reader_token)
        _login(admin, workspace.admin_token)
        for c, hits, named in ((reader, 1, [first]), (admin, 2, [first, second])):
            rows = c.get("/alerts", params={"status": "all", "severity": "critical"}).text
            row = re.search(rf'<tr [^>]*id="alert-{alert_id.rsplit("--", 1)[-1][:8]}">'
                            r"(.*?)</tr>", rows, re.S)
            assert row is not None
            assert f"{hits} hit(s)" in row.group(1)
            assert sorted(re.findall(r'href="/documents/([^"]+)"', row.group(1))) == sorted(
                quote(d, safe="") for d in named)
            page = c.get(f"/alerts/{alert_id}").text
            assert f"<dt>Hits</dt><dd>{hits}</dd>" in page
            assert (second in page) == (hits == 2) and (f"{tag} second" in page) == (hits == 2)
