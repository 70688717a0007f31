"""The workspace over HTTP (httpx against the real server): login and sessions, security
headers, CSRF, escaping of hostile content, search grouping and alert triage."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest

from allsource.store import fts_rank
from allsource.web.highlight import Segment, segments
from allsource.web.security import CSP
from tests.web.conftest import (
    HOSTILE_ACTOR,
    HOSTILE_ALIAS,
    HOSTILE_MALWARE,
    HOSTILE_PLACE,
    HOSTILE_TECHNIQUE,
    HOSTILE_WATCHLIST,
    Workspace,
)

# Payload fragments that must never appear unescaped in a page.
RAW = ("<script>window.__xss", "<script>alert", "<img src=x onerror", "<svg onload",
       "<svg/onload", "<iframe", "<body onload", "<math>", 'hx-get="/logout"',
       "\"><svg", "<IMG SRC")


class _Tags(HTMLParser):
    """Counts inline scripts and collects every attribute name of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attributes.update(name for name, _ in attrs)
        if tag == "script" and not dict(attrs).get("src"):
            self.inline_scripts += 1


def _client(ws: Workspace) -> httpx.Client:
    return httpx.Client(base_url=ws.base_url, timeout=10, follow_redirects=False)


@pytest.fixture
def client(workspace: Workspace) -> Iterator[httpx.Client]:
    with _client(workspace) as c:
        yield c


def _login(c: httpx.Client, token: str) -> None:
    r = c.post("/login", data={"token": token, "next": "/search"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/search"


@pytest.fixture
def admin(workspace: Workspace, client: httpx.Client) -> httpx.Client:
    _login(client, workspace.admin_token)
    return client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


@pytest.mark.parametrize("path", ["/search", "/search?q=phishing", "/alerts",
                                  "/documents/x", "/objects/x", "/graph/x", "/cases",
                                  "/cases/x", "/timeline", "/map", "/watchlists"])
def test_pages_need_a_session(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=%2F")
    assert r.headers["content-security-policy"] == CSP


def test_every_page_has_security_headers(admin: httpx.Client, workspace: Workspace) -> None:
    doc = next(iter(workspace.docs.values()))
    for path in ("/login", "/search?q=firewalls", f"/documents/{doc}", "/alerts",
                 "/static/workspace.css", "/static/vendor/htmx.min.js"):
        r = admin.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-security-policy"] == CSP
        assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
        assert r.headers["x-content-type-options"] == "nosniff"
    pages = [admin.get(p).text for p in ("/login", "/search?q=firewalls", "/alerts")]
    for html in pages:  # no inline script or handler at all: the CSP would block them
        parser = _Tags()
        parser.feed(html)
        assert parser.inline_scripts == 0
        assert not [a for a in parser.attributes if a.startswith("on")]


def test_bad_tokens_and_logout(workspace: Workspace, client: httpx.Client) -> None:
    r = client.post("/login", data={"token": "as_not-a-token"})
    assert r.status_code == 401 and "unknown, revoked or expired" in r.text
    assert "allsource_session" not in client.cookies
    r = client.post("/login", data={"token": workspace.admin_token, "next": "//evil.example"})
    assert r.headers["location"] == "/search"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = client.get("/search")
    assert page.status_code == 200
    old = client.cookies["allsource_session"]
    assert client.post("/logout", data={"csrf": "wrong"}).status_code == 403
    assert client.post("/logout", data={"csrf": _csrf(page.text)}).status_code == 303
    # the session is gone server-side: replaying the old cookie does not log in
    with _client(workspace) as other:
        other.cookies.set("allsource_session", old)
        assert other.get("/search").status_code == 303


def test_cross_site_login_is_refused(workspace: Workspace, client: httpx.Client) -> None:
    r = client.post("/login", data={"token": workspace.admin_token},
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


def test_search_escapes_and_groups_by_story(admin: httpx.Client) -> None:
    r = admin.get("/search", params={"q": "firewalls"})
    assert r.status_code == 200
    html = r.text
    for raw in RAW:
        assert raw not in html
    assert "&lt;script&gt;window.__xss.push(&#39;title-script&#39;)&lt;/script&gt;" in html
    # the five XSS records share a paragraph: one story row, the others expandable
    assert html.count('class="story"') == 1
    assert "4 more in this story" in html
    assert "{{7*7}}" in html and ">49<" not in html
    assert 'data-facet="source"' in html and "xss-desk" in html


def test_search_count_beyond_the_cap_is_shown_as_a_lower_bound(
        admin: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    exact = re.search(r"([\d,]+)(\+?) matching documents",
                      admin.get("/search", params={"q": "firewalls"}).text)
    assert exact is not None and exact.group(2) == "" and int(exact.group(1)) > 2
    monkeypatch.setattr(fts_rank, "RANK_CANDIDATES", 2)
    monkeypatch.setattr(fts_rank, "MAX_COUNT", 2)
    capped = admin.get("/search", params={"q": "firewalls"}).text
    assert "2+ matching documents" in capped


def test_search_facets_filter(admin: httpx.Client, workspace: Workspace) -> None:
    if not workspace.feeds_ingested:
        pytest.skip("shared samples not found")
    everything = admin.get("/search", params={"q": "description"}).text
    assert "hostile-feeds" in everything
    only = admin.get("/search", params={"q": "description", "source": "xss-desk"})
    assert only.status_code == 200
    assert 'class="story"' not in only.text  # no xss-desk document says "description"


def _count(html: str, facet: str, label: str) -> int | None:
    section = html.split(f'data-facet="{facet}"', 1)[1].split("</section>", 1)[0]
    found = re.search(rf">{re.escape(label)} <span class=\"count\">(\d+)</span>", section)
    return int(found.group(1)) if found else None


def test_search_facets_sector_country_entity_grade(admin: httpx.Client,
                                                    workspace: Workspace) -> None:
    html = admin.get("/search", params={"q": "firewalls"}).text
    for facet in ("source", "kind", "sector", "country", "entity", "credibility"):
        assert f'data-facet="{facet}"' in html
    assert _count(html, "sector", "cyber") == 1 and _count(html, "sector", "energy") == 4
    # countries by name (the links still carry the code)
    assert _count(html, "country", "Ukraine") == 1 and _count(html, "country", "Poland") == 4
    assert _count(html, "credibility", "2 probably true") == 1
    assert _count(html, "credibility", "6 cannot be judged") == 1
    assert _count(html, "credibility", "not graded") == 3
    escaped = HOSTILE_ACTOR.replace("&", "&amp;").replace("<", "&lt;").replace(
        ">", "&gt;").replace('"', "&#34;").replace("'", "&#39;")
    assert _count(html, "entity", escaped) == 1
    assert f"entity={workspace.entities['actor']}" in html
    assert "sector=cyber" in html and "country=UA" in html and "credibility=2" in html
    for raw in RAW:
        assert raw not in html


@pytest.mark.parametrize("params", [{"sector": "cyber"}, {"country": "UA"},
                                    {"credibility": "2"}, {"entity": "actor"},
                                    {"sector": "cyber", "source": "xss-desk"}])
def test_search_facet_links_filter(admin: httpx.Client, workspace: Workspace,
                                   params: dict[str, str]) -> None:
    if params.get("entity") == "actor":
        params = {"entity": workspace.entities["actor"]}
    html = admin.get("/search", params={"q": "firewalls", **params}).text
    assert "1 matching documents" in html
    assert "Script tag in a title" in html and "more in this story" not in html
    assert 'class="chosen"' in html  # the chosen value is shown, its link removes it
    for name, value in params.items():
        assert f'type="hidden" name="{name}" value="{value}"' in html


def test_search_facets_combine_and_unknown_values_are_empty(admin: httpx.Client) -> None:
    both = admin.get("/search", params={"q": "firewalls", "sector": "energy",
                                        "credibility": "6"}).text
    assert "1 matching documents" in both
    ungraded = admin.get("/search", params={"q": "firewalls", "credibility": "none"}).text
    assert "3 matching documents" in ungraded
    for params in ({"sector": "nope"}, {"country": "ZZ"}, {"credibility": "9"},
                   {"entity": "<script>alert('e')</script>"}):
        r = admin.get("/search", params={"q": "firewalls", **params})
        assert r.status_code == 200
        assert "0 matching documents" in r.text and "No matches." in r.text
        assert 'class="chosen"' in r.text
        for raw in RAW:
            assert raw not in r.text


def test_bad_query_is_an_error_message_not_a_crash(admin: httpx.Client) -> None:
    r = admin.get("/search", params={"q": '"" -'})
    assert r.status_code == 200
    assert 'class="error"' in r.text


def test_document_page_highlights_and_escapes(admin: httpx.Client,
                                              workspace: Workspace) -> None:
    for title, doc_id in workspace.docs.items():
        html = admin.get(f"/documents/{doc_id}").text
        for raw in RAW:
            assert raw not in html, (title, raw)
        assert "javascript:" not in re.findall(r'href="([^"]*)"', html)
        assert not any(h.lower().startswith("javascript") for h in
                       re.findall(r'href="([^"]*)"', html))
    doc = next(i for t, i in workspace.docs.items() if t.startswith("Template injection"))
    html = admin.get(f"/documents/{doc}").text
    assert "Template injection {{7*7}} ${7*7} {% raw %}" in html
    assert re.search(r'<a class="mention t-ipv4-addr" href="/objects/[^"]+"[^>]*>'
                     r"203\.0\.113\.45</a>", html)
    assert "update-check.example.com</a>" in html
    assert "Story" in html and "document(s) in this story" in html


def test_url_field_is_text_not_a_link(admin: httpx.Client, workspace: Workspace) -> None:
    """Only an http(s) original URL is a link (see test_browser_entity for one that is)."""
    doc = workspace.docs["Links: javascript URL"]
    html = admin.get(f"/documents/{doc}").text
    assert "javascript:alert(&#39;url-field&#39;)" in html
    assert 'href="javascript' not in html
    assert "not a web address: not linked" in html


def test_undated_document_says_so_and_ids_are_secondary(admin: httpx.Client,
                                                       workspace: Workspace) -> None:
    doc = workspace.docs["Links: javascript URL"]
    html = admin.get(f"/documents/{doc}").text
    meta = html.split('<dl class="meta">')[1].split("</dl>")[0]
    assert "Published" not in meta and "no report date" in meta
    assert "when allsource collected it" in meta
    assert f'<code class="id">{doc}</code>' in html
    text = re.sub(r"<[^>]+>", " ", html.replace(f'<code class="id">{doc}</code>', ""))
    assert not re.search(r"[a-z-]+--[0-9a-f]{8}-", text)


def test_hostile_feed_documents_render_escaped(admin: httpx.Client,
                                               workspace: Workspace) -> None:
    if not workspace.feeds_ingested:
        pytest.skip("shared samples not found")
    assert "safe description" in workspace.docs
    html = admin.get(f"/documents/{workspace.docs['safe description']}").text
    assert "<h1 id=\"doc-title\">safe description</h1>" in html


def test_unknown_document_is_404(admin: httpx.Client) -> None:
    assert admin.get("/documents/document--nope").status_code == 404


def test_static_files_stay_in_their_folder(admin: httpx.Client) -> None:
    assert admin.get("/static/../routes.py").status_code == 404
    assert admin.get("/static/%2e%2e/routes.py").status_code == 404


def test_alert_triage_needs_csrf_and_role(admin: httpx.Client, workspace: Workspace) -> None:
    page = admin.get("/alerts").text
    for raw in RAW:
        assert raw not in page
    assert "&lt;img src=x onerror=" in page
    # documents by title, never a link named "1"; the watchlist by its key's text
    assert not re.search(r'href="/documents/[^"]+">\d+</a>', page)
    assert "Script tag in a title</a>" in page
    second = workspace.alert_ids[1]
    r = admin.post(f"/alerts/{second}/assign", data={"csrf": "nope", "assignee": "bob"})
    assert r.status_code == 403
    r = admin.post(f"/alerts/{second}/assign", data={"csrf": _csrf(page), "assignee": "bob"},
                   headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = admin.post(f"/alerts/{second}/assign", data={"csrf": _csrf(page), "assignee": "bob"})
    assert r.status_code == 400  # not a user who may triage
    r = admin.post(f"/alerts/{second}/assign", data={"csrf": _csrf(page), "assignee": "admin"})
    assert r.status_code == 303
    with _client(workspace) as reader:
        _login(reader, workspace.reader_token)
        reader_page = reader.get("/alerts").text
        assert 'class="ack"' not in reader_page
        r = reader.post(f"/alerts/{second}/close", data={"csrf": _csrf(reader_page)})
        assert r.status_code == 403


def test_segments_cut_text_at_mentions() -> None:
    text = "C2 at 203.0.113.45 via http://evil.example/x now"
    found = segments(text, [
        {"id": "u", "type": "url", "name": "http://evil.example/x", "span": [22, 43]},
        {"id": "d", "type": "domain-name", "name": "evil.example", "span": [29, 41]},
        {"id": "i", "type": "ipv4-addr", "name": "203.0.113.45", "span": [6, 18]},
        {"id": "x", "type": "ipv4-addr", "name": "out of range", "span": [40, 999]},
        {"id": "n", "type": "note", "name": "no span", "span": None},
    ])
    assert "".join(s.text for s in found) == text
    assert [s.object_id for s in found] == [None, "i", None, "u", None]
    assert found[1] == Segment("203.0.113.45", "i", "ipv4-addr", "203.0.113.45")



def _no_raw(html: str) -> None:
    for raw in RAW:
        assert raw not in html, raw
    parser = _Tags()
    parser.feed(html)
    assert parser.inline_scripts == 0
    assert not [a for a in parser.attributes if a.startswith("on")]


def test_entity_page_shows_aliases_timeline_related_and_risk(
        admin: httpx.Client, workspace: Workspace) -> None:
    actor = workspace.entities["actor"]
    r = admin.get(f"/objects/{actor}")
    assert r.status_code == 200 and r.headers["content-security-policy"] == CSP
    html = r.text
    _no_raw(html)
    assert "&lt;img src=x onerror=" in html and "&lt;iframe src=javascript:" in html
    assert "misp-galaxy &lt;b&gt;threat-actor&lt;/b&gt; v1" in html
    assert 'id="risk"' in html and re.search(r"Risk \d+/100", html)
    assert "&lt;script&gt;window.__xss.push(&#39;risk-" in html
    # mentions over time: a server-drawn SVG chart with its table
    chart = html.split('id="mentions-timeline"')[1].split("</section>")[0]
    assert 'class="chart-svg drawn"' in chart
    assert re.search(r"<title>[A-Z][a-z]+ \d{4}: 1 document\(s\)</title>", chart)
    # relationships grouped by type, the other end by name, never by id
    rels = html.split('id="relationships"')[1].split('id="techniques"')[0]
    assert "uses · malware" in rels and "&lt;svg onload=" in rels
    assert workspace.entities["malware"] not in rels.replace(
        f'href="/objects/{workspace.entities["malware"]}"', "")
    assert "uses · techniques" in rels
    matrix = html.split('id="techniques"')[1].split("</section>")[0]
    assert "Phishing &lt;script&gt;" in matrix
    # the IP is co-mentioned (not linked to the actor), so it is listed once, there
    assert "203.0.113.45" in html.split('id="observables"')[1].split("</section>")[0]
    assert html.count("&lt;svg onload=") == 1  # the malware is not repeated as co-mentioned
    assert f'href="/graph/{actor}"' in html
    assert f'href="/timeline?entity={actor}"' in html and f'href="/map?entity={actor}"' in html
    # the alias is a chip; the statements (with undo) are behind a disclosure
    chips = html.split('id="aliases-chips"')[1].split("</div>")[0]
    assert "&lt;iframe src=javascript:" in chips
    assert re.search(r'<section id="aliases">\s*<details>', html)
    # ids are secondary: the page's own id in a "copy id" detail, no other id as text
    assert f'<code class="id">{actor}</code>' in html
    text = re.sub(r"<[^>]+>", " ", html.replace(f'<code class="id">{actor}</code>', ""))
    assert not re.search(r"[a-z-]+--[0-9a-f]{8}-", text)
    # the entity's own name cannot be undone; the alias can
    assert html.count("Undo this alias") == 1


def test_undo_an_alias_needs_csrf_and_role(admin: httpx.Client, workspace: Workspace) -> None:
    actor = workspace.entities["actor"]
    with _client(workspace) as reader:
        _login(reader, workspace.reader_token)
        page = reader.get(f"/objects/{actor}").text
        assert "Undo this alias" not in page
    html = admin.get(f"/objects/{actor}").text
    statement = re.search(r'name="statement" value="([^"]+)"', html)
    assert statement
    form = {"statement": statement.group(1), "reason": "<b>wrong</b>"}
    assert admin.post(f"/objects/{actor}/aliases/undo",
                      data={**form, "csrf": "nope"}).status_code == 403
    r = admin.post(f"/objects/{actor}/aliases/undo", data={**form, "csrf": _csrf(html)})
    assert r.status_code == 303
    after = admin.get(f"/objects/{actor}").text
    _no_raw(after)
    assert "Undo this alias" not in after
    assert "undone" in after and "&lt;b&gt;wrong&lt;/b&gt;" in after
    assert HOSTILE_ALIAS not in after
    # undoing it again is a message, not a crash
    r = admin.post(f"/objects/{actor}/aliases/undo", data={**form, "csrf": _csrf(after)})
    assert r.status_code == 400 and "already undone" in r.text


def test_graph_page_and_data(admin: httpx.Client, workspace: Workspace) -> None:
    actor = workspace.entities["actor"]
    r = admin.get(f"/graph/{actor}")
    assert r.status_code == 200
    _no_raw(r.text)
    assert '<script src="/static/graph.js" defer></script>' in r.text
    assert admin.get("/static/graph.js").status_code == 200
    data = admin.get(f"/graph/{actor}/data").json()
    assert data["center"] == actor
    names = {n["label"] for n in data["nodes"]}
    assert {HOSTILE_ACTOR, HOSTILE_MALWARE, HOSTILE_TECHNIQUE} <= names
    assert {e["type"] for e in data["edges"]} == {"uses"}
    # a window with no evidence leaves the centre alone
    empty = admin.get(f"/graph/{actor}/data", params={"until": "1990-01-01"}).json()
    assert [n["id"] for n in empty["nodes"]] == [actor]
    graded = admin.get(f"/graph/{actor}/data", params={"min_credibility": "1"})
    assert graded.status_code == 200
    assert admin.get("/graph/malware--nope/data").status_code == 404
    assert admin.get("/graph/malware--nope").status_code == 404
    with _client(workspace) as anonymous:
        assert anonymous.get(f"/graph/{actor}/data").status_code == 401


def test_graph_never_sends_more_than_max_nodes(admin: httpx.Client,
                                               workspace: Workspace) -> None:
    from allsource.web.routes import GRAPH_MAX_NODES
    ip = workspace.entities["ip"]
    data = admin.get(f"/graph/{ip}/data").json()
    assert len(data["nodes"]) <= GRAPH_MAX_NODES


def test_ach_case_over_forms(admin: httpx.Client, workspace: Workspace) -> None:
    page = admin.get("/cases").text
    _no_raw(page)
    csrf = _csrf(page)
    assert admin.post("/cases", data={"csrf": "x", "title": "t"}).status_code == 403
    r = admin.post("/cases", data={"csrf": csrf, "title": "<script>alert('case')</script>",
                                   "question": "<img src=x onerror=alert(1)>?"})
    assert r.status_code == 303
    url = r.headers["location"]
    for title in ("<svg onload=alert(1)>H1", "H2"):
        assert admin.post(f"{url}/hypotheses",
                          data={"csrf": csrf, "title": title}).status_code == 303
    doc = workspace.docs["Links: javascript URL"]
    assert admin.post(f"{url}/evidence", data={"csrf": csrf, "document_id": doc,
                                               "relevance": "high"}).status_code == 303
    html = admin.get(url).text
    _no_raw(html)
    # the case's TLP as its label, not the number stored
    assert re.search(r'<p class="meta">open · [^<]* · TLP:[A-Z+]+', html)
    ev = re.search(r'name="evidence" value="([^"]+)"', html)
    hyps = re.findall(r'name="hypothesis" value="([^"]+)"', html)
    assert ev and len(hyps) == 2
    r = admin.post(f"{url}/ratings", data={"csrf": csrf, "evidence": ev.group(1),
                                           "hypothesis": hyps[0], "rating": "II"},
                   headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.text.startswith('<section id="matrix">')
    _no_raw(r.text)
    assert 'data-cell="E1-H1"' in r.text and 'class="cell r-II"' in r.text
    assert re.search(r'id="score-H2">0\.00', r.text)
    assert "Most likely: H2" in r.text
    listing = admin.get("/cases").text
    assert "&lt;script&gt;alert(&#39;case&#39;)&lt;/script&gt;" in listing
    bad = admin.post(f"{url}/evidence", data={"csrf": csrf, "document_id": "document--nope"})
    assert bad.status_code == 400 and 'class="error"' in bad.text
    with _client(workspace) as reader:
        _login(reader, workspace.reader_token)
        page = reader.get(url).text
        assert 'class="rate"' not in page
        r = reader.post(f"{url}/hypotheses", data={"csrf": _csrf(page), "title": "H3"})
        assert r.status_code == 403
    assert admin.get("/cases/case--nope").status_code == 404


def test_map_page_and_places(admin: httpx.Client, workspace: Workspace) -> None:
    html = admin.get("/map", params={"topic": '"><script>alert(1)</script>'}).text
    _no_raw(html)
    assert '<script src="/static/map.js" defer></script>' in html
    assert admin.get("/static/map.js").status_code == 200
    assert admin.get("/static/basemap/countries-110m.geojson").status_code == 200
    data = admin.get("/map/data").json()
    place = next(f for f in data["features"] if f["id"] == workspace.entities["place"])
    assert place["properties"]["name"] == HOSTILE_PLACE
    assert place["geometry"]["coordinates"] == [30.52, 50.45]
    none = admin.get("/map/data", params={"source": "hostile-feeds"})
    assert none.status_code in (200, 400)
    with _client(workspace) as anonymous:
        assert anonymous.get("/map/data").status_code == 401


def test_watchlists_page_escapes(admin: httpx.Client) -> None:
    html = admin.get("/watchlists").text
    _no_raw(html)
    assert "&lt;script&gt;window.__xss.push(&#39;watchlist&#39;)&lt;/script&gt; C2 hosts" in html
    assert HOSTILE_WATCHLIST not in html
    # the hostile document's hit is one row, its two occurrences counted on it (other test
    # modules sharing this workspace may add hits of their own)
    rows = [r for r in html.split('<tr class="hit">')[1:]
            if "&lt;img src=x onerror=alert(&#39;hit&#39;)&gt;" in r.split("</tr>")[0]]
    assert len(rows) == 1 and "× 2" in rows[0].split("</tr>")[0]


def test_search_excerpts_mark_matches_and_stay_escaped(admin: httpx.Client) -> None:
    from allsource.store.sql import HL_END, HL_START

    page = admin.get("/search", params={"q": "firewalls"}).text
    excerpts = re.findall(r'<p class="snippet">(.*?)</p>', page, re.DOTALL)
    assert excerpts and any("<mark>" in e for e in excerpts)
    assert HL_START not in page and HL_END not in page
    for excerpt in excerpts:  # only <mark> survives as markup inside an excerpt
        assert re.sub(r"</?mark>", "", excerpt).count("<") == 0


def test_search_by_meaning_page(admin: httpx.Client, workspace: Workspace) -> None:
    from allsource.analyze.semantic import index_embeddings

    index_embeddings(workspace.store)
    page = admin.get("/search", params={"q": "network filtering devices", "mode": "semantic"})
    assert page.status_code == 200
    assert 'id="semantic" checked' in page.text
    assert 'class="story"' in page.text
    for raw in RAW:
        assert raw not in page.text
    assert admin.get("/search", params={"q": "x", "mode": "vibes"}).status_code in (400, 422)


def test_an_analyst_says_a_mention_is_wrong(admin: httpx.Client, workspace: Workspace) -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    from allsource.model.records import Collected, Document, Source
    from allsource.store import schema as t
    from allsource.store import verdicts

    store = workspace.store
    src = store.get_source("mention-notes") or Source(name="mention-notes", kind="files",
                                                      location="/tmp/mention-notes")
    if store.get_source("mention-notes") is None:
        store.add_source(src)
    text = "August was quiet; the August Stealer crew <b>rested</b>."
    doc = Document.build(kind="note", title="", text=text)
    store.write_batch(src, [Collected(doc)], [], None)
    entity = f"malware--{uuid4()}"
    with store.engine.begin() as conn:
        conn.execute(t.objects.insert().values(
            id=entity, type="malware", name="August Stealer <i>", stix={"id": entity},
            created_at=datetime.now(UTC).replace(tzinfo=None), tlp=0, classification=0,
            compartments="", releasability=""))
        conn.execute(t.mentions.insert().values(object_id=entity, document_id=doc.id,
                                                extractor="entities@1", span_start=0,
                                                span_end=6))
    with _client(workspace) as reader:
        _login(reader, workspace.reader_token)
        assert "Wrong?" not in reader.get(f"/documents/{doc.id}").text
    html = admin.get(f"/documents/{doc.id}").text
    _no_raw(html)
    assert html.count("Wrong?") == 1 and "August Stealer &lt;i&gt;" in html
    form = {"entity": entity, "verdict": "here", "reason": "<script>x</script> the month"}
    assert admin.post(f"/documents/{doc.id}/mentions/wrong",
                      data={**form, "csrf": "nope"}).status_code == 403
    r = admin.post(f"/documents/{doc.id}/mentions/wrong", data={**form, "csrf": _csrf(html)})
    assert r.status_code == 303
    after = admin.get(f"/documents/{doc.id}").text
    _no_raw(after)
    assert "is not August Stealer &lt;i&gt; in" in after
    assert "&lt;script&gt;x&lt;/script&gt; the month" in after
    [made] = verdicts.list_verdicts(store, document_id=doc.id)
    assert made.verdict == "here" and made.created_by and made.name == ""
    # an entity the document does not mention is not a form target
    r = admin.post(f"/documents/{doc.id}/mentions/wrong",
                   data={**form, "entity": "malware--nope", "csrf": _csrf(after)})
    assert r.status_code == 404
