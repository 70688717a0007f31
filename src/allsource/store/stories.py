"""SQL implementations of the story index's storage protocols
(:class:`~allsource.process.dedup.BandStore` and :class:`~allsource.process.dedup.MemberStore`,
whose records live in :mod:`allsource.model.stories`).

Both work on one connection, so a batch's band rows, members and signatures commit together:
``lsh_bands`` holds ``(band, bucket, document_id)`` rows (primary key in that order, so a
lookup of a batch's buckets is one index range per bucket); ``story_members`` holds each
document's story, match and similarity; ``minhash_signatures`` its signature; ``stories``
one row per story, named by its first document.

A batch's buckets are looked up with one ``band = ? AND bucket IN (…)`` query per band
(25 at the default threshold), each a set of probes of the primary key, sent as plain
driver SQL (SQLAlchemy's expanding ``IN`` parameters cost more than the probes). Not a row-value
``(band, bucket) IN (VALUES …)``: SQLite plans that as a scan of the whole index per query,
so its cost grew with the store (0.14 s per 200-document batch at 80,000 rows, against
0.02 s per band).

During a run the parent process would repeat those look-ups for every batch, and their cost
grows with the index. :class:`RunTables` instead reads the band rows and the members (with
their signatures) once, at the run's first batch, and keeps them in memory; every batch
then reads only memory and writes once per table (plain executemany through
:meth:`~allsource.store.sql.SqlStore._bulk_insert`), and the rows a batch wrote join the
memory copy only after its transaction commits, so a batch that rolls back leaves both as
they were. The copy holds what the tables hold, so assignments are those of the SQL stores.
It assumes the run is the only writer of these tables while it lasts, as ``allsource
process`` is (the stage drops it at each engine set-up). Memory is bounded: a band row costs
about 80 bytes (a compact bytes key, the document id shared), a member about 0.7 KB; past
``max_rows`` band rows (default :data:`MAX_ROWS`, ~37,000 documents, ~110 MB) the copy is
dropped — or not made — and the run goes on with the SQL look-ups above.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.model.stories import BandKey, Member
from allsource.store import schema as t
from allsource.store.sql import utc_now

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

_CHUNK = 400
#: band rows a run keeps in memory at most (see the module docstring)
MAX_ROWS: Final = 1_000_000


class SqlBandStore:
    def __init__(self, store: SqlStore, conn: Connection) -> None:
        self.store, self.conn = store, conn

    def lookup(self, keys: Collection[BandKey]) -> dict[BandKey, list[str]]:
        found: dict[BandKey, list[str]] = {}
        by_band: dict[int, list[bytes]] = {}
        for band, bucket in keys:
            by_band.setdefault(band, []).append(bucket)
        mark = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
        for band, buckets in sorted(by_band.items()):
            for i in range(0, len(buckets), _CHUNK):
                part = buckets[i:i + _CHUNK]
                rows = self.conn.exec_driver_sql(
                    f"SELECT bucket, document_id FROM {t.lsh_bands.name} WHERE band = {mark}"
                    f" AND bucket IN ({', '.join([mark] * len(part))})"
                    " ORDER BY bucket, document_id", (band, *part))
                for bucket, doc_id in rows:
                    found.setdefault((band, bytes(bucket)), []).append(doc_id)
        return found

    def add(self, rows: Iterable[tuple[BandKey, str]]) -> None:
        values = [{"band": band, "bucket": bucket, "document_id": doc_id}
                  for (band, bucket), doc_id in rows]
        if values:
            self.store._bulk_insert(self.conn, t.lsh_bands, values)


class SqlMemberStore:
    def __init__(self, store: SqlStore, conn: Connection) -> None:
        self.store, self.conn = store, conn

    def get(self, doc_ids: Collection[str]) -> dict[str, Member]:
        ids = list(doc_ids)
        m, s = t.story_members, t.minhash_signatures
        out: dict[str, Member] = {}
        for i in range(0, len(ids), _CHUNK):
            rows = self.conn.execute(
                sa.select(m.c.document_id, m.c.story_id, m.c.matched_id, m.c.similarity,
                          s.c.signature)
                .select_from(m.outerjoin(s, s.c.document_id == m.c.document_id))
                .where(m.c.document_id.in_(ids[i:i + _CHUNK])))
            for doc_id, story_id, matched_id, similarity, signature in rows:
                out[doc_id] = Member(story_id, matched_id, float(similarity),
                                     bytes(signature or b""))
        return out

    def put(self, members: Mapping[str, Member]) -> None:
        now = utc_now()
        rows = [{"document_id": d, "story_id": mb.story_id, "similarity": mb.similarity,
                 "matched_id": mb.matched_id, "added_at": now} for d, mb in members.items()]
        if not rows:
            return
        self.store._bulk_insert(self.conn, t.story_members, rows)
        sigs = [{"document_id": d, "signature": mb.signature}
                for d, mb in members.items() if mb.signature]
        if sigs:
            self.store._bulk_insert(self.conn, t.minhash_signatures, sigs)
        stories = [{"id": mb.story_id, "canonical_document_id": d, "created_at": now}
                   for d, mb in members.items() if mb.matched_id is None]
        if stories:
            self.store._bulk_insert(self.conn, t.stories, stories)


def _key(band: int, bucket: bytes) -> bytes:
    """A band key as one small bytes object (band offset to stay positive, then the bucket)."""
    return (band + 0x8000).to_bytes(2, "big") + bucket


class RunTables:
    """The story tables in memory for one run (see the module docstring)."""

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.max_rows = max_rows
        #: band key → the document id filed under it, or a list of them
        self.buckets: dict[bytes, str | list[str]] = {}
        self.members: dict[str, Member] = {}
        self.rows = 0
        #: documents with band rows but no member (only in a store left inconsistent): SQL
        #: ignores a row filed again for them, so memory must too
        self.orphans: set[str] = set()

    @classmethod
    def load(cls, conn: Connection, max_rows: int = MAX_ROWS) -> RunTables | None:
        """The tables' rows, read once (two streamed statements); None when there are more
        than ``max_rows`` band rows."""
        tables = cls(max_rows)
        m, s, b = t.story_members, t.minhash_signatures, t.lsh_bands
        stream = {"stream_results": True, "max_row_buffer": 10_000}  # this statement only
        for doc_id, story_id, matched_id, similarity, signature in conn.execute(
                sa.select(m.c.document_id, m.c.story_id, m.c.matched_id, m.c.similarity,
                          s.c.signature)
                .select_from(m.outerjoin(s, s.c.document_id == m.c.document_id))
                .execution_options(**stream)):
            tables.members[doc_id] = Member(story_id, matched_id, float(similarity),
                                            bytes(signature or b""))
        ids = {d: d for d in tables.members}  # one string per document, shared by its rows
        rows = conn.execute(sa.select(b.c.band, b.c.bucket, b.c.document_id)
                            .order_by(b.c.band, b.c.bucket, b.c.document_id)
                            .execution_options(**stream))
        for band, bucket, doc_id in rows:
            if tables.rows >= max_rows:
                rows.close()
                return None
            tables._file(_key(band, bytes(bucket)), ids.setdefault(doc_id, doc_id))
        tables.orphans = set(ids).difference(tables.members)
        return tables

    def _file(self, key: bytes, doc_id: str) -> None:
        held = self.buckets.get(key)
        if held is None:
            self.buckets[key] = doc_id
        elif isinstance(held, str):
            self.buckets[key] = [held, doc_id]
        else:
            held.append(doc_id)
        self.rows += 1

    def stores(self, store: SqlStore, conn: Connection) -> tuple[RunBandStore, RunMemberStore]:
        """A batch's band and member stores: reads from memory, writes to ``conn``."""
        return RunBandStore(self, store, conn), RunMemberStore(self, store, conn)

    def commit(self, bands: RunBandStore, members: RunMemberStore) -> bool:
        """Add what a committed batch wrote; False when the copy has outgrown ``max_rows``
        (then drop it)."""
        self.members.update(members.written)
        for key, doc_id in bands.written:
            if doc_id in self.orphans:
                held = self.buckets.get(key)
                if held == doc_id or (isinstance(held, list) and doc_id in held):
                    continue
            self._file(key, doc_id)
        return self.rows <= self.max_rows


class RunBandStore:
    """:class:`~allsource.process.dedup.BandStore` over :class:`RunTables`: look-ups in
    memory, rows written through to SQL and kept aside until the commit."""

    def __init__(self, tables: RunTables, store: SqlStore, conn: Connection) -> None:
        self.tables, self.sql = tables, SqlBandStore(store, conn)
        self.written: list[tuple[bytes, str]] = []

    def lookup(self, keys: Collection[BandKey]) -> dict[BandKey, list[str]]:
        found: dict[BandKey, list[str]] = {}
        buckets = self.tables.buckets
        for key in keys:
            held = buckets.get(_key(*key))
            if held is not None:
                found[key] = [held] if isinstance(held, str) else list(held)
        return found

    def add(self, rows: Iterable[tuple[BandKey, str]]) -> None:
        rows = list(rows)
        self.sql.add(rows)
        self.written.extend((_key(band, bucket), doc_id) for (band, bucket), doc_id in rows)


class RunMemberStore:
    """:class:`~allsource.process.dedup.MemberStore` over :class:`RunTables`."""

    def __init__(self, tables: RunTables, store: SqlStore, conn: Connection) -> None:
        self.tables, self.sql = tables, SqlMemberStore(store, conn)
        self.written: dict[str, Member] = {}

    def get(self, doc_ids: Collection[str]) -> dict[str, Member]:
        members = self.tables.members
        return {d: members[d] for d in doc_ids if d in members}

    def put(self, members: Mapping[str, Member]) -> None:
        self.sql.put(members)
        self.written.update(members)
