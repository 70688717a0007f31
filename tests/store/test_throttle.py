"""Login throttling, proven by counting claims and with an injected clock (never by timing):
the lockout starts at the ``free``-th failure, doubles, caps, is forgotten, and a claim made
while a key is locked neither counts nor runs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allsource.store import throttle
from allsource.store.sql import SqlStore

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ACCOUNT = throttle.account_key("Rita")
ADDRESS = throttle.address_key("198.51.100.7")


def test_policy_backoff_doubles_then_caps() -> None:
    p = throttle.ACCOUNT
    assert [p.lock_for(n) for n in range(1, 5)] == [None] * 4
    seconds = [p.lock_for(n).total_seconds() for n in range(5, 12)]  # type: ignore[union-attr]
    assert seconds == [30, 60, 120, 240, 480, 900, 900]
    assert p.lock_for(10_000) == timedelta(minutes=15)  # no overflow far past the cap


def test_keys() -> None:
    assert throttle.account_key("  Rita  Smith ") == throttle.account_key("rita smith")
    assert throttle.address_key("2001:db8:1:2:aaaa::1") == throttle.address_key(
        "2001:db8:1:2:ffff::9") == "address:2001:db8:1:2::/64"
    assert throttle.address_key("::ffff:192.0.2.1") == "address:192.0.2.1"
    assert throttle.address_key("testclient") == "address:testclient"


def test_account_locks_after_five_failures_and_backs_off(store: SqlStore) -> None:
    keys = (ACCOUNT,)
    for n in range(1, 6):
        assert isinstance(throttle.claim(store, keys, now=T0), throttle.Claim), n
    assert throttle.failures_of(store, ACCOUNT) == 5
    # the fifth failure locked the key for 30 s: attempts now are refused and not counted
    for _ in range(3):
        refused = throttle.claim(store, keys, now=T0 + timedelta(seconds=29))
        assert isinstance(refused, throttle.Lock)
        assert refused.kind == "account" and refused.until == T0 + timedelta(seconds=30)
        assert refused.seconds_left(T0 + timedelta(seconds=29)) == 1
    assert throttle.failures_of(store, ACCOUNT) == 5
    # open again after 30 s: one more failure locks for 60 s
    t1 = T0 + timedelta(seconds=30)
    assert isinstance(throttle.claim(store, keys, now=t1), throttle.Claim)
    assert isinstance(throttle.claim(store, keys, now=t1 + timedelta(seconds=59)),
                      throttle.Lock)
    assert isinstance(throttle.claim(store, keys, now=t1 + timedelta(seconds=60)),
                      throttle.Claim)
    [locked] = throttle.list_locks(store, now=t1 + timedelta(seconds=60))
    assert locked.key == ACCOUNT and locked.failures == 7
    assert locked.locked_until == t1 + timedelta(seconds=60 + 120)


def test_failures_are_forgotten_and_unlock_clears(store: SqlStore) -> None:
    for _ in range(4):
        throttle.claim(store, (ACCOUNT,), now=T0)
    later = T0 + throttle.ACCOUNT.forget + timedelta(seconds=1)
    throttle.claim(store, (ACCOUNT,), now=later)
    assert throttle.failures_of(store, ACCOUNT) == 1
    for _ in range(5):
        throttle.claim(store, (ACCOUNT,), now=later)
    assert isinstance(throttle.claim(store, (ACCOUNT,), now=later), throttle.Lock)
    assert throttle.unlock(store, ACCOUNT)
    assert isinstance(throttle.claim(store, (ACCOUNT,), now=later), throttle.Claim)
    assert throttle.failures_of(store, ACCOUNT) == 1


def test_a_locked_key_refuses_the_whole_claim(store: SqlStore) -> None:
    """Claiming address and account together: when the account is locked, the address is
    not counted either (one transaction)."""
    for _ in range(5):
        throttle.claim(store, (ACCOUNT,), now=T0)
    assert isinstance(throttle.claim(store, (ADDRESS, ACCOUNT), now=T0), throttle.Lock)
    assert throttle.failures_of(store, ADDRESS) == 0


def test_release_clears_the_account_but_returns_one_address_failure(store: SqlStore) -> None:
    for _ in range(19):
        throttle.claim(store, (ADDRESS,), now=T0)
    claimed = throttle.claim(store, (ADDRESS, ACCOUNT), now=T0)
    assert isinstance(claimed, throttle.Claim)
    assert throttle.failures_of(store, ADDRESS) == 20  # 20th: locked while the hash runs
    assert isinstance(throttle.claim(store, (ADDRESS,), now=T0), throttle.Lock)
    throttle.release(store, claimed, clear=(ACCOUNT,))
    assert throttle.failures_of(store, ACCOUNT) == 0
    assert throttle.failures_of(store, ADDRESS) == 19  # a success does not wipe the rest
    assert isinstance(throttle.claim(store, (ADDRESS,), now=T0), throttle.Claim)


@pytest.mark.parametrize("address", ["", "x" * 500])
def test_odd_addresses_are_bounded_keys(store: SqlStore, address: str) -> None:
    key = throttle.address_key(address)
    assert len(key) <= 200
    assert isinstance(throttle.claim(store, (key,), now=T0), throttle.Claim)


def _most_claims(policy: throttle.Policy, horizon: timedelta) -> int:
    """The most attempts a guesser can have checked within ``horizon`` of their first: each
    attempt made the moment the previous lock ends."""
    elapsed, count = timedelta(0), 0
    while elapsed <= horizon:
        count += 1
        elapsed += policy.lock_for(count) or timedelta(0)
    return count


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gaps=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=40))
def test_no_timing_of_attempts_beats_the_backoff(store: SqlStore, gaps: list[int]) -> None:
    """Whatever the timing of failed attempts, no more of them are checked than the policy's
    optimum allows (counted, with an injected clock)."""
    key = throttle.account_key(f"target-{uuid4().hex}")
    when, checked = T0, 0
    for gap in gaps:
        when += timedelta(seconds=gap)
        if isinstance(throttle.claim(store, (key,), now=when), throttle.Claim):
            checked += 1
    first = T0 + timedelta(seconds=gaps[0])
    assert checked <= _most_claims(throttle.ACCOUNT, when - first)
    assert checked >= min(len(gaps), throttle.ACCOUNT.free)  # the first five always run


def test_parallel_guesses_cannot_slip_past_the_lock(store: SqlStore) -> None:
    """Claims count *before* the password is checked, atomically: 24 guesses fired at once
    get exactly ``free`` checks, whatever their interleaving."""
    key = throttle.account_key("parallel")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: throttle.claim(store, (key,), now=T0), range(24)))
    assert sum(isinstance(r, throttle.Claim) for r in results) == throttle.ACCOUNT.free
    assert throttle.failures_of(store, key) == throttle.ACCOUNT.free
