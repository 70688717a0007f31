"""The release rule as SQL: :func:`readable` is :func:`~allsource.model.markings.can_release`
written as a ``WHERE`` condition, so lists, totals, counts, facets and pages are filtered by the
database before any ``LIMIT`` and nothing the reader may not see is ever fetched or counted.

Rule (the same as ``can_release``; :class:`~allsource.model.markings.Audience` is the reader):

- ``tlp <= audience.max_tlp`` and ``classification <= audience.clearance`` (both small ints);
- compartments are *conjunctive*: every compartment of the object is one of the reader's;
- releasability is *disjunctive*: empty, or it names at least one of the reader's groups.

Compartments and releasability are stored comma-joined and sorted (``Marking.to_columns``:
``"alpha,bravo"``), never containing a comma themselves. Both tests work on the column wrapped
in commas (``",alpha,bravo,"``) and use only ``replace``, ``||`` and ``=`` — the same
case-sensitive, wildcard-free string functions on SQLite and PostgreSQL (``LIKE`` is not used:
it folds ASCII case on SQLite and treats ``%``/``_`` as wildcards, where ``can_release``
compares exact names):

- *subset*: removing each of the reader's compartments (``replace(x, ",alpha,", ",")``) from
  the wrapped column leaves just ``","``. Whole names between commas are removed, never a
  substring, so a reader cleared for ``ab`` does not read ``abc``. Removal of ``,a,`` from
  ``,a,b,`` leaves ``,b,`` — the shared comma stays — so adjacent names are each removed in
  turn.
- *intersection*: the wrapped releasability changes when one of the reader's groups
  (``,group,``) is removed from it, i.e. the group is one of its names.

A reader with no compartments reads only objects with none (``compartments = ''``), a reader
with no groups only objects without releasability, so the common case costs two equality
tests on columns the row is already read for. The owner (``Audience.unrestricted``) is not
filtered at all. A relationship also needs both its ends visible
(:func:`allsource.store.derived.ends_visible`).
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from allsource.model.markings import Audience

__all__ = ["readable"]


def _wrapped(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    comma: sa.ColumnElement[Any] = sa.literal(",", sa.Text)
    return comma + column + comma


def _names(names: frozenset[str]) -> list[str]:
    # a name with a comma (or an empty one) can never be one stored name: leaving it out
    # keeps ",a,b," from matching a reader's single compartment or group "a,b"
    return sorted(n for n in names if n and "," not in n)


def readable(table: sa.Table | Any, audience: Audience) -> sa.ColumnElement[bool]:
    """``WHERE`` condition: the rows of ``table`` (any table or alias with the four marking
    columns) that :func:`~allsource.model.markings.can_release` releases to ``audience``.

    The expression is built once per table and audience and then shared (SQLAlchemy
    expressions are immutable): a reader with compartments and groups costs a few dozen
    expression objects, and building them for every statement of every request was a tenth
    of a restricted reader's search."""
    if audience.unrestricted:
        return sa.true()
    return _restricted(table, audience)


@functools.lru_cache(maxsize=512)
def _restricted(table: sa.Table | Any, audience: Audience) -> sa.ColumnElement[bool]:
    c = table.c
    mine = _names(audience.compartments)
    if mine:
        left: sa.ColumnElement[Any] = _wrapped(c.compartments)
        for name in mine:
            left = sa.func.replace(left, f",{name},", ",", type_=sa.Text)
        compartments = sa.or_(c.compartments == "", left == ",")
    else:
        compartments = c.compartments == ""
    rel = _wrapped(c.releasability)
    releasable = sa.or_(c.releasability == "", *[
        sa.func.replace(rel, f",{group},", "", type_=sa.Text) != rel
        for group in _names(audience.groups)])
    return sa.and_(c.tlp <= int(audience.max_tlp), c.classification <= int(audience.clearance),
                   compartments, releasable)
