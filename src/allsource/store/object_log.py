"""Object versions and the ingest sequence: what the TAXII server pages over.

Every stored version of an object or relationship gets a row in ``object_versions`` with a
**sequence number** ``seq`` and a ``date_added``, both handed out at write time, in the
writing transaction, from the one-row ``object_log_head``:

* the writer first *updates* the head (``seq = seq + n``) and only then reads it, so the row
  is locked until the transaction ends — on PostgreSQL a row lock, on SQLite the database's
  single write lock. A second writer (another thread or server process) waits at that update
  until the first commits, so numbers are handed out in **commit order**: once a reader sees
  ``seq`` N committed, every ``seq`` below N is committed too. A cursor "after N" therefore
  never skips a row that commits later (a plain sequence or autoincrement does: a transaction
  that drew 10 can commit after one that drew 11). The lock is taken at the end of a batch's
  writes and held until its commit, so it serialises only that last part of concurrent
  object-writing batches;
* ``date_added`` is ``max(now, previous + 1 µs)``: strictly increasing with ``seq`` and so
  unique — a TAXII ``added_after`` is as exact a cursor as ``seq`` itself, with no ties
  between objects written in the same batch.

**Versions** follow STIX: a version is an object's ``(id, modified)``. A write of an object
already stored adds a version only when it carries a ``modified`` the store has not seen; the
newest ``modified`` is the ``current`` version and its STIX (with its marking and name)
replaces the ``objects``/``relationships`` row, so every reader sees the newest. Older
versions stay listable; one that arrives late is kept but never becomes current. A write
without ``modified`` of a stored object is the same object proposed again (extractors
propose entities many times) and costs no statement here. Brand-new objects need no look-up
either: their first version is new by definition, so the hot ingest path pays one head update
and one bulk insert per batch.

**Origin.** Each version row also says where it came from (``origin``): the id of the source
whose run wrote it, or of the user whose TAXII POST did — the writer passes it, one value per
batch. A version keeps the origin of its first writer: the same ``(id, modified)`` arriving
again from elsewhere adds nothing. The TAXII server uses it to spare a partner its own echoes
(:mod:`allsource.share.taxii.origin`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.store import schema as t

__all__ = ["LOGGED", "next_numbers", "normalize_modified", "record", "versions_of"]

#: the tables whose rows are versioned here
LOGGED = (t.objects, t.relationships)
_TICK = timedelta(microseconds=1)
_CHUNK = 500
#: a bulk insert of rows into a table, within the caller's transaction
Insert = Callable[[Connection, sa.Table, list[dict[str, Any]]], None]
_MARKING = t.MARKING_NAMES


def normalize_modified(value: object) -> str:
    """A STIX timestamp as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC), whose string order is time
    order whatever precision the source wrote; '' for a missing or unreadable one."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return ""
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def next_numbers(conn: Connection, count: int, now: datetime) -> list[tuple[int, datetime]]:
    """``count`` fresh ``(seq, date_added)`` pairs, locking the head until ``conn``'s
    transaction ends (see the module docstring)."""
    if count <= 0:
        return []
    h = t.object_log_head
    conn.execute(h.update().where(h.c.id == 1).values(seq=h.c.seq + count))
    row = conn.execute(sa.select(h.c.seq, h.c.date_added).where(h.c.id == 1)).one()
    first = int(row.seq) - count + 1
    start = max(now, row.date_added + _TICK)
    pairs = [(first + i, start + i * _TICK) for i in range(count)]
    conn.execute(h.update().where(h.c.id == 1).values(date_added=pairs[-1][1]))
    return pairs


def _version_row(row: Mapping[str, Any], modified: str, origin: str | None) -> dict[str, Any]:
    stix = row.get("stix") if isinstance(row.get("stix"), dict) else {}
    spec = stix.get("spec_version") if isinstance(stix, dict) else None
    return {"id": row["id"], "type": row.get("type") or "relationship",
            "name": row.get("name") or row.get("relationship_type") or "",
            "modified": modified, "spec_version": spec if isinstance(spec, str) else "2.1",
            "stix": stix, "origin": origin, **{c: row[c] for c in _MARKING if c in row}}


def record(conn: Connection, table: sa.Table, rows: Iterable[Mapping[str, Any]],
           existing: Collection[str], now: datetime, *, proposals: bool = False,
           insert: Insert | None = None, origin: str | None = None) -> int:
    """Log the versions that ``rows`` (rows of ``table``, objects or relationships, as the
    write path builds them) add; ``existing`` are the ids stored before this write. Returns
    how many versions were added.

    With ``proposals`` the rows are what processing stages derived, not what a source
    published: a stage that finds a stored object or relationship again proposes the same
    thing (the relations stage stamps ``modified`` with the time it ran, and a relationship
    found in a thousand documents is still one relationship, not a thousand versions), so a
    stored id adds no version and costs no statement; the new sighting is its mention.
    ``insert`` writes the version rows (the store's driver-level bulk insert; a plain
    SQLAlchemy executemany by default); ``origin`` is where the rows came from (the writing
    source's or user's id; ``None``: a processing stage, see the module docstring)."""
    fresh: list[dict[str, Any]] = []
    again: dict[str, tuple[str, Mapping[str, Any]]] = {}
    rows = list(rows)
    # an id new to ``table`` may still have logged versions: a rebuild deletes a source's
    # objects and writes them again, and their versions must not be logged twice
    logged = _logged(conn, [row["id"] for row in rows if row["id"] not in existing])
    for row in rows:
        stix = row.get("stix")
        modified = normalize_modified(stix.get("modified") if isinstance(stix, dict) else None)
        if row["id"] not in existing and row["id"] not in logged:
            fresh.append({**_version_row(row, modified, origin), "is_current": True})
        elif row["id"] in logged or (modified and not proposals):
            again[row["id"]] = (modified, row)
    if again:
        fresh += _newer(conn, table, again, origin)
    if not fresh:
        return 0
    for row, (seq, added) in zip(fresh, next_numbers(conn, len(fresh), now), strict=True):
        row["seq"], row["date_added"] = seq, added
    if insert is None:
        conn.execute(t.object_versions.insert(), fresh)
    else:
        insert(conn, t.object_versions, fresh)
    return len(fresh)


def _logged(conn: Connection, ids: list[str]) -> set[str]:
    """Those of ``ids`` with at least one logged version: one driver-level ``IN`` per chunk
    on the ``(id, modified)`` unique index (SQLAlchemy's expanding parameters cost more than
    the look-up, and every new id of every batch pays this)."""
    out: set[str] = set()
    for rows in versions_of(conn, ids, with_modified=False):
        out.update(row[0] for row in rows)
    return out


def versions_of(conn: Connection, ids: list[str], *, with_modified: bool = True
                ) -> Iterator[Sequence[Any]]:
    """The ``(id, modified)`` rows of ``object_versions`` for ``ids`` (``(id,)`` rows without
    ``with_modified``), one driver-level statement per chunk of :data:`_CHUNK` ids."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    columns = "id, modified" if with_modified else "DISTINCT id"
    for i in range(0, len(ids), _CHUNK):
        part = ids[i:i + _CHUNK]
        sql = (f"SELECT {columns} FROM object_versions WHERE id IN ("
               + ", ".join([mark] * len(part)) + ")")
        yield conn.exec_driver_sql(sql, tuple(part)).all()


def _newer(conn: Connection, table: sa.Table, again: dict[str, tuple[str, Mapping[str, Any]]],
           origin: str | None = None) -> list[dict[str, Any]]:
    """The versions among ``again`` (stored ids with a ``modified``) not yet stored; the
    newest of each becomes current, here and in ``table``."""
    v = t.object_versions
    known: dict[str, set[str]] = {}
    current: dict[str, str] = {}
    ids = list(again)
    for i in range(0, len(ids), _CHUNK):
        for r in conn.execute(sa.select(v.c.id, v.c.modified, v.c.is_current)
                              .where(v.c.id.in_(ids[i:i + _CHUNK]))):
            known.setdefault(r.id, set()).add(r.modified)
            if r.is_current:
                current[r.id] = r.modified
    out: list[dict[str, Any]] = []
    for key, (modified, row) in again.items():
        if modified in known.get(key, ()):
            continue
        newest = modified > current.get(key, "")
        out.append({**_version_row(row, modified, origin), "is_current": newest})
        if newest:
            conn.execute(v.update().where(v.c.id == key, v.c.is_current.is_(True))
                         .values(is_current=False))
            values: dict[str, Any] = {"stix": row["stix"],
                                      **{c: row[c] for c in _MARKING if c in row}}
            if "name" in row and "name" in table.c:
                values["name"] = row["name"]
            conn.execute(table.update().where(table.c.id == key).values(**values))
    return out
