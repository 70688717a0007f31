"""Browser sessions, CSRF tokens and the security headers of every workspace response.

An analyst logs in by pasting an API token. The token is checked with the API's own
:func:`allsource.store.users.authenticate` and then kept *server-side*, in the app's
:class:`SessionStore`; the browser only holds a random 256-bit session ID in an ``HttpOnly``,
``SameSite=Strict`` cookie (``Secure`` when served over HTTPS). Every request authenticates the
token again, so revoking it, disabling the user or letting it expire ends the session at once,
and logging out deletes the session, so a replayed cookie is worthless. Sessions live in the
process's memory: a restart logs everybody out, and several worker processes would each need
their own login (run the workspace with one worker, or put sessions in the store later).

CSRF: each session has its own random token, rendered as a hidden field in every
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
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from threading import Lock
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

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
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 10_000


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


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    token: str
    csrf: str
    expires: float


class SessionStore:
    """Live sessions by ID, oldest evicted first beyond ``limit``; thread-safe."""

    def __init__(self, lifetime: float = SESSION_SECONDS, limit: int = MAX_SESSIONS) -> None:
        self.lifetime, self.limit = lifetime, limit
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = Lock()

    def create(self, token: str) -> Session:
        session = Session(id=secrets.token_urlsafe(32), token=token,
                          csrf=secrets.token_urlsafe(32), expires=time.time() + self.lifetime)
        with self._lock:
            self._sessions[session.id] = session
            while len(self._sessions) > self.limit:
                self._sessions.popitem(last=False)
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id or len(session_id) > 100:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires <= time.time():
                del self._sessions[session_id]
                return None
        return session

    def delete(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)


def sessions_of(request: Request) -> SessionStore:
    """The app's session store, created on first use (per app, never at import)."""
    state = request.app.state
    found = getattr(state, "web_sessions", None)
    if not isinstance(found, SessionStore):
        found = state.web_sessions = SessionStore()
    return found


def set_session_cookie(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(SESSION_COOKIE, session.id, max_age=SESSION_SECONDS, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def csrf_ok(request: Request, session: Session, submitted: str) -> bool:
    """Whether a POST carries this session's CSRF token and comes from this site."""
    origin = request.headers.get("origin")
    if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
        return False  # another site, or an opaque ("null") origin
    return hmac.compare_digest(submitted.encode(), session.csrf.encode())
