"""What an API token may do: its scopes.

A token carries a subset of :data:`SCOPES`, and a request may do what *both* the user's role
and the token's scopes allow:

- ``read``: GET and HEAD requests (every token has it: a token that cannot read is useless);
- ``write``: requests that change something (POST, PUT, PATCH, DELETE), for roles that may;
- ``admin``: the admin-only routes (sources, users), for admins.

So a token made with ``--scope read`` for an admin cannot write: a read-only token can sit
in a dashboard or a script without the power of its owner. Tokens made before scopes existed
(migration 0018) have all three. Scopes are checked in :mod:`allsource.api.deps`; a web
session opened with a token carries that token's scopes (:mod:`allsource.store.sessions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from allsource.errors import InputError
from allsource.store import users

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["SCOPES", "WRITE_METHODS", "Grant", "authenticate_scoped", "parse_scopes",
           "scope_for"]

SCOPES = ("read", "write", "admin")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def parse_scopes(text: str) -> tuple[str, ...]:
    """``"read,write"`` → ``("read", "write")`` in canonical order; ``read`` is always in.
    ``admin`` implies ``write``. Unknown names are a one-line error."""
    names = {s.strip().lower() for s in text.replace(" ", ",").split(",") if s.strip()}
    unknown = names - set(SCOPES)
    if unknown:
        raise InputError(f"unknown scope {sorted(unknown)[0]!r}: use read, write or admin "
                         "(comma-separated)")
    names.add("read")
    if "admin" in names:
        names.add("write")
    return tuple(s for s in SCOPES if s in names)


def scope_for(method: str, roles: tuple[str, ...] = ()) -> str:
    """The scope a request needs: ``admin`` for an admin-only route, ``write`` for a
    state-changing method or a route open to writers only, else ``read``."""
    if roles and set(roles) <= {"admin"}:
        return "admin"
    if roles or method.upper() in WRITE_METHODS:
        return "write"
    return "read"


@dataclass(frozen=True, slots=True)
class Grant:
    """An authenticated token: its user, its id and its scopes."""

    user: users.User
    token_id: str
    scopes: tuple[str, ...]


def authenticate_scoped(store: SqlStore, secret: str, *,
                        now: datetime | None = None) -> Grant | None:
    """:func:`allsource.store.users.authenticate`, plus the token's id and scopes."""
    found = users.authenticate_token(store, secret, now=now)
    if found is None:
        return None
    user, token_id, scopes = found
    return Grant(user=user, token_id=token_id,
                 scopes=tuple(s for s in SCOPES if s in scopes.split(",")))
