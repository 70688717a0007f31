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

import uuid
import weakref
from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from allsource.errors import StoreError
from allsource.store import crypto

SEP = "\x1e"

_KEYS: dict[str, crypto.DataKey] = {}
_BY_RAW: dict[bytes, crypto.DataKey] = {}  # the same keys by their 16-byte id (reads)
_LOADERS: weakref.WeakSet[Any] = weakref.WeakSet()
NO_KEY_HINT = ("set ALLSOURCE_ENCRYPTION_KEY_FILE (or ALLSOURCE_ENCRYPTION_KEY) to the "
               "store's key")


def register(key: crypto.DataKey) -> None:
    _KEYS[key.id] = key
    _BY_RAW[key.raw_id] = key


def add_loader(ring: Any) -> None:
    """``ring.refresh()`` is called when a token names a key the registry lacks."""
    _LOADERS.add(ring)


def forget(key_ids: set[str]) -> None:
    for key_id in key_ids:
        key = _KEYS.pop(key_id, None)
        if key is not None:
            _BY_RAW.pop(key.raw_id, None)


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
    raw = crypto.decode_token(token)  # once: the key id and the content come from it
    key = _BY_RAW.get(crypto.raw_key_id(raw))
    if key is None:
        key = lookup(str(uuid.UUID(bytes=crypto.raw_key_id(raw))))
    return crypto.open_sealed(key, raw, aad(column, row_key), f"{column} of {row_key}"
                              ).decode("utf-8", "surrogatepass")


def _row_key_expr(colexpr: Any, row_key: tuple[str, ...]) -> Any:
    """``SEP || k1 || '|' || k2 … || SEP`` from the columns of ``colexpr``'s own table, or
    None when that table (e.g. a subquery) lacks one of them."""
    table = getattr(colexpr, "table", None)
    cols = [table.c.get(name) if table is not None else None for name in row_key]
    if any(c is None for c in cols):
        return None
    expr: Any = sa.literal(SEP, sa.Text)
    for i, col in enumerate(cols):
        if i:
            expr = expr + sa.literal("|", sa.Text)
        expr = expr + sa.cast(col, sa.Text)
    return expr + sa.literal(SEP, sa.Text)


def _split(column: str, row_key: tuple[str, ...], value: str) -> tuple[str | None, str]:
    """(row key, stored value) of what a sealed column's read expression returned."""
    if value and value[0] == SEP:
        key, _, stored = value[1:].partition(SEP)
        return key, stored
    return None, value


def _open_read(column: str, row_key: tuple[str, ...], key: str | None, stored: str) -> str:
    if key is None:
        raise StoreError(f"{column} was read without its row's {', '.join(row_key)}, so its "
                         "encryption cannot be checked (select those columns too)")
    return open_token(column, key, stored)


class Sealed(sa.types.TypeDecorator[str]):
    """A ``Text`` column whose values may be AES-GCM tokens bound to the row's ``row_key``
    column(s) (see the module docstring)."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, column: str, row_key: str | tuple[str, ...] = "id",
                 when: tuple[str, tuple[str, ...]] | None = None) -> None:
        super().__init__()
        self.column = column
        self.row_key = (row_key,) if isinstance(row_key, str) else tuple(row_key)
        self.when = when  # as for SealedJSON: seal only rows whose column has these values

    def column_expression(self, colexpr: Any) -> Any:
        key = _row_key_expr(colexpr, self.row_key)
        if key is None:
            # read as selected: through a subquery that carried the id, the value already
            # arrives with its row key; otherwise a token here raises in process_result_value
            return colexpr
        return sa.type_coerce(key + sa.type_coerce(colexpr, sa.Text), self)

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return value

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not value:
            return value
        key, stored = _split(self.column, self.row_key, value)
        return _open_read(self.column, self.row_key, key, stored) if crypto.is_token(
            stored) else stored


class _SealedJSONRead(sa.types.TypeDecorator[Any]):
    """What a :class:`SealedJSON` column's read expression returns: row key + JSON text."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, column: str, row_key: tuple[str, ...]) -> None:
        super().__init__()
        self.column = column
        self.row_key = row_key

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        key, stored = _split(self.column, self.row_key, value)
        data = orjson.loads(stored)
        if isinstance(data, str) and crypto.is_token(data):
            return orjson.loads(_open_read(self.column, self.row_key, key, data))
        return data


class SealedJSON(sa.types.TypeDecorator[Any]):
    """A JSON column whose value may be a sealed token (a JSON string) holding the JSON text,
    bound to the row's ``row_key`` columns; ``when`` = (column, values) limits sealing to rows
    whose ``column`` is one of ``values`` (others stay queryable as JSON in SQL).

    The read expression concatenates the key and the JSON as text (``text || jsonb`` is text
    on PostgreSQL), so both backends return one string that :class:`_SealedJSONRead` opens."""

    impl = sa.JSON
    cache_ok = True

    def __init__(self, column: str, row_key: str | tuple[str, ...],
                 when: tuple[str, tuple[str, ...]] | None = None) -> None:
        super().__init__()
        self.column = column
        self.row_key = (row_key,) if isinstance(row_key, str) else tuple(row_key)
        self.when = when

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.JSON())

    def column_expression(self, colexpr: Any) -> Any:
        key = _row_key_expr(colexpr, self.row_key)
        if key is None:
            return None
        return sa.type_coerce(key + sa.cast(colexpr, sa.Text),
                              _SealedJSONRead(self.column, self.row_key))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and crypto.is_token(value):
            raise StoreError(f"{self.column} was read without its row's "
                             f"{', '.join(self.row_key)}, so its encryption cannot be checked")
        return value


def sealer(column: str, as_json: bool = False) -> Callable[[crypto.DataKey, str, Any], str]:
    """A function sealing one value of ``column`` for the row ``row_key`` (JSON values are
    sealed as their JSON text)."""
    def seal(key: crypto.DataKey, row_key: str, value: Any) -> str:
        if isinstance(value, str) and crypto.is_token(value):
            return value
        if as_json:
            value = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
        return key.seal_text(value, aad(column, row_key))
    return seal
