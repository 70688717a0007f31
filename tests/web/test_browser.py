"""End to end in headless Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright): log
in with a token, search, open a document, acknowledge an alert — over documents full of XSS
payloads, with a ``window.__xss`` trap and a dialog handler proving that none of them ran. A
failing test leaves a screenshot in ``test-artifacts/`` (and in its tmp_path)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from allsource.store import credentials, throttle, users
from tests.web.conftest import HOSTILE_MALWARE, Workspace

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TRAP = "window.__xss = []; window.__xssNav = false;"
PASSWORD = "plover tandem quietly orchid"

if not CHROMIUM.exists() and os.environ.get("ALLSOURCE_REQUIRE_BROWSER") == "1":
    # make test / CI install chromium (scripts/ensure-chromium.sh): missing is a failure there
    raise RuntimeError("Debian chromium is not installed (run scripts/ensure-chromium.sh)")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox", "--disable-gpu",
                                    "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest, tmp_path: Path,
         workspace: Workspace) -> Iterator[object]:
    context = browser.new_context(base_url=workspace.base_url)  # type: ignore[attr-defined]
    pg = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: object) -> None:
        dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    pg.on("dialog", on_dialog)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.add_init_script(TRAP)
    pg.dialogs, pg.errors = dialogs, errors
    yield pg
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shot = tmp_path / f"{request.node.name}.png"
        pg.screenshot(path=str(shot), full_page=True)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(shot, ARTIFACTS / shot.name)
    context.close()


def shot(pg: object, name: str, *, wide: bool = True) -> Path:
    """A full-page screenshot in ``test-artifacts/`` for a person to look at; ``wide``: at
    1280×900 first (the size the pages are reviewed at)."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / name
    if wide:
        pg.set_viewport_size({"width": 1280, "height": 900})  # type: ignore[attr-defined]
    pg.screenshot(path=str(target), full_page=True)  # type: ignore[attr-defined]
    return target


def _assert_nothing_ran(pg: object, base_url: str, drawn: int = 0) -> None:
    """``drawn``: how many SVGs our own scripts drew (``.drawing > svg.drawn``); any other
    is injected."""
    assert pg.dialogs == []  # type: ignore[attr-defined]
    assert pg.evaluate("window.__xss") == []  # type: ignore[attr-defined]
    assert pg.url.startswith(base_url)  # type: ignore[attr-defined]  # no location.href hijack
    # no element any payload tried to create exists as an element
    injected = pg.evaluate(  # type: ignore[attr-defined]
        "document.querySelectorAll('main img, main iframe, main math, "
        "main [onerror], main [onload], main [onmouseover], main script, "
        # our one hx-get: the case page's document search for evidence
        "main [hx-get]:not(#evidence-find), "
        "main svg foreignObject, main svg a:not([href^=\"/\"]), main svg a[href^=\"//\"], "
        "main svg svg').length")
    assert injected == 0
    # the entity, early-warning and source pages' charts are drawn by the server, one per
    # page, in their own figure
    own = "#mention-chart > svg.chart-svg, #warning-chart > svg.chart-svg, " \
          "#grade-chart > svg.chart-svg"
    assert pg.evaluate(  # type: ignore[attr-defined]
        f"document.querySelectorAll('{own}').length") <= 1
    svgs = pg.evaluate(  # type: ignore[attr-defined]
        f"[document.querySelectorAll('main svg:not({own})').length, "
        "document.querySelectorAll('main > .drawing > svg.drawn').length]")
    assert svgs == [drawn, drawn]


def _login(pg: object, ws: Workspace) -> None:
    pg.goto("/search")  # type: ignore[attr-defined]
    assert "/login" in pg.url  # type: ignore[attr-defined]
    pg.fill("#token", ws.admin_token)  # type: ignore[attr-defined]
    pg.click("#login")  # type: ignore[attr-defined]
    pg.wait_for_url(re.compile(r".*/search$"))  # type: ignore[attr-defined]


def test_login_search_open_document(page: object, workspace: Workspace) -> None:
    pg = page
    _login(pg, workspace)
    pg.fill("#q", "firewalls")  # type: ignore[attr-defined]
    pg.click("#search")  # type: ignore[attr-defined]
    pg.wait_for_selector("li.story")  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    pg.click("details.variants summary")  # type: ignore[attr-defined]
    variants = pg.locator("details.variants li")  # type: ignore[attr-defined]
    assert variants.count() == 4
    titles = pg.locator("li.story a.title, details.variants a").all_inner_texts()  # type: ignore[attr-defined]
    assert any("<script>window.__xss.push('title-script')</script>" in t for t in titles)
    # open every XSS document, and the hostile feed ones
    for title, doc_id in workspace.docs.items():
        pg.goto(f"/documents/{doc_id}")  # type: ignore[attr-defined]
        shown = pg.inner_text("#doc-title")  # type: ignore[attr-defined]
        assert " ".join(shown.split()) == (" ".join(title.split()) or "(untitled)")
        _assert_nothing_ran(pg, workspace.base_url)
    doc = next(i for t, i in workspace.docs.items() if t.startswith("Template injection"))
    pg.goto(f"/documents/{doc}")  # type: ignore[attr-defined]
    assert "{{7*7}}" in pg.inner_text("#doc-text")  # type: ignore[attr-defined]
    pg.click("#doc-text a.mention.t-ipv4-addr")  # type: ignore[attr-defined]
    pg.wait_for_url(re.compile(r".*/objects/ipv4-addr--"))  # type: ignore[attr-defined]
    assert pg.inner_text("h1") == "203.0.113.45"  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    assert pg.errors == []  # type: ignore[attr-defined]


def test_password_login_lockout_and_unlock(page: object, workspace: Workspace,
                                           tmp_path: Path) -> None:
    """Log in with a user name and password; five wrong passwords lock the account with a
    message saying so, the right one is then refused, and an admin unlock lets it in."""
    store = workspace.store
    pat = users.add_user(store, "pat", "analyst")
    credentials.set_password(store, pat, PASSWORD)
    pg = page
    pg.goto("/search")  # type: ignore[attr-defined]
    assert "/login" in pg.url  # type: ignore[attr-defined]
    for i in range(throttle.ACCOUNT.free):
        pg.fill("#username", "pat")  # type: ignore[attr-defined]
        pg.fill("#password", f"not my password {i}")  # type: ignore[attr-defined]
        pg.click("#login-password")  # type: ignore[attr-defined]
        assert pg.inner_text("#login-error") == "Wrong user name or password."  # type: ignore[attr-defined]
    assert pg.input_value("#username") == "pat"  # type: ignore[attr-defined]
    pg.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    pg.click("#login-password")  # type: ignore[attr-defined]
    message = pg.inner_text("#login-error")  # type: ignore[attr-defined]
    assert message.startswith("Too many failed logins for this account: try again in ")
    pg.screenshot(path=str(tmp_path / "login-locked.png"), full_page=True)  # type: ignore[attr-defined]
    assert throttle.unlock(store, throttle.account_key("pat"))
    pg.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    pg.click("#login-password")  # type: ignore[attr-defined]
    pg.wait_for_url(re.compile(r".*/search$"))  # type: ignore[attr-defined]
    assert pg.inner_text(".who") == "pat (analyst)"  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    assert pg.errors == []  # type: ignore[attr-defined]


def test_acknowledge_an_alert(page: object, workspace: Workspace) -> None:
    pg = page
    _login(pg, workspace)
    pg.goto("/alerts")  # type: ignore[attr-defined]
    short = workspace.alert_ids[0].rsplit("--", 1)[-1][:8]
    row = pg.locator(f"#alert-{short}")  # type: ignore[attr-defined]
    assert "onerror" in row.inner_text()  # shown as text
    _assert_nothing_ran(pg, workspace.base_url, drawn=1)  # the alert-volume chart
    row.locator("button.ack").click()
    # htmx swaps the row in place; without JS the form would post and redirect
    pg.wait_for_selector(f"#alert-{short} td.status:text-is('acknowledged')")  # type: ignore[attr-defined]
    assert row.locator("button.ack").count() == 0
    _assert_nothing_ran(pg, workspace.base_url, drawn=1)
    assert pg.errors == []  # type: ignore[attr-defined]


def test_expand_a_graph(page: object, workspace: Workspace) -> None:
    """Hostile names drawn by the graph explorer stay text (the canvas draws text, and the
    node table gets it through textContent); re-centring and a filter work (the explorer
    itself: tests/web/test_browser_graph.py)."""
    pg = page
    _login(pg, workspace)
    actor, malware = workspace.entities["actor"], workspace.entities["malware"]
    pg.goto(f"/objects/{actor}")  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    pg.click("#graph-link")  # type: ignore[attr-defined]
    pg.wait_for_selector(f'#graph[data-center="{actor}"]')  # type: ignore[attr-defined]
    row = f'#graph-nodes tr[data-id="{malware}"]'
    pg.wait_for_selector(row)  # type: ignore[attr-defined]
    labels = pg.eval_on_selector_all(  # type: ignore[attr-defined]
        "#graph-nodes button.node-name", "els => els.map(e => e.textContent)")
    assert any(t.startswith("<svg onload=") for t in labels)  # names are text
    _assert_nothing_ran(pg, workspace.base_url)
    pg.click(f'{row} button:text-is("Centre")')  # type: ignore[attr-defined]
    pg.wait_for_selector(f'#graph[data-center="{malware}"]')  # type: ignore[attr-defined]
    pg.wait_for_selector(f'#graph-nodes tr[data-id="{actor}"]')  # type: ignore[attr-defined]
    assert pg.inner_text("#graph-title") == HOSTILE_MALWARE  # type: ignore[attr-defined]
    assert pg.url.endswith(f"/graph/{malware}")  # type: ignore[attr-defined]
    ids = pg.eval_on_selector_all(  # type: ignore[attr-defined]
        "#graph-nodes tbody tr", "els => els.map(e => e.getAttribute('data-id'))")
    assert actor in ids and workspace.entities["ip"] in ids
    _assert_nothing_ran(pg, workspace.base_url)
    # a filter that leaves no evidence: only the centre remains
    pg.fill("input[name=until]", "1990-01-01")  # type: ignore[attr-defined]
    pg.click("#graph-filters button")  # type: ignore[attr-defined]
    pg.wait_for_url(re.compile(r".*until=1990-01-01"))  # type: ignore[attr-defined]
    pg.wait_for_selector(f'#graph[data-center="{malware}"][aria-busy="false"]')  # type: ignore[attr-defined]
    assert pg.locator("#graph-nodes tbody tr").count() == 1  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    assert pg.errors == []  # type: ignore[attr-defined]


def test_map_draws_places(page: object, workspace: Workspace) -> None:
    pg = page
    _login(pg, workspace)
    pg.goto("/map")  # type: ignore[attr-defined]
    place = workspace.entities["place"]
    pg.wait_for_selector(f'#map svg circle.place[data-id="{place}"]')  # type: ignore[attr-defined]
    assert pg.locator("#map svg path.country").count() > 100  # type: ignore[attr-defined]
    assert "Kyiv" in pg.text_content("#places")  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url, drawn=1)
    assert pg.errors == []  # type: ignore[attr-defined]


def test_build_an_ach_matrix(page: object, workspace: Workspace) -> None:
    pg = page
    _login(pg, workspace)
    pg.goto("/cases")  # type: ignore[attr-defined]
    pg.fill("#case-title", "<img src=x onerror=\"window.__xss.push('case')\">Who?")  # type: ignore[attr-defined]
    pg.click("#create-case")  # type: ignore[attr-defined]
    pg.wait_for_url(re.compile(r".*/cases/[^/]+$"))  # type: ignore[attr-defined]
    assert pg.inner_text("#case-name").startswith("<img src=x")  # type: ignore[attr-defined]
    for title in ("<script>window.__xss.push('h1')</script>State actor", "Criminal group"):
        pg.fill("#hypothesis-title", title)  # type: ignore[attr-defined]
        pg.click("#add-hypothesis button")  # type: ignore[attr-defined]
        pg.wait_for_selector(f"#hyp-H{1 if 'State' in title else 2}")  # type: ignore[attr-defined]
    # evidence: the document is picked from a search, not pasted as an id
    doc = workspace.docs["Links: javascript URL"]
    pg.fill("#evidence-find", "javascript URL")  # type: ignore[attr-defined]
    choice = f'#evidence-choices input[value="{doc}"]'
    pg.wait_for_selector(choice)  # type: ignore[attr-defined]
    pg.check(choice)  # type: ignore[attr-defined]
    pg.click("#add-evidence button")  # type: ignore[attr-defined]
    pg.wait_for_selector("#ev-E1")  # type: ignore[attr-defined]
    assert pg.get_attribute("#ev-E1 a", "href") == f"/documents/{doc}"  # type: ignore[attr-defined]
    # a rating applies as soon as it is chosen
    cell = '[data-cell="E1-H1"]'
    pg.select_option(f"{cell} select", "II")  # type: ignore[attr-defined]
    pg.wait_for_selector(f"{cell}.r-II")  # type: ignore[attr-defined]
    assert pg.inner_text("#score-H2").startswith("0.00")  # type: ignore[attr-defined]
    assert not pg.inner_text("#score-H1").startswith("0.00")  # type: ignore[attr-defined]
    assert "Most likely: H2" in pg.inner_text("#matrix-summary")  # type: ignore[attr-defined]
    assert "<script>" in pg.inner_text("#hyp-H1")  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    # closed, the case takes no changes; its history says who did what, in words
    pg.click("#case-status button")  # type: ignore[attr-defined]
    pg.wait_for_selector("#case-status input[value=open]", state="attached")  # type: ignore[attr-defined]
    assert pg.locator("#add-evidence").count() == 0  # type: ignore[attr-defined]
    history = pg.inner_text("#history")  # type: ignore[attr-defined]
    assert "closed the case" in history and "rated E1" in history and "against H1" in history
    assert "added evidence E1" in history and "--" not in history  # names, no ids
    pg.click("#case-status button")  # type: ignore[attr-defined]
    pg.wait_for_selector("#add-evidence")  # type: ignore[attr-defined]
    assert "reopened the case" in pg.inner_text("#history")  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    assert pg.errors == []  # type: ignore[attr-defined]


def test_the_trap_catches_a_payload_that_runs(page: object, workspace: Workspace) -> None:
    """Control: injected unescaped into a page without our Content-Security-Policy, a payload
    runs and the trap sees it — so the checks above can fail; injected the same way into one
    of our pages, the CSP stops it."""
    pg = page
    payload = "<main><img src=x onerror=\"window.__xss.push('ran')\"></main>"
    pg.goto("about:blank")  # type: ignore[attr-defined]
    pg.set_content(payload)  # type: ignore[attr-defined]
    pg.wait_for_function("window.__xss && window.__xss.length > 0",  # type: ignore[attr-defined]
                         timeout=5000)
    assert pg.evaluate("window.__xss") == ["ran"]  # type: ignore[attr-defined]
    pg.goto("/login")  # type: ignore[attr-defined]
    pg.evaluate(f"document.body.innerHTML = {payload!r}")  # type: ignore[attr-defined]
    pg.wait_for_timeout(500)  # type: ignore[attr-defined]
    assert pg.evaluate("window.__xss") == []  # type: ignore[attr-defined]
