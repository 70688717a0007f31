"""The case page's triage parts: close and reopen, the history in words, documents picked
by search for evidence (server-side, with and without htmx)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from allsource.store import cases
from tests.web.conftest import Workspace
from tests.web.test_pages import _client, _csrf, _login, _no_raw


@pytest.fixture
def admin(workspace: Workspace) -> Iterator[httpx.Client]:
    with _client(workspace) as c:
        _login(c, workspace.admin_token)
        yield c


def test_history_close_reopen_and_evidence_search(admin: httpx.Client,
                                                  workspace: Workspace) -> None:
    store = workspace.store
    doc = workspace.docs["Links: javascript URL"]
    case = cases.create_case(store, "Who <b>did</b> it?", owner="admin")
    hyp = cases.add_hypothesis(store, case.id, "State <i>actor</i>", actor="admin")
    ev = cases.add_evidence(store, case.id, actor="admin", document_id=doc)
    cases.set_rating(store, case.id, ev.id, hyp.id, "II", actor="admin")
    page = admin.get(f"/cases/{case.id}").text
    _no_raw(page)
    history = page.split('id="history"')[1]
    assert "rated E1" in history and "against H1 “State &lt;i&gt;actor&lt;/i&gt;” II" in history
    assert "opened the case “Who &lt;b&gt;did&lt;/b&gt; it?”" in history
    assert f'href="/documents/{doc}">the document</a>' in history
    assert not re.search(r">[^<]*(x-allsource-case|hypothesis--|evidence--)", history)

    fragment = admin.get(f"/cases/{case.id}/evidence-search",
                         params={"find": "javascript URL"}).text
    _no_raw(fragment)
    assert fragment.startswith('<fieldset id="evidence-choices"')
    assert f'value="{doc}"' in fragment
    no_js = admin.get(f"/cases/{case.id}", params={"find": "javascript URL"}).text
    assert f'name="document_id" value="{doc}"' in no_js
    nothing = admin.get(f"/cases/{case.id}/evidence-search", params={"find": "zzqqxx"}).text
    assert "No document you may read matches." in nothing
    assert admin.get("/cases/case--nope/evidence-search", params={"find": "x"}).status_code == 404

    closed = admin.post(f"/cases/{case.id}/status",
                        data={"csrf": _csrf(page), "status": "closed"})
    assert closed.status_code == 303
    page = admin.get(f"/cases/{case.id}").text
    assert "Reopen the case" in page and 'id="add-evidence"' not in page
    assert "closed the case" in page.split('id="history"')[1]
    admin.post(f"/cases/{case.id}/status", data={"csrf": _csrf(page), "status": "open"})
    page = admin.get(f"/cases/{case.id}").text
    assert "Close the case" in page and "reopened the case" in page
    # a forged form without the session's token changes nothing
    forged = admin.post(f"/cases/{case.id}/status", data={"csrf": "x", "status": "closed"})
    assert forged.status_code != 303
    assert cases.get_case(store, case.id).status == "open"
