"""The timeline (chart with a real time axis, clickable buckets, report vs collection dates,
entity by name) and the map's data (countries shaded by documents) on the hostile workspace."""

from __future__ import annotations

import html as html_mod
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import httpx
import pytest
import sqlalchemy as sa

from allsource.model.names import alias_key
from allsource.store import schema as t
from tests.web.conftest import HOSTILE_ACTOR, Workspace
from tests.web.test_pages import _client, _login, _no_raw

#: an alias of the workspace's actor that only these tests use (others undo theirs)
ALIAS = "Timeline <b>Owl</b> Group"


def _own_alias(ws: Workspace) -> str:
    actor = ws.entities["actor"]
    with ws.store.engine.begin() as conn:
        if conn.execute(sa.select(t.alias_statements.c.id).where(
                t.alias_statements.c.alias == ALIAS)).first() is None:
            conn.execute(t.alias_statements.insert().values(
                id=f"x-allsource-alias--{uuid4()}", entity_id=actor, entity_name=HOSTILE_ACTOR,
                entity_type="intrusion-set", alias=ALIAS, alias_key=alias_key(ALIAS),
                member_id=actor, other_id="", basis="alias", provenance="test",
                origin="gazetteer", status="active", reason="",
                created_at=datetime.now(UTC).replace(tzinfo=None), created_by="test"))
    return ALIAS


@pytest.fixture
def admin(workspace: Workspace) -> Iterator[httpx.Client]:
    with _client(workspace) as c:
        _login(c, workspace.admin_token)
        yield c


def _bar_links(page: str) -> list[str]:
    return [html_mod.unescape(h) for h in re.findall(
        r'<a href="(/timeline/documents\?[^"]+)" aria-label="[^"]+"><rect class="bar"', page)]


def test_timeline_chart_links_each_bucket_to_its_documents(admin: httpx.Client) -> None:
    page = admin.get("/timeline").text
    _no_raw(page)
    assert '<figure class="chart drawing" id="timeline">' in page
    links = _bar_links(page)
    assert links and all("interval=month" in h and re.search(r"start=\d{4}-\d{2}-01", h)
                         for h in links)
    total = int(re.search(r"([\d,]+) document\(s\) by report date", page)
                .group(1).replace(",", ""))  # type: ignore[union-attr]
    listed = 0
    for href in links:
        docs = admin.get(href)
        assert docs.status_code == 200
        _no_raw(docs.text)
        found = re.search(r"([\d,]+) document\(s\), newest first", docs.text)
        assert found, href
        listed += int(found.group(1).replace(",", ""))
        assert "← back to the timeline" in docs.text
    assert listed == total  # every document is in exactly one bar
    weeks = admin.get("/timeline", params={"interval": "week"}).text
    assert _bar_links(weeks) and all("interval=week" in h for h in _bar_links(weeks))
    # the table view lists every bucket, empty ones included
    assert "As a table" in page
    assert admin.get("/timeline", params={"interval": "year"}).status_code == 422


def test_timeline_entity_by_name_alias_or_id(admin: httpx.Client, workspace: Workspace) -> None:
    actor = workspace.entities["actor"]
    by_id = admin.get("/timeline", params={"entity": actor}).text
    _no_raw(by_id)
    assert "1 document(s)" in by_id and "&lt;img src=x onerror=" in by_id
    by_alias = admin.get("/timeline", params={"entity": _own_alias(workspace).upper()}).text
    _no_raw(by_alias)
    assert "1 document(s)" in by_alias and f'href="/objects/{actor}"' in by_alias
    assert all(f"entity={actor}" in h for h in _bar_links(by_alias))
    for missing in ("no such thing", "intrusion-set--00000000-0000-4000-8000-000000000000"):
        r = admin.get("/timeline", params={"entity": missing})
        assert r.status_code == 200 and 'class="error"' in r.text and "that you can see" in r.text
        assert "document(s) by" not in r.text
    unknown = admin.get("/timeline", params={"source": "<b>nope</b>"})
    assert unknown.status_code == 200 and 'class="error"' in unknown.text
    assert "<b>nope</b>" not in unknown.text
    src = admin.get("/timeline", params={"source": "xss-desk"}).text
    assert "5 document(s)" in src


def test_timeline_report_and_collection_dates_apart(admin: httpx.Client) -> None:
    either = admin.get("/timeline").text
    total = int(re.search(r"([\d,]+) document\(s\) by report date", either)
                .group(1).replace(",", ""))  # type: ignore[union-attr]
    report = admin.get("/timeline", params={"dates": "report"}).text
    dated = int(re.search(r"([\d,]+) document\(s\) by report date,", report)
                .group(1).replace(",", ""))  # type: ignore[union-attr]
    undated = re.search(r"([\d,]+) more have no report date", report)
    assert dated + (int(undated.group(1).replace(",", "")) if undated else 0) == total
    collected = admin.get("/timeline", params={"dates": "collected"}).text
    assert f"{total:,} document(s) by collection date" in collected
    assert all("dates=collected" in h for h in _bar_links(collected))
    assert admin.get("/timeline", params={"dates": "whenever"}).status_code == 422


def test_map_data_shades_countries_by_documents(admin: httpx.Client,
                                                workspace: Workspace) -> None:
    page = admin.get("/map", params={"entity": _own_alias(workspace)}).text
    _no_raw(page)
    actor = workspace.entities["actor"]
    assert f'data-query="entity={actor}"' in page and 'id="places-box"' in page
    data = admin.get("/map/data").json()
    rows = {c["country"]: c for c in data["properties"]["countries"]}
    assert rows["UA"]["iso3"] == "UKR" and rows["UA"]["name"] == "Ukraine"
    assert rows["UA"]["documents"] >= 1
    one = admin.get("/map/data", params={"entity": actor}).json()
    assert [c["country"] for c in one["properties"]["countries"]] == ["UA"]
    bad = admin.get("/map/data", params={"entity": "no such thing"})
    assert bad.status_code == 400 and "that you can see" in bad.json()["error"]
    ukraine = admin.get("/timeline", params={"country": "ua"}).text
    assert "Ukraine" in ukraine and "1 document(s)" in ukraine
