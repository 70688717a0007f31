"""Login throttling: failed-login counters per account and per client address, with lockouts
that grow exponentially and end by themselves (or by ``allsource user unlock``).

Every login attempt *claims* its keys before the password is checked — the account
(``account:<name, casefolded>``, whether or not such a user exists, so a lockout tells nothing
about which names exist) and the client address (``address:<ip>``; an IPv6 address counts as
its /64, which one client usually holds whole). A claim is one atomic ``UPDATE`` that adds a
failure and sets the key's lock from the new count, and it succeeds only while the key is not
locked: so parallel guesses cannot slip past a lock while a slow hash runs, and an attempt
made while a key is locked is refused *without* checking the password (no oracle, no CPU) and
without counting. A successful login then takes its claim back: the account's counter is
cleared, the address's failure is returned (the address's other failures stay: an attacker
with an account of their own cannot reset their address by logging in between guesses).

The ``free``-th failure locks the key for ``base``, and each failure after that doubles the
lock, up to ``cap``; failures are forgotten ``forget`` after the last one.

============  =====  =======  =======  =========
key           free   base     cap      forget
============  =====  =======  =======  =========
account       5      30 s     15 min   24 h
address       20     30 s     15 min   1 h
============  =====  =======  =======  =========

So a guesser gets 5 guesses per account in a row, then one per 30 s, 1, 2, 4, 8 minutes and
from then on one per 15 minutes (about 100 a day), and one address gets 20 failures across
all accounts before the same backoff. **The cost to a real user:** whoever
knows a user name can keep that account's *password* login locked by failing on it once every
15 minutes; the user can still log in with an API token, and an admin can unlock the account
(``allsource user unlock NAME``), which helps until the next failure. Clients behind one
proxy share its address (run uvicorn with ``--proxy-headers`` behind a trusted proxy).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from allsource.store import schema as t
from allsource.store.sql import aware, naive_utc, utc_now

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = [
    "ACCOUNT",
    "ADDRESS",
    "Claim",
    "KeyState",
    "Lock",
    "Policy",
    "account_key",
    "address_key",
    "claim",
    "failures_of",
    "list_locks",
    "release",
    "unlock",
]


@dataclass(frozen=True, slots=True)
class Policy:
    free: int
    base: timedelta
    cap: timedelta
    forget: timedelta

    def lock_for(self, failures: int) -> timedelta | None:
        """How long ``failures`` consecutive failures lock a key (None: not at all)."""
        over = failures - self.free
        if over < 0:
            return None
        steps = min(over, 32)  # far past the cap already: keeps the timedelta small
        delay: timedelta = min(self.base * (2 ** steps), self.cap)
        return delay


ACCOUNT = Policy(free=5, base=timedelta(seconds=30), cap=timedelta(minutes=15),
                 forget=timedelta(hours=24))
ADDRESS = Policy(free=20, base=timedelta(seconds=30), cap=timedelta(minutes=15),
                 forget=timedelta(hours=1))


def account_key(name: str) -> str:
    return "account:" + " ".join(name.split()).casefold()[:150]


def address_key(address: str) -> str:
    """``address:<ip>``; an IPv6 address by its /64 network, anything unparsable verbatim."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return "address:" + address.strip()[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"address:{ip.ipv4_mapped}"
        return f"address:{ipaddress.IPv6Network((ip, 64), strict=False)}"
    return f"address:{ip}"


def _policy(key: str) -> Policy:
    return ACCOUNT if key.startswith("account:") else ADDRESS


@dataclass(frozen=True, slots=True)
class Lock:
    """A refused claim: which key is locked and until when."""

    key: str
    until: datetime

    @property
    def kind(self) -> str:
        return self.key.split(":", 1)[0]

    def seconds_left(self, now: datetime) -> int:
        return max(1, int((self.until - (aware(now) or now)).total_seconds() + 0.999))


@dataclass(frozen=True, slots=True)
class Claim:
    """Claimed keys (each already counted as a failure) — hand back to :func:`release`."""

    keys: tuple[str, ...]


class _Locked(Exception):
    def __init__(self, lock: Lock) -> None:
        self.lock = lock


def claim(store: SqlStore, keys: tuple[str, ...], *, now: datetime | None = None,
          policies: dict[str, Policy] | None = None) -> Claim | Lock:
    """Count one attempt against every key, or none if any key is locked (its :class:`Lock`).
    All keys are claimed in one transaction."""
    when = naive_utc(now) or utc_now()
    for attempt in range(3):
        try:
            with store.engine.begin() as conn:
                for key in keys:
                    _claim_one(conn, key, when, (policies or {}).get(key.split(":", 1)[0])
                               or _policy(key))
        except _Locked as refused:
            return refused.lock
        except sa.exc.IntegrityError:  # a parallel attempt inserted the same new key first
            if attempt == 2:
                raise
            continue
        break
    return Claim(keys)


def _claim_one(conn: sa.Connection, key: str, when: datetime, policy: Policy) -> None:
    th = t.login_throttle
    free = sa.or_(th.c.locked_until.is_(None), th.c.locked_until <= when)
    bumped = conn.execute(
        th.update().where((th.c.key == key) & free).values(
            failures=sa.case((th.c.last_failure_at < when - policy.forget, 1),
                             else_=th.c.failures + 1),
            last_failure_at=when))
    if bumped.rowcount:
        failures = conn.execute(sa.select(th.c.failures).where(th.c.key == key)).scalar_one()
    else:
        row = conn.execute(sa.select(th.c.locked_until).where(th.c.key == key)).first()
        if row is not None:  # locked: the update's condition failed
            raise _Locked(Lock(key, aware(row.locked_until)))  # type: ignore[arg-type]
        conn.execute(th.delete().where(th.c.last_failure_at < when - ACCOUNT.forget))
        conn.execute(th.insert().values(key=key, failures=1, last_failure_at=when))
        failures = 1
    lock = policy.lock_for(failures)
    conn.execute(th.update().where(th.c.key == key)
                 .values(locked_until=when + lock if lock else None))


def release(store: SqlStore, claimed: Claim, *, clear: tuple[str, ...] = ()) -> None:
    """After a successful login: delete the keys in ``clear``, give back one failure (and
    the lock that failure set) on the others."""
    th = t.login_throttle
    with store.engine.begin() as conn:
        for key in claimed.keys:
            if key in clear:
                conn.execute(th.delete().where(th.c.key == key))
                continue
            failures = conn.execute(sa.select(th.c.failures, th.c.last_failure_at)
                                    .where(th.c.key == key)).first()
            if failures is None:
                continue
            left = max(0, failures.failures - 1)
            lock = _policy(key).lock_for(left)
            conn.execute(th.update().where(th.c.key == key).values(
                failures=left,
                locked_until=failures.last_failure_at + lock if lock else None))


def failures_of(store: SqlStore, key: str) -> int:
    th = t.login_throttle
    with store.engine.connect() as conn:
        found = conn.execute(sa.select(th.c.failures).where(th.c.key == key)).scalar()
    return int(found or 0)


def unlock(store: SqlStore, key: str) -> bool:
    """Forget a key's failures and lock (``allsource user unlock``)."""
    th = t.login_throttle
    with store.engine.begin() as conn:
        return bool(conn.execute(th.delete().where(th.c.key == key)).rowcount)


@dataclass(frozen=True, slots=True)
class KeyState:
    key: str
    failures: int
    last_failure_at: datetime
    locked_until: datetime | None


def list_locks(store: SqlStore, *, now: datetime | None = None) -> list[KeyState]:
    """Keys locked now, longest lock first."""
    when = naive_utc(now) or utc_now()
    th = t.login_throttle
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(th).where(th.c.locked_until > when)
                            .order_by(th.c.locked_until.desc(), th.c.key)).all()
    return [KeyState(r.key, r.failures, aware(r.last_failure_at),  # type: ignore[arg-type]
                     aware(r.locked_until)) for r in rows]
