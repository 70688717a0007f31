"""Login attempts end to end, counted: lockout after five failures refuses even the right
password without hashing it, an unknown name is throttled and answered like a wrong password,
one address is limited across accounts, an admin unlock lets the user in, and every attempt
returns an outcome an audit can count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher

from allsource.store import credentials, logins, sessions, throttle, users
from allsource.store.sql import SqlStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
GOOD = "plover tandem quietly orchid"
HOME, ELSEWHERE = "192.0.2.10", "198.51.100.20"
#: where the parameters do not matter, a cheap hash keeps the suite fast
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class CountingHasher(PasswordHasher):
    """The production parameters, counting how many verifications ran."""

    def __init__(self) -> None:
        base = credentials.default_hasher()
        super().__init__(time_cost=base.time_cost, memory_cost=base.memory_cost,
                         parallelism=base.parallelism, hash_len=base.hash_len,
                         salt_len=base.salt_len)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def rita(store: SqlStore) -> users.User:
    user = users.add_user(store, "rita", "reader")
    credentials.set_password(store, user, GOOD, hasher=CHEAP)
    return user


def _try(store: SqlStore, name: str, password: str, **kw: Any) -> logins.LoginOutcome:
    kw.setdefault("address", HOME)
    kw.setdefault("now", T0)
    kw.setdefault("hasher", CHEAP)
    return logins.login_with_password(store, name, password, **kw)


def test_success_opens_a_session(store: SqlStore, rita: users.User) -> None:
    out = _try(store, " rita ", GOOD)
    assert out.ok and out.action == "login" and out.reason == "ok"
    assert out.user == rita and out.name == "rita" and out.address == HOME
    assert out.session is not None and out.session.method == "password"
    assert sessions.find_session(store, out.session.id, now=T0) is not None


def test_lockout_after_five_failures_refuses_the_right_password_unhashed(
        store: SqlStore, rita: users.User) -> None:
    hasher = CountingHasher()
    outcomes = [_try(store, "rita", f"wrong guess number {i}", hasher=hasher)
                for i in range(5)]
    assert [o.reason for o in outcomes] == ["bad_credentials"] * 5
    assert all(o.action == "login_failed" and o.session is None for o in outcomes)
    assert hasher.verified == 5
    locked = _try(store, "rita", GOOD, hasher=hasher, now=T0 + timedelta(seconds=10))
    assert locked.reason == "locked" and locked.action == "login_failed"
    assert locked.retry_after == 20
    assert "Too many failed logins for this account" in locked.message
    assert "20 seconds" in locked.message and "API token" in locked.message
    assert hasher.verified == 5  # refused before any hash ran
    # from another address the account is still locked (the lock is the account's)
    assert _try(store, "rita", GOOD, address=ELSEWHERE).reason == "locked"
    # the lock ends by itself; the right password then clears the account's failures
    assert _try(store, "rita", GOOD, now=T0 + timedelta(seconds=30)).ok
    assert throttle.failures_of(store, throttle.account_key("rita")) == 0


def test_admin_unlock_lets_the_user_in(store: SqlStore, rita: users.User) -> None:
    for i in range(5):
        _try(store, "rita", f"bad {i}")
    assert _try(store, "rita", GOOD).reason == "locked"
    assert throttle.unlock(store, throttle.account_key("rita"))
    assert _try(store, "rita", GOOD).ok


def test_unknown_names_are_answered_and_throttled_like_real_ones(
        store: SqlStore, rita: users.User) -> None:
    hasher = CountingHasher()
    real = _try(store, "rita", "not it at all", hasher=hasher)
    ghost = _try(store, "nobody", "not it at all", hasher=hasher)
    assert (real.reason, real.message) == (ghost.reason, ghost.message)
    assert hasher.verified == 2  # the unknown name cost a hash too
    for i in range(4):
        _try(store, "nobody", f"x{i}")
    assert _try(store, "nobody", "x").reason == "locked"


def test_one_address_is_limited_across_accounts(store: SqlStore, rita: users.User) -> None:
    """Password spraying: one guess per account, from one address."""
    for i in range(throttle.ADDRESS.free):
        assert _try(store, f"user{i}", "Spring2026!").reason == "bad_credentials"
    out = _try(store, "rita", GOOD)
    assert out.reason == "locked" and out.lock is not None and out.lock.kind == "address"
    assert "from your address" in out.message
    assert _try(store, "rita", GOOD, address=ELSEWHERE).ok


def test_own_successes_do_not_reset_the_address(store: SqlStore, rita: users.User) -> None:
    """An attacker with an account of their own cannot wash their address between guesses."""
    for i in range(throttle.ADDRESS.free - 1):
        _try(store, f"victim{i}", "guess")
        assert _try(store, "rita", GOOD).ok
    assert throttle.failures_of(store, throttle.address_key(HOME)) == throttle.ADDRESS.free - 1
    _try(store, "victim-last", "guess")
    assert _try(store, "rita", GOOD).reason == "locked"


def test_disabled_user_with_the_right_password(store: SqlStore, rita: users.User) -> None:
    logins.disable_user(store, "rita")
    out = _try(store, "rita", GOOD)
    assert out.reason == "disabled" and out.session is None and "disabled" in out.message
    assert _try(store, "rita", "wrong words").reason == "bad_credentials"


def test_token_login(store: SqlStore, rita: users.User) -> None:
    _, secret = users.create_token(store, rita, scopes=("read",))
    out = logins.login_with_token(store, f" {secret} ", address=HOME, now=T0)
    assert out.ok and out.method == "token" and out.name == "rita"
    assert out.session is not None and out.session.scopes == ("read",)
    bad = logins.login_with_token(store, "as_nope", address=HOME, now=T0)
    assert bad.reason == "bad_credentials" and "unknown, revoked or expired" in bad.message
    assert throttle.failures_of(store, throttle.address_key(HOME)) == 1
    for _ in range(throttle.ADDRESS.free - 1):
        logins.login_with_token(store, "as_nope", address=HOME, now=T0)
    assert logins.login_with_token(store, secret, address=HOME, now=T0).reason == "locked"
