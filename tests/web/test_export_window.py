"""The web ``/export`` download takes ``since``/``until`` like the API and ``allsource
export``: a window after everything was collected holds no report, one around now holds
what the plain export holds, and an empty window is a clear 404 (httpx against the real
server; nothing is added to the shared workspace)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import orjson

from tests.web.conftest import Workspace


def _reports(body: bytes) -> int:
    return sum(o["type"] == "report" for o in orjson.loads(body)["objects"])


def test_web_export_takes_a_collection_window(workspace: Workspace) -> None:
    now = datetime.now(UTC)
    with httpx.Client(base_url=workspace.base_url, timeout=60, follow_redirects=False) as c:
        assert c.post("/login", data={"token": workspace.reader_token,
                                      "next": "/search"}).status_code == 303
        plain = c.get("/export", params={"query": "script"})
        assert plain.status_code == 200 and _reports(plain.content) > 0
        later = (now + timedelta(days=1)).date().isoformat()
        after = c.get("/export", params={"query": "script", "since": later})
        assert after.status_code == 200 and _reports(after.content) == 0
        around = c.get("/export", params={"query": "script",
                                          "since": (now - timedelta(days=3650)).isoformat(),
                                          "until": later})
        assert _reports(around.content) == _reports(plain.content)
        empty = c.get("/export", params={"since": later, "until": later})
        assert empty.status_code == 404 and "empty" in empty.json()["error"]
