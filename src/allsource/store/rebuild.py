"""Store side of rebuilding documents from their kept blobs (see
:mod:`allsource.process.rebuild` for the whole mechanism).

* :func:`blob_groups` — the chosen sources' documents grouped by the blob they were read
  from, in order of each blob's first document (a document belongs to the source that first
  collected it, whose collector kept the blob);
* :func:`stored_documents` — the documents of one group;
* :func:`replace_documents` — one transaction per batch of re-derived documents: the rows are
  rewritten under their stored ids, everything derived from them is dropped (mentions, stage
  annotations, story membership, LSH bands, MinHash signatures, stories left without members),
  what the collector made of them is written again, and objects and relationships nobody
  mentions any more are removed;
* :func:`quarantined_items` — what a source already has in quarantine, so a rebuild does not
  quarantine the same raw item twice.

Two rules keep a rebuild conservative. A marking never loosens: a re-derived document, object
or relationship that is already stored keeps at least its stored marking (``combine``), since
anyone allowed to read it before may not be allowed to read it now, but the reverse needs a
person's decision. What was derived from a document whose marking tightens follows it: its
watchlist hits are dropped and found again with the new marking; alerts and their hits are
kept (the analysts' history) with the marking they were raised with, and every read of them
decides by their documents' markings as stored *now* — hits, counts, titles, the trail and
the severity a reader sees (``allsource.assess.alerts``: ``shown``, ``readable_hits``,
``seen_severity``, ``alert_events``). And an object or relationship is removed only when no
mention of it is left (no other document, stage or collector proposed it) and, for an object,
no relationship still points at it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.model.markings import Marking
from allsource.model.records import Collected, Document
from allsource.store import blind_storage
from allsource.store import schema as t
from allsource.store.embeddings import MARKINGS, bump_version
from allsource.store.sql import add_rows, chunks, json_dumps, naive_utc, utc_now

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

#: document columns a rebuild rewrites (never ``id``, ``seq``, ``source_id``,
#: ``collected_at`` or ``blob_sha256``)
_REWRITTEN = ("kind", "title", "text", "url", "language", "media_type", "published_at",
              "content_hash", "blob_ref", "labels", "meta", "tlp", "classification",
              "compartments", "releasability")
_JSON = ("labels", "meta")


@dataclass(slots=True)
class StoredDocument:
    """A stored document as a rebuild needs it (``values``: its rewritable columns)."""

    seq: int
    id: str
    source_id: str
    blob_sha256: str | None
    blob_ref: str
    values: dict[str, Any] = field(default_factory=dict)
    #: what the row's ``index_title``/``index_text`` hold: ``None`` (plain row), ``''``
    #: (sealed, its tokens in the full-text index only) or token strings (sealed before 0028)
    indexed: tuple[str | None, str | None] = (None, None)

    @property
    def title(self) -> str:
        return str(self.values["title"])

    @property
    def text(self) -> str:
        return str(self.values["text"])

    @property
    def url(self) -> str | None:
        url = self.values["url"]
        return str(url) if url is not None else None

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.values["meta"] or {})

    @property
    def marking(self) -> Marking:
        return Marking.from_columns(self.values)


@dataclass(slots=True)
class BlobGroup:
    """The documents (by ``seq``) a source read from one blob (``sha256`` ``None``: stored
    without one)."""

    source_id: str
    sha256: str | None
    seqs: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ReplaceCounts:
    documents: int = 0
    changed: int = 0
    #: objects and relationships removed because nothing mentions them any more
    removed: int = 0


def blob_groups(store: SqlStore, source_ids: Sequence[str] = ()) -> list[BlobGroup]:
    """The documents of the sources (all documents when ``source_ids`` is empty) grouped by
    the blob they were read from, in order of each blob's first document."""
    d = t.documents
    stmt = sa.select(d.c.seq, d.c.source_id, d.c.blob_sha256).order_by(d.c.seq)
    if source_ids:
        stmt = stmt.where(d.c.source_id.in_(list(source_ids)))
    groups: dict[tuple[str, str | None], BlobGroup] = {}
    with store.engine.connect() as conn:
        for seq, source_id, sha in conn.execute(stmt):
            group = groups.get((source_id, sha))
            if group is None:
                group = groups[(source_id, sha)] = BlobGroup(source_id, sha)
            group.seqs.append(seq)
    return list(groups.values())


def stored_documents(store: SqlStore, group: BlobGroup) -> list[StoredDocument]:
    """The documents of one blob group, in insertion order."""
    d = t.documents
    columns = (d.c.seq, d.c.id, d.c.source_id, d.c.blob_sha256, d.c.index_title,
               d.c.index_text, *[d.c[name] for name in _REWRITTEN])
    out = []
    with store.engine.connect() as conn:
        for chunk in chunks(group.seqs):
            for r in conn.execute(sa.select(*columns).where(d.c.seq.in_(chunk))
                                  .order_by(d.c.seq)):
                m = r._mapping
                out.append(StoredDocument(r.seq, r.id, r.source_id, r.blob_sha256,
                                          r.blob_ref or "",
                                          {name: m[name] for name in _REWRITTEN},
                                          (r.index_title, r.index_text)))
    return out


def _values(stored: StoredDocument, doc: Document) -> dict[str, Any]:
    """The re-derived columns of ``stored`` (marking: at least the stored one), with JSON
    columns in the form they read back as, so that comparing tells a real change."""
    marking = stored.marking.combine(doc.marking)
    return {
        "kind": doc.kind, "title": doc.title, "text": doc.text, "url": doc.url,
        "language": doc.language, "media_type": doc.media_type,
        "published_at": naive_utc(doc.published_at), "content_hash": doc.content_hash,
        "blob_ref": doc.blob_ref or stored.blob_ref,
        "labels": orjson.loads(json_dumps(doc.labels)), "meta": orjson.loads(json_dumps(doc.meta)),
        **marking.to_columns()}


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    for name in _REWRITTEN:
        a, b = old[name], new[name]
        if name == "published_at" and isinstance(a, datetime) and a.tzinfo is not None:
            a = a.astimezone(UTC).replace(tzinfo=None)
        if a != b and not (name in _JSON and not a and not b):
            return False
    return True


def replace_documents(store: SqlStore, pairs: Sequence[tuple[StoredDocument, Collected]]
                      ) -> ReplaceCounts:
    """Rewrite each stored document from its re-derived item, in one transaction (see the
    module docstring)."""
    counts = ReplaceCounts(documents=len(pairs))
    if not pairs:
        return counts
    now = utc_now()
    ids = [stored.id for stored, _ in pairs]
    objs: dict[str, dict[str, Any]] = {}
    rels: dict[str, dict[str, Any]] = {}
    ments: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    changed: list[tuple[StoredDocument, dict[str, Any]]] = []
    for stored, item in pairs:
        add_rows(stored.id, item.objects, item.relationships, item.mentions, now, objs, rels,
                 ments, stored.marking.combine(item.document.marking))
        values = _values(stored, item.document)
        if not _same(stored.values, values):
            changed.append((stored, values))
    counts.changed = len(changed)
    if changed and store.keys.active:
        store.keys.prepare()  # a fresh data key, committed before the batch's transaction
    with store.engine.begin() as conn:
        proposed = _mentioned(conn, ids)
        _drop_derived(conn, ids)
        if changed:
            _rewrite(store, conn, changed)
            # markings may have tightened: in-memory copies of them reload (store/embeddings)
            bump_version(conn, MARKINGS)
        _upsert(store, conn, t.objects, objs, ("type", "name", "stix"))
        _upsert(store, conn, t.relationships, rels,
                ("relationship_type", "source_ref", "target_ref", "stix"))
        if ments:
            store._bulk_insert(conn, t.mentions, list(ments.values()))
        counts.removed = _remove_unmentioned(conn, proposed)
    return counts


def _rewrite(store: SqlStore, conn: Connection,
             changed: Sequence[tuple[StoredDocument, dict[str, Any]]]) -> None:
    """Write the re-derived columns over the stored rows. On an encrypted store title and text
    are sealed as a collected document's are (``KeyRing.seal_rows``) and written with their
    tokens to the full-text index (:func:`blind_storage.rewrite_sealed`); on SQLite a sealed
    row's old tokens are in the index only, where no trigger can delete them, so they are
    deleted first, from the decrypted old text."""
    d = t.documents
    rows = [{"id": stored.id, "seq": stored.seq, **values} for stored, values in changed]
    columns: tuple[str, ...] = _REWRITTEN
    if store.keys.active:
        rows = store.keys.seal_rows(d, rows)
        if store.dialect_name == "sqlite":
            _unindex_sealed(store, conn, [stored for stored, _ in changed])
        blind_storage.rewrite_sealed(conn, store.dialect_name, rows)
        columns = tuple(name for name in _REWRITTEN if name not in ("title", "text"))
    conn.execute(d.update().where(d.c.id == sa.bindparam("_id"))
                 .values({name: sa.bindparam(f"v_{name}") for name in columns}),
                 [{"_id": row["id"], **{f"v_{name}": row[name] for name in columns}}
                  for row in rows])


def _unindex_sealed(store: SqlStore, conn: Connection, docs: Sequence[StoredDocument]
                    ) -> None:
    """Delete the FTS5 entries of sealed rows about to be rewritten: FTS5's ``'delete'``
    takes exactly the values that were indexed, i.e. the tokens of the decrypted old title
    and text (or, for a row sealed before 0028, its stored token strings)."""
    blind = store.keys.blind()
    params = []
    for doc in docs:
        title, text = doc.indexed
        if text is None:
            continue  # a plain row: the update trigger deletes its words
        if text == blind_storage.NOT_STORED:
            title, text = blind.index(doc.title), blind.index(doc.text)
        params.append((doc.seq, title or "", text))
    if params:
        conn.exec_driver_sql("INSERT INTO documents_fts(documents_fts, rowid, title, text) "
                             "VALUES ('delete', ?, ?, ?)", params)


def _mentioned(conn: Connection, doc_ids: Sequence[str]) -> set[str]:
    m = t.mentions
    found: set[str] = set()
    for chunk in chunks(doc_ids):
        found.update(conn.execute(sa.select(m.c.object_id).where(m.c.document_id.in_(chunk))
                                  ).scalars())
    return found


def _drop_derived(conn: Connection, doc_ids: Sequence[str]) -> None:
    """Delete what processing and collection derived from these documents."""
    members = t.story_members
    for chunk in chunks(doc_ids):
        stories = set(conn.execute(sa.select(members.c.story_id).where(
            members.c.document_id.in_(chunk))).scalars())
        # watchlist hits are re-found when the documents are processed again; alerts already
        # raised stay (they are the analysts' history) and absorb the re-found hits
        for table in (t.mentions, t.stage_annotations, members, t.minhash_signatures,
                      t.lsh_bands, t.watchlist_hits):
            conn.execute(table.delete().where(table.c.document_id.in_(chunk)))
        for story_chunk in chunks(sorted(stories)):
            conn.execute(t.stories.delete().where(
                t.stories.c.id.in_(story_chunk),
                ~sa.exists().where(members.c.story_id == t.stories.c.id)))


def _upsert(store: SqlStore, conn: Connection, table: sa.Table,
            rows: dict[str, dict[str, Any]], columns: Iterable[str]) -> None:
    """Insert new rows; rewrite ``columns`` of stored ones, keeping at least their marking."""
    if not rows:
        return
    columns = tuple(columns)
    marking_cols = t.MARKING_NAMES
    stored: dict[str, Marking] = {}
    for chunk in chunks(list(rows)):
        for r in conn.execute(sa.select(table.c.id, *[table.c[c] for c in marking_cols])
                              .where(table.c.id.in_(chunk))):
            stored[r.id] = Marking.from_columns(dict(r._mapping))
    new = [row for key, row in rows.items() if key not in stored]
    if new:
        store._bulk_insert(conn, table, new)
    changed = []
    for key, marking in stored.items():
        row = rows[key]
        values = {**{c: row[c] for c in columns},
                  **marking.combine(Marking.from_columns(row)).to_columns()}
        changed.append({"_id": key, **{f"v_{c}": v for c, v in values.items()}})
    if changed:
        conn.execute(table.update().where(table.c.id == sa.bindparam("_id")).values(
            {c: sa.bindparam(f"v_{c}") for c in (*columns, *marking_cols)}), changed)


def _remove_unmentioned(conn: Connection, ids: set[str]) -> int:
    """Delete the relationships, then the objects, among ``ids`` that nothing mentions any
    more (objects only when no relationship points at them either)."""
    m, r, o = t.mentions, t.relationships, t.objects
    removed = 0
    ordered = sorted(ids)
    for chunk in chunks(ordered):
        removed += conn.execute(r.delete().where(
            r.c.id.in_(chunk), ~sa.exists().where(m.c.object_id == r.c.id))).rowcount
    for chunk in chunks(ordered):
        removed += conn.execute(o.delete().where(
            o.c.id.in_(chunk), ~sa.exists().where(m.c.object_id == o.c.id),
            ~sa.exists().where(sa.or_(r.c.source_ref == o.c.id, r.c.target_ref == o.c.id)))
        ).rowcount
    return removed


def quarantined_items(store: SqlStore, source_id: str) -> set[tuple[str, str]]:
    """``(raw blob sha256, item)`` of everything the source has in quarantine, whatever its
    status; the item is the ref's part after ``#`` (``entry:3``, ``line:7``, … or ``""``
    for a whole input), which does not depend on the name the input was read under."""
    q = t.quarantine
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(q.c.blob_sha256, q.c.item_ref)
                            .where(q.c.source_id == source_id)).all()
    return {(sha, quarantine_item(ref)) for sha, ref in rows}


def quarantine_item(ref: str) -> str:
    return ref.rpartition("#")[2] if "#" in ref else ""
