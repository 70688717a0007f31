"""Web workspace sessions, kept in the store.

A session is a random 256-bit value (``secrets.token_urlsafe(32)``) held by the browser in a
cookie; the store keeps only its SHA-256 (``id_hash``), so a copy of the database lets nobody
act as a logged-in user. As with API tokens, a fast hash is enough for a value that cannot be
guessed, and it finds the session with one primary-key lookup. The CSRF token of a session is
derived from the cookie value (an HMAC), so it is not stored either.

Because sessions are rows, they survive a restart of ``allsource serve`` and are shared by
every worker process. Each lookup re-checks what the session rests on: its absolute expiry
(:data:`LIFETIME`), the user (a disabled user's sessions end) and, for a session opened with an
API token, that token (revoked or expired ends the session). A session opened with a token
carries that token's scopes; a password session has every scope, bounded by the user's role.

**Caps are per user.** Creating a session evicts the *same user's* oldest sessions beyond
:data:`MAX_PER_USER`, never anybody else's, and deletes every expired session; nothing else
limits the table, so one user (or one stolen token) logging in over and over cannot log
another user out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from allsource.store import schema as t
from allsource.store.sql import aware, naive_utc, utc_now

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = [
    "ALL_SCOPES",
    "LIFETIME",
    "MAX_PER_USER",
    "SessionInfo",
    "WebSession",
    "create_session",
    "csrf_for",
    "delete_session",
    "end_sessions",
    "end_sessions_in",
    "find_session",
    "hash_session_id",
    "list_sessions",
]

LIFETIME = timedelta(hours=12)
MAX_PER_USER = 10
ALL_SCOPES = ("read", "write", "admin")
_TOUCH_EVERY = timedelta(minutes=1)
_MAX_ID = 100


@dataclass(frozen=True, slots=True)
class WebSession:
    """A live session. ``id`` is the cookie value: known only to the request that carries
    it (and to the login that created it), never read back from the store."""

    id: str
    user_id: str
    method: str  # "password" or "token"
    token_id: str | None
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime

    @property
    def csrf(self) -> str:
        return csrf_for(self.id)


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_for(session_id: str) -> str:
    """The session's CSRF token: an HMAC of the session id, so only its holder can make it."""
    return hmac.new(session_id.encode("utf-8", "surrogatepass"), b"allsource-csrf",
                    hashlib.sha256).hexdigest()


def create_session(store: SqlStore, user_id: str, *, method: str,
                   token_id: str | None = None, address: str = "",
                   now: datetime | None = None, lifetime: timedelta = LIFETIME,
                   max_per_user: int = MAX_PER_USER) -> WebSession:
    """A new session for ``user_id``; evicts that user's oldest beyond ``max_per_user``."""
    when = naive_utc(now) or utc_now()
    session_id = secrets.token_urlsafe(32)
    s = t.web_sessions
    with store.engine.begin() as conn:
        conn.execute(s.delete().where(s.c.expires_at <= when))
        conn.execute(s.insert().values(
            id_hash=hash_session_id(session_id), user_id=user_id, token_id=token_id,
            method=method, address=address[:64], created_at=when,
            expires_at=when + lifetime, last_seen_at=when))
        keep = (sa.select(s.c.id_hash).where(s.c.user_id == user_id)
                .order_by(s.c.created_at.desc(), s.c.id_hash).limit(max_per_user))
        kept = {r[0] for r in conn.execute(keep)}
        conn.execute(s.delete().where((s.c.user_id == user_id) & s.c.id_hash.not_in(kept)))
    scopes = _token_scopes(store, token_id) if token_id else ALL_SCOPES
    return WebSession(id=session_id, user_id=user_id, method=method, token_id=token_id,
                      scopes=scopes, created_at=aware(when),  # type: ignore[arg-type]
                      expires_at=aware(when + lifetime))  # type: ignore[arg-type]


def _token_scopes(store: SqlStore, token_id: str) -> tuple[str, ...]:
    k = t.api_tokens
    with store.engine.connect() as conn:
        value = conn.execute(sa.select(k.c.scopes).where(k.c.id == token_id)).scalar()
    return _scopes(value)


def _scopes(value: str | None) -> tuple[str, ...]:
    return tuple(s for s in ALL_SCOPES if s in (value or "").split(","))


def find_session(store: SqlStore, session_id: str | None, *,
                 now: datetime | None = None) -> WebSession | None:
    """The live session with this cookie value, or None (a dead one is deleted)."""
    if not session_id or len(session_id) > _MAX_ID:
        return None
    when = naive_utc(now) or utc_now()
    s, u, k = t.web_sessions, t.users, t.api_tokens
    key = hash_session_id(session_id)
    stmt = (sa.select(s, u.c.disabled, k.c.revoked, k.c.expires_at.label("token_expires"),
                      k.c.scopes)
            .join(u, u.c.id == s.c.user_id, isouter=True)
            .join(k, k.c.id == s.c.token_id, isouter=True)
            .where(s.c.id_hash == key))
    with store.engine.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        return None
    dead = (row.expires_at <= when or row.disabled is None or bool(row.disabled)
            or (row.token_id is not None
                and (row.revoked is None or bool(row.revoked)
                     or (row.token_expires is not None and row.token_expires <= when))))
    if dead:
        with store.engine.begin() as conn:
            conn.execute(s.delete().where(s.c.id_hash == key))
        return None
    if when - row.last_seen_at >= _TOUCH_EVERY:
        with store.engine.begin() as conn:
            conn.execute(s.update().where(s.c.id_hash == key).values(last_seen_at=when))
    return WebSession(id=session_id, user_id=row.user_id, method=row.method,
                      token_id=row.token_id,
                      scopes=_scopes(row.scopes) if row.token_id else ALL_SCOPES,
                      created_at=aware(row.created_at),  # type: ignore[arg-type]
                      expires_at=aware(row.expires_at))  # type: ignore[arg-type]


def delete_session(store: SqlStore, session_id: str | None) -> bool:
    """Log a session out (a replayed cookie is worthless afterwards)."""
    if not session_id or len(session_id) > _MAX_ID:
        return False
    s = t.web_sessions
    with store.engine.begin() as conn:
        done = conn.execute(s.delete().where(s.c.id_hash == hash_session_id(session_id)))
    return bool(done.rowcount)


def end_sessions_in(conn: sa.Connection, user_id: str, *,
                    token_id: str | None = None) -> int:
    """Delete the user's sessions (only those opened with ``token_id`` when given), inside
    the caller's transaction."""
    s = t.web_sessions
    cond = s.c.user_id == user_id
    if token_id is not None:
        cond = cond & (s.c.token_id == token_id)
    return int(conn.execute(s.delete().where(cond)).rowcount or 0)


def end_sessions(store: SqlStore, user_id: str, *, token_id: str | None = None) -> int:
    with store.engine.begin() as conn:
        return end_sessions_in(conn, user_id, token_id=token_id)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A stored session as an admin may list it (no id, no hash)."""

    user_id: str
    method: str
    address: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime


def list_sessions(store: SqlStore, user_id: str, *,
                  now: datetime | None = None) -> list[SessionInfo]:
    when = naive_utc(now) or utc_now()
    s = t.web_sessions
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(s).where((s.c.user_id == user_id)
                                               & (s.c.expires_at > when))
                            .order_by(s.c.created_at)).all()
    return [SessionInfo(user_id=r.user_id, method=r.method, address=r.address,
                        created_at=aware(r.created_at),  # type: ignore[arg-type]
                        expires_at=aware(r.expires_at),  # type: ignore[arg-type]
                        last_seen_at=aware(r.last_seen_at))  # type: ignore[arg-type]
            for r in rows]
