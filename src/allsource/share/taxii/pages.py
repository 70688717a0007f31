"""One page of a collection: objects, manifest records or an object's versions.

A page is one ``SELECT`` on ``object_versions`` in ``seq`` order, ``LIMIT limit + 1`` (the
extra row only says whether there is more), with every condition in SQL before the limit:

* the cursor: ``seq`` above the ``next`` the client sent, and ``seq`` from the first version
  added after ``added_after`` (``date_added`` is strictly increasing with ``seq``, so a
  sub-select on its unique index turns the time into a sequence number, in the same
  statement, and the page stays a range scan of the primary key);
* the collection (:func:`~allsource.share.taxii.collections.releasable_to` its group);
* TLP:RED is never served, not even to the store's owner: sharing stops below it;
* the caller's access: :func:`~allsource.store.access.readable` on the version's own marking,
  and :func:`~allsource.store.derived.visible` on the object or relationship it is a version
  of (a relationship also needs both ends visible, :func:`~allsource.store.derived.ends_visible`);
  an unrestricted reader pays none of it. The release decision
  (:func:`~allsource.model.markings.can_release`) is taken again in Python once per distinct
  marking of the page, and every row is held to it;
* ``match[id]``, ``match[type]``, ``match[spec_version]`` and ``match[version]`` (``last`` —
  the default — is the current version, ``first`` the one with the oldest ``modified``,
  ``all``, or timestamps);
* ``match[x_allsource_origin]=others``: not the versions that came from the caller
  (:mod:`.origin`). Such a page is read up to the ingest head as it stood *before* the
  page's statement (one more statement), and when it is the last page its
  ``X-TAXII-Date-Added-Last`` is that head's ``date_added``: a client that checkpoints on the
  header (as TAXII clients do) moves past the echoes it was spared instead of having the
  server walk them again on every round.

**Cost.** A page is that one statement, whatever its size (a test counts them), reading
``stix`` as JSON text that is parsed once with orjson and completed
(:func:`~allsource.share.stix_objects.complete`); the envelope is serialised once.

A version whose object carries no ``modified`` has as its version what the rendered object
shows (its ``created``, or for a cyber observable the ``date_added``), matched after the
query: such a page may hold fewer than ``limit`` objects while ``more`` stays exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa

from allsource.model.markings import TLP, Audience, Marking, can_release
from allsource.share.stix_objects import complete
from allsource.share.taxii.collections import Collection, releasable_to
from allsource.share.taxii.cursor import decode_cursor, encode_cursor
from allsource.share.taxii.origin import not_from
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.access import readable
from allsource.store.object_log import normalize_modified
from allsource.store.sql import SqlStore

__all__ = ["MAX_PAGE", "STIX_MEDIA_TYPE", "Filters", "Page", "TaxiiInputError", "added",
           "manifest_page", "objects_page", "versions_page"]

#: the largest page served (a client asking for more gets this many)
MAX_PAGE = 10_000
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
_COLUMNS = t.MARKING_NAMES


class TaxiiInputError(ValueError):
    """A filter or cursor the server cannot use (answered with HTTP 400)."""


@dataclass(frozen=True, slots=True)
class Filters:
    """The TAXII filter parameters of a request."""

    added_after: datetime | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: tuple[str, ...] = ("last",)
    spec_versions: tuple[str, ...] = ()
    #: leave out the versions that came from these origins (``match[x_allsource_origin]``)
    not_from: tuple[str, ...] = ()


@dataclass(slots=True)
class Page:
    """Rendered items in ``seq`` order, whether more follow, the cursor to them, and the
    ``date_added`` of the first and last item (for the ``X-TAXII-Date-Added-*`` headers)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False
    next: str | None = None
    first_added: datetime | None = None
    last_added: datetime | None = None


def added(when: datetime) -> str:
    """A ``date_added`` as a TAXII timestamp (microseconds: every one is distinct)."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _visible(store: SqlStore, v: Any, audience: Audience) -> sa.ColumnElement[bool]:
    if audience.unrestricted:
        return sa.true()
    o, r = t.objects.alias("tx_o"), t.relationships.alias("tx_r")
    return sa.and_(readable(v, audience), sa.or_(
        sa.exists().where(o.c.id == v.c.id, derived.visible(store, o, audience)),
        sa.exists().where(r.c.id == v.c.id, derived.visible(store, r, audience),
                          derived.ends_visible(store, r, audience))))


def _version_condition(v: Any, versions: Sequence[str]
                       ) -> tuple[sa.ColumnElement[bool] | None, set[str]]:
    """SQL for ``match[version]`` and the explicit versions wanted (normalised)."""
    conds: list[sa.ColumnElement[bool]] = []
    explicit: set[str] = set()
    for value in versions or ("last",):
        if value == "all":
            return None, set()
        if value == "last":
            conds.append(v.c.is_current.is_(True))
        elif value == "first":
            older = t.object_versions.alias("tx_older")
            conds.append(~sa.exists().where(older.c.id == v.c.id,
                                            older.c.modified < v.c.modified))
        elif norm := normalize_modified(value):
            explicit.add(norm)
        else:
            raise TaxiiInputError(f"match[version]={value!r} is neither last, first, all "
                                  "nor a timestamp")
    if explicit:
        conds.append(sa.or_(v.c.modified.in_(sorted(explicit)), v.c.modified == ""))
    return sa.or_(*conds), explicit


def _after(filters: Filters, cursor: str | None) -> list[sa.ColumnElement[bool]]:
    """SQL: the rows after the cursor and after ``added_after``. ``date_added`` grows with
    ``seq``, so the first version added after that time is one look-up on its unique index,
    made inside the page's statement (with nothing added since: above everything stored)."""
    v = t.object_versions
    conds = []
    if cursor:
        found = decode_cursor(cursor)
        if found is None:
            raise TaxiiInputError("the next parameter is not a cursor this server gave")
        conds.append(v.c.seq > found)
    if filters.added_after is not None:
        # the first by date_added, not min(seq): SQLite (and PostgreSQL) answer min(seq) by
        # walking the primary key from the start, a scan of everything stored (1.3 s at 1M)
        later = t.object_versions.alias("tx_later")
        first = (sa.select(later.c.seq).where(later.c.date_added > filters.added_after)
                 .order_by(later.c.date_added).limit(1).scalar_subquery())
        stored = sa.select(t.object_log_head.c.seq).scalar_subquery()
        conds.append(v.c.seq > sa.func.coalesce(first - 1, stored))
    return conds


def _columns(store: SqlStore) -> list[Any]:
    """The page's columns, ``stix`` as its JSON text: the page parses each object once, with
    orjson, instead of paying the ORM's per-column processing on every row."""
    v = t.object_versions
    added_at: Any = v.c.date_added
    if store.engine.dialect.name == "postgresql":
        text: Any = sa.cast(v.c.stix, sa.Text)
    else:  # SQLite: text as stored, parsed by _stix and _when
        text = sa.type_coerce(v.c.stix, sa.Text)
        added_at = sa.type_coerce(v.c.date_added, sa.Text)
    return [v.c.seq, v.c.id, v.c.name, v.c.modified, added_at.label("date_added"), v.c.tlp,
            v.c.classification, v.c.compartments, v.c.releasability, text.label("stix")]


def _rows(store: SqlStore, audience: Audience, collection: Collection, filters: Filters,
          cursor: str | None, limit: int, object_id: str | None = None
          ) -> tuple[list[Any], bool, set[str], datetime | None]:
    """The page's rows, in one statement (two with ``not_from``: the head, then the rows up
    to it; the head's ``date_added`` is returned, else ``None``)."""
    v = t.object_versions
    if filters.spec_versions and "2.1" not in filters.spec_versions:
        return [], False, set(), None  # everything is served as STIX 2.1
    limit = max(1, min(limit, MAX_PAGE))
    version_cond, explicit = _version_condition(v, filters.versions)
    # TLP:RED is never shared, whoever asks (the store's owner included)
    conds = [*_after(filters, cursor), v.c.tlp < int(TLP.RED)]
    head: Any = None
    if filters.not_from:
        # the head first: seq is handed out in commit order, so every version up to it is
        # committed and the page has examined all of them when it is the last
        h = t.object_log_head
        with store.engine.connect() as conn:
            head = conn.execute(sa.select(h.c.seq, h.c.date_added)).one()
        conds += [v.c.seq <= head.seq, not_from(v, filters.not_from)]
    conds.append(_visible(store, v, audience))
    if collection.group is not None:
        conds.append(releasable_to(v, collection.group))
    if object_id is not None:
        conds.append(v.c.id == object_id)
    elif filters.ids:
        conds.append(v.c.id.in_(list(filters.ids)))
    if filters.types:
        conds.append(v.c.type.in_(list(filters.types)))
    if version_cond is not None:
        conds.append(version_cond)
    with store.engine.connect() as conn:
        rows = list(conn.execute(sa.select(*_columns(store)).where(*conds)
                                 .order_by(v.c.seq).limit(limit + 1)))
    more = len(rows) > limit
    return rows[:limit], more, explicit, None if head is None else _when(head.date_added)


def _when(value: Any) -> datetime:
    """A ``date_added`` as the driver returns it (SQLite: ISO text) as a naive datetime."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _stix(value: Any) -> dict[str, Any]:
    """The stored STIX of a row (JSON text; a driver may already have parsed it)."""
    if isinstance(value, str | bytes):
        value = orjson.loads(value)
    return value if isinstance(value, dict) else {}


def _marking(row: Any, markings: dict[tuple[Any, ...], tuple[Marking, bool]],
             audience: Audience) -> tuple[Marking, bool]:
    """The row's marking and whether it may be served to ``audience``, decided once per
    distinct marking of the page (a page holds a handful). The SQL already cut the page to
    what may be served; this is :func:`can_release` again, at the cost of a dictionary
    look-up per row."""
    key = (row.tlp, row.classification, row.compartments, row.releasability)
    found = markings.get(key)
    if found is None:
        marking = Marking.from_columns(dict(zip(_COLUMNS, key, strict=True)))
        found = markings[key] = (marking, marking.tlp < TLP.RED
                                 and can_release(marking, audience))
    return found


def _page(store: SqlStore, audience: Audience, collection: Collection, filters: Filters,
          cursor: str | None, limit: int, manifest: bool,
          object_id: str | None = None) -> Page:
    rows, more, explicit, head = _rows(store, audience, collection, filters, cursor, limit,
                                       object_id)
    page = Page(more=more, next=encode_cursor(rows[-1].seq) if more and rows else None)
    markings: dict[tuple[Any, ...], tuple[Marking, bool]] = {}
    items = page.items
    for row in rows:
        marking, served = _marking(row, markings, audience)
        if not served:
            continue
        when = _when(row.date_added)
        obj = complete(_stix(row.stix), row.id, row.name or "", when, marking)
        version = str(obj.get("modified") or obj.get("created") or added(when))
        if explicit and not row.modified and normalize_modified(version) not in explicit:
            continue
        if manifest:
            items.append({"id": row.id, "date_added": added(when), "version": version,
                          "media_type": STIX_MEDIA_TYPE})
        else:
            items.append(obj)
        if page.first_added is None:
            page.first_added = when
        page.last_added = when
    if head is not None and not more:  # examined up to the head (see the module docstring)
        page.last_added = max(head, page.last_added or head)
        page.first_added = page.first_added or page.last_added
    return page


def objects_page(store: SqlStore, audience: Audience, collection: Collection,
                 filters: Filters, cursor: str | None, limit: int,
                 object_id: str | None = None) -> Page:
    """A page of STIX objects (of one object's versions with ``object_id``)."""
    return _page(store, audience, collection, filters, cursor, limit, False, object_id)


def manifest_page(store: SqlStore, audience: Audience, collection: Collection,
                  filters: Filters, cursor: str | None, limit: int) -> Page:
    """A page of manifest records (id, date_added, version, media_type)."""
    return _page(store, audience, collection, filters, cursor, limit, True)


def versions_page(store: SqlStore, audience: Audience, collection: Collection, object_id: str,
                  filters: Filters, cursor: str | None, limit: int) -> Page:
    """The versions of one object the caller may read (``items`` are version strings)."""
    every = Filters(added_after=filters.added_after, spec_versions=filters.spec_versions,
                    versions=("all",))
    page = _page(store, audience, collection, every, cursor, limit, True, object_id)
    page.items = [{"version": item["version"]} for item in page.items]
    return page
