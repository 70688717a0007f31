"""TAXII collections are sharing groups.

A *group* (``user_groups``: an organisation, a community, a partner) has one collection, whose
id is a UUIDv5 of its name, so the id is the same on every server process and after a restart.
It holds the versions **releasable to the group**: those without a releasability list, and
those whose list names the group (an AMBER+STRICT report released to ``acme`` is in the
``acme`` collection only). A caller sees the collections of the groups they belong to; the
store's owner (an unrestricted reader) sees every group's. Besides, every caller has the
``all`` collection: everything their token may read, whatever the group.

Membership of a collection never widens access: the caller's own access rule cuts every page
again (:mod:`allsource.share.taxii.pages`). A group collection is writable by its members
with a writing role; what they POST is released to that group (:mod:`.submit`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from allsource.model.markings import Audience
from allsource.store import schema as t
from allsource.store.sql import SqlStore

__all__ = ["ALL", "Collection", "collection_of", "collections_for", "releasable_to"]

_NAMESPACE = uuid.UUID("9f3d1c8e-57a4-4f0b-8f6e-2b7c5d1a9e40")
#: roles that may add objects to a group's collection
WRITERS = frozenset({"admin", "analyst", "partner"})


@dataclass(frozen=True, slots=True)
class Collection:
    """One collection: ``group`` is ``None`` for the ``all`` collection."""

    id: str
    title: str
    group: str | None

    def resource(self, role: str) -> dict[str, Any]:
        """The TAXII collection resource, as the caller (of ``role``) may use it."""
        if self.group is None:
            description = "Everything your token may read."
        else:
            description = (f"What is releasable to the sharing group {self.group}: objects "
                           "without a releasability list, and those released to it.")
        return {"id": self.id, "title": self.title, "description": description,
                "can_read": True, "can_write": self.group is not None and role in WRITERS,
                "media_types": ["application/stix+json;version=2.1"]}


def _collection_id(key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, key))


ALL = Collection(_collection_id("*"), "all", None)


def collections_for(store: SqlStore, audience: Audience) -> list[Collection]:
    """The collections ``audience`` may see: ``all``, then their groups' (every group's for
    an unrestricted reader), by name."""
    if audience.unrestricted:
        g = t.user_groups
        with store.engine.connect() as conn:
            groups = sorted(set(conn.execute(sa.select(g.c.name).distinct()).scalars()))
    else:
        groups = sorted(audience.groups)
    return [ALL, *[Collection(_collection_id("group:" + name), name, name) for name in groups]]


def collection_of(store: SqlStore, audience: Audience, collection_id: str) -> Collection | None:
    """The collection ``collection_id`` if ``audience`` may see it; ``None`` exactly as for
    one that does not exist."""
    if collection_id == ALL.id:
        return ALL  # every caller has it: no need to list the groups
    for found in collections_for(store, audience):
        if found.id == collection_id:
            return found
    return None


def releasable_to(table: Any, group: str) -> sa.ColumnElement[bool]:
    """SQL: the row's releasability is empty or names ``group`` (whole names between commas,
    as :mod:`allsource.store.access` compares them)."""
    comma: sa.ColumnElement[Any] = sa.literal(",", sa.Text)
    wrapped = comma + table.c.releasability + comma
    return sa.or_(table.c.releasability == "",
                  sa.func.replace(wrapped, f",{group},", "", type_=sa.Text) != wrapped)
