"""What the store's analyst statements share: alias statements (:mod:`allsource.store.aliases`)
and mention verdicts (:mod:`allsource.store.verdicts`) are never deleted — an undo marks the
row with who, when and why — they are shown and found by a short id (the first 8 characters of
their UUID), and nobody states anything without a name and a reason.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from allsource.errors import InputError
from allsource.store.sql import aware

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["MIN_REF", "Undoable", "by_short_id", "required", "who_and_why"]

#: A short id shorter than this finds nothing (too many statements would share it).
MIN_REF = 6
_MAX_ANALYST = 120


class Undoable:
    """Mixin of a frozen statement dataclass with ``id``, ``created_at`` and ``undone_at``."""

    __slots__ = ()
    id: str
    created_at: datetime
    undone_at: datetime | None

    @property
    def short_id(self) -> str:
        """The first 8 characters of the id's UUID: what the CLI shows and accepts."""
        return self.id.rsplit("--", 1)[-1][:8]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = asdict(self)  # type: ignore[call-overload]
        for key in ("created_at", "undone_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out

    @classmethod
    def fields_of(cls, row: sa.Row[Any]) -> dict[str, Any]:
        """A stored row's columns, its times made timezone-aware."""
        fields = dict(row._mapping)
        fields["created_at"] = aware(fields["created_at"])
        fields["undone_at"] = aware(fields["undone_at"])
        return fields


def required(value: str, what: str) -> str:
    """``value`` with its spaces normalised; an :class:`InputError` ("give …") when empty."""
    value = " ".join(value.split())
    if not value:
        raise InputError(f"give {what}")
    return value


def who_and_why(analyst: str, reason: str) -> tuple[str, str]:
    """The analyst's name (at most 120 characters) and the reason, both required."""
    return required(analyst, "an analyst name")[:_MAX_ANALYST], required(reason, "a reason")


def by_short_id(store: SqlStore, table: sa.Table, id_type: str, ref: str, what: str,
                *where: sa.ColumnElement[bool]) -> sa.Row[Any] | None:
    """The row of ``table`` (within ``where``) whose id is ``ref`` or whose short id starts
    with it; ``None`` for nothing or a ref shorter than :data:`MIN_REF`, an
    :class:`InputError` naming ``what`` when several match."""
    ref = ref.strip()
    if len(ref) < MIN_REF:
        return None
    prefix = ref if ref.startswith(f"{id_type}--") else f"{id_type}--{ref.lower()}"
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(table).where(
            *where, table.c.id.startswith(prefix, autoescape=True)).limit(2)).all()
    if len(rows) > 1:
        raise InputError(f"{what} id {ref!r} is ambiguous: give more of it")
    return rows[0] if rows else None
