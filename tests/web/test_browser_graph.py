"""The graph explorer, over HTTP and in headless Chromium: the JSON route and the STIX export
never hand a reader what they may not read; clusters open page by page; in the browser the
legend is drawn, a node is reached and expanded by keyboard, Back returns to the previous
centre, and PNG, SVG and STIX exports download valid files.

The fixture adds a small world of its own to the session workspace: a hub intrusion set with
three malware, one of them TLP:AMBER (hidden from the reader, who reads up to GREEN) and one
reached through a TLP:AMBER relationship, and 70 tools, more than the page's node budget, so
the tools become a cluster."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import orjson
import pytest
from stix2validator import ValidationOptions, validate_parsed_json

from allsource.model.markings import TLP, Marking
from allsource.store import schema as t
from allsource.web.routes import GRAPH_MAX_NODES, GRAPH_PAGE
from tests.web import test_browser
from tests.web.conftest import Workspace
from tests.web.test_browser import CHROMIUM, _assert_nothing_ran, _login

# the browser fixtures of test_browser.py, shared
browser = test_browser.browser
page = test_browser.page

TOOLS = 70


def _object(conn: Any, kind: str, name: str, marking: Marking, now: datetime) -> str:
    oid = f"{kind}--{uuid4()}"
    conn.execute(t.objects.insert().values(id=oid, type=kind, name=name,
                                           stix={"id": oid, "type": kind, "name": name},
                                           created_at=now, **marking.to_columns()))
    return oid


def _link(conn: Any, src: str, rtype: str, dst: str, marking: Marking, now: datetime) -> str:
    rid = f"relationship--{uuid4()}"
    conn.execute(t.relationships.insert().values(
        id=rid, relationship_type=rtype, source_ref=src, target_ref=dst, stix={},
        created_at=now, **marking.to_columns()))
    return rid


@pytest.fixture(scope="module")
def world(workspace: Workspace) -> dict[str, Any]:
    now = datetime.now(UTC).replace(tzinfo=None)
    clear, amber = Marking(), Marking(tlp=TLP.AMBER)
    ids: dict[str, Any] = {}
    with workspace.store.engine.begin() as conn:
        ids["hub"] = _object(conn, "intrusion-set", "Graph hub <b>group</b>", clear, now)
        ids["shown"] = _object(conn, "malware", "Plain loader", clear, now)
        ids["secret"] = _object(conn, "malware", "Secret implant", amber, now)
        ids["via_secret"] = _object(conn, "malware", "Quiet dropper", clear, now)
        ids["far"] = _object(conn, "attack-pattern", "Far technique", clear, now)
        ids["tools"] = [_object(conn, "tool", f"Tool {i:02d}", clear, now)
                        for i in range(TOOLS)]
        _link(conn, ids["hub"], "uses", ids["shown"], clear, now)
        _link(conn, ids["hub"], "uses", ids["secret"], clear, now)  # hidden far end
        _link(conn, ids["hub"], "uses", ids["via_secret"], amber, now)  # hidden relationship
        _link(conn, ids["shown"], "uses", ids["far"], clear, now)
        for tool in ids["tools"]:
            _link(conn, ids["hub"], "uses", tool, clear, now)
    return ids


def _client(ws: Workspace, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ws.base_url, timeout=60, follow_redirects=False) as c:
        r = c.post("/login", data={"token": token, "next": "/search"})
        assert r.status_code == 303, r.text
        yield c


@pytest.fixture
def admin(workspace: Workspace) -> Iterator[httpx.Client]:
    yield from _client(workspace, workspace.admin_token)


@pytest.fixture
def reader(workspace: Workspace) -> Iterator[httpx.Client]:
    yield from _client(workspace, workspace.reader_token)


def _csrf(c: httpx.Client, hub: str) -> str:
    found = re.search(r'data-csrf="([^"]+)"', c.get(f"/graph/{hub}").text)
    assert found
    return found.group(1)


def _valid(bundle: dict[str, Any]) -> None:
    result = validate_parsed_json(bundle, ValidationOptions(version="2.1"))
    results = result if isinstance(result, list) else [result]
    errors = [str(e) for r in results for e in r.errors]
    assert all(r.is_valid for r in results), errors


def test_reader_never_gets_hidden_nodes_from_the_graph_json(
        world: dict[str, Any], admin: httpx.Client, reader: httpx.Client) -> None:
    hub, hidden = world["hub"], (world["secret"], world["via_secret"])
    full = admin.get(f"/graph/{hub}/data")
    assert full.status_code == 200
    shown_to_admin = {n["id"] for n in full.json()["nodes"]}
    assert set(hidden) <= shown_to_admin  # the control: the owner sees both
    seen = reader.get(f"/graph/{hub}/data")
    assert seen.status_code == 200
    for oid in hidden:
        assert oid not in seen.text  # no node, edge, sample member or count names it
    assert "Secret implant" not in seen.text and "Quiet dropper" not in seen.text
    reader_view = seen.json()
    assert reader_view["summary"]["nodes_total"] == full.json()["summary"]["nodes_total"] - 2
    # the malware cluster or members: only the visible one
    page = reader.get(f"/graph/{hub}/data", params={"cluster": "malware"}).json()
    assert [n["id"] for n in page["nodes"][1:]] == [world["shown"]]
    assert page["summary"]["members_total"] == 1
    assert reader.get(f"/graph/{world['secret']}/data").status_code == 404


def test_clusters_open_page_by_page(world: dict[str, Any], admin: httpx.Client) -> None:
    hub = world["hub"]
    view = admin.get(f"/graph/{hub}/data").json()
    assert len(view["nodes"]) <= GRAPH_MAX_NODES and view["summarised"]
    clusters = [n for n in view["nodes"] if n["kind"] == "cluster"]
    assert [c["type"] for c in clusters] == ["tool"]
    singles = {n["id"] for n in view["nodes"] if n["type"] == "tool" and n["kind"] == "object"}
    assert len(singles) + clusters[0]["count"] == TOOLS
    got: list[str] = []
    offset = 0
    while True:
        page = admin.get(f"/graph/{hub}/data",
                         params={"cluster": "tool", "offset": offset}).json()
        members = [n["id"] for n in page["nodes"][1:]]
        assert len(members) <= GRAPH_PAGE
        assert page["nodes"][0]["id"] == hub
        assert {(e["source"], e["target"]) for e in page["edges"]} == {
            (hub, m) for m in members}
        got += members
        offset += page["summary"]["returned"]
        if page["summary"]["left"] == 0:
            break
    assert sorted(got) == sorted(world["tools"])
    assert len(got) == len(set(got)) == page["summary"]["members_total"] == TOOLS
    bad = admin.get(f"/graph/{hub}/data", params={"cluster": "tool", "offset": -1})
    assert bad.status_code == 422


def test_stix_export_holds_only_what_the_reader_may_read(
        world: dict[str, Any], admin: httpx.Client, reader: httpx.Client) -> None:
    hub = world["hub"]
    chosen = [hub, world["shown"], world["secret"], world["via_secret"], world["far"],
              "malware--00000000-0000-4000-8000-000000000000"]
    for client, hidden_ok in ((admin, True), (reader, False)):
        r = client.post("/graph/export/stix", data={"csrf": _csrf(client, hub), "ids": chosen})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/stix+json")
        assert "attachment" in r.headers["content-disposition"]
        bundle = r.json()
        _valid(bundle)
        ids = {o["id"] for o in bundle["objects"]}
        assert {hub, world["shown"], world["far"]} <= ids
        assert (world["secret"] in ids) is hidden_ok
        assert (world["via_secret"] in ids) is True  # the object itself is CLEAR
        rels = {(o["source_ref"], o["target_ref"]) for o in bundle["objects"]
                if o["type"] == "relationship"}
        assert (hub, world["shown"]) in rels and (world["shown"], world["far"]) in rels
        assert ((hub, world["secret"]) in rels) is hidden_ok
        assert ((hub, world["via_secret"]) in rels) is hidden_ok
        if not hidden_ok:
            assert "Secret implant" not in r.text
    # without the session's CSRF token the export is refused
    r = reader.post("/graph/export/stix", data={"csrf": "nope", "ids": [hub]})
    assert r.status_code == 403


def test_graph_start_finds_by_name_and_the_navigation_marks_it(
        world: dict[str, Any], admin: httpx.Client, reader: httpx.Client) -> None:
    page = admin.get("/graph", params={"q": "graph hub"}).text
    assert f'href="/graph/{world["hub"]}"' in page
    assert 'href="/graph" aria-current="page"' in page
    assert "Secret implant" not in reader.get("/graph", params={"q": "secret"}).text
    assert "Secret implant" in admin.get("/graph", params={"q": "secret"}).text


# --- in the browser ------------------------------------------------------------------------
needs_browser = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed")

def _rows(pg: Any) -> list[str]:
    return pg.eval_on_selector_all("#graph-nodes tbody tr",
                                   "els => els.map(e => e.getAttribute('data-id'))")


def _until(pg: Any, done: Any, tries: int = 300) -> None:
    """Polls ``done`` (the page's CSP forbids the eval that wait_for_function needs)."""
    for _ in range(tries):
        if pg.evaluate("document.getElementById('graph').getAttribute('aria-busy')") \
                == "false" and done():
            return
        pg.wait_for_timeout(100)
    raise AssertionError("the graph did not reach the expected state")


def _wait_idle(pg: Any, center: str) -> None:
    pg.wait_for_selector(f'#graph[data-center="{center}"][aria-busy="false"]')


@needs_browser
def test_explore_by_keyboard_expand_back_and_export(
        page: Any, world: dict[str, Any], workspace: Workspace, tmp_path: Path) -> None:
    pg = page
    _login(pg, workspace)
    hub, shown = world["hub"], world["shown"]
    pg.goto(f"/graph/{hub}")
    _wait_idle(pg, hub)
    # the legend names each type drawn, with a filter checkbox
    legend = pg.inner_text("#graph-legend")
    assert "Intrusion set" in legend and "Tool" in legend and "Malware" in legend
    assert pg.locator("#graph-legend input[type=checkbox]").count() >= 3
    rows = _rows(pg)
    assert hub in rows and shown in rows and world["far"] not in rows
    assert pg.inner_text("#graph-title") == "Graph hub <b>group</b>"  # text, not markup
    # keyboard: tab from the canvas into the table and select the loader
    pg.focus("#graph")
    for _ in range(400):
        pg.keyboard.press("Tab")
        if pg.evaluate("document.activeElement.classList.contains('node-name') && "
                       f"document.activeElement.closest('tr').dataset.id === {shown!r}"):
            break
    else:
        raise AssertionError("the node's name was not reached by Tab")
    pg.keyboard.press("Enter")
    pg.wait_for_selector(f'#graph-nodes tr.selected[data-id="{shown}"]')
    assert "Plain loader" in pg.inner_text("#graph-selected")
    # expand in place by keyboard: the loader's neighbour joins the drawing
    expand = pg.locator(f'#graph-nodes tr[data-id="{shown}"] button:text-is("Expand")')
    expand.focus()
    pg.keyboard.press("Enter")
    pg.wait_for_selector(f'#graph-nodes tr[data-id="{world["far"]}"]')
    assert "open=n%3A" in pg.url  # the expansion is a step of the URL
    assert pg.locator('#graph-edges tbody tr:has-text("uses")').count() >= 2
    # a cluster opens in place
    cluster = pg.locator('#graph-nodes tr[data-kind="cluster"] button:text-is("Show more")')
    before = len(_rows(pg))
    cluster.first.click()
    pg.wait_for_selector('#graph[aria-busy="false"]')
    opened = len(_rows(pg))
    assert opened > before
    # re-centre, then Back returns to the previous centre with its expansion
    pg.wait_for_selector('#graph[aria-busy="false"]')
    pg.click(f'#graph-nodes tr[data-id="{shown}"] button:text-is("Centre")')
    _wait_idle(pg, shown)
    assert pg.inner_text("#graph-title") == "Plain loader"
    far = f'#graph-nodes tr[data-id="{world["far"]}"]'
    pg.go_back()
    pg.wait_for_selector(far)  # the expansion is replayed
    _wait_idle(pg, hub)
    assert pg.inner_text("#graph-title") == "Graph hub <b>group</b>"
    assert len(_rows(pg)) == opened
    pg.go_back()  # before the cluster was opened
    _until(pg, lambda: len(_rows(pg)) == before)
    assert world["far"] in _rows(pg)
    pg.go_back()  # before the expansion
    pg.wait_for_selector(far, state="detached")
    _wait_idle(pg, hub)
    assert hub in _rows(pg) and world["far"] not in _rows(pg)
    # exports
    with pg.expect_download() as dl:
        pg.click("#graph-export-png")
    png = Path(dl.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    with pg.expect_download() as dl:
        pg.click("#graph-export-svg")
    svg = ET.parse(dl.value.path()).getroot()
    texts = [e.text for e in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "Graph hub <b>group</b>" in texts and "uses" in texts
    pg.click(f'#graph-nodes tr[data-id="{hub}"] input[type=checkbox]')
    pg.click(f'#graph-nodes tr[data-id="{shown}"] input[type=checkbox]')
    with pg.expect_download() as dl:
        pg.click("#graph-export-stix")
    bundle = orjson.loads(Path(dl.value.path()).read_bytes())
    _valid(bundle)
    assert {o["id"] for o in bundle["objects"] if o["type"] != "relationship"} == {hub, shown}
    _assert_nothing_ran(pg, workspace.base_url)
    assert pg.errors == []
    pg.screenshot(path=str(tmp_path / "graph.png"), full_page=True)


@needs_browser
def test_type_filter_hides_nodes_and_rows(page: Any, world: dict[str, Any],
                                          workspace: Workspace) -> None:
    pg = page
    _login(pg, workspace)
    pg.goto(f"/graph/{world['hub']}")
    _wait_idle(pg, world["hub"])
    pg.uncheck('#graph-legend input[data-type="tool"]')
    hidden = pg.eval_on_selector_all(
        '#graph-nodes tbody tr[hidden]', "els => els.map(e => e.getAttribute('data-id'))")
    assert hidden and set(hidden) <= {*world["tools"]} | {
        r for r in _rows(pg) if r.startswith("cl|")}
    assert world["shown"] not in hidden
    assert pg.errors == []
