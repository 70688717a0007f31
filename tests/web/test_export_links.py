"""wt-export: the export links ``_export.html`` adds to the search page, and the ``/export``
download they point at (httpx against the real server): a bundle that validates, for the
logged-in viewer only, and the login page for anyone else."""

from __future__ import annotations

import re

import httpx
import orjson

from tests.share.conftest import EXPORT_WARNINGS, validate
from tests.web.conftest import Workspace


def test_search_page_links_export_what_the_viewer_reads(workspace: Workspace) -> None:
    with httpx.Client(base_url=workspace.base_url, timeout=30, follow_redirects=False) as c:
        assert c.get("/export", params={"query": "script"}).status_code == 303  # login first
        r = c.post("/login", data={"token": workspace.reader_token, "next": "/search"})
        assert r.status_code == 303
        page = c.get("/search", params={"q": "script"})
        links = re.findall(r'href="(/export\?format=(?:stix|misp)&amp;query=script)"',
                           page.text)
        assert len(links) == 2, page.text[:2000]
        got = c.get(links[0].replace("&amp;", "&"))
        assert got.status_code == 200
        assert got.headers["content-type"].startswith("application/stix+json")
        bundle = orjson.loads(got.content)
        validate(bundle, EXPORT_WARNINGS)
        assert any(o["type"] == "report" for o in bundle["objects"])
        misp = c.get(links[1].replace("&amp;", "&"))
        assert misp.status_code == 200 and "Event" in orjson.loads(misp.content)
        missing = c.get("/export", params={"case": "no-such-case"})
        assert missing.status_code == 404
