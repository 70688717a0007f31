"""Web sessions in the store: only a hash of the id is kept, the cap is per user (one user's
logins never evict another user's session), and expiry, a disabled user or a revoked or
expired token end a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from allsource.store import logins, sessions, users
from allsource.store import schema as t
from allsource.store.sql import SqlStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _user(store: SqlStore, name: str) -> users.User:
    return users.add_user(store, name, "analyst")


def test_only_a_hash_of_the_id_is_stored(store: SqlStore) -> None:
    ana = _user(store, "ana")
    s = sessions.create_session(store, ana.id, method="password", address="192.0.2.1",
                                now=T0)
    assert len(s.id) >= 43 and s.csrf != s.id
    with store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.select(t.web_sessions))]
    assert len(rows) == 1
    assert not any(s.id in str(v) or s.csrf in str(v) for v in rows[0])
    assert sessions.hash_session_id(s.id) in rows[0]
    found = sessions.find_session(store, s.id, now=T0 + timedelta(hours=1))
    assert found is not None and found.user_id == ana.id and found.csrf == s.csrf
    assert found.scopes == ("read", "write", "admin")
    assert sessions.find_session(store, s.id + "x", now=T0) is None
    assert sessions.find_session(store, "y" * 5000, now=T0) is None


def test_one_users_logins_never_evict_another_users_session(store: SqlStore) -> None:
    """Regression (issue 10, leak 9): the old in-memory store evicted the oldest session of
    *anybody* past a global cap, so any valid token could log every user out."""
    ana, bob = _user(store, "ana"), _user(store, "bob")
    bobs = sessions.create_session(store, bob.id, method="password", now=T0)
    anas = [sessions.create_session(store, ana.id, method="password",
                                    now=T0 + timedelta(seconds=i + 1))
            for i in range(sessions.MAX_PER_USER * 3)]
    later = T0 + timedelta(minutes=5)
    assert sessions.find_session(store, bobs.id, now=later) is not None
    alive = [s for s in anas if sessions.find_session(store, s.id, now=later) is not None]
    assert alive == anas[-sessions.MAX_PER_USER:]  # ana's own oldest went first
    assert len(sessions.list_sessions(store, ana.id, now=later)) == sessions.MAX_PER_USER
    assert len(sessions.list_sessions(store, bob.id, now=later)) == 1


def test_expiry_and_logout(store: SqlStore) -> None:
    ana = _user(store, "ana")
    s = sessions.create_session(store, ana.id, method="password", now=T0)
    assert sessions.find_session(store, s.id, now=T0 + sessions.LIFETIME
                                 - timedelta(seconds=1)) is not None
    assert sessions.find_session(store, s.id, now=T0 + sessions.LIFETIME) is None
    assert sessions.list_sessions(store, ana.id, now=T0) == []  # the dead row was deleted
    s2 = sessions.create_session(store, ana.id, method="password", now=T0)
    assert sessions.delete_session(store, s2.id)
    assert sessions.find_session(store, s2.id, now=T0) is None
    assert not sessions.delete_session(store, s2.id)


def test_expired_sessions_of_anyone_are_purged_on_create(store: SqlStore) -> None:
    ana, bob = _user(store, "ana"), _user(store, "bob")
    sessions.create_session(store, ana.id, method="password", now=T0)
    sessions.create_session(store, bob.id, method="password",
                            now=T0 + sessions.LIFETIME + timedelta(seconds=1))
    with store.engine.connect() as conn:
        owners = conn.execute(sa.select(t.web_sessions.c.user_id)).scalars().all()
    assert owners == [bob.id]


def test_disabling_a_user_ends_their_sessions(store: SqlStore) -> None:
    ana, bob = _user(store, "ana"), _user(store, "bob")
    a = sessions.create_session(store, ana.id, method="password", now=T0)
    b = sessions.create_session(store, bob.id, method="password", now=T0)
    logins.disable_user(store, "ana")
    assert sessions.find_session(store, a.id, now=T0) is None
    assert sessions.find_session(store, b.id, now=T0) is not None
    logins.disable_user(store, "ana", disabled=False)
    assert sessions.find_session(store, a.id, now=T0) is None  # ended, not paused


def test_a_revoked_or_expired_token_ends_the_sessions_opened_with_it(store: SqlStore) -> None:
    ana = _user(store, "ana")
    info, _ = users.create_token(store, ana, scopes=("read",))
    short, _ = users.create_token(store, ana, expires_at=T0 + timedelta(hours=1))
    by_token = sessions.create_session(store, ana.id, method="token", token_id=info.id,
                                       now=T0)
    by_short = sessions.create_session(store, ana.id, method="token", token_id=short.id,
                                       now=T0)
    by_password = sessions.create_session(store, ana.id, method="password", now=T0)
    assert by_token.scopes == ("read",)
    found = sessions.find_session(store, by_token.id, now=T0)
    assert found is not None and found.scopes == ("read",) and found.method == "token"
    assert sessions.find_session(store, by_short.id, now=T0 + timedelta(hours=1)) is None
    assert users.revoke_token(store, info.id)
    assert sessions.find_session(store, by_token.id, now=T0) is None
    assert sessions.find_session(store, by_password.id, now=T0) is not None
