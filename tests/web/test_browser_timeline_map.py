"""The timeline and the map driven in headless Chromium: a bar opens its documents, the map
shades countries, zooms and pans, and its places are keyboard-reachable links. Screenshots of
both pages go to ``test-artifacts/``."""

from __future__ import annotations

import re

from tests.web import test_browser as _browser
from tests.web.conftest import Workspace
from tests.web.test_browser import _assert_nothing_ran, _login, shot

# the browser tests' fixtures and their skip when Debian chromium is missing
browser, page, pytestmark = _browser.browser, _browser.page, _browser.pytestmark


def test_timeline_bars_open_their_documents(page: object, workspace: Workspace) -> None:
    pg = page
    pg.set_viewport_size({"width": 1280, "height": 900})  # type: ignore[attr-defined]
    _login(pg, workspace)
    pg.goto("/timeline?interval=week")  # type: ignore[attr-defined]
    bars = pg.locator("#timeline svg rect.bar")  # type: ignore[attr-defined]
    assert bars.count() >= 1
    _assert_nothing_ran(pg, workspace.base_url, drawn=1)
    shot(pg, "timeline.png", wide=False)
    label = pg.locator("#timeline svg a").first.get_attribute("aria-label")  # type: ignore[attr-defined]
    assert re.match(r"week of \d+ \w{3} \d{4}: \d+ document\(s\)", label)
    count = int(label.rsplit(": ", 1)[1].split()[0])
    pg.locator("#timeline svg a").first.focus()  # type: ignore[attr-defined]
    pg.keyboard.press("Enter")  # type: ignore[attr-defined]
    pg.wait_for_url(re.compile(r".*/timeline/documents\?.*"))  # type: ignore[attr-defined]
    assert pg.locator("ol.documents > li").count() == min(count, 20)  # type: ignore[attr-defined]
    shot(pg, "timeline-documents.png", wide=False)
    _assert_nothing_ran(pg, workspace.base_url)
    assert pg.errors == []  # type: ignore[attr-defined]


def test_map_shades_zooms_and_links(page: object, workspace: Workspace) -> None:
    pg = page
    pg.set_viewport_size({"width": 1280, "height": 900})  # type: ignore[attr-defined]
    _login(pg, workspace)
    pg.goto("/map")  # type: ignore[attr-defined]
    place = workspace.entities["place"]
    dot = f'#map svg circle.place[data-id="{place}"]'
    pg.wait_for_selector(dot)  # type: ignore[attr-defined]
    # Ukraine is shaded and links to its timeline; Poland (other documents) too
    ukraine = pg.locator('#map svg a[href*="country=UA"] path.country')  # type: ignore[attr-defined]
    assert ukraine.count() == 1 and re.search(r"\bc[0-4]\b", ukraine.get_attribute("class"))
    assert pg.locator("#map-legend .swatch").count() >= 1  # type: ignore[attr-defined]
    assert pg.locator("#places-box").get_attribute("open") is None  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url, drawn=1)
    shot(pg, "map.png", wide=False)
    before = pg.get_attribute("#map svg", "viewBox")  # type: ignore[attr-defined]
    r0 = float(pg.get_attribute(dot, "r"))  # type: ignore[attr-defined]
    pg.click("#map-zoom-in")  # type: ignore[attr-defined]
    after = pg.get_attribute("#map svg", "viewBox")  # type: ignore[attr-defined]
    assert after != before and float(after.split()[2]) == float(before.split()[2]) / 2
    assert float(pg.get_attribute(dot, "r")) < r0  # dots keep their size on screen
    pg.click("#map-reset")  # type: ignore[attr-defined]
    assert pg.get_attribute("#map svg", "viewBox") == "0.00 0.00 960.00 480.00"  # type: ignore[attr-defined]
    link = pg.locator(f'#map svg a[href="/objects/{place}"]')  # type: ignore[attr-defined]
    assert "1 document" in link.get_attribute("aria-label")
    link.focus()
    pg.keyboard.press("Enter")  # type: ignore[attr-defined]
    pg.wait_for_url(re.compile(r".*/objects/.*"))  # type: ignore[attr-defined]
    assert pg.errors == []  # type: ignore[attr-defined]
