"""Browser sessions, CSRF tokens and the security headers of every workspace response.

An analyst logs in with a user name and password, or by pasting an API token
(:mod:`allsource.store.logins`: throttled, with lockouts). The session lives in the store
(:mod:`allsource.store.sessions`: only a hash of its id, capped per user, surviving a restart);
the browser holds the random 256-bit session id in an ``HttpOnly``, ``SameSite=Strict`` cookie
(``Secure`` when served over HTTPS). Every request looks the session up again, so disabling
the user, revoking the token a session was opened with or letting either expire ends the
session at once, and logging out deletes it, so a replayed cookie is worthless.

CSRF: each session has its own token (an HMAC of its id), rendered as a hidden field in every
state-changing form and compared in constant time on every POST; a POST whose ``Origin``
header names another site is refused as well. ``SameSite=Strict`` alone already keeps the
cookie off cross-site requests; the token is the second lock.

Every response of the router carries :data:`SECURITY_HEADERS` (:class:`SecureRoute`): a
Content-Security-Policy that allows scripts from the app's own origin only (no inline script
anywhere, so an injected ``<script>`` or ``onerror=`` could not run even if escaping failed),
``nosniff``, no framing and no caching of pages that show intelligence.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from allsource.store.sessions import WebSession

CSP = ("default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
SESSION_COOKIE = "allsource_session"


class SecureRoute(APIRoute):
    """An API route whose responses all carry :data:`SECURITY_HEADERS` (a handler may set
    its own ``Cache-Control``, as the static files do)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def secured(request: Request) -> Response:
            response = await handler(request)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return secured


def client_address(request: Request) -> str:
    """The address login throttling counts against (the proxy's, behind a proxy that
    uvicorn is not told to trust)."""
    return request.client.host if request.client else ""


def set_session_cookie(request: Request, response: Response, session: WebSession) -> None:
    max_age = int((session.expires_at - session.created_at).total_seconds())
    response.set_cookie(SESSION_COOKIE, session.id, max_age=max_age, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def csrf_ok(request: Request, session: WebSession, submitted: str) -> bool:
    """Whether a POST carries this session's CSRF token and comes from this site."""
    origin = request.headers.get("origin")
    if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
        return False  # another site, or an opaque ("null") origin
    return hmac.compare_digest(submitted.encode(), session.csrf.encode())
