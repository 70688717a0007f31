"""Alert triage at volume on the web: status counts, filters, the detail page with its trail
and notes, and bulk actions (own alerts, so the shared workspace's stay as they are)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from uuid import uuid4

import httpx
import pytest

from allsource.assess import alerts as al
from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
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
