"""WCAG 2.1 AA in the browser: every workspace page, loaded in headless Chromium on the test
workspace and judged by axe-core (the copy bundled with the ``axe-playwright-python``
package of the dev extra, so nothing is fetched at test time), has no violation of serious or
critical impact. Pages that draw with scripts are judged once drawn. axe accepts a placeholder
as an input's name (its ``label`` rule), so a check of our own (:data:`UNLABELLED`) also
fails any visible form control named by nothing but its placeholder: it needs a ``<label>``,
``aria-label``, ``aria-labelledby`` or ``title`` with text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from allsource.assess.watchlists import get_watchlist
from allsource.model.ids import source_id
from allsource.store import cases
from tests.web import test_browser
from tests.web.conftest import HOSTILE_WATCHLIST, Workspace
from tests.web.test_browser import CHROMIUM, _login

# the browser fixtures of test_browser.py, shared
browser = test_browser.browser
page = test_browser.page

axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed")

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")

#: visible form controls with no name but a placeholder (the text after "|" names each)
UNLABELLED = """() => {
  const named = el => {
    const text = n => (n && n.textContent || '').trim();
    if ((el.getAttribute('aria-label') || '').trim()) return true;
    const by = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
    if (by.some(id => text(document.getElementById(id)))) return true;
    if (el.labels && Array.from(el.labels).some(l => text(l))) return true;
    return !!(el.getAttribute('title') || '').trim();
  };
  const skip = ['hidden', 'submit', 'button', 'reset', 'image'];
  return Array.from(document.querySelectorAll('input, select, textarea'))
    .filter(el => !skip.includes((el.type || '').toLowerCase()))
    .filter(el => el.getClientRects().length > 0 || el.closest('details'))
    .filter(el => !named(el))
    .map(el => el.outerHTML.slice(0, 120));
}"""


#: (page id, path template, selector to wait for once the page has drawn)
PAGES = [
    pytest.param("login", "/login", "#token", id="login"),
    pytest.param("search-start", "/search", "#q", id="search-start"),
    pytest.param("search", "/search?q=firewalls", "li.story", id="search"),
    pytest.param("start", "/", "ul.recent", id="start"),
    pytest.param("search-facet", "/search?q=javascript+OR+firewalls&country=UA&sort=date",
                 "li.chosen", id="search-facet"),
    pytest.param("search-hint", "/search?q=firewalls+or+javascript", "div.hint",
                 id="search-hint"),
    pytest.param("search-semantic", "/search?q=network+filtering&mode=semantic",
                 "p.summary", id="search-semantic"),
    pytest.param("graph-start", "/graph?q=a", "#graph-q", id="graph-start"),
    pytest.param("graph", "/graph/{actor}", "#graph-nodes tbody tr", id="graph"),
    pytest.param("cases", "/cases", "h1", id="cases"),
    pytest.param("timeline", "/timeline", "h1", id="timeline"),
    pytest.param("map", "/map", "#map svg", id="map"),
    pytest.param("alerts", "/alerts", "h1", id="alerts"),
    pytest.param("object", "/objects/{actor}", "h1", id="object"),
    pytest.param("document", "/documents/{doc}", "#doc-text", id="document"),
    pytest.param("watchlists", "/watchlists", "h1", id="watchlists"),
    pytest.param("watchlist", "/watchlists/{watchlist}", "#hit-documents", id="watchlist"),
    pytest.param("warnings", "/warnings?key=source:{source}", "#warnings", id="warnings"),
    pytest.param("source", "/sources/xss-desk", "#grade-history", id="source"),
    pytest.param("case", "/cases/{case}", "h1", id="case"),
    pytest.param("case-find", "/cases/{case}?find=javascript", "#evidence-choices", id="case-find"),
    pytest.param("timeline-documents", "/timeline/documents?start={month}&interval=month",
                 "h1", id="timeline-documents"),
    pytest.param("alert", "/alerts/{alert}", "#alert-title", id="alert"),
]


@pytest.fixture(scope="module")
def case_id(workspace: Workspace) -> str:
    return cases.create_case(workspace.store, "Who is behind the C2?", owner="admin",
                             question="Which group runs 203.0.113.45?").id


def _violations(pg: Any) -> list[dict[str, Any]]:
    results = axe_sync.Axe().run(pg, options={
        "runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]})
    return [v for v in results.response["violations"] if v.get("impact") in BLOCKING]


def _describe(found: list[dict[str, Any]]) -> str:
    return "; ".join(f"{v['id']} ({v['impact']}): " + ", ".join(
        str(n.get("target")) for n in v["nodes"][:4]) for v in found)


@pytest.mark.parametrize(("name", "path", "ready"), PAGES)
def test_no_serious_or_critical_violations(page: Any, workspace: Workspace, case_id: str,
                                           name: str, path: str, ready: str) -> None:
    pg = page
    if name != "login":
        _login(pg, workspace)
    doc = next(i for title, i in workspace.docs.items() if title.startswith("Template inj"))
    month = datetime.now(UTC).date().replace(day=1).isoformat()
    watchlist = get_watchlist(workspace.store, HOSTILE_WATCHLIST)
    assert watchlist is not None
    pg.goto(path.format(actor=workspace.entities["actor"], doc=doc, case=case_id, month=month,
                        alert=workspace.alert_ids[0], watchlist=watchlist.id,
                        source=source_id("xss-desk")))
    pg.wait_for_selector(ready)
    found = _violations(pg)
    assert found == [], _describe(found)
    assert pg.evaluate(UNLABELLED) == []
    assert pg.errors == []


def test_the_check_can_fail(page: Any, workspace: Workspace) -> None:
    """Control: a page with an unlabelled input and an empty link is reported."""
    pg = page
    pg.goto("/login")
    pg.evaluate("""() => {
        const main = document.querySelector('main');
        const i = document.createElement('input'); i.type = 'text'; main.appendChild(i);
        const a = document.createElement('a'); a.href = '/x'; main.appendChild(a);
    }""")
    ids = {v["id"] for v in _violations(pg)}
    assert {"label", "link-name"} <= ids


def test_a_placeholder_is_not_a_label(page: Any, workspace: Workspace) -> None:
    """Control of :data:`UNLABELLED`: axe passes an input named only by its placeholder,
    our check does not; a label, even a visually hidden one, satisfies both."""
    pg = page
    pg.goto("/login")
    assert pg.evaluate(UNLABELLED) == []
    pg.evaluate("""() => {
        const main = document.querySelector('main');
        const i = document.createElement('input'); i.type = 'text'; i.id = 'only-ph';
        i.placeholder = 'Why'; main.appendChild(i);
    }""")
    assert "label" not in {v["id"] for v in _violations(pg)}
    assert [html for html in pg.evaluate(UNLABELLED) if 'id="only-ph"' in html]
    pg.evaluate("""() => {
        const l = document.createElement('label'); l.htmlFor = 'only-ph';
        l.className = 'visually-hidden'; l.textContent = 'Why';
        document.querySelector('main').appendChild(l);
    }""")
    assert pg.evaluate(UNLABELLED) == []
