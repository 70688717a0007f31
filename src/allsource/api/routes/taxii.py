"""TAXII 2.1 endpoints (served by ``allsource serve`` under ``/taxii2/``): discovery, one API
root (``allsource``), its collections, objects (GET and POST), manifests, versions and
status resources. The logic is :mod:`allsource.share.taxii`; this module is HTTP only.

Every request authenticates with the API's bearer tokens (:func:`allsource.api.deps.current_user`)
and reads as the token's user; answers are ``application/taxii+json;version=2.1`` and failures
are TAXII error messages (``title``, ``description``, ``http_status``). Besides the standard
filters, ``match[x_allsource_origin]=others`` leaves out what came from the caller
(:mod:`allsource.share.taxii.origin`). A collection the caller
may not see answers 404 exactly like one that does not exist. Reads leave a ``share`` audit
event (the audit middleware classifies ``/taxii2/`` paths), writes their commit's event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from allsource.api.deps import StoreDep, bearer, current_user
from allsource.api.errors import ApiError
from allsource.share.taxii import collections as taxii_collections
from allsource.share.taxii.collections import WRITERS, Collection, collection_of
from allsource.share.taxii.origin import ORIGIN_FILTER, OTHERS, caller_origins
from allsource.share.taxii.pages import (
    MAX_PAGE,
    Filters,
    Page,
    TaxiiInputError,
    added,
    manifest_page,
    objects_page,
    versions_page,
)
from allsource.share.taxii.submit import read_status, submit
from allsource.store import audit_scope
from allsource.store.users import User

__all__ = ["API_ROOT", "TAXII_MEDIA_TYPE", "TaxiiError", "install", "router"]

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
API_ROOT = "allsource"
#: the largest POST body (an envelope) accepted
MAX_CONTENT_LENGTH = 32 * 1024 * 1024
DEFAULT_LIMIT = 1000


class TaxiiError(Exception):
    """An error answered as a TAXII error message."""

    def __init__(self, status: int, title: str, description: str = "",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(title)
        self.status, self.title, self.description = status, title, description
        self.headers = headers


def _taxii(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=TAXII_MEDIA_TYPE,
                    headers=headers)


def install(app: FastAPI) -> None:
    """Mount the TAXII routes on ``app`` with their error handler."""

    async def taxii_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, TaxiiError)
        body = {"title": exc.title, "http_status": str(exc.status)}
        if exc.description:
            body["description"] = exc.description
        return _taxii(body, exc.status, exc.headers)

    app.add_exception_handler(TaxiiError, taxii_error)
    app.include_router(router)


def taxii_user(request: Request, store: StoreDep,
               credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
               ) -> User:
    """The API's token check, with its refusals as TAXII errors; the Accept header must
    allow a TAXII answer."""
    try:
        user = current_user(request, store, credentials)
    except ApiError as exc:
        raise TaxiiError(exc.status, exc.message, headers=exc.headers) from None
    audit_scope.note(actor=user.name)
    accept = request.headers.get("accept", "")
    if accept and not any(kind in accept for kind in (
            "application/taxii+json", "application/json", "*/*")):
        raise TaxiiError(406, "this server answers application/taxii+json;version=2.1")
    return user


TaxiiUser = Annotated[User, Depends(taxii_user)]
#: the TAXII error messages every route may answer, for the OpenAPI document
_ERROR = {"description": "a TAXII 2.1 error message",
          "content": {TAXII_MEDIA_TYPE: {"schema": {
              "type": "object", "required": ["title"],
              "properties": {"title": {"type": "string"}, "http_status": {"type": "string"},
                             "description": {"type": "string"}}}}}}
router = APIRouter(prefix="/taxii2", tags=["taxii"],
                   responses={code: _ERROR for code in (400, 401, 403, 404, 406, 413, 415)})


def _collection(store: StoreDep, user: User, collection_id: str) -> Collection:
    found = collection_of(store, user.audience, collection_id)
    if found is None:
        raise TaxiiError(404, "no such collection", f"no collection {collection_id!r}")
    return found


def _values(request: Request, name: str) -> tuple[str, ...]:
    out: list[str] = []
    for raw in request.query_params.getlist(name):
        out += [v.strip() for v in raw.split(",") if v.strip()]
    return tuple(out)


def _not_from(request: Request, store: StoreDep, user: User) -> tuple[str, ...]:
    """``match[x_allsource_origin]=others``: the caller's own origins, to leave out."""
    wanted = _values(request, ORIGIN_FILTER)
    if not wanted:
        return ()
    if set(wanted) != {OTHERS}:
        raise TaxiiError(400, f"{ORIGIN_FILTER} takes one value, {OTHERS!r}",
                         "leave out the object versions that came from you")
    return caller_origins(store, user.id, user.name)


def _filters(request: Request, store: StoreDep, user: User
             ) -> tuple[Filters, str | None, int]:
    q = request.query_params
    after = None
    if (text := q.get("added_after")) is not None:
        try:
            when = datetime.fromisoformat(text.strip().replace("Z", "+00:00")
                                          .replace("z", "+00:00"))
        except ValueError:
            raise TaxiiError(400, "added_after is not a timestamp", text[:100]) from None
        after = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
    limit = DEFAULT_LIMIT
    if (text := q.get("limit")) is not None:
        try:
            limit = int(text)
        except ValueError:
            raise TaxiiError(400, "limit is not a number", text[:100]) from None
        if limit < 1:
            raise TaxiiError(400, "limit must be at least 1")
    filters = Filters(added_after=after, ids=_values(request, "match[id]"),
                      types=_values(request, "match[type]"),
                      versions=_values(request, "match[version]") or ("last",),
                      spec_versions=_values(request, "match[spec_version]"),
                      not_from=_not_from(request, store, user))
    return filters, q.get("next"), min(limit, MAX_PAGE)


def _page_headers(page: Page) -> dict[str, str]:
    if page.first_added is None or page.last_added is None:
        return {}
    return {"X-TAXII-Date-Added-First": added(page.first_added),
            "X-TAXII-Date-Added-Last": added(page.last_added)}


def _envelope(page: Page, key: str) -> dict[str, Any]:
    body: dict[str, Any] = {"more": page.more}
    if page.next is not None:
        body["next"] = page.next
    if page.items:
        body[key] = page.items
    return body


@router.get("/")
def discovery(request: Request, _: TaxiiUser) -> Response:
    root = f"{request.base_url}taxii2/{API_ROOT}/"
    return _taxii({"title": "allsource TAXII 2.1",
                   "description": "Collections are sharing groups; each page holds what "
                                  "your token may read.",
                   "default": root, "api_roots": [root]})


@router.get(f"/{API_ROOT}/")
def api_root(_: TaxiiUser) -> Response:
    return _taxii({"title": "allsource", "versions": [TAXII_MEDIA_TYPE],
                   "max_content_length": MAX_CONTENT_LENGTH})


@router.get(f"/{API_ROOT}/collections/")
def list_collections(store: StoreDep, user: TaxiiUser) -> Response:
    found = taxii_collections.collections_for(store, user.audience)
    return _taxii({"collections": [c.resource(user.role) for c in found]})


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/")
def get_collection(collection_id: str, store: StoreDep, user: TaxiiUser) -> Response:
    return _taxii(_collection(store, user, collection_id).resource(user.role))


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/")
def get_objects(collection_id: str, request: Request, store: StoreDep,
                user: TaxiiUser) -> Response:
    collection = _collection(store, user, collection_id)
    filters, cursor, limit = _filters(request, store, user)
    try:
        page = objects_page(store, user.audience, collection, filters, cursor, limit)
    except TaxiiInputError as exc:
        raise TaxiiError(400, "bad filter or cursor", str(exc)) from None
    return _taxii(_envelope(page, "objects"), headers=_page_headers(page))


@router.post(f"/{API_ROOT}/collections/{{collection_id}}/objects/")
async def add_objects(collection_id: str, request: Request, store: StoreDep,
                      user: TaxiiUser) -> Response:
    if user.role not in WRITERS:
        raise TaxiiError(403, "you may not add objects", "objects are posted by users with "
                                                        "the admin, analyst or partner role")
    collection = _collection(store, user, collection_id)
    if collection.group is None:
        raise TaxiiError(403, "you may not add objects to this collection",
                         "objects go to a sharing group's collection, posted by its members")
    if "application/taxii+json" not in request.headers.get("content-type", ""):
        raise TaxiiError(415, "the body must be application/taxii+json;version=2.1")
    body = await request.body()
    if len(body) > MAX_CONTENT_LENGTH:
        raise TaxiiError(413, f"the body is over {MAX_CONTENT_LENGTH} bytes")
    try:
        status = await run_in_threadpool(submit, store, user.id, user.audience, collection,
                                         body)
    except TaxiiInputError as exc:
        raise TaxiiError(400, "not a TAXII envelope", str(exc)) from None
    return _taxii(status, 202)


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/manifest/")
def get_manifest(collection_id: str, request: Request, store: StoreDep,
                 user: TaxiiUser) -> Response:
    collection = _collection(store, user, collection_id)
    filters, cursor, limit = _filters(request, store, user)
    try:
        page = manifest_page(store, user.audience, collection, filters, cursor, limit)
    except TaxiiInputError as exc:
        raise TaxiiError(400, "bad filter or cursor", str(exc)) from None
    return _taxii(_envelope(page, "objects"), headers=_page_headers(page))


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/")
def get_object(collection_id: str, object_id: str, request: Request, store: StoreDep,
               user: TaxiiUser) -> Response:
    collection = _collection(store, user, collection_id)
    filters, cursor, limit = _filters(request, store, user)
    try:
        page = objects_page(store, user.audience, collection, filters, cursor, limit,
                            object_id=object_id)
    except TaxiiInputError as exc:
        raise TaxiiError(400, "bad filter or cursor", str(exc)) from None
    if not page.items and cursor is None:
        raise TaxiiError(404, "no such object", f"no object {object_id!r} in this collection")
    return _taxii(_envelope(page, "objects"), headers=_page_headers(page))


@router.get(f"/{API_ROOT}/collections/{{collection_id}}/objects/{{object_id}}/versions/")
def get_versions(collection_id: str, object_id: str, request: Request, store: StoreDep,
                 user: TaxiiUser) -> Response:
    collection = _collection(store, user, collection_id)
    filters, cursor, limit = _filters(request, store, user)
    try:
        page = versions_page(store, user.audience, collection, object_id, filters, cursor,
                             limit)
    except TaxiiInputError as exc:
        raise TaxiiError(400, "bad filter or cursor", str(exc)) from None
    if not page.items and cursor is None:
        raise TaxiiError(404, "no such object", f"no object {object_id!r} in this collection")
    body: dict[str, Any] = {"more": page.more}
    if page.next is not None:
        body["next"] = page.next
    body["versions"] = [item["version"] for item in page.items]
    return _taxii(body, headers=_page_headers(page))


@router.get(f"/{API_ROOT}/status/{{status_id}}/")
def get_status(status_id: str, store: StoreDep, user: TaxiiUser) -> Response:
    found = read_status(store, user.id, status_id)
    if found is None:
        raise TaxiiError(404, "no such status", f"no status {status_id!r} of yours")
    return _taxii(found)
