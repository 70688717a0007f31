"""Watchlists in headless Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright), on
the hostile workspace of ``tests/web/conftest.py``: a person creates a watchlist through the
form, finds it on its own page, adds and removes a term, disables it and deletes it, and
reads the documents the hostile watchlist matched — with the XSS trap of
``test_browser.py`` proving nothing ingested or typed ran. Screenshots go to
``test-artifacts/`` (watchlists.png, watchlist.png) for a person to look at."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest

from allsource.assess import watchlists as wl
from tests.web.conftest import HOSTILE_WATCHLIST, Workspace
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


def test_a_watchlist_from_creation_to_deletion(page: object,  # noqa: F811
                                               workspace: Workspace) -> None:
    pg = page
    _login(pg, workspace)
    pg.click("header nav a:text('Watchlists')")  # type: ignore[attr-defined]
    assert pg.get_attribute("header nav a[aria-current]", "href") == "/watchlists"  # type: ignore[attr-defined]
    name = f"<img src=x onerror=\"window.__xss.push('wl')\"> {uuid4().hex[:6]}"
    pg.click("#new-watchlist summary")  # type: ignore[attr-defined]
    pg.fill("#new-name", name)  # type: ignore[attr-defined]
    pg.select_option("#new-severity", "high")  # type: ignore[attr-defined]
    pg.fill("#new-keywords", "beacon\ncobalt strike")  # type: ignore[attr-defined]
    pg.fill("#new-observables", "203.0.113[.]45")  # type: ignore[attr-defined]
    shot(pg, "watchlists.png")
    pg.click("#create-watchlist")  # type: ignore[attr-defined]
    pg.wait_for_url(re.compile(r".*/watchlists/x-allsource-watchlist--"))  # type: ignore[attr-defined]
    assert pg.inner_text("h1") == name  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    terms = pg.inner_text("#terms tbody")  # type: ignore[attr-defined]
    assert "203.0.113.45" in terms and "cobalt strike" in terms
    # add a term, then remove it with its named button
    pg.click("#add-terms summary")  # type: ignore[attr-defined]
    pg.fill("#add-keywords", "sliver")  # type: ignore[attr-defined]
    pg.click("#add-terms-button")  # type: ignore[attr-defined]
    pg.wait_for_selector("#terms td:text-is('sliver')")  # type: ignore[attr-defined]
    pg.click("button[aria-label='Remove the keyword term sliver']")  # type: ignore[attr-defined]
    pg.wait_for_load_state()  # type: ignore[attr-defined]
    assert "sliver" not in pg.inner_text("#terms tbody")  # type: ignore[attr-defined]
    # disable and enable again
    pg.click("#toggle-enabled")  # type: ignore[attr-defined]
    pg.wait_for_selector("#watchlist-state:has-text('off')")  # type: ignore[attr-defined]
    pg.click("#toggle-enabled")  # type: ignore[attr-defined]
    pg.wait_for_selector("#watchlist-state:text-is('on')")  # type: ignore[attr-defined]
    # rename through the settings form
    pg.click("#edit-settings summary")  # type: ignore[attr-defined]
    pg.fill("#edit-name", name + " v2")  # type: ignore[attr-defined]
    pg.click("#save-settings")  # type: ignore[attr-defined]
    pg.wait_for_function(  # type: ignore[attr-defined]
        "document.querySelector('h1').innerText.endsWith(' v2')")
    assert pg.inner_text("h1") == name + " v2"  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    # deleting needs the box ticked (the browser's own check stops the form first)
    pg.click("#delete-watchlist summary")  # type: ignore[attr-defined]
    pg.click("#delete-button")  # type: ignore[attr-defined]
    assert "/watchlists/" in pg.url  # type: ignore[attr-defined]
    pg.check("#confirm-delete")  # type: ignore[attr-defined]
    pg.click("#delete-button")  # type: ignore[attr-defined]
    pg.wait_for_url(re.compile(r".*/watchlists$"))  # type: ignore[attr-defined]
    assert name not in pg.inner_text("#watchlists")  # type: ignore[attr-defined]
    assert wl.get_watchlist(workspace.store, name + " v2") is None


def test_the_documents_a_watchlist_matched(page: object,  # noqa: F811
                                           workspace: Workspace) -> None:
    pg = page
    _login(pg, workspace)
    pg.goto("/watchlists")  # type: ignore[attr-defined]
    row = pg.locator("tr.watchlist", has_text="beacon")  # type: ignore[attr-defined]
    row.locator("td.num a").click()
    pg.wait_for_selector("#hit-documents")  # type: ignore[attr-defined]
    assert pg.inner_text("h1") == HOSTILE_WATCHLIST  # type: ignore[attr-defined]
    assert pg.inner_text("#hit-counts").startswith("1 document(s), 1 hit(s)")  # type: ignore[attr-defined]
    doc = pg.locator("#hit-documents tbody a").first  # type: ignore[attr-defined]
    assert doc.get_attribute("href").startswith("/documents/")
    assert "× 2" in pg.inner_text("#hit-documents tbody")  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    shot(pg, "watchlist.png")
    doc.click()
    pg.wait_for_selector("#doc-text")  # type: ignore[attr-defined]


def test_early_warning_and_source_pages(page: object,  # noqa: F811
                                        workspace: Workspace) -> None:
    """The early-warning chart of a series with its legend and table; a document's source
    opens its page, whose grade history (or the reason there is none) is shown."""
    from allsource.model.ids import source_id

    pg = page
    _login(pg, workspace)
    pg.click("header nav a:text('Early warning')")  # type: ignore[attr-defined]
    pg.wait_for_selector("#warnings")  # type: ignore[attr-defined]
    pg.goto(f"/warnings?key=source:{source_id('xss-desk')}")  # type: ignore[attr-defined]
    pg.wait_for_selector("#warning-chart svg rect.bar")  # type: ignore[attr-defined]
    assert pg.locator(".chart-legend li").count() == 4  # type: ignore[attr-defined]
    pg.click("#series-table summary")  # type: ignore[attr-defined]
    assert pg.locator("#series-table tbody tr").count() >= 1  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    shot(pg, "warnings.png")
    doc = next(i for title, i in workspace.docs.items() if title.startswith("Template inj"))
    pg.goto(f"/documents/{doc}")  # type: ignore[attr-defined]
    pg.click("a[href='/sources/xss-desk']")  # type: ignore[attr-defined]
    pg.wait_for_selector("#grade-history")  # type: ignore[attr-defined]
    assert pg.inner_text("h1") == "xss-desk"  # type: ignore[attr-defined]
    assert pg.locator("#reliability strong").inner_text() in "ABCDEF"  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    shot(pg, "source.png")
