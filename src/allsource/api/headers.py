"""Security headers on every response of the app, and the opt-in API docs page.

:class:`SecurityHeaders` is an ASGI middleware that adds the workspace's
:data:`~allsource.web.security.SECURITY_HEADERS` to every HTTP response that does not set
them itself: API JSON (which holds intelligence, so ``Cache-Control: no-store`` keeps it out
of browser and proxy caches), error responses, ``/openapi.json``. A response that sets one of
these headers keeps its own value (static files their ``Cache-Control``, the docs page its
CSP).

``/docs`` (Swagger UI) is **off by default**: FastAPI's page loads its script and stylesheet
from a CDN, and a page on the workspace origin running third-party script could read
anything the analyst's browser can. ``ALLSOURCE_API_DOCS=true`` turns it on for a deployment
that accepts that; the page then carries its own Content-Security-Policy that allows scripts
only from that CDN and the page's one inline script (by its SHA-256), connections only to the
app itself, and no framing. ReDoc is never served. The OpenAPI document stays at
``/openapi.json`` for clients and generators.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from allsource.web.security import SECURITY_HEADERS

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

DOCS_URL = "/docs"
SWAGGER_CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_ENCODED = [(name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in SECURITY_HEADERS.items()]


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to each HTTP response that lacks them."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(name).lower() for name, _ in headers}
                headers.extend((n, v) for n, v in _ENCODED if n not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_secured)


def docs_csp(page: str) -> str:
    """A Content-Security-Policy for a Swagger UI page: its CDN, its inline scripts by hash."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(page))
    return (f"default-src 'none'; script-src {SWAGGER_CDN} {hashes}; "
            f"style-src {SWAGGER_CDN}; img-src 'self' data:; connect-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def add_docs(app: FastAPI) -> None:
    """Serve Swagger UI at :data:`DOCS_URL` with its own CSP (the app was built without)."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} API",
                                   swagger_favicon_url="data:,")
        html = bytes(page.body).decode()
        return HTMLResponse(html, headers={"Content-Security-Policy": docs_csp(html)})
