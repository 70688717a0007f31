"""Users' passwords: the policy a new password must meet, and its argon2id hash.

A password is normalised to Unicode NFKC first (the same password typed on two keyboards,
composed or decomposed, is the same password), then checked by :func:`check_policy`: 12 to
1,024 characters, not containing the user name, and not guessable by zxcvbn's estimator
(score 3 of 4 or better, with the user's name and ``allsource`` counted as known words) —
the error says why and what to do instead, taken from zxcvbn's feedback. zxcvbn reads the
first 72 characters only, so a long passphrase costs bounded time.

The hash is argon2id (``argon2-cffi``) with the RFC 9106 "low memory" parameters: 3 passes
over 64 MiB with 4 lanes, a 16-byte random salt, a 32-byte tag — about 50–100 ms on one core.
The parameters live inside each stored hash, so raising them later needs no migration: a
successful :func:`verify_password` whose stored hash was made with other parameters rehashes
the password it was just given and stores the new hash. At most :data:`HASH_SLOTS` hashes run
at once, so a burst of logins cannot claim 64 MiB per request thread.

Hashes live in their own table (``user_credentials``), never next to the user's profile, so
code that reads users never reads a hash. Setting a password ends every web session of the
user (a changed password locks out whoever knew the old one).
"""

from __future__ import annotations

import contextlib
import threading
import unicodedata
from functools import cache
from typing import TYPE_CHECKING

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from allsource.errors import InputError
from allsource.store import schema as t
from allsource.store.sessions import end_sessions_in
from allsource.store.sql import utc_now

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore
    from allsource.store.users import User

__all__ = [
    "MAX_LENGTH",
    "MIN_LENGTH",
    "MIN_SCORE",
    "check_policy",
    "default_hasher",
    "has_password",
    "normalize",
    "remove_password",
    "set_password",
    "verify_password",
]

MIN_LENGTH = 12
MAX_LENGTH = 1024
MIN_SCORE = 3  # zxcvbn: 3 "safely unguessable", ~10^8 guesses and up
_ZXCVBN_CHARS = 72
HASH_SLOTS = threading.BoundedSemaphore(2)


@cache
def default_hasher() -> PasswordHasher:
    """argon2id with RFC 9106's low-memory profile (argon2-cffi's defaults, made explicit so
    a library upgrade cannot change them silently)."""
    return PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, hash_len=32,
                          salt_len=16)


def normalize(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def check_policy(password: str, user_name: str = "") -> str:
    """The normalised password if it is acceptable, else :class:`InputError` saying why."""
    pw = normalize(password)
    if len(pw) < MIN_LENGTH:
        raise InputError(f"the password is too short: use at least {MIN_LENGTH} characters "
                         "(a few unrelated words make a good one)")
    if len(pw) > MAX_LENGTH:
        raise InputError(f"the password is too long: at most {MAX_LENGTH} characters")
    if any(unicodedata.category(c) == "Cc" for c in pw):
        raise InputError("the password contains control characters (tabs, newlines, …)")
    squeezed = _alnum(user_name)
    if len(squeezed) >= 3 and squeezed in _alnum(pw):
        raise InputError("the password contains the user name: choose one that does not")
    from zxcvbn import zxcvbn  # type: ignore[import-untyped]  # on use: word lists load slowly

    words = [w for w in (user_name, *user_name.split(), "allsource") if w]
    result = zxcvbn(pw[:_ZXCVBN_CHARS], user_inputs=words)
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        why = feedback.get("warning") or "it would be guessed quickly."
        advice = " ".join(feedback.get("suggestions") or [])
        raise InputError(f"the password is too easy to guess: {why.rstrip('.')}."
                         + (f" {advice}" if advice else "")
                         + " Try a longer phrase of unrelated words.")
    return pw


def _alnum(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def set_password(store: SqlStore, user: User, password: str, *,
                 hasher: PasswordHasher | None = None) -> None:
    """Check ``password`` against the policy, store its hash and end the user's sessions."""
    pw = check_policy(password, user.name)
    with HASH_SLOTS:
        hashed = (hasher or default_hasher()).hash(pw)
    c = t.user_credentials
    with store.engine.begin() as conn:
        done = conn.execute(c.update().where(c.c.user_id == user.id)
                            .values(password_hash=hashed, updated_at=utc_now()))
        if not done.rowcount:
            conn.execute(c.insert().values(user_id=user.id, password_hash=hashed,
                                           updated_at=utc_now()))
        end_sessions_in(conn, user.id)


def remove_password(store: SqlStore, user: User) -> bool:
    """Forget the user's password (tokens still work) and end their sessions."""
    c = t.user_credentials
    with store.engine.begin() as conn:
        done = conn.execute(c.delete().where(c.c.user_id == user.id))
        end_sessions_in(conn, user.id)
    return bool(done.rowcount)


def has_password(store: SqlStore, user_id: str) -> bool:
    c = t.user_credentials
    with store.engine.connect() as conn:
        return conn.execute(sa.select(c.c.user_id).where(c.c.user_id == user_id)
                            ).first() is not None


@cache
def _decoy(hasher: PasswordHasher) -> str:
    return hasher.hash("not a password of anybody's")


def verify_password(store: SqlStore, user_id: str | None, password: str, *,
                    hasher: PasswordHasher | None = None) -> bool:
    """Whether ``password`` is the password of ``user_id``.

    An unknown user (``None``) or one without a password costs one full hash as well, so the
    time of an answer does not tell which names exist. A match whose stored hash has other
    parameters than ``hasher``'s is rehashed and stored.
    """
    ph = hasher or default_hasher()
    pw = normalize(password)
    stored = None
    if user_id is not None and len(pw) <= MAX_LENGTH:
        c = t.user_credentials
        with store.engine.connect() as conn:
            stored = conn.execute(sa.select(c.c.password_hash)
                                  .where(c.c.user_id == user_id)).scalar()
    with HASH_SLOTS:
        if stored is None:
            with contextlib.suppress(VerificationError):
                ph.verify(_decoy(ph), pw[:MAX_LENGTH] + "\x00")  # never matches
            return False
        try:
            ph.verify(stored, pw)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        fresh = ph.hash(pw) if ph.check_needs_rehash(stored) else None
    if fresh is not None:
        c = t.user_credentials
        with store.engine.begin() as conn:
            conn.execute(c.update().where((c.c.user_id == user_id)
                                          & (c.c.password_hash == stored))
                         .values(password_hash=fresh, updated_at=utc_now()))
    return True
