"""The workspace over HTTP (httpx against the real server): login and sessions, security
headers, CSRF, escaping of hostile content, search grouping and alert triage."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest

from allsource.web.highlight import Segment, segments
from allsource.web.security import CSP
from tests.web.conftest import Workspace

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
                                  "/documents/x", "/objects/x"])
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


def test_search_facets_filter(admin: httpx.Client, workspace: Workspace) -> None:
    if not workspace.feeds_ingested:
        pytest.skip("shared samples not found")
    everything = admin.get("/search", params={"q": "description"}).text
    assert "hostile-feeds" in everything
    only = admin.get("/search", params={"q": "description", "source": "xss-desk"})
    assert only.status_code == 200
    assert 'class="story"' not in only.text  # no xss-desk document says "description"


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
    doc = workspace.docs["Links: javascript URL"]
    html = admin.get(f"/documents/{doc}").text
    assert "javascript:alert(&#39;url-field&#39;)" in html
    assert 'href="javascript' not in html


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
    second = workspace.alert_ids[1]
    r = admin.post(f"/alerts/{second}/assign", data={"csrf": "nope", "assignee": "bob"})
    assert r.status_code == 403
    r = admin.post(f"/alerts/{second}/assign", data={"csrf": _csrf(page), "assignee": "bob"},
                   headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = admin.post(f"/alerts/{second}/assign", data={"csrf": _csrf(page), "assignee": "bob"})
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

