"""Security headers on API responses, and /docs: off by default, with its own CSP when on."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.testclient import TestClient

from allsource.api import API_PREFIX, create_app
from allsource.api.headers import SWAGGER_CDN
from allsource.config import Settings
from allsource.store.sql import SqlStore
from allsource.web.security import SECURITY_HEADERS
from tests.api.conftest import World

V = API_PREFIX


def _secured(headers: object) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, name  # type: ignore[index]


def test_api_json_is_not_cached_and_carries_security_headers(world: World) -> None:
    for path in ("/documents", f"/documents/{world.original.id}", "/search?q=spearphishing",
                 "/sources"):
        response = world.client.get(V + path, headers=world.admin)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("application/json")
        _secured(response.headers)


def test_error_responses_carry_them_too(world: World) -> None:
    _secured(world.client.get(V + "/documents").headers)  # 401: no token
    _secured(world.client.get(V + "/documents/nosuch", headers=world.admin).headers)  # 404
    _secured(world.client.get(V + "/documents/a%00b", headers=world.admin).headers)  # 400
    _secured(world.client.get("/openapi.json").headers)


def test_docs_are_off_by_default(world: World) -> None:
    assert world.client.get("/docs").status_code == 404
    assert world.client.get("/redoc").status_code == 404
    assert world.client.get("/openapi.json").status_code == 200


def test_docs_when_turned_on_have_a_csp_of_their_own(store: SqlStore, settings: Settings
                                                      ) -> None:
    on = settings.model_copy(update={"api_docs": True})
    with TestClient(create_app(on, store=store)) as client:
        page = client.get("/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert csp != SECURITY_HEADERS["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    # Scripts: from the CDN the page names, and its inline script by hash; nothing else.
    sources = re.findall(r'<script src="([^"]+)"', page.text)
    assert sources and all(s.startswith(SWAGGER_CDN + "/") for s in sources)
    [inline] = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert script_src.split()[1:] == [SWAGGER_CDN, f"'sha256-{digest}'"]
    assert "unsafe-inline" not in csp
    assert page.headers["cache-control"] == "no-store"
