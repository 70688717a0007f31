"""Sealed columns: text columns that hold AES-GCM tokens on an encrypted store and are read
back as plain text by every query, whichever module wrote the ``SELECT``.

A column declared ``Sealed("documents.text")`` is read through SQLAlchemy's
``column_expression`` hook: wherever it appears in the columns of a ``SELECT`` (directly, as
part of ``select(table)``, or through a subquery that also carries the row's ``id``), the SQL
sent is ``'\\x1e' || id || '\\x1e' || text``. The row's id thus arrives with the value, and
:meth:`Sealed.process_result_value` opens the token with the associated data
``documents.text|<id>`` — a ciphertext copied into another row fails, it never decrypts as the
wrong document. Values that are not tokens (a store that is not encrypted, rows written
before encryption was turned on) pass through unchanged, so plaintext stores keep working.

Writes are sealed by the store before the insert (:meth:`SqlStore._bulk_insert`, which knows
each row's id); a value that is already a token passes through the bind step untouched.

Data keys are found by the id inside each token, in a process-wide registry that every open
encrypted store fills (:class:`allsource.store.keys.KeyRing`); a miss asks the open stores to
load keys created since (another process may have started a new one).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from allsource.errors import StoreError
from allsource.store import crypto

SEP = "\x1e"

_KEYS: dict[str, crypto.DataKey] = {}
_LOADERS: weakref.WeakSet[Any] = weakref.WeakSet()
NO_KEY_HINT = ("set ALLSOURCE_ENCRYPTION_KEY_FILE (or ALLSOURCE_ENCRYPTION_KEY) to the "
               "store's key")


def register(key: crypto.DataKey) -> None:
    _KEYS[key.id] = key


def add_loader(ring: Any) -> None:
    """``ring.refresh()`` is called when a token names a key the registry lacks."""
    _LOADERS.add(ring)


def forget(key_ids: set[str]) -> None:
    for key_id in key_ids:
        _KEYS.pop(key_id, None)


def remove_loader(ring: Any) -> None:
    _LOADERS.discard(ring)


def lookup(key_id: str) -> crypto.DataKey:
    key = _KEYS.get(key_id)
    if key is None:
        for ring in list(_LOADERS):
            ring.refresh()
        key = _KEYS.get(key_id)
    if key is None:
        raise StoreError(f"the store holds encrypted data and no configured key opens it "
                         f"(data key {key_id}): {NO_KEY_HINT}")
    return key


def aad(column: str, row_key: str) -> bytes:
    return f"{column}|{row_key}".encode("utf-8", "surrogatepass")


def open_token(column: str, row_key: str, token: str) -> str:
    key = lookup(crypto.token_key_id(token))
    return crypto.open_text(key, token, aad(column, row_key), f"{column} of {row_key}")


class Sealed(sa.types.TypeDecorator[str]):
    """A ``Text`` column whose values may be AES-GCM tokens bound to the row's ``row_key``
    column (see the module docstring)."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, column: str, row_key: str = "id") -> None:
        super().__init__()
        self.column = column
        self.row_key = row_key

    def column_expression(self, colexpr: Any) -> Any:
        table = getattr(colexpr, "table", None)
        key_col = table.c.get(self.row_key) if table is not None else None
        if key_col is None:
            return None  # read as stored: a token here raises in process_result_value
        expr = sa.literal(SEP, sa.Text) + sa.cast(key_col, sa.Text) + sa.literal(
            SEP, sa.Text) + sa.type_coerce(colexpr, sa.Text)
        return sa.type_coerce(expr, self)

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return value

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not value:
            return value
        if value[0] == SEP:
            row_key, _, stored = value[1:].partition(SEP)
            if crypto.is_token(stored):
                return open_token(self.column, row_key, stored)
            return stored
        if crypto.is_token(value):
            raise StoreError(f"{self.column} was read without its row's {self.row_key}, so "
                             "its encryption cannot be checked (select the "
                             f"{self.row_key} column too)")
        return value


def sealer(column: str) -> Callable[[crypto.DataKey, str, str], str]:
    """A function sealing one value of ``column`` for the row ``row_key``."""
    def seal(key: crypto.DataKey, row_key: str, value: str) -> str:
        if crypto.is_token(value):
            return value
        return key.seal_text(value, aad(column, row_key))
    return seal
