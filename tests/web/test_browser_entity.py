"""The entity overview and the document page in headless Chromium (Debian's
``/usr/bin/chromium`` driven by Playwright), over the hostile workspace of
``tests/web/conftest.py``: names instead of ids, relationships by group, the ATT&CK matrix,
the server-drawn chart, links to the timeline and map filtered to the entity, the alias
statements behind a disclosure, and a document's grade with its lists — with the XSS trap of
``test_browser.py`` proving nothing ingested ran. Each test writes a full-page screenshot to
``test-artifacts/`` (entity-overview.png, entity-document.png) whether it passes or fails,
for a person to look at."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import HOSTILE_ACTOR, HOSTILE_MALWARE, Workspace
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    CHROMIUM,
    _assert_nothing_ran,
    _login,
    browser,
    page,
    shot,
)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed")
STIX_ID = re.compile(r"\b[a-z][a-z0-9-]*--[0-9a-f]{8}-[0-9a-f]{4}-")


def _visible_ids(pg: object) -> list[str]:
    """STIX ids a person can read on the page (the "copy id" detail aside)."""
    text: str = pg.evaluate(  # type: ignore[attr-defined]
        "(() => { const m = document.querySelector('main').cloneNode(true);"
        " m.querySelectorAll('details.copy-id').forEach(d => d.remove());"
        " return m.innerText; })()")
    return STIX_ID.findall(text)


def test_entity_overview_by_name(page: object, workspace: Workspace) -> None:  # noqa: F811
    pg = page
    _login(pg, workspace)
    actor, malware = workspace.entities["actor"], workspace.entities["malware"]
    pg.goto(f"/objects/{actor}")  # type: ignore[attr-defined]
    assert pg.inner_text("h1") == HOSTILE_ACTOR  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    assert _visible_ids(pg) == []
    # the id is there to copy, one click away
    pg.click("details.copy-id summary")  # type: ignore[attr-defined]
    assert pg.inner_text("details.copy-id code.id") == actor  # type: ignore[attr-defined]
    # relationships grouped, the other end by name; the group opens by default
    group = pg.locator("details.rel-group", has_text="uses · malware")  # type: ignore[attr-defined]
    assert group.get_attribute("open") is not None
    assert HOSTILE_MALWARE in group.locator("table").inner_text()
    # the techniques in the matrix under their tactic column
    assert pg.locator("#techniques .tactic").count() >= 1  # type: ignore[attr-defined]
    # the chart: one bar per month with its figure, a named link to its documents
    bars = pg.locator("#mention-chart svg rect.bar")  # type: ignore[attr-defined]
    assert bars.count() >= 1
    first_bar = pg.evaluate(  # type: ignore[attr-defined]
        "document.querySelector('#mention-chart rect.bar title').textContent")
    assert re.fullmatch(r"[A-Z][a-z]+ \d{4}: \d+ document\(s\)", first_bar)
    link = pg.locator("#mention-chart svg a").first  # type: ignore[attr-defined]
    assert "/timeline/documents?" in link.get_attribute("href")
    assert link.get_attribute("aria-label") == first_bar
    # alias statements are behind a disclosure
    statements = pg.locator("#aliases details table")  # type: ignore[attr-defined]
    assert not statements.is_visible()
    pg.click("#aliases details summary")  # type: ignore[attr-defined]
    assert statements.is_visible()
    shot(pg, "entity-overview.png")
    # nothing widens the page at 1,280 px (the matrix scrolls inside its own box)
    assert pg.evaluate("document.documentElement.scrollWidth") == 1280  # type: ignore[attr-defined]
    # the timeline and map links are filtered to the entity
    assert pg.get_attribute("#timeline-link", "href") == f"/timeline?entity={actor}"  # type: ignore[attr-defined]
    assert pg.get_attribute("#map-link", "href") == f"/map?entity={actor}"  # type: ignore[attr-defined]
    pg.click("#timeline-link")  # type: ignore[attr-defined]
    pg.wait_for_url(re.compile(r".*/timeline\?entity="))  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url, drawn=1)  # the timeline's chart
    # a linked name leads to that entity's page
    pg.go_back()  # type: ignore[attr-defined]
    group = pg.locator("details.rel-group", has_text="uses · malware")  # type: ignore[attr-defined]
    group.locator("a", has_text=HOSTILE_MALWARE).click()
    pg.wait_for_url(re.compile(r".*/objects/malware--"))  # type: ignore[attr-defined]
    assert pg.url.endswith(malware)  # type: ignore[attr-defined]
    assert pg.inner_text("h1") == HOSTILE_MALWARE  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    assert _visible_ids(pg) == []
    assert pg.errors == []  # type: ignore[attr-defined]


def test_document_page_grade_mentions_and_original(
        page: object, workspace: Workspace) -> None:  # noqa: F811
    pg = page
    _login(pg, workspace)
    doc = next(i for t, i in workspace.docs.items() if t.endswith("Script tag in a title"))
    pg.goto(f"/documents/{doc}")  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    assert _visible_ids(pg) == []
    # graded B2 in the fixture: the line and the (empty) lists under it agree
    line = pg.inner_text("#grade p.admiralty")  # type: ignore[attr-defined]
    assert line.startswith("B2") and "0 corroborating and 0 contradicting" in line
    assert pg.locator("#corroborating li.empty").count() == 1  # type: ignore[attr-defined]
    # each entity once, with its mention count
    names = pg.locator("#mentions > ul > li > a").all_inner_texts()  # type: ignore[attr-defined]
    assert len(names) == len(set(names)) and HOSTILE_ACTOR in names
    shot(pg, "entity-document.png")
    # an original URL that is not http(s) is text, not a link
    js_doc = workspace.docs["Links: javascript URL"]
    pg.goto(f"/documents/{js_doc}")  # type: ignore[attr-defined]
    assert pg.locator("dd.url a").count() == 0  # type: ignore[attr-defined]
    assert "no report date" in pg.inner_text("dl.meta")  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    assert pg.errors == []  # type: ignore[attr-defined]
