"""SQL that assigns a timestamp column to its period (day, ISO week from Monday, calendar
month; UTC), as a date, on both engines: ``date_trunc`` on PostgreSQL, ``date()`` with
modifiers on SQLite. The periods themselves are :mod:`allsource.model.periods`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from allsource.errors import InputError
from allsource.model.periods import INTERVALS

__all__ = ["period_start"]

_SQLITE = {"day": (), "week": ("-6 days", "weekday 1"), "month": ("start of month",)}


def period_start(dialect: str, column: sa.ColumnElement[Any], interval: str
                 ) -> sa.ColumnElement[Any]:
    """The first day of the ``interval`` that holds ``column``'s value."""
    if interval not in INTERVALS:
        raise InputError(f"interval must be one of {', '.join(INTERVALS)}")
    if dialect == "postgresql":
        return sa.cast(sa.func.date_trunc(interval, column), sa.Date)
    return sa.func.date(column, *_SQLITE[interval])
