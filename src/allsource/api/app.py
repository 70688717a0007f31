"""The app factory: one store per app, every API router under ``API_PREFIX``.

Routers other modules provide (cases, analysis, the web workspace) are mounted when their
module is installed, so the API works without them."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from allsource import __version__
from allsource.api import errors
from allsource.api.audit import AuditMiddleware, note_api_user
from allsource.api.deps import current_user
from allsource.api.headers import SecurityHeaders, add_docs
from allsource.api.routes import (
    alerts,
    documents,
    exports,
    objects,
    search,
    sources,
    stories,
    watchlists,
)
from allsource.api.routes import taxii as taxii_routes
from allsource.config import Settings, load_settings
from allsource.store import open_store
from allsource.store.sql import SqlStore

API_PREFIX = "/api/v1"
_OPTIONAL_API = ("allsource.api.routes.cases", "allsource.api.routes.analysis")
_WEB = "allsource.web.routes"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _optional(module: str) -> APIRouter | None:
    try:
        if importlib.util.find_spec(module) is None:
            return None
    except ModuleNotFoundError:
        return None
    router: APIRouter = importlib.import_module(module).router
    return router


#: JSON of the settings overrides (the CLI's global options) a worker process starts with
OVERRIDES_ENV = "ALLSOURCE_SERVE_OVERRIDES"


def create_app_from_env() -> FastAPI:
    """The app of one ``allsource serve --workers N`` worker process (a uvicorn factory):
    settings from the environment plus the CLI's global options in :data:`OVERRIDES_ENV`."""
    overrides = json.loads(os.environ.get(OVERRIDES_ENV) or "{}")
    warm_in_background()
    return create_app(load_settings(**overrides))


def warm_in_background() -> threading.Thread:
    """Load the search's name-sense data in a daemon thread while the server starts (see
    :func:`allsource.analyze.search_entity.warm`); a failure there only means the first
    search pays for it."""
    from allsource.analyze import search_entity

    def run() -> None:
        with contextlib.suppress(Exception):
            search_entity.warm()

    thread = threading.Thread(target=run, name="allsource-warm", daemon=True)
    thread.start()
    return thread


def create_app(settings: Settings | None = None, *, store: SqlStore | None = None) -> FastAPI:
    """The API over ``settings``' store (opened and migrated here, closed on shutdown), or
    over ``store`` when the caller owns one."""
    settings = settings or load_settings()
    owned = store is None
    the_store = store if store is not None else open_store(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            the_store.close()

    # /docs is opt-in (it loads Swagger UI from a CDN): see allsource.api.headers.
    app = FastAPI(title="allsource", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="All-source intelligence workspace API. Every endpoint needs "
                              "`Authorization: Bearer <token>` (see `allsource token create`).")
    app.state.store = the_store
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(AuditMiddleware)
    app.add_middleware(_RejectNul)
    app.add_middleware(SecurityHeaders)
    if settings.api_docs:
        add_docs(app)

    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(current_user),
                                                     Depends(note_api_user)],
                    responses=errors.ERROR_RESPONSES)
    for module in (documents, search, sources, objects, stories, alerts, watchlists):
        api.include_router(module.router)
    api.include_router(exports.router)  # wt-export
    for name in _OPTIONAL_API:
        if (router := _optional(name)) is not None:
            api.include_router(router)
    app.include_router(api)
    taxii_routes.install(app)  # TAXII 2.1 under /taxii2/ (share/taxii)
    if (web := _optional(_WEB)) is not None:
        app.include_router(web)
    return app


class _RejectNul:
    """400 for a NUL character in the path, query or a JSON body: no stored text may hold
    one (PostgreSQL refuses it), so it can only be garbage or an attack."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        target = bytes(raw) + b"?" + bytes(scope.get("query_string", b""))
        if b"%00" in target or b"\x00" in target or "\x00" in scope["path"]:
            await _nul_response(scope, receive, send)
            return
        chunks: list[MutableMapping[str, Any]] = []
        if scope["method"] in ("POST", "PUT", "PATCH"):
            while True:
                message = await receive()
                chunks.append(message)
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            body = b"".join(m.get("body", b"") for m in chunks)
            if b"\\u0000" in body or b"\x00" in body:
                await _nul_response(scope, receive, send)
                return

        async def replay() -> MutableMapping[str, Any]:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)


async def _nul_response(scope: Scope, receive: Receive, send: Send) -> None:
    response = errors.error_response(400, "NUL characters are not accepted")
    await response(scope, receive, send)
