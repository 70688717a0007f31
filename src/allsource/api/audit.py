"""Audit events for the API and the web workspace, from one middleware.

:class:`AuditMiddleware` sorts each request by method and path (:func:`classify`) and opens an
audit scope (:mod:`allsource.store.audit_scope`) for it; who is acting is noted on the scope
when the request authenticates (:func:`note_api_user` for the API, the workspace's viewer
look-up for pages), so no route has to know about auditing:

- **writes** (POST, PUT, PATCH, DELETE): the scope records each committed transaction that
  changed rows, *in that transaction*, through the store's commit hook;
- **reads** of a document, entity, observable or relationship, **searches**, **exports** and
  **shares** (paths naming export, STIX, bundle, TAXII or share): the middleware holds the
  successful response back, appends the event (the target's marking, the number of hits) and
  only then lets the response go; if the event cannot be written the client gets a 500
  instead of the content, so nothing is read without a trace. Events of requests that finish
  together are committed in one transaction (:mod:`allsource.api.audit_commit`);
- **logins** (``POST /login``): ``login`` when the handler lets the user in, ``login_failed``
  (with the submitted user name, if any, and the client address) when it refuses;
  ``POST /logout`` is ``logout``.

A search's query text is not kept, only its SHA-256 (``target`` ``q:<first 16 hex>``, the
full digest in ``detail``): the log must not become a second copy of what readers looked for.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from allsource.api.audit_commit import committer
from allsource.api.deps import UserDep
from allsource.api.errors import error_response
from allsource.model.markings import TLP
from allsource.store import audit_scope
from allsource.store.audit import Action, AuditEvent, query_digest
from allsource.store.audit_scope import Scope
from allsource.store.sql import SqlStore

__all__ = ["AuditMiddleware", "Route", "classify", "note_api_user"]

Message = MutableMapping[str, Any]
AsgiScope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_READ = re.compile(r"^(?:/api/v1)?/(?:documents|objects|entities|observables|relationships)"
                   r"/([^/]+)$")
_SEARCH = re.compile(r"^(?:/api/v1)?/search$")
_SHARE = re.compile(r"/(?:taxii2?|share|shares)(?:/|$)")
_EXPORT = re.compile(r"/(?:export|exports|stix|bundle|bundles)(?:/|$)")
_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_FORM_MAX = 64 * 1024


@dataclass(frozen=True, slots=True)
class Route:
    """How a request is audited: its action and target."""

    action: Action
    target: str

    @property
    def by_commit(self) -> bool:
        """Recorded by the store's commit hook (writes) rather than by the middleware."""
        return self.action == "write"


def classify(method: str, path: str, query: str = "") -> Route | None:
    """The audit action of a request, or ``None`` when it is not audited (lists, pages
    without content, static files)."""
    if path == "/login" and method == "POST":
        return Route("login", "/login")
    if path == "/logout" and method == "POST":
        return Route("logout", "/logout")
    if method in _WRITE_METHODS:
        return Route("write", f"{method} {path}")
    if method != "GET":
        return None
    if _SHARE.search(path):
        return Route("share", path)
    if _EXPORT.search(path):
        return Route("export", path)
    if m := _READ.match(path):
        return Route("read", unquote(m.group(1)))
    if _SEARCH.match(path):
        text = parse_qs(query).get("q", [""])[0]
        if not text.strip():
            return None
        return Route("search", "q:" + query_digest(text)[:16])
    return None


async def note_api_user(user: UserDep) -> None:
    """API dependency: the authenticated caller is the actor of the request's events."""
    audit_scope.note(actor=user.name)


class AuditMiddleware:
    """See the module docstring."""

    def __init__(self, app: Callable[[AsgiScope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = classify(scope["method"], scope["path"],
                         bytes(scope.get("query_string", b"")).decode("latin-1"))
        if route is None:
            await self.app(scope, receive, send)
            return
        store: SqlStore = scope["app"].state.store
        detail: dict[str, Any] = {"route": f"{scope['method']} {scope['path']}"}
        if route.action == "search":
            query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
            detail["query_sha256"] = query_digest(query["q"][0])
        form = bytearray()

        async def receive_form() -> Message:
            message = await receive()
            if route.action == "login" and len(form) < _FORM_MAX:
                form.extend(message.get("body", b"")[:_FORM_MAX - len(form)])
            return message

        with audit_scope.scope("anonymous", route.action, route.target,
                               records_writes=route.by_commit, **detail) as s:
            if route.by_commit:
                await self.app(scope, receive, send)
                return
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    await self._release(store, scope, route, s, held, bytes(form), send)

            await self.app(scope, receive_form, hold)

    async def _release(self, store: SqlStore, scope: AsgiScope, route: Route, s: Scope,
                       held: list[Message], form: bytes, send: Send) -> None:
        status = int(held[0].get("status", 500)) if held else 500
        event = _event(route, s, status, held, form, scope)
        if event is not None:
            try:
                await committer(store).append(event)
            except Exception:
                response = error_response(500, "the audit trail could not be written")
                await response(scope, _no_body, send)
                return
        for message in held:
            await send(message)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _body(held: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")


def _event(route: Route, s: Scope, status: int, held: list[Message], form: bytes,
           scope: AsgiScope) -> AuditEvent | None:
    """The event a finished request leaves, or ``None`` when it leaves none."""
    client = (scope.get("client") or ("", 0))[0]
    if route.action == "login":
        if status < 400:
            return AuditEvent(actor=s.actor, action="login", target=route.target,
                              detail={**s.detail, "client": client})
        fields = parse_qs(form.decode("utf-8", "replace"))
        name = (fields.get("username") or fields.get("user") or [""])[0].strip()
        return AuditEvent(actor=name or "unknown", action="login_failed",
                          target=route.target,
                          detail={**s.detail, "client": client, "status": status})
    if status >= 400:
        return None
    if route.action == "logout":
        return AuditEvent(actor=s.actor, action="logout", target=route.target,
                          detail=s.detail)
    if route.action == "search":
        count, tlp = _search_figures(_body(held))
        return AuditEvent(actor=s.actor, action="search", target=route.target,
                          count=s.count if s.count is not None else count, tlp=tlp,
                          detail=s.detail)
    if route.action == "read" and status != 200:
        return None  # a redirect to the canonical page reads nothing
    return AuditEvent(actor=s.actor, action=route.action, target=route.target, count=1,
                      detail={**s.detail, "status": status})


def _search_figures(body: bytes) -> tuple[int, int]:
    """Hits and highest TLP of an API search answer (0, 0 for a page: the route notes its
    count on the scope)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 0, 0
    if not isinstance(data, dict):
        return 0, 0
    labels = {str(hit.get("tlp", "clear")) for group in data.get("items") or []
              for hit in [group.get("best") or {}, *(group.get("variants") or [])]}
    tlp = 0
    for label in labels:  # a handful of distinct labels, not one parse per hit
        try:
            tlp = max(tlp, int(TLP.parse(label)))
        except ValueError:
            continue
    total = data.get("total_hits")
    return (int(total) if isinstance(total, int) else 0), tlp

