"""The shared SQL implementation of :class:`~allsource.store.base.Store`.

Backends differ only in engine set-up, "insert or ignore" syntax and full-text search; the
rest — batches, idempotent upserts, sightings, provenance, quarantine, reads — is here.

Writes: one transaction per batch. Documents, objects and relationships are keyed by their
deterministic IDs; a batch first asks which IDs already exist (one ``IN`` query per 500), then
bulk-inserts only the new rows, so re-ingesting counts duplicates and adds nothing. The
collector's checkpoint is written in the same transaction, so after a crash the store and the
checkpoint agree and a rerun resumes exactly where the last committed batch ended.

Reads: :meth:`SqlStore._readable` is the single query hook for marking-based filtering: the
whole of :func:`can_release` as SQL (:mod:`allsource.store.access`), so totals and pages are
counted by the database over exactly the rows the reader may see, never re-checked after a
``LIMIT``. A source the reader may not read is answered as if it did not exist
(:meth:`SqlStore.readable_source`), so ``?source=hidden`` and ``?source=nosuch`` are the same.
Derived views build on it: objects and relationships are seen through the mentions a reader
may read (:mod:`allsource.store.derived`), stories through their readable members
(:mod:`allsource.store.story_views`).
"""

from __future__ import annotations

import html
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from allsource.errors import SourceError, StoreError
from allsource.gcpause import paused_gc
from allsource.model.ids import minted_id
from allsource.model.markings import TLP, Audience, Marking, can_release
from allsource.model.records import Collected, Mention, Relationship, Source, StixObject
from allsource.store import blind, blind_storage, date_order, derived, match_pages, object_log
from allsource.store import schema as t
from allsource.store.access import readable
from allsource.store.base import BatchCounts, QuarantineItem, RunRecord
from allsource.store.blobs import BlobStore
from allsource.store.excerpt_words import whole_words
from allsource.store.idlists import ids_in
from allsource.store.keys import KeyEncryptionKey, KeyRing
from allsource.store.query import ParsedQuery, SearchHit, SearchQuery, SearchResult, parse
from allsource.store.story_views import reader_annotations, stories_of_documents, story_ref

HL_START = "\ue000"
HL_END = "\ue001"


def snippet_html(snippet: str) -> str:
    """A search excerpt as HTML: whitespace collapsed, the text escaped, and the match markers
    (private-use characters, which escaping never produces) turned into ``<mark>``."""
    text = html.escape(re.sub(r"\s+", " ", snippet))
    return text.replace(HL_START, "<mark>").replace(HL_END, "</mark>")
_CHUNK = 500
#: a hit's TLP label by stored level (``TLP(n).label`` on every hit of a window adds up)
_TLP_LABELS = {level.value: level.label for level in TLP}
_MIGRATIONS = Path(__file__).parent / "migrations"


def json_dumps(value: Any) -> str:
    """JSON columns are written with orjson (several times faster than the stdlib)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()


def _whole_words(cut: dict[str, str], rows: Sequence[Any]) -> dict[str, str]:
    """Excerpts widened to whole words (store/excerpt_words.py) from the rows' title and
    text (rows read without their text keep their excerpts as cut)."""
    out = dict(cut)
    for r in rows:
        if r.id in out and hasattr(r, "text"):
            out[r.id] = whole_words(out[r.id], getattr(r, "title", None), r.text, HL_START,
                                    HL_END)
    return out


def naive_utc(dt: datetime | None) -> datetime | None:
    """Store datetimes as naive UTC (portable across SQLite and PostgreSQL)."""
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def chunks(seq: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    """``seq`` in slices of ``size`` (bounded ``IN (…)`` lists)."""
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def utc_now() -> datetime:
    """Now, as the naive UTC the store writes."""
    return datetime.now(UTC).replace(tzinfo=None)


def add_rows(document_id: str, objects: Iterable[StixObject],
             relationships: Iterable[Relationship], mentions: Iterable[Mention],
             now: datetime, objs: dict[str, dict[str, Any]], rels: dict[str, dict[str, Any]],
             ments: dict[tuple[str, str, str, int], dict[str, Any]],
             document_marking: Marking | None = None) -> None:
    """Add the ``objects``/``relationships``/``mentions`` rows of one document to the batch's
    dicts, keyed so that each row is written once (the first occurrence wins).

    A mention carries the marking of its evidence: the object (or relationship) as this
    document proposed it, combined with ``document_marking`` — the marking a reader must be
    allowed to see this piece of evidence (see :mod:`allsource.store.derived`)."""
    floor = document_marking or Marking()
    proposed: dict[str, Marking] = {}
    # a row only for the first occurrence, with one set of marking columns per marking
    by_marking: dict[Marking, dict[str, object]] = {}
    for o in objects:
        proposed[o.id] = proposed[o.id].combine(o.marking) if o.id in proposed else o.marking
        if o.id not in objs:
            if (cols := by_marking.get(o.marking)) is None:
                cols = by_marking[o.marking] = o.marking.to_columns()
            objs[o.id] = {"id": o.id, "type": o.type, "name": o.name[:10000],
                          "stix": o.stix, "created_at": now, **cols}
    for r in relationships:
        proposed[r.id] = proposed[r.id].combine(r.marking) if r.id in proposed else r.marking
        if r.id not in rels:
            if (cols := by_marking.get(r.marking)) is None:
                cols = by_marking[r.marking] = r.marking.to_columns()
            rels[r.id] = {"id": r.id, "relationship_type": r.relationship_type,
                          "source_ref": r.source_ref, "target_ref": r.target_ref,
                          "stix": r.stix, "created_at": now, **cols}
    # one combine and one set of columns per distinct marking, looked up once per object
    # (the ingest and processing hot path: a document has ~30 mentions of ~10 objects)
    columns: dict[Marking | None, dict[str, object]] = {None: floor.to_columns()}
    of_object: dict[str, dict[str, object]] = {}
    for m in mentions:
        start = -1 if m.start is None else m.start
        key = (m.object_id, document_id, m.extractor, start)
        if key in ments:
            continue
        marked = of_object.get(m.object_id)
        if marked is None:
            own = proposed.get(m.object_id)
            if own is not None and own == floor:
                own = None
            if own not in columns:
                columns[own] = floor.combine(own).to_columns()  # type: ignore[arg-type]
            marked = of_object[m.object_id] = columns[own]
        ments[key] = {
            "object_id": m.object_id, "document_id": document_id, "extractor": m.extractor,
            "span_start": start, "span_end": -1 if m.end is None else m.end, **marked}


def _source_from_row(row: sa.Row[Any]) -> Source:
    m = row._mapping
    return Source(
        name=m["name"], kind=m["kind"], location=m["location"],
        schedule_seconds=m["schedule_seconds"], allow_private=bool(m["allow_private"]),
        marking=Marking.from_columns(dict(m)), config=dict(m["config"] or {}),
        enabled=bool(m["enabled"]), created_at=aware(m["created_at"]),
    )


class SqlStore(ABC):
    """Common SQL store; subclasses provide the engine, upsert syntax and search."""

    dialect_name: str

    def __init__(self, url: str, blob_dir: Path, kek: KeyEncryptionKey | None = None) -> None:
        self.url = url
        self.engine: Engine = self._create_engine(url)
        # encryption at rest (store/keys.py): loaded by open_keys() once the schema is there
        self.keys = KeyRing(self.engine, kek)
        self.blobs = BlobStore(blob_dir, self.keys)
        self._plans: dict[str, tuple[str, list[str], list[Any]]] = {}
        self._all_blind = False  # no plain-text row left in an encrypted store's index

    # -- set-up ---------------------------------------------------------------------------
    @abstractmethod
    def _create_engine(self, url: str) -> Engine: ...

    @abstractmethod
    def _insert_ignore(self, table: sa.Table) -> Any:
        """An INSERT statement that skips rows whose primary/unique key already exists."""

    @abstractmethod
    def _search(self, conn: Connection, query: SearchQuery, source_ids: list[str],
                audience: Audience) -> SearchResult: ...

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot open the store at {self.safe_url}: {exc.orig}") from exc

    def open_keys(self) -> None:
        """Load the data keys (and make the store encrypted when a key is configured)."""
        try:
            self.keys.load()
        except sa.exc.DBAPIError as exc:  # not migrated yet (open_store(migrate=False))
            if self.keys.kek is not None:
                raise StoreError(f"cannot read the keys of {self.safe_url}: {exc.orig}") from exc

    @property
    def safe_url(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.keys.close()
        self.engine.dispose()

    # -- sources ------------------------------------------------------------------------------
    def add_source(self, source: Source) -> None:
        with self.engine.begin() as conn:
            if conn.execute(sa.select(t.sources.c.id).where(
                    t.sources.c.name == source.name)).first():
                raise SourceError(f"a source named {source.name!r} already exists")
            conn.execute(t.sources.insert().values(
                id=source.id, name=source.name, kind=source.kind, location=source.location,
                schedule_seconds=source.schedule_seconds, allow_private=source.allow_private,
                config=source.config, enabled=source.enabled,
                created_at=naive_utc(source.created_at) or utc_now(),
                **source.marking.to_columns()))

    def update_source(self, source: Source) -> None:
        """Save a stored source's settings (kind, location, schedule, options, marking)."""
        with self.engine.begin() as conn:
            conn.execute(t.sources.update().where(t.sources.c.id == source.id).values(
                kind=source.kind, location=source.location,
                schedule_seconds=source.schedule_seconds, allow_private=source.allow_private,
                config=source.config, enabled=source.enabled, **source.marking.to_columns()))

    def get_source(self, name_or_id: str) -> Source | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.sources).where(sa.or_(
                t.sources.c.name == name_or_id, t.sources.c.id == name_or_id))).first()
        return _source_from_row(row) if row else None

    def list_sources(self) -> list[Source]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.sources).order_by(t.sources.c.name)).all()
        return [_source_from_row(r) for r in rows]

    def remove_source(self, name_or_id: str) -> bool:
        """Remove a source's configuration and checkpoint. Collected documents stay: they are
        evidence, and other sources may have sighted them too."""
        src = self.get_source(name_or_id)
        if src is None:
            return False
        with self.engine.begin() as conn:
            conn.execute(t.sources.delete().where(t.sources.c.id == src.id))
            conn.execute(t.checkpoints.delete().where(t.checkpoints.c.source_id == src.id))
        return True

    def source_status(self, source_id: str, audience: Audience | None = None
                      ) -> dict[str, Any]:
        """A source's collection status; ``documents`` counts the sighted documents that
        ``audience`` may read (all of them without one)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.sources.c.last_collected_at, t.sources.c.last_status)
                               .where(t.sources.c.id == source_id)).first()
            s, d = t.sightings, t.documents
            docs_q = sa.select(sa.func.count()).select_from(s).where(s.c.source_id == source_id)
            if audience is not None and not audience.unrestricted:
                docs_q = (sa.select(sa.func.count())
                          .select_from(s.join(d, d.c.id == s.c.document_id))
                          .where(s.c.source_id == source_id, readable(d, audience)))
            docs = conn.execute(docs_q).scalar_one()
            quarantined = conn.execute(sa.select(sa.func.count()).select_from(t.quarantine)
                                       .where(t.quarantine.c.source_id == source_id,
                                              t.quarantine.c.status == "open")).scalar_one()
            ckpt = conn.execute(sa.select(t.checkpoints.c.state).where(
                t.checkpoints.c.source_id == source_id)).scalar_one_or_none()
            last_run = conn.execute(sa.select(t.runs).where(t.runs.c.source_id == source_id)
                                    .order_by(t.runs.c.started_at.desc()).limit(1)).first()
        return {
            "documents": docs,
            "quarantined": quarantined,
            "last_collected_at": _iso(row[0]) if row else None,
            "last_status": row[1] if row else None,
            "checkpoint": ckpt or {},
            "last_run": ({"status": last_run.status, "counts": last_run.counts,
                          "errors": last_run.errors,
                          "started_at": aware(last_run.started_at).isoformat()}  # type: ignore[union-attr]
                         if last_run else None),
        }

    def set_source_status(self, source_id: str, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.sources.update().where(t.sources.c.id == source_id).values(
                last_collected_at=utc_now(), last_status=status[:2000]))

    def get_checkpoint(self, source_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            state = conn.execute(sa.select(t.checkpoints.c.state).where(
                t.checkpoints.c.source_id == source_id)).scalar_one_or_none()
        return dict(state or {})

    # -- writes -------------------------------------------------------------------------------
    def _existing(self, conn: Connection, column: sa.Column[Any], keys: list[str]) -> set[str]:
        """Which of ``keys`` (string values of ``column``) are stored: one driver-level
        ``IN`` per chunk (SQLAlchemy's expanding parameters cost more than the lookup)."""
        found: set[str] = set()
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        head = f"SELECT {column.name} FROM {column.table.name} WHERE {column.name} IN "
        for chunk in chunks(keys):
            sql = head + "(" + ", ".join([mark] * len(chunk)) + ")"
            found.update(row[0] for row in conn.exec_driver_sql(sql, tuple(chunk)))
        return found

    def _insert_new(self, conn: Connection, table: sa.Table, rows: dict[str, dict[str, Any]],
                    *, proposals: bool = False, origin: str | None = None) -> int:
        """Insert rows (keyed by id) whose id is not stored yet; returns how many were new.
        ``proposals``: the rows are processing stages' findings; ``origin``: the writing
        source's or user's id, kept on the versions logged (see ``object_log.record``)."""
        if not rows:
            return 0
        existing = self._existing(conn, table.c.id, list(rows))
        new = [row for key, row in rows.items() if key not in existing]
        if new:
            self._bulk_insert(conn, table, new)
        if table in object_log.LOGGED:  # versions and the ingest sequence (TAXII)
            object_log.record(conn, table, rows.values(), existing, utc_now(),
                              proposals=proposals, insert=self._bulk_insert, origin=origin)
        return len(new)

    def _bulk_insert(self, conn: Connection, table: sa.Table, rows: list[dict[str, Any]]
                     ) -> None:
        """``INSERT … ON CONFLICT DO NOTHING`` of many rows through the driver's executemany.

        The hot path of ingest: SQLAlchemy's per-row parameter handling costs more than the
        insert itself, so values go through each column type's own bind processor (the same
        conversion SQLAlchemy applies: JSON via orjson, datetimes in the dialect's format)
        into plain tuples."""
        rows = self.keys.seal_rows(table, rows)
        # a sealed document's blind tokens go to the full-text index, not into the row
        tokens = table is t.documents and blind_storage.carries_tokens(rows)
        sql, columns, processors = self._insert_plan(table, tokens)
        # the values in C (map of dict.get: None for a missing key), then Python only for
        # the few columns with a processor (none at all for mentions, the most rows)
        procs = [(i, proc) for i, proc in enumerate(processors) if proc is not None]
        if not procs:
            params: list[tuple[Any, ...]] = [tuple(map(row.get, columns)) for row in rows]
        else:
            # a batch's rows share their stamps (``collected_at``, ``created_at``, a
            # sighting's ``first_seen`` are one ``now`` object) and most of their empty JSON:
            # a value that *is* the previous row's is converted once
            last: list[tuple[Any, Any]] = [(None, None)] * len(procs)
            params = []
            for row in rows:
                values = list(map(row.get, columns))
                for j, (i, proc) in enumerate(procs):
                    if (value := values[i]) is not None:
                        seen, out = last[j]
                        if value is not seen:
                            out = proc(value)
                            last[j] = (value, out)
                        values[i] = out
                params.append(tuple(values))
        conn.exec_driver_sql(sql, params)
        if tokens and self.dialect_name == "sqlite":
            blind_storage.index_sqlite(conn, rows)

    def _insert_plan(self, table: sa.Table, tokens: bool = False
                     ) -> tuple[str, list[str], list[Any]]:
        """The INSERT of ``table``'s columns; with ``tokens`` (sealed documents on
        PostgreSQL) it also writes ``tsv`` from the rows' blind tokens
        (store/blind_storage.py)."""
        name = table.name + ("+tokens" if tokens else "")
        plan = self._plans.get(name)
        if plan is None:
            dialect = self.engine.dialect
            columns = [c.name for c in table.columns
                       if not (c.primary_key and c.autoincrement is True
                               and isinstance(c.type, sa.Integer))]
            mark = "?" if dialect.paramstyle == "qmark" else "%s"
            names, values = list(columns), [mark] * len(columns)
            # the dialect's own type: generic DateTime has no SQLite processor, and the
            # sqlite3 driver's fallback drops ".000000", which then sorts before query
            # parameters that SQLAlchemy formats with microseconds
            processors = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect)
                          for c in columns]
            if tokens and self.dialect_name == "postgresql":
                names.append("tsv")
                values.append(blind_storage.pg_tsv_sql(mark))
                columns += [blind_storage.TITLE_TOKENS, blind_storage.TEXT_TOKENS]
                processors += [None, None]
            sql = (f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
                   f"({', '.join(values)}) ON CONFLICT DO NOTHING")
            plan = self._plans[name] = (sql, columns, processors)
        return plan

    def write_batch(self, source: Source, items: list[Collected],
                    quarantined: list[QuarantineItem],
                    checkpoint: dict[str, Any] | None, *, origin: str | None = None
                    ) -> BatchCounts:
        """Store a collected batch in one transaction. The rows built here (a dict, a tuple
        and a few strings per document, mention, object) hold no reference cycles, so the
        cyclic garbage collector is paused meanwhile (:func:`allsource.gcpause.paused_gc`):
        its collections, started every 700 allocations and walking the whole heap every few,
        were ~6 % of an ingest's CPU (``benchmarks/ingest.py``, RESULTS). The object versions
        it logs keep ``origin`` (default: the source's id) as where they came from."""
        with paused_gc():
            return self._write_batch(source, items, quarantined, checkpoint, origin)

    def _write_batch(self, source: Source, items: list[Collected],
                     quarantined: list[QuarantineItem],
                     checkpoint: dict[str, Any] | None,
                     origin: str | None = None) -> BatchCounts:
        now = utc_now()
        sid = source.id  # derived (uuid5) on each access: read it once per batch
        counts = BatchCounts(items=len(items) + len(quarantined), quarantined=len(quarantined))
        docs: dict[str, dict[str, Any]] = {}
        objs: dict[str, dict[str, Any]] = {}
        rels: dict[str, dict[str, Any]] = {}
        sight: dict[str, dict[str, Any]] = {}
        ments: dict[tuple[str, str, str, int], dict[str, Any]] = {}
        for item in items:
            d = item.document
            if d.id not in docs:
                docs[d.id] = {
                    "id": d.id, "source_id": sid, "kind": d.kind, "title": d.title,
                    "text": d.text, "url": d.url, "language": d.language,
                    "media_type": d.media_type, "published_at": naive_utc(d.published_at),
                    "collected_at": now, "content_hash": d.content_hash,
                    "blob_sha256": d.blob_sha256, "blob_ref": d.blob_ref, "labels": d.labels,
                    "meta": d.meta, **d.marking.to_columns()}
                sight[d.id] = {"document_id": d.id, "source_id": sid, "first_seen": now,
                               "url": d.url}
            add_rows(d.id, item.objects, item.relationships, item.mentions, now, objs, rels,
                     ments, d.marking)
        self.keys.prepare()  # a fresh data key, committed before the batch's transaction
        try:
            with self.engine.begin() as conn:
                counts.new = self._insert_new(conn, t.documents, docs)
                counts.duplicates = len(items) - counts.new
                if sight:
                    self._bulk_insert(conn, t.sightings, list(sight.values()))
                counts.objects = self._insert_new(conn, t.objects, objs, origin=origin or sid)
                counts.relationships = self._insert_new(conn, t.relationships, rels,
                                                        origin=origin or sid)
                if ments:
                    self._bulk_insert(conn, t.mentions, list(ments.values()))
                if quarantined:
                    conn.execute(self._insert_ignore(t.quarantine), [
                        {"id": minted_id("x-allsource-quarantine",
                                         f"{source.id}|{q.blob_sha256}|{q.item_ref}|{q.reason}"),
                         "source_id": source.id, "reason": q.reason[:4000],
                         "item_ref": q.item_ref[:2000], "blob_sha256": q.blob_sha256,
                         "created_at": now, "status": "open", "attempts": 0}
                        for q in quarantined])
                if checkpoint is not None:
                    self._save_checkpoint(conn, source.id, checkpoint, now)
        except sa.exc.DBAPIError as exc:
            raise StoreError(f"writing a batch to {self.safe_url} failed: {exc.orig}") from exc
        return counts

    def _save_checkpoint(self, conn: Connection, source_id: str, state: dict[str, Any],
                         now: datetime) -> None:
        updated = conn.execute(t.checkpoints.update().where(
            t.checkpoints.c.source_id == source_id).values(state=state, updated_at=now))
        if updated.rowcount == 0:
            conn.execute(t.checkpoints.insert().values(source_id=source_id, state=state,
                                                       updated_at=now))

    def save_run(self, run: RunRecord) -> None:
        row = {"plugin": run.plugin, "source_id": run.source_id, "status": run.status,
               "started_at": naive_utc(run.started_at), "finished_at": naive_utc(run.finished_at),
               "counts": run.counts, "errors": run.errors[:100]}
        with self.engine.begin() as conn:
            updated = conn.execute(t.runs.update().where(t.runs.c.id == run.id).values(**row))
            if updated.rowcount == 0:
                conn.execute(t.runs.insert().values(id=run.id, **row))

    # -- reads --------------------------------------------------------------------------------
    @staticmethod
    def _readable(table: sa.Table | Any, audience: Audience) -> sa.ColumnElement[bool]:
        """The one place where reads filter by marking: TLP, classification, compartments and
        releasability, all in SQL (:func:`allsource.store.access.readable`)."""
        return readable(table, audience)

    def readable_source(self, name_or_id: str, audience: Audience) -> Source | None:
        """The source named (or with the id) ``name_or_id`` if ``audience`` may read it; a
        source it may not read is ``None``, exactly like one that does not exist."""
        found = self.get_source(name_or_id)
        return found if found is not None and can_release(found.marking, audience) else None

    def _resolve_sources(self, conn: Connection, names: Iterable[str],
                         audience: Audience | None = None) -> list[str]:
        ids = []
        s = t.sources
        for name in names:
            stmt = sa.select(s.c.id).where(sa.or_(s.c.name == name, s.c.id == name))
            if audience is not None:
                stmt = stmt.where(readable(s, audience))
            found = conn.execute(stmt).scalar_one_or_none()
            if found is None:
                raise SourceError(f"unknown source {name!r} (see `allsource source list`)")
            ids.append(found)
        return ids

    def search(self, query: SearchQuery, audience: Audience) -> SearchResult:
        with self.engine.connect() as conn:
            source_ids = self._resolve_sources(conn, query.sources, audience)
            if query.order == "date":
                return date_order.search(self, conn, query, source_ids, audience)
            return self._search(conn, query, source_ids, audience)

    def matching_ids(self, text: str, audience: Audience,
                     page_size: int = match_pages.PAGE_SIZE) -> Iterator[list[str]]:
        """The ids of EVERY document matching ``text`` that ``audience`` may read, unranked
        and uncapped, a page of at most ``page_size`` at a time in storage order — for callers
        that need all matches, not the best ones (store/match_pages.py). Raises
        :class:`InputError` for a query the syntax refuses."""
        parsed = parse(text)

        def fetch(after: int | None, limit: int) -> Sequence[Any]:
            with self.engine.connect() as conn:
                try:
                    return conn.execute(self._match_page(conn, parsed, audience, after,
                                                         limit)).all()
                except sa.exc.DBAPIError as exc:
                    raise StoreError(f"search failed: {exc.orig}") from exc

        return match_pages.pages(fetch, page_size)

    @abstractmethod
    def _match_page(self, conn: Connection, parsed: ParsedQuery, audience: Audience,
                    after: int | None, limit: int) -> sa.Select[Any]:
        """The statement of one page of :meth:`matching_ids` (backends compile the query)."""

    def add_snippets(self, text: str, hits: Sequence[SearchHit], audience: Audience) -> None:
        """Cut the excerpts of ``hits`` (from a search for ``text`` made with
        ``snippets=False``) in place, and fill the titles and details (url, dates, TLP) a
        search with ``titles=False`` or ``details=False`` left empty: a caller that ranks a
        wide window cuts and completes only the ones it shows. Only documents ``audience``
        may read are read."""
        if not hits:
            return
        parsed = parse(text)
        d = t.documents
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(
                d.c.seq, d.c.id, d.c.title, d.c.text, d.c.url, d.c.published_at,
                d.c.collected_at, d.c.tlp).where(
                ids_in(d.c.id, [h.id for h in hits], self.dialect_name),
                self._readable(d, audience))).all()
            cut = _whole_words(self._cut_snippets(conn, parsed, rows), rows)
        read = {r.id: r for r in rows}
        for h in hits:
            h.snippet = cut.get(h.id, "")
            if (r := read.get(h.id)) is None:
                continue
            h.title = h.title or r.title or ""
            if h.collected_at is None:
                h.url, h.published_at = r.url, aware(r.published_at)
                h.collected_at, h.tlp = aware(r.collected_at), _TLP_LABELS[r.tlp]

    def _cut_snippets(self, conn: Connection, parsed: ParsedQuery, rows: Sequence[Any]
                      ) -> dict[str, str]:
        """Excerpts ``{id: snippet}`` of ``rows`` (``seq``, ``id``, ``title``, ``text``, read
        through the columns' decryption) for the query. Here: cut from the text by the blind
        index's word stems (store/blind.py), as an encrypted store must; backends override it
        for plain stores with their engine's own excerpts."""
        cut = blind.Highlighter(blind.query_stems(parsed), HL_START, HL_END,
                                prefixes=blind.query_prefixes(parsed)).cut
        return {r.id: cut(r.title, r.text or "") for r in rows}

    def _page_rows(self, conn: Connection, query: SearchQuery,
                   page: Sequence[tuple[int, float]], *, with_text: bool,
                   cut: Callable[[Sequence[Any]], dict[str, str]]
                   ) -> list[tuple[Any, str, float]]:
        """The rows of a ranked page (``(seq, score)`` pairs, best first) for
        :meth:`_result`, as ``(row, snippet, score)``: one read of ``documents`` by ``seq`` —
        the title only when the query wants titles (``SearchQuery.titles``), the text only
        when excerpts are cut from it (``with_text``) — and the excerpts from ``cut`` when the
        query asks for them. The page's ``seq`` list is one bound value (store/idlists.py):
        an ``IN`` of 200 parameters cost more to render on every search than to run."""
        if not page:
            return []
        d = t.documents
        title = d.c.title if query.titles else sa.literal("", sa.Text).label("title")
        cols = [d.c.seq, d.c.id, d.c.kind, title, d.c.source_id]
        if query.details:
            cols += [d.c.url, d.c.published_at, d.c.collected_at, d.c.tlp]
        if query.snippets and with_text:
            cols.append(d.c.text)
        seqs = [seq for seq, _ in page]
        by_seq = {r.seq: r for r in conn.execute(sa.select(*cols).where(
            ids_in(d.c.seq, seqs, self.dialect_name))).all()}
        shown = [by_seq[s] for s in seqs if s in by_seq]
        snippets = _whole_words(cut(shown), shown) if query.snippets else {}
        return [(row, snippets.get(row.id, ""), score)
                for seq, score in page if (row := by_seq.get(seq)) is not None]

    def _filters(self, d: Any, query: SearchQuery, source_ids: list[str],
                 audience: Audience) -> list[sa.ColumnElement[bool]]:
        conds: list[sa.ColumnElement[bool]] = [self._readable(d, audience)]
        if source_ids:
            conds.append(sa.exists().where(t.sightings.c.document_id == d.c.id,
                                           t.sightings.c.source_id.in_(source_ids)))
        if query.kinds:
            conds.append(d.c.kind.in_(query.kinds))
        when = sa.func.coalesce(d.c.published_at, d.c.collected_at)
        if query.since:
            conds.append(when >= naive_utc(query.since))
        if query.until:
            conds.append(when < naive_utc(query.until))
        return conds

    def _result(self, conn: Connection, rows: Sequence[tuple[Any, str, float]], total: int,
                audience: Audience, started: float, score_sign: float,
                total_exact: bool = True) -> SearchResult:
        """Hits from :meth:`_page_rows` (rows already filtered by :meth:`_readable`); scores
        higher-is-better (``score_sign`` flips SQLite's lower-is-better bm25)."""
        names = self._source_names(conn, audience)
        if rows and not hasattr(rows[0][0], "tlp"):  # read without details (SearchQuery)
            hits = [SearchHit(id=r.id, kind=r.kind, title=r.title, snippet=snippet,
                              score=round(score_sign * float(score), 4), url=None,
                              published_at=None, collected_at=None,
                              source=names.get(r.source_id, ""), tlp="")
                    for r, snippet, score in rows]
        else:
            hits = [SearchHit(id=r.id, kind=r.kind, title=r.title, snippet=snippet,
                              score=round(score_sign * float(score), 4), url=r.url,
                              published_at=aware(r.published_at),
                              collected_at=aware(r.collected_at),
                              source=names.get(r.source_id, ""), tlp=_TLP_LABELS[r.tlp])
                    for r, snippet, score in rows]
        return SearchResult(hits=hits, total=total,
                            took_ms=(time.perf_counter() - started) * 1000,
                            total_exact=total_exact)

    # -- search on an encrypted store (store/blind.py) ---------------------------------------
    def _blind_query(self, conn: Connection, parsed: ParsedQuery
                     ) -> tuple[ParsedQuery, bool]:
        """The query hashed for the blind index, and whether rows written in plain text
        remain (they are matched by the plain query too, until ``keys encrypt-existing``)."""
        hashed = self.keys.blind().query(parsed)
        if self._all_blind:
            return hashed, False
        plain_left = conn.execute(sa.select(t.documents.c.seq).where(
            t.documents.c.index_text.is_(None)).limit(1)).first() is not None
        # an encrypted store never writes a plain row again (KeyRing.require), so once none
        # is left this stays true: later searches skip the check, a scan on a store without
        # plain rows (no index finds "none left" faster than reading every row)
        self._all_blind = not plain_left
        return hashed, plain_left

    def _source_names(self, conn: Connection, audience: Audience | None = None
                      ) -> dict[str, str]:
        """Source id → name, of the sources ``audience`` may read (all without one)."""
        s = t.sources
        stmt = sa.select(s.c.id, s.c.name)
        if audience is not None:
            stmt = stmt.where(readable(s, audience))
        return {r.id: r.name for r in conn.execute(stmt)}

    def get(self, object_id: str, audience: Audience) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            names = self._source_names(conn, audience)
            row = conn.execute(sa.select(t.documents).where(t.documents.c.id == object_id)).first()
            if row is not None:
                return self._document_view(conn, row, names, audience)
            row = conn.execute(sa.select(t.objects).where(t.objects.c.id == object_id)).first()
            if row is not None:
                return self._object_view(conn, t.objects, row, names, audience)
            r = t.relationships
            row = conn.execute(sa.select(r).where(r.c.id == object_id)).first()
            if row is not None:
                # its ends are ids too: one the audience may not read hides the relationship
                hidden_end = not conn.execute(sa.select(derived.ends_visible(self, r, audience))
                                              .where(r.c.id == object_id)).scalar_one()
                return None if hidden_end else self._object_view(conn, r, row, names,
                                                                 audience)
        src = self.readable_source(object_id, audience)
        if src is not None:
            return {"record": "source", "id": src.id, "name": src.name, "kind": src.kind,
                    "location": src.location, "marking": src.marking.as_dict()}
        return None

    def _document_view(self, conn: Connection, row: sa.Row[Any], names: dict[str, str],
                       audience: Audience) -> dict[str, Any] | None:
        m = dict(row._mapping)
        marking = Marking.from_columns(m)
        if not can_release(marking, audience):
            return None
        sightings = conn.execute(sa.select(t.sightings).where(
            t.sightings.c.document_id == m["id"]).order_by(t.sightings.c.first_seen)).all()
        mentioned = conn.execute(
            sa.select(t.objects.c.id, t.objects.c.type, t.objects.c.name, t.mentions.c.extractor,
                      t.mentions.c.span_start, t.mentions.c.span_end,
                      t.mentions.c.tlp, t.mentions.c.classification,
                      t.mentions.c.compartments, t.mentions.c.releasability)
            .join(t.mentions, t.mentions.c.object_id == t.objects.c.id)
            .where(t.mentions.c.document_id == m["id"], self._readable(t.mentions, audience))
            .order_by(t.mentions.c.span_start).limit(2000)).all()
        notes = conn.execute(
            sa.select(t.stage_annotations.c.stage, t.stage_annotations.c.version,
                      t.stage_annotations.c.data)
            .where(t.stage_annotations.c.document_id == m["id"])).all()
        story = stories_of_documents(conn, self, [m["id"]], audience).get(m["id"])
        objects = [{"id": o.id, "type": o.type, "name": o.name, "extractor": o.extractor,
                    "span": None if o.span_start < 0 else [o.span_start, o.span_end]}
                   for o in mentioned]
        return {
            "record": "document", "id": m["id"], "kind": m["kind"], "title": m["title"],
            "text": m["text"], "url": m["url"], "language": m["language"],
            "media_type": m["media_type"],
            "published_at": _iso(m["published_at"]), "collected_at": _iso(m["collected_at"]),
            "content_hash": m["content_hash"], "blob_sha256": m["blob_sha256"],
            "blob_ref": m["blob_ref"], "labels": m["labels"], "meta": m["meta"],
            "marking": marking.as_dict(),
            # sightings by sources the reader may not read are left out, like the sources
            "sightings": [{"source_id": s.source_id, "source": names.get(s.source_id),
                           "first_seen": _iso(s.first_seen), "url": s.url} for s in sightings
                          if s.source_id in names],
            "objects": objects,
            "entities": group_mentions(objects),
            "annotations": derived.reader_watchlist_note(conn, self, reader_annotations(
                {n.stage: {"version": n.version, **(n.data or {})} for n in notes}, story,
                m["id"]), audience),
            "story": story_ref(story, m["id"]),
        }

    def _object_view(self, conn: Connection, table: sa.Table, row: sa.Row[Any],
                     names: dict[str, str], audience: Audience) -> dict[str, Any] | None:
        """An object or relationship through the evidence ``audience`` may read (see
        :mod:`allsource.store.derived`)."""
        m = dict(row._mapping)
        marking = Marking.from_columns(m)
        if not derived.read_row_visible(self, conn, table, m["id"], audience):
            return None
        prov = conn.execute(
            sa.select(t.mentions.c.document_id, t.mentions.c.extractor, t.mentions.c.span_start,
                      t.mentions.c.span_end, t.documents.c.title, t.documents.c.source_id,
                      *derived.evidence_columns())
            .join(t.documents, t.documents.c.id == t.mentions.c.document_id)
            .where(t.mentions.c.object_id == m["id"],
                   derived.readable_evidence(self, audience))
            .order_by(t.mentions.c.document_id, t.mentions.c.span_start).limit(200)).all()
        rels = conn.execute(sa.select(t.relationships).where(sa.or_(
            t.relationships.c.source_ref == m["id"], t.relationships.c.target_ref == m["id"]))
            .where(derived.visible(self, t.relationships, audience),
                   derived.ends_visible(self, t.relationships, audience))
            .order_by(t.relationships.c.id).limit(200)).all()
        # the per-row re-check of the listed relationships, in one batch (derived.py)
        shown_rels = derived.visible_ids(self, conn, t.relationships, [r.id for r in rels],
                                         audience)
        return {
            "record": "object" if table is t.objects else "relationship",
            "id": m["id"], "type": m.get("type") or "relationship",
            "canonical_id": m.get("canonical_id"),
            "name": m.get("name") or m.get("relationship_type"),
            "stix": derived.shown_stix(m["stix"], marking, audience),
            "marking": derived.shown_marking(marking, [p for p in prov if derived.evidence_ok(
                p, audience)], audience).as_dict(),
            "provenance": [{"document_id": p.document_id, "title": p.title,
                            "source": names.get(p.source_id), "extractor": p.extractor,
                            "span": None if p.span_start < 0 else [p.span_start, p.span_end]}
                           for p in prov if derived.evidence_ok(p, audience)],
            "relationships": [{"id": r.id, "type": r.relationship_type,
                               "source_ref": r.source_ref, "target_ref": r.target_ref}
                              for r in rels if r.id in shown_rels],
        }

    def stats(self, audience: Audience) -> dict[str, Any]:
        d = t.documents
        with self.engine.connect() as conn:
            names = self._source_names(conn, audience)
            readable = self._readable(d, audience)
            total = conn.execute(sa.select(sa.func.count()).select_from(d).where(readable)
                                 ).scalar_one()
            by_kind = conn.execute(sa.select(d.c.kind, sa.func.count()).where(readable)
                                   .group_by(d.c.kind).order_by(sa.func.count().desc())).all()
            by_source = conn.execute(
                sa.select(t.sightings.c.source_id, sa.func.count())
                .join(d, d.c.id == t.sightings.c.document_id).where(readable)
                .group_by(t.sightings.c.source_id)).all()
            by_tlp = conn.execute(sa.select(d.c.tlp, sa.func.count()).where(readable)
                                  .group_by(d.c.tlp)).all()
            obj_types = conn.execute(
                sa.select(t.objects.c.type, sa.func.count())
                .where(derived.visible(self, t.objects, audience))
                .group_by(t.objects.c.type).order_by(sa.func.count().desc())).all()
            rel_count = conn.execute(sa.select(sa.func.count()).select_from(t.relationships)
                                     .where(derived.visible(self, t.relationships, audience))
                                     ).scalar_one()
            quarantined = conn.execute(sa.select(sa.func.count()).select_from(t.quarantine)
                                       .where(t.quarantine.c.status == "open")).scalar_one()
            span = conn.execute(sa.select(sa.func.min(d.c.published_at),
                                          sa.func.max(d.c.published_at)).where(readable)).first()
        return {
            "store": self.safe_url,
            "documents": total,
            "documents_by_kind": {k: n for k, n in by_kind},
            "documents_by_source": {names[s]: n for s, n in by_source if s in names},
            "documents_by_tlp": {TLP(k).label: n for k, n in sorted(by_tlp)},
            "objects": sum(n for _, n in obj_types),
            "objects_by_type": {k: n for k, n in obj_types},
            "relationships": rel_count,
            "quarantined_open": quarantined,
            "sources": len(names),
            "published_range": [_iso(span[0]), _iso(span[1])] if span else [None, None],
        }

    def count(self, table: str) -> int:
        tbl = t.metadata.tables[table]
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(tbl)).scalar_one())

    def document_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(t.documents.c.id)).scalars())

    # -- quarantine ---------------------------------------------------------------------------
    def list_quarantine(self, status: str | None = "open",
                        source_id: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(t.quarantine).order_by(t.quarantine.c.created_at)
        if status:
            q = q.where(t.quarantine.c.status == status)
        if source_id:
            q = q.where(t.quarantine.c.source_id == source_id)
        with self.engine.connect() as conn:
            names = self._source_names(conn)
            rows = conn.execute(q).all()
        return [{"id": r.id, "source_id": r.source_id, "source": names.get(r.source_id or ""),
                 "reason": r.reason, "item_ref": r.item_ref, "blob_sha256": r.blob_sha256,
                 "created_at": _iso(r.created_at), "status": r.status, "attempts": r.attempts}
                for r in rows]

    def resolve_quarantine(self, ids: list[str], status: str) -> None:
        with self.engine.begin() as conn:
            for chunk in chunks(ids):
                conn.execute(t.quarantine.update().where(t.quarantine.c.id.in_(chunk)).values(
                    status=status, attempts=t.quarantine.c.attempts + 1))


def group_mentions(objects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A document's mentioned objects, one entry per object in order of first mention, with
    the number of distinct spans naming it (an object that came with the document as a whole,
    without a span, counts once) and the extractors that proposed it."""
    grouped: dict[str, dict[str, Any]] = {}
    spans: dict[str, set[tuple[int, int]]] = {}
    for o in objects:
        entry = grouped.setdefault(o["id"], {"id": o["id"], "type": o["type"],
                                             "name": o["name"], "mentions": 0,
                                             "extractors": []})
        if o["extractor"] not in entry["extractors"]:
            entry["extractors"].append(o["extractor"])
        if o.get("span"):
            spans.setdefault(o["id"], set()).add((o["span"][0], o["span"][1]))
    for oid, entry in grouped.items():
        entry["mentions"] = len(spans.get(oid, ())) or 1
    return list(grouped.values())


def _iso(dt: datetime | None) -> str | None:
    return aware(dt).isoformat() if dt is not None else None  # type: ignore[union-attr]


def new_run_id() -> str:
    return str(uuid.uuid4())
