"""Who may log in: the decision for each workspace login attempt, and turning accounts off.

:func:`login_with_password` and :func:`login_with_token` run one attempt end to end —
throttle claim (:mod:`allsource.store.throttle`), credential check, session creation
(:mod:`allsource.store.sessions`) — and return a :class:`LoginOutcome` whatever happens. The
outcome is the one place a login is observable: its ``action`` (``login`` or
``login_failed``), ``reason``, submitted name, user and client address are what an audit
record or a metric needs, and callers (the web login page) count or record it from there.

A password attempt claims the account and the address; a token attempt only the address (a
token names no account before it is checked, and 256 random bits are not guessed). A disabled
user with the right password is refused as ``disabled`` (and the claim is released: the
password was right).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from argon2 import PasswordHasher

from allsource.errors import InputError
from allsource.store import credentials, sessions, throttle, tokens, users
from allsource.store import schema as t
from allsource.store.sql import aware, naive_utc, utc_now

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["LoginOutcome", "disable_user", "login_with_password", "login_with_token"]

OK, BAD, LOCKED, DISABLED = "ok", "bad_credentials", "locked", "disabled"


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """One login attempt, successful or not."""

    reason: str  # ok | bad_credentials | locked | disabled
    method: str  # password | token
    name: str  # the submitted user name ("" for a token login)
    address: str
    at: datetime
    user: users.User | None = None
    session: sessions.WebSession | None = None
    lock: throttle.Lock | None = None

    @property
    def ok(self) -> bool:
        return self.reason == OK

    @property
    def action(self) -> str:
        """The audit action: ``login`` or ``login_failed``."""
        return "login" if self.ok else "login_failed"

    @property
    def retry_after(self) -> int | None:
        """Seconds until a locked key opens again."""
        return self.lock.seconds_left(self.at) if self.lock else None

    @property
    def message(self) -> str:
        """What the person logging in is told."""
        if self.ok:
            return "Logged in."
        if self.reason == LOCKED and self.lock is not None:
            wait = _duration(self.retry_after or 1)
            if self.lock.kind == "account":
                return (f"Too many failed logins for this account: try again in {wait}, "
                        "log in with an API token, or ask an admin to unlock it.")
            return (f"Too many failed logins from your address: try again in {wait}, or "
                    "ask an admin to unlock it.")
        if self.reason == DISABLED:
            return "This account is disabled: ask an admin."
        if self.method == "token":
            return "That token is unknown, revoked or expired."
        return "Wrong user name or password."


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"


def _now(now: datetime | None) -> datetime:
    when = aware(naive_utc(now) or utc_now())
    assert when is not None
    return when


def _clean_name(name: str) -> str:
    return " ".join(name.split())[:120]


def _user_row(store: SqlStore, name: str) -> tuple[str, bool] | None:
    """(id, disabled) of the user called exactly ``name``; a hash never joins this read."""
    u = t.users
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(u.c.id, u.c.disabled).where(u.c.name == name)).first()
    return (row.id, bool(row.disabled)) if row else None


def login_with_password(store: SqlStore, name: str, password: str, *, address: str = "",
                        now: datetime | None = None,
                        hasher: PasswordHasher | None = None) -> LoginOutcome:
    when = _now(now)
    clean = _clean_name(name)

    def outcome(reason: str, user: users.User | None = None,
                session: sessions.WebSession | None = None,
                lock: throttle.Lock | None = None) -> LoginOutcome:
        return LoginOutcome(reason, "password", clean, address, when, user, session, lock)

    account = throttle.account_key(clean)
    claimed = throttle.claim(store, (throttle.address_key(address), account), now=when)
    if isinstance(claimed, throttle.Lock):
        return outcome(LOCKED, lock=claimed)
    found = _user_row(store, clean) if clean else None
    if not credentials.verify_password(store, found[0] if found else None, password,
                                       hasher=hasher):
        return outcome(BAD)
    assert found is not None
    throttle.release(store, claimed, clear=(account,))
    user = users.get_user(store, found[0])
    if found[1] or user is None or user.id != found[0] or user.disabled:
        return outcome(DISABLED, user=user)
    return outcome(OK, user=user, session=sessions.create_session(
        store, user.id, method="password", address=address, now=when))


def login_with_token(store: SqlStore, secret: str, *, address: str = "",
                     now: datetime | None = None) -> LoginOutcome:
    when = _now(now)
    claimed = throttle.claim(store, (throttle.address_key(address),), now=when)
    if isinstance(claimed, throttle.Lock):
        return LoginOutcome(LOCKED, "token", "", address, when, lock=claimed)
    grant = tokens.authenticate_scoped(store, secret.strip(), now=when)
    if grant is None:
        return LoginOutcome(BAD, "token", "", address, when)
    throttle.release(store, claimed)
    session = sessions.create_session(store, grant.user.id, method="token",
                                      token_id=grant.token_id, address=address, now=when)
    return LoginOutcome(OK, "token", grant.user.name, address, when, user=grant.user,
                        session=session)


def disable_user(store: SqlStore, name: str, disabled: bool = True) -> users.User:
    """Disable (or enable) a user: a disabled user's tokens stop working and every session
    of theirs ends now."""
    user = users.get_user(store, name)
    if user is None:
        raise InputError(f"no user {name!r} (see `allsource user list`)")
    with store.engine.begin() as conn:
        conn.execute(sa.update(t.users).where(t.users.c.id == user.id)
                     .values(disabled=disabled))
        if disabled:
            sessions.end_sessions_in(conn, user.id)
    found = users.get_user(store, user.id)
    assert found is not None
    return found
