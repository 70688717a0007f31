"""A source's page (``web/source_pages.py``): its grade as the reader may see it and its
grade history; a source above the reader answers like a missing one."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import httpx
import pytest

from allsource.model.markings import TLP, Marking
from allsource.model.records import Source
from allsource.store import users
from tests.web.conftest import Workspace
from tests.web.test_pages import _client, _login, _no_raw


@pytest.fixture
def admin(workspace: Workspace) -> Iterator[httpx.Client]:
    with _client(workspace) as c:
        _login(c, workspace.admin_token)
        yield c


def test_a_source_page(admin: httpx.Client, workspace: Workspace) -> None:
    page = admin.get("/sources/xss-desk").text
    _no_raw(page)
    assert "<h1>xss-desk</h1>" in page and 'id="reliability"' in page
    assert 'href="/timeline?source=xss-desk"' in page
    # the chart, or the reason there is none
    assert 'id="grade-chart"' in page or "No dated report of this source" in page
    assert admin.get("/sources/no-such-source").status_code == 404
    # the document page links its sources here
    doc = next(i for title, i in workspace.docs.items() if title.startswith("Template inj"))
    assert 'href="/sources/xss-desk"' in admin.get(f"/documents/{doc}").text


def test_a_source_above_the_reader_is_missing(workspace: Workspace) -> None:
    name = f"amber-src-{uuid4().hex[:6]}"
    workspace.store.add_source(Source(name=name, kind="files", location="/tmp/x",
                                      marking=Marking(tlp=TLP.AMBER)))
    analyst = users.add_user(workspace.store, f"g-{uuid4().hex[:6]}", "analyst",
                             max_tlp=TLP.GREEN)
    _, token = users.create_token(workspace.store, analyst)
    with _client(workspace) as c:
        _login(c, token)
        r = c.get(f"/sources/{name}")
        assert r.status_code == 404 and name not in r.text
