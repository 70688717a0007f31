"""Users' read rights: a TLP ceiling, a clearance, compartments and groups, or "everything".

A user reads as an :class:`~allsource.model.markings.Audience` built from these rights
(:attr:`allsource.store.users.User.audience`), and every read releases only what
:func:`~allsource.model.markings.can_release` allows for it, enforced in SQL
(:mod:`allsource.store.access`):

- ``max_tlp``: the highest TLP the user may read (``users.max_tlp``);
- ``clearance``: the highest classification (``users.clearance``);
- compartments (``user_compartments``): an object's compartments must *all* be among them;
- groups (``user_groups``: organisations, communities, partner names): an object with a
  releasability list is readable when it names *one* of them;
- ``all_access``: reads everything, like the local operator on their own machine.

Defaults when a user is created, per role (least privilege; raise them explicitly):

============  =========  ============  ===========================================
role          TLP        clearance     why
============  =========  ============  ===========================================
admin         all        all           administers users and rights, so could grant
                                       itself anything: restricting its reads would
                                       be theatre. ``allsource init``'s first admin
                                       is the store's owner and reads everything,
                                       as the CLI does.
analyst       AMBER      UNCLASSIFIED  works the organisation's AMBER reporting
reader        GREEN      UNCLASSIFIED  community-level material only
partner       GREEN      UNCLASSIFIED  an outside organisation: add it to its group
============  =========  ============  ===========================================

No user starts in a compartment or group. An admin can still be limited (``all_access``
off, then its own ceiling and clearance apply) for separation of duties.

Names of compartments and groups are exact (case-sensitive, as markings are compared), 1-120
characters, without commas (markings store them comma-joined) or control characters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.errors import InputError
from allsource.model.markings import TLP, Classification
from allsource.store import schema as t

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["DEFAULTS", "Rights", "clean_names", "grant", "memberships", "revoke", "set_rights"]


@dataclass(frozen=True, slots=True)
class Rights:
    """The ceiling, clearance and "everything" flag stored on ``users``."""

    max_tlp: TLP
    clearance: Classification
    all_access: bool = False


DEFAULTS: dict[str, Rights] = {
    "admin": Rights(TLP.RED, Classification.TOP_SECRET, all_access=True),
    "analyst": Rights(TLP.AMBER, Classification.UNCLASSIFIED),
    "reader": Rights(TLP.GREEN, Classification.UNCLASSIFIED),
    "partner": Rights(TLP.GREEN, Classification.UNCLASSIFIED),
}

_TABLES = {"compartment": t.user_compartments, "group": t.user_groups}


def clean_names(names: Iterable[str], what: str) -> list[str]:
    """Validated compartment or group names (``what`` says which, for the error)."""
    out = []
    for raw in names:
        name = raw.strip()
        if not name or len(name) > 120 or "," in name or any(
                ord(ch) < 32 or ord(ch) == 127 for ch in name):
            raise InputError(f"a {what} name is 1-120 characters without commas: {raw!r}")
        out.append(name)
    return sorted(set(out))


_C, _G = t.user_compartments, t.user_groups
_USER_IDS: sa.BindParameter[list[str]] = sa.bindparam("user_ids", expanding=True)
#: built once: every API request reads its user's memberships (see store/users.py)
_MEMBERSHIPS = sa.union_all(
    sa.select(sa.literal(0).label("slot"), _C.c.user_id, _C.c.name)
    .where(_C.c.user_id.in_(_USER_IDS)),
    sa.select(sa.literal(1).label("slot"), _G.c.user_id, _G.c.name)
    .where(_G.c.user_id.in_(_USER_IDS)))


def memberships(conn: Connection, user_ids: Iterable[str]
                ) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """``user id → (compartments, groups)`` for the given users (one statement)."""
    ids = sorted(set(user_ids))
    found: dict[str, tuple[set[str], set[str]]] = {i: (set(), set()) for i in ids}
    for i in range(0, len(ids), 400):
        for slot, uid, name in conn.execute(_MEMBERSHIPS, {"user_ids": ids[i:i + 400]}):
            found[uid][slot].add(name)
    return {i: (frozenset(c), frozenset(g)) for i, (c, g) in found.items()}


def set_rights(store: SqlStore, user_id: str, *, role: str | None = None,
               max_tlp: TLP | None = None, clearance: Classification | None = None,
               all_access: bool | None = None) -> None:
    """Change a user's role, ceiling, clearance or "everything" flag (``None`` keeps it)."""
    values: dict[str, object] = {}
    if role is not None:
        if role not in DEFAULTS:
            raise InputError(f"unknown role {role!r}: use {', '.join(DEFAULTS)}")
        values["role"] = role
    if max_tlp is not None:
        values["max_tlp"] = int(max_tlp)
    if clearance is not None:
        values["clearance"] = int(clearance)
    if all_access is not None:
        values["all_access"] = all_access
    if values:
        with store.engine.begin() as conn:
            conn.execute(t.users.update().where(t.users.c.id == user_id).values(**values))


def grant(store: SqlStore, user_id: str, *, compartments: Iterable[str] = (),
          groups: Iterable[str] = ()) -> None:
    """Read a user into compartments and add them to groups (repeating one is a no-op)."""
    with store.engine.begin() as conn:
        add_memberships(conn, user_id, compartments, groups)


def add_memberships(conn: Connection, user_id: str, compartments: Iterable[str],
                    groups: Iterable[str]) -> None:
    for what, names in (("compartment", compartments), ("group", groups)):
        table = _TABLES[what]
        wanted = clean_names(names, what)
        have = set(conn.execute(sa.select(table.c.name).where(table.c.user_id == user_id))
                   .scalars())
        new = [{"user_id": user_id, "name": n} for n in wanted if n not in have]
        if new:
            conn.execute(table.insert(), new)


def revoke(store: SqlStore, user_id: str, *, compartments: Iterable[str] = (),
           groups: Iterable[str] = ()) -> int:
    """Take compartments and groups away from a user; how many memberships were removed."""
    removed = 0
    with store.engine.begin() as conn:
        for what, names in (("compartment", compartments), ("group", groups)):
            table = _TABLES[what]
            wanted = clean_names(names, what)
            if wanted:
                removed += conn.execute(table.delete().where(
                    table.c.user_id == user_id, table.c.name.in_(wanted))).rowcount or 0
    return removed
