"""A long list of ids as one bound parameter.

``column IN (:a, :b, …)`` with a thousand ids costs more to build than to run: SQLAlchemy
expands and renders one parameter per id on every execution, and the list must be cut into
chunks under the drivers' parameter limits. Passing the list as one value instead keeps the
statement the same whatever the list's length: on SQLite a JSON array read by the built-in
``json_each`` table function, on PostgreSQL a text array compared with ``= ANY``. Both plans
probe the column's index once per id, as ``IN`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = ["ids_in"]


def ids_in(column: sa.ColumnElement[Any], ids: Sequence[str] | Sequence[int], dialect: str
           ) -> sa.ColumnElement[bool]:
    """SQL: ``column`` is one of ``ids`` (``dialect``: the engine's dialect name); ``ids`` are
    strings, or integers for an integer column such as ``documents.seq``."""
    if dialect == "postgresql":
        item = sa.BigInteger() if ids and isinstance(ids[0], int) else sa.String()
        return column == sa.any_(sa.bindparam(None, list(ids), type_=postgresql.ARRAY(item)))
    each = sa.func.json_each(sa.bindparam(None, orjson.dumps(list(ids)).decode(),
                                          type_=sa.String)).table_valued("value")
    return column.in_(sa.select(each.c.value))
