"""The search page and the start page in headless Chromium, over the web workspace's hostile
documents: the start page's stories, alerts and watchlist hits; a facet chosen by its country
name recounts the other facets; newest-first order; a syntax hint whose "did you mean" link
searches the query meant; an entity card for a query naming an entity, with the names added
said on the page; and search by meaning with a score per result. Every page is checked for
injected script, and a screenshot of each is written to ``test-artifacts/``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse
from uuid import uuid4

import pytest

from allsource.store import schema as t
from tests.web.conftest import HOSTILE_ACTOR, Workspace
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


def _query(pg: object) -> dict[str, list[str]]:
    return parse_qs(urlparse(pg.url).query)  # type: ignore[attr-defined]


def test_start_page(page: object, workspace: Workspace) -> None:  # noqa: F811
    pg = page
    _login(pg, workspace)
    pg.goto("/")  # type: ignore[attr-defined]
    assert pg.inner_text("h1") == "Search and what is new"  # type: ignore[attr-defined]
    stories = pg.locator("ul.recent li a").all_inner_texts()  # type: ignore[attr-defined]
    assert any("{{7*7}}" in s for s in stories)  # hostile titles shown as text
    alerts = pg.locator("ul.start-alerts li a").all_inner_texts()  # type: ignore[attr-defined]
    assert any("C2 seen" in a for a in alerts)
    assert pg.locator("ul.start-hits li a").count() >= 1  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    shot(pg, "search-start.png")
    pg.click("ul.recent li a >> nth=0")  # type: ignore[attr-defined]
    pg.wait_for_url(re.compile(r".*/documents/"))  # type: ignore[attr-defined]
    assert pg.errors == []  # type: ignore[attr-defined]


def test_facets_follow_the_selection(page: object, workspace: Workspace) -> None:  # noqa: F811
    pg = page
    _login(pg, workspace)
    pg.fill("#q", "javascript OR script OR firewalls")  # type: ignore[attr-defined]
    pg.click("#search")  # type: ignore[attr-defined]
    pg.wait_for_selector("li.story")  # type: ignore[attr-defined]

    def counts(facet: str) -> dict[str, int]:
        rows = pg.locator(f'section[data-facet="{facet}"] li a').all_inner_texts()  # type: ignore[attr-defined]
        out = {}
        for row in rows:
            found = re.match(r"(.*?)\s+(\d+)(?:\s+✕)?$", row.strip())
            assert found, row
            out[found.group(1)] = int(found.group(2))
        return out

    before = counts("credibility")
    countries = counts("country")
    assert {"Ukraine", "Poland"} <= set(countries)  # names, not ISO codes
    shot(pg, "search-results.png")
    pg.click('section[data-facet="country"] a:has-text("Ukraine")')  # type: ignore[attr-defined]
    pg.wait_for_selector('section[data-facet="country"] li.chosen')  # type: ignore[attr-defined]
    assert _query(pg)["country"] == ["UA"]
    after = counts("credibility")
    # one document is about Ukraine, graded 2: the grade facet now counts just it
    assert after == {"2 probably true": 1} and after != before
    assert counts("country")["Poland"] == countries["Poland"]  # alternatives stay offered
    summary = pg.inner_text("p.summary")  # type: ignore[attr-defined]
    assert summary.startswith("1 matching documents among the best 500")
    _assert_nothing_ran(pg, workspace.base_url)
    shot(pg, "search-facet-chosen.png")
    assert pg.errors == []  # type: ignore[attr-defined]


def test_newest_first_and_syntax_hint(page: object, workspace: Workspace) -> None:  # noqa: F811
    pg = page
    _login(pg, workspace)
    pg.fill("#q", "javascript OR script OR firewalls")  # type: ignore[attr-defined]
    pg.select_option("#sort", "date")  # type: ignore[attr-defined]
    pg.click("#search")  # type: ignore[attr-defined]
    pg.wait_for_selector("li.story")  # type: ignore[attr-defined]
    assert _query(pg)["sort"] == ["date"]
    stamps = [re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", m) for m in  # type: ignore[attr-defined]
              pg.locator("li.story > span.meta").all_inner_texts()]  # type: ignore[attr-defined]
    dates = [datetime.strptime(s.group(), "%Y-%m-%d %H:%M") for s in stamps if s]
    assert len(dates) >= 2 and dates == sorted(dates, reverse=True)
    assert "newest first" in pg.inner_text("p.summary")  # type: ignore[attr-defined]
    pg.fill("#q", "firewalls or javascript")  # type: ignore[attr-defined]
    pg.click("#search")  # type: ignore[attr-defined]
    pg.wait_for_selector("div.hint")  # type: ignore[attr-defined]
    assert "did you mean OR?" in pg.inner_text("div.hint")  # type: ignore[attr-defined]
    shot(pg, "search-hint.png")
    pg.click("a.suggestion")  # type: ignore[attr-defined]
    pg.wait_for_selector("li.story")  # type: ignore[attr-defined]
    assert _query(pg)["q"] == ["firewalls OR javascript"]
    assert pg.locator("div.hint").count() == 0  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    assert pg.errors == []  # type: ignore[attr-defined]


def test_entity_card_and_semantic_scores(page: object, workspace: Workspace) -> None:  # noqa: F811
    pg = page
    _login(pg, workspace)
    actor = workspace.entities["actor"]
    alias_id = f"x-allsource-alias--{uuid4()}"
    with workspace.store.engine.begin() as conn:  # a name of the hostile actor to search
        conn.execute(t.alias_statements.insert().values(
            id=alias_id, entity_id=actor, entity_name=HOSTILE_ACTOR,
            entity_type="intrusion-set", alias="Quiet Harbor", alias_key="quiet harbor",
            member_id=actor, other_id="", basis="alias", provenance="test",
            origin="gazetteer", status="active", reason="",
            created_at=datetime.now(UTC).replace(tzinfo=None), created_by="test"))
    try:
        _entity_card(pg, workspace, actor)
    finally:  # the workspace is shared: the entity page's tests count its aliases
        with workspace.store.engine.begin() as conn:
            conn.execute(t.alias_statements.delete().where(t.alias_statements.c.id == alias_id))
    _semantic_scores(pg, workspace)


def _entity_card(pg: object, workspace: Workspace, actor: str) -> None:
    pg.goto("/search?q=Quiet+Harbor")  # type: ignore[attr-defined]
    pg.wait_for_selector("section.entity-card")  # type: ignore[attr-defined]
    card = pg.inner_text("section.entity-card h2")  # type: ignore[attr-defined]
    assert HOSTILE_ACTOR in card  # the entity's name, shown as text
    href = pg.get_attribute("section.entity-card h2 a", "href")  # type: ignore[attr-defined]
    assert href == f"/objects/{actor}"
    assert "Quiet Harbor" in pg.inner_text("section.entity-card")  # type: ignore[attr-defined]
    _assert_nothing_ran(pg, workspace.base_url)
    shot(pg, "search-entity-card.png")


def _semantic_scores(pg: object, workspace: Workspace) -> None:
    from allsource.analyze.semantic import index_embeddings

    index_embeddings(workspace.store)
    pg.goto("/search?q=firewall+rules+and+network+filtering&mode=semantic")  # type: ignore[attr-defined]
    pg.wait_for_selector("p.summary")  # type: ignore[attr-defined]
    assert "at similarity 0.35 or more" in pg.inner_text("p.summary")  # type: ignore[attr-defined]
    scores = [float(s.split()[-1]) for s in
              pg.locator("li.story .score").all_inner_texts()]  # type: ignore[attr-defined]
    assert scores and all(s >= 0.35 for s in scores) and scores == sorted(scores, reverse=True)
    _assert_nothing_ran(pg, workspace.base_url)
    shot(pg, "search-semantic.png")
    assert pg.errors == []  # type: ignore[attr-defined]
