"""Passwords: the policy's errors, argon2id hashes in their own table, NFKC normalisation,
rehashing when the parameters change, and that a new password ends the user's sessions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from allsource.errors import InputError
from allsource.store import credentials, sessions, users
from allsource.store import schema as t
from allsource.store.sql import SqlStore

GOOD = "plover tandem quietly orchid"


@pytest.mark.parametrize(("password", "why"), [
    ("short pass", "too short"),
    ("x" * 1025, "too long"),
    ("password123456", "commonly used"),
    ("aaaaaaaaaaaaaaaa", "Repeats"),
    ("qwertyuiopasdfgh", "too easy to guess"),
    ("line one\nline two words", "control characters"),
    ("Margaret-Hamilton-1969", "contains the user name"),
])
def test_policy_says_why(password: str, why: str) -> None:
    with pytest.raises(InputError, match=why):
        credentials.check_policy(password, "margaret hamilton")


def test_policy_accepts_a_phrase_and_bounds_zxcvbn() -> None:
    assert credentials.check_policy(GOOD, "ana") == GOOD
    long = "tangerine velvet " * 60  # 1,020 characters: zxcvbn sees the first 72 only
    assert credentials.check_policy(long, "ana") == long


def test_hash_is_argon2id_in_its_own_table(store: SqlStore) -> None:
    ana = users.add_user(store, "ana", "analyst")
    assert not credentials.has_password(store, ana.id)
    credentials.set_password(store, ana, GOOD)
    assert credentials.has_password(store, ana.id)
    with store.engine.connect() as conn:
        stored = conn.execute(sa.select(t.user_credentials.c.password_hash)).scalar_one()
        user_row = conn.execute(sa.select(t.users)).one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert GOOD not in stored and not any(GOOD in str(v) or "argon2" in str(v)
                                          for v in user_row)
    assert credentials.verify_password(store, ana.id, GOOD)
    assert not credentials.verify_password(store, ana.id, GOOD + "!")
    assert not credentials.verify_password(store, None, GOOD)
    assert not credentials.verify_password(store, "no-such-id", GOOD)
    assert not credentials.verify_password(store, ana.id, "x" * 5000)


def test_unicode_forms_are_one_password(store: SqlStore) -> None:
    ana = users.add_user(store, "ana", "analyst")
    composed = "caf\u00e9 gondola spiral minnow"
    decomposed = "cafe\u0301 gondola spiral minnow"
    credentials.set_password(store, ana, decomposed)
    assert credentials.verify_password(store, ana.id, composed)


def test_rehash_when_parameters_change(store: SqlStore) -> None:
    ana = users.add_user(store, "ana", "analyst")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    credentials.set_password(store, ana, GOOD, hasher=weak)

    def stored() -> str:
        with store.engine.connect() as conn:
            value: str = conn.execute(sa.select(t.user_credentials.c.password_hash)
                                      ).scalar_one()
        return value

    assert "m=8192,t=1,p=1" in stored()
    assert not credentials.verify_password(store, ana.id, "wrong words entirely")
    assert "m=8192,t=1,p=1" in stored()  # a failed attempt rehashes nothing
    assert credentials.verify_password(store, ana.id, GOOD)  # default parameters now
    assert "m=65536,t=3,p=4" in stored()
    assert credentials.verify_password(store, ana.id, GOOD)


def test_a_new_password_ends_the_users_sessions(store: SqlStore) -> None:
    ana, bob = users.add_user(store, "ana", "analyst"), users.add_user(store, "bob", "reader")
    a = sessions.create_session(store, ana.id, method="password")
    b = sessions.create_session(store, bob.id, method="password")
    credentials.set_password(store, ana, GOOD)
    assert sessions.find_session(store, a.id) is None
    assert sessions.find_session(store, b.id) is not None
    a2 = sessions.create_session(store, ana.id, method="password")
    assert credentials.remove_password(store, ana)
    assert sessions.find_session(store, a2.id) is None
    assert not credentials.verify_password(store, ana.id, GOOD)
