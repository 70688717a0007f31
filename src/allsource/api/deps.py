"""Injected dependencies: the app's store, the calling user and the audience they read as.

Every route depends on :func:`current_user`, so no endpoint is anonymous: a request needs
``Authorization: Bearer <token>`` (tokens come from ``allsource init`` and
``allsource token create``). Only with ``api_read_only_anonymous`` set may a request without a
token read (GET), as the ``anonymous`` user who sees TLP:CLEAR, unclassified material only.

What a user may read is their own rights (TLP ceiling, clearance, compartments, groups; see
:mod:`allsource.store.rights`), read as an audience by :func:`audience_of` and enforced in SQL
on every read. What a user may do is their role, checked on writes with :func:`require_role`.

A token's scopes (:mod:`allsource.store.tokens`) bound its role: a state-changing request
needs ``write``, an admin-only route ``admin`` (403 otherwise), whatever the user's role.
A request whose token is unknown, revoked or expired leaves a ``login_failed`` audit event
(the client address and route, never the token) before its 401, as a refused login does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from allsource.api.errors import ApiError
from allsource.config import Settings
from allsource.model.markings import Audience
from allsource.store import audit_scope, tokens
from allsource.store.audit import AuditEvent
from allsource.store.sql import SqlStore
from allsource.store.users import User

ANONYMOUS = User(id="anonymous", name="anonymous", role="anonymous",
                 created_at=datetime(1970, 1, 1, tzinfo=UTC))

bearer = HTTPBearer(auto_error=False, description="An API token: `allsource token create`.")


async def get_store(request: Request) -> SqlStore:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a hop that costs
    # more than this look-up (only dependencies that touch the database stay ``def``)
    store: SqlStore = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[SqlStore, Depends(get_store)]


def current_user(
    request: Request, store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The user whose bearer token the request carries; 401 without a live token."""
    if credentials is None:
        if get_settings(request).api_read_only_anonymous and request.method in ("GET", "HEAD"):
            return ANONYMOUS
        raise ApiError(401, "a bearer token is required: Authorization: Bearer <token> "
                            "(create one with `allsource token create USER`)",
                       headers={"WWW-Authenticate": "Bearer"})
    grant = tokens.authenticate_scoped(store, credentials.credentials)
    if grant is None:
        _failed(store, request)
        raise ApiError(401, "the token is unknown, revoked or expired",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    request.state.token_scopes = grant.scopes
    _check_scope(request, tokens.scope_for(request.method))
    return grant.user


def _failed(store: SqlStore, request: Request) -> None:
    """The trace of a refused token: who tried from where, on which route."""
    client = request.client.host if request.client else ""
    route = f"{request.method} {request.url.path}"
    with store.engine.begin() as conn:
        audit_scope.append(conn, AuditEvent(
            actor="unknown", action="login_failed", target=request.url.path,
            detail={"via": "bearer", "client": client, "route": route}))


def _check_scope(request: Request, needed: str) -> None:
    scopes = getattr(request.state, "token_scopes", tokens.SCOPES)
    if needed not in scopes:
        raise ApiError(403, f"this token's scopes ({', '.join(scopes)}) do not include "
                            f"{needed!r}: create one with `allsource token create USER "
                            f"--scope {needed}`")


UserDep = Annotated[User, Depends(current_user)]


def audience_of(user: User) -> Audience:
    """What ``user`` may read: their own rights (the anonymous user: TLP:CLEAR,
    unclassified, no compartments or groups)."""
    return user.audience


async def current_audience(user: UserDep) -> Audience:
    return audience_of(user)


AudienceDep = Annotated[Audience, Depends(current_audience)]


def require_role(*roles: str) -> Callable[[Request, User], User]:
    """A dependency that lets only users with one of ``roles`` through (403 otherwise)."""

    def check(request: Request, user: UserDep) -> User:
        if user.role not in roles:
            raise ApiError(403, f"this needs the {' or '.join(roles)} role "
                                f"(you are {user.role})")
        _check_scope(request, tokens.scope_for(request.method, roles))
        return user

    return check


Analyst = Annotated[User, Depends(require_role("admin", "analyst"))]
Admin = Annotated[User, Depends(require_role("admin"))]


def utc(value: datetime | None) -> datetime | None:
    """A query's datetime as aware UTC (naive input is taken as UTC); 422 if out of range."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise ApiError(422, f"date {value.isoformat()} is out of range") from None
