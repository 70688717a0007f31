"""Pagination and sorting shared by every list endpoint.

Lists take ``limit`` (1-500, default 50) and ``offset`` and answer with one envelope,
``{"items", "total", "limit", "offset", "next"}``; ``next`` is the path and query of the next
page, or null on the last. ``sort`` is a comma-separated list of keys, each optionally
prefixed with ``-`` for descending (``sort=-published_at,title``); each resource declares the
keys it accepts, and any other key is a 422 — never a column name passed through to SQL.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Query, Request
from pydantic import BaseModel

from allsource.api.errors import ApiError

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_OFFSET = 1_000_000

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next: str | None = None


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int = DEFAULT_LIMIT
    offset: int = 0


async def page_params(  # async: no worker-thread hop for a dataclass
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-500).")
                     ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def page(request: Request, items: Sequence[T], total: int, params: PageParams) -> Page[T]:
    """The envelope for one page of ``items`` out of ``total``."""
    end = params.offset + params.limit
    nxt = None
    if end < total:
        url = request.url.include_query_params(offset=end, limit=params.limit)
        nxt = url.path + "?" + url.query
    return Page[T](items=list(items), total=total, limit=params.limit, offset=params.offset,
                   next=nxt)


def page_of(request: Request, items: Sequence[T], params: PageParams) -> Page[T]:
    """Page a list held in memory (small collections: sources, watchlists)."""
    return page(request, items[params.offset:params.offset + params.limit], len(items), params)


SortKeys = list[tuple[str, bool]]


def sort_param(allowed: Sequence[str], default: str) -> Callable[..., SortKeys]:
    """A ``sort`` query parameter accepting ``allowed`` keys (a FastAPI dependency). Its
    annotation is built here, so this module does not use postponed annotations."""
    desc = (f"Comma-separated keys, '-' for descending; one of {', '.join(allowed)} "
            f"(default {default}).")
    allowed = tuple(allowed)

    def sort(sort: Annotated[str | None, Query(max_length=200, description=desc)] = None
             ) -> SortKeys:
        return parse_sort(sort or default, allowed)

    return sort


def parse_sort(text: str, allowed: Sequence[str]) -> SortKeys:
    keys: SortKeys = []
    for part in text.split(","):
        part = part.strip()
        desc = part.startswith("-")
        key = part.lstrip("-+")
        if key not in allowed:
            raise ApiError(422, f"cannot sort by {key!r}", code="invalid_sort",
                           details={"allowed": list(allowed)})
        keys.append((key, desc))
    return keys


def order_by(keys: SortKeys, columns: Mapping[str, Any]) -> list[Any]:
    """SQL ORDER BY clauses for ``keys`` (nulls last, both backends)."""
    out: list[Any] = []
    for key, desc in keys:
        col = columns[key]
        out.append(col.is_(None))
        out.append(sa.desc(col) if desc else sa.asc(col))
    return out


def sort_items(items: list[T], keys: SortKeys, getters: Mapping[str, Callable[[T], Any]]
               ) -> list[T]:
    """Sort in memory by ``keys`` (stable, so earlier keys win; None sorts last)."""
    for key, desc in reversed(keys):
        get = getters[key]
        present = [i for i in items if get(i) is not None]
        missing = [i for i in items if get(i) is None]
        items = sorted(present, key=get, reverse=desc) + missing
    return items
