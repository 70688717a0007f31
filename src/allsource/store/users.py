"""API users and bearer tokens.

A token is ``as_`` followed by 32 random bytes (``secrets.token_urlsafe``), shown once when it
is created. The store keeps only its SHA-256: a slow password hash (argon2id, bcrypt) exists to
make guessing *low-entropy* secrets expensive, but a 256-bit random token cannot be guessed
whatever the hash, so a fast, unsalted SHA-256 is as safe here and lets every request find its
token with one indexed lookup (``token_hash`` is unique) instead of a 50 ms hash per call.

Roles say what a user may *do*: ``admin`` (everything, including sources and users),
``analyst`` (triage, watchlists, cases), ``reader`` and ``partner`` (read-only; a partner is an
outside organisation). What a user may *read* is their own rights — TLP ceiling, clearance,
compartments, groups, or everything — carried on :class:`User` and read as
:attr:`User.audience` (see :mod:`allsource.store.rights` for the defaults per role).
``last_used_at`` is written at most once a minute per token, so authentication does not turn
every read into a write.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.errors import InputError
from allsource.model.ids import minted_id
from allsource.model.markings import TLP, Audience, Classification
from allsource.store import rights as r
from allsource.store import schema as t
from allsource.store.sql import aware, naive_utc, utc_now

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = [
    "ROLES",
    "TokenInfo",
    "User",
    "add_user",
    "authenticate",
    "create_token",
    "ensure_first_admin",
    "get_user",
    "hash_token",
    "list_tokens",
    "list_users",
    "revoke_token",
]

ROLES = ("admin", "analyst", "reader", "partner")
#: the scopes a token of each role can use (:mod:`allsource.store.tokens`): a request needs
#: both the role and the scope, so a scope beyond the role would only read as a promise
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "admin": ("read", "write", "admin"), "analyst": ("read", "write"),
    "partner": ("read", "write"), "reader": ("read",)}
USER_TYPE = "x-allsource-user"
TOKEN_PREFIX = "as_"
FIRST_ADMIN = "admin"
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class User:
    """An account: its role (what it may do) and its read rights (what it may see)."""

    id: str
    name: str
    role: str
    created_at: datetime
    disabled: bool = False
    max_tlp: TLP = TLP.CLEAR
    clearance: Classification = Classification.UNCLASSIFIED
    compartments: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    all_access: bool = False

    @property
    def audience(self) -> Audience:
        """What this user may read, for :func:`~allsource.model.markings.can_release`."""
        if self.all_access:
            return Audience.owner()
        return Audience(max_tlp=self.max_tlp, clearance=self.clearance,
                        compartments=self.compartments, groups=self.groups)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role,
                "created_at": self.created_at.isoformat(), "disabled": self.disabled,
                "all_access": self.all_access, "max_tlp": self.max_tlp.label,
                "clearance": self.clearance.name, "compartments": sorted(self.compartments),
                "groups": sorted(self.groups)}


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token's record (never its secret)."""

    id: str
    user_id: str
    user: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked: bool
    scopes: tuple[str, ...] = ("read", "write", "admin")  # store/tokens.py

    def as_dict(self) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None

        return {"id": self.id, "user": self.user, "name": self.name,
                "created_at": self.created_at.isoformat(),
                "last_used_at": iso(self.last_used_at), "expires_at": iso(self.expires_at),
                "revoked": self.revoked, "scopes": list(self.scopes)}


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _users(conn: Connection, rows: list[Any]) -> list[User]:
    """Users from ``users`` rows, with their compartments and groups (one query each)."""
    member = r.memberships(conn, [row.id for row in rows])
    return [User(id=row.id, name=row.name, role=row.role,
                 created_at=aware(row.created_at), disabled=bool(row.disabled),  # type: ignore[arg-type]
                 max_tlp=TLP(int(row.max_tlp)), clearance=Classification(int(row.clearance)),
                 compartments=member[row.id][0], groups=member[row.id][1],
                 all_access=bool(row.all_access))
            for row in rows]


def add_user(store: SqlStore, name: str, role: str = "analyst", *,
             max_tlp: TLP | None = None, clearance: Classification | None = None,
             compartments: Iterable[str] = (), groups: Iterable[str] = (),
             all_access: bool | None = None) -> User:
    """A new user with the role's default rights (:data:`allsource.store.rights.DEFAULTS`),
    changed by the rights given. Giving a ceiling or clearance without ``all_access`` turns
    a default "everything" off, so ``--tlp AMBER`` on an admin means what it says."""
    name = " ".join(name.split())
    if not name or len(name) > 120:
        raise InputError("a user name is 1-120 characters")
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}: use {', '.join(ROLES)}")
    default = r.DEFAULTS[role]
    if all_access is None:
        all_access = default.all_access and max_tlp is None and clearance is None
    u = t.users
    uid = minted_id(USER_TYPE, name)
    with store.engine.begin() as conn:
        if conn.execute(sa.select(u.c.id).where(u.c.name == name)).first():
            raise InputError(f"a user named {name!r} already exists")
        conn.execute(u.insert().values(
            id=uid, name=name, role=role, created_at=utc_now(), disabled=False,
            max_tlp=int(default.max_tlp if max_tlp is None else max_tlp),
            clearance=int(default.clearance if clearance is None else clearance),
            all_access=all_access))
        r.add_memberships(conn, uid, compartments, groups)
    found = get_user(store, name)
    assert found is not None
    return found


def get_user(store: SqlStore, name_or_id: str) -> User | None:
    u = t.users
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(u).where(sa.or_(u.c.name == name_or_id,
                                                     u.c.id == name_or_id))).first()
        return _users(conn, [row])[0] if row else None


def list_users(store: SqlStore) -> list[User]:
    with store.engine.connect() as conn:
        return _users(conn, list(conn.execute(sa.select(t.users).order_by(t.users.c.name))))


def create_token(store: SqlStore, user: User, *, name: str = "default",
                 expires_at: datetime | None = None,
                 scopes: tuple[str, ...] | None = None,
                 ) -> tuple[TokenInfo, str]:
    """A new token for ``user``: its record and the secret (shown once, never stored).
    ``scopes`` bound what the token may do below the user's role (store/tokens.py); by
    default, all that the role allows. A scope beyond the role is a one-line error."""
    allowed = ROLE_SCOPES.get(user.role, ("read",))
    if scopes is None:
        scopes = allowed
    beyond = [s for s in scopes if s not in allowed]
    if beyond:
        raise InputError(f"a token of {user.name} ({user.role}) cannot have the {beyond[0]} "
                         f"scope: the role allows {','.join(allowed)}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = uuid.uuid4().hex[:16]
    now = utc_now()
    with store.engine.begin() as conn:
        conn.execute(t.api_tokens.insert().values(
            id=token_id, user_id=user.id, name=(" ".join(name.split()) or "default")[:120],
            token_hash=hash_token(secret), created_at=now, last_used_at=None,
            expires_at=naive_utc(expires_at), revoked=False, scopes=",".join(scopes)))
    info = [tok for tok in list_tokens(store, user) if tok.id == token_id]
    return info[0], secret


def list_tokens(store: SqlStore, user: User | None = None) -> list[TokenInfo]:
    k, u = t.api_tokens, t.users
    stmt = (sa.select(k, u.c.name.label("user_name")).join(u, u.c.id == k.c.user_id)
            .order_by(k.c.created_at, k.c.id))
    if user is not None:
        stmt = stmt.where(k.c.user_id == user.id)
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [TokenInfo(id=r.id, user_id=r.user_id, user=r.user_name, name=r.name,
                      created_at=aware(r.created_at), last_used_at=aware(r.last_used_at),  # type: ignore[arg-type]
                      expires_at=aware(r.expires_at), revoked=bool(r.revoked),
                      scopes=tuple(r.scopes.split(","))) for r in rows]


def revoke_token(store: SqlStore, token_id: str) -> bool:
    k = t.api_tokens
    with store.engine.begin() as conn:
        done = conn.execute(k.update().where(k.c.id == token_id).values(revoked=True))
    return bool(done.rowcount)


def authenticate(store: SqlStore, secret: str, *, now: datetime | None = None) -> User | None:
    """The enabled user whose live (not revoked, not expired) token this is, else None."""
    found = authenticate_token(store, secret, now=now)
    return None if found is None else found[0]


#: built once: every API request runs it
_TOKEN_USER = (sa.select(t.api_tokens.c.id.label("token_id"), t.api_tokens.c.expires_at,
                         t.api_tokens.c.revoked, t.api_tokens.c.last_used_at,
                         t.api_tokens.c.scopes.label("token_scopes"), t.users)
               .join(t.users, t.users.c.id == t.api_tokens.c.user_id)
               .where(t.api_tokens.c.token_hash == sa.bindparam("token_hash")))


def authenticate_token(store: SqlStore, secret: str, *, now: datetime | None = None
                       ) -> tuple[User, str, str] | None:
    """:func:`authenticate`, with the token's id and its comma-separated scopes: the token,
    its user and the user's memberships read on one connection (every API request pays for
    this, so it is two statements, not four on three connections)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    k = t.api_tokens
    when = naive_utc(now) or utc_now()
    with store.engine.connect() as conn:
        row = conn.execute(_TOKEN_USER, {"token_hash": hash_token(secret)}).first()
        if row is None or row.revoked or row.disabled:
            return None
        if row.expires_at is not None and row.expires_at <= when:
            return None
        user = _users(conn, [row])[0]
    if row.last_used_at is None or when - row.last_used_at >= _TOUCH_EVERY:
        with store.engine.begin() as conn:
            conn.execute(k.update().where(k.c.id == row.token_id).values(last_used_at=when))
    return user, row.token_id, row.token_scopes


def has_admin(store: SqlStore) -> bool:
    u = t.users
    with store.engine.connect() as conn:
        return conn.execute(sa.select(u.c.id).where(u.c.role == "admin").limit(1)
                            ).first() is not None


def ensure_first_admin(store: SqlStore, name: str = FIRST_ADMIN
                       ) -> tuple[User, str] | None:
    """Create the first admin and a token for it, unless an admin exists (then None)."""
    if has_admin(store):
        return None
    user = get_user(store, name) or add_user(store, name, "admin", all_access=True)
    if user.role != "admin" or not user.all_access:
        r.set_rights(store, user.id, role="admin", all_access=True)
        user = get_user(store, name)  # type: ignore[assignment]
    _, secret = create_token(store, user, name="init")
    return user, secret
