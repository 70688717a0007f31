"""Store methods for processing: choosing documents to process, writing stage results,
and the tables behind incremental story assignment.

Stage results are written per batch in one transaction: new objects and relationships, the
mentions (provenance spans) each stage proposed — replacing that stage's earlier mentions of
the same documents, so reprocessing after a version bump leaves no stale facts — and one
``annotations`` row per (document, stage) holding the stage's JSON result and version. That
row is also the processing state: a document is due for a stage when it has no row for the
stage's current version.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from allsource.model.markings import Audience, Marking
from allsource.store import schema as t
from allsource.store.sql import add_rows, chunks, utc_now

if TYPE_CHECKING:
    from allsource.process.base import Work
    from allsource.store.sql import SqlStore


@dataclass(slots=True)
class DocumentRow:
    """What a stage needs of a stored document."""

    seq: int
    id: str
    kind: str
    title: str
    text: str
    content_hash: str
    source_id: str
    published_at: datetime | None
    marking: Marking


def _due(versions: dict[str, str], *, since: datetime | None, source_ids: Sequence[str],
         everything: bool, exclude_source_ids: Sequence[str] = ()
         ) -> list[sa.ColumnElement[bool]]:
    """Which documents a run handles: those lacking a result of the current version for one
    of ``versions``' stages (all of them with ``everything``), within the filters."""
    d, a = t.documents, t.stage_annotations
    conds: list[sa.ColumnElement[bool]] = []
    if not everything:
        conds.append(sa.or_(*[
            ~sa.exists().where(a.c.document_id == d.c.id, a.c.stage == name,
                               a.c.version == version)
            for name, version in versions.items()]))
    if since is not None:
        conds.append(sa.func.coalesce(d.c.published_at, d.c.collected_at)
                     >= since.astimezone(UTC).replace(tzinfo=None))
    if source_ids:
        conds.append(sa.exists().where(t.sightings.c.document_id == d.c.id,
                                       t.sightings.c.source_id.in_(list(source_ids))))
    if exclude_source_ids:
        conds.append(~sa.exists().where(t.sightings.c.document_id == d.c.id,
                                        t.sightings.c.source_id.in_(list(exclude_source_ids))))
    return conds


def documents_due(store: SqlStore, versions: dict[str, str], *, after_seq: int = 0,
                  limit: int = 200, since: datetime | None = None,
                  source_ids: Sequence[str] = (), everything: bool = False,
                  exclude_source_ids: Sequence[str] = ()) -> list[DocumentRow]:
    """The next ``limit`` due documents (by insertion order, after ``after_seq``)."""
    d = t.documents
    conds = [d.c.seq > after_seq,
             *_due(versions, since=since, source_ids=source_ids, everything=everything,
                   exclude_source_ids=exclude_source_ids)]
    stmt = (sa.select(d.c.seq, d.c.id, d.c.kind, d.c.title, d.c.text, d.c.content_hash,
                      d.c.source_id, d.c.published_at, d.c.tlp, d.c.classification,
                      d.c.compartments, d.c.releasability)
            .where(*conds).order_by(d.c.seq).limit(limit))
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [DocumentRow(r.seq, r.id, r.kind, r.title, r.text, r.content_hash, r.source_id,
                        r.published_at.replace(tzinfo=UTC) if r.published_at else None,
                        Marking.from_columns(dict(r._mapping))) for r in rows]


def count_due(store: SqlStore, versions: dict[str, str], *, since: datetime | None = None,
              source_ids: Sequence[str] = (), everything: bool = False,
              exclude_source_ids: Sequence[str] = ()) -> int:
    """How many documents :func:`documents_due` will hand out, over all pages."""
    stmt = sa.select(sa.func.count()).select_from(t.documents).where(
        *_due(versions, since=since, source_ids=source_ids, everything=everything,
              exclude_source_ids=exclude_source_ids))
    with store.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def write_results(store: SqlStore, works: Iterable[Work], versions: dict[str, str]) -> int:
    """Store what the stages found for ``works``; returns how many new objects were added."""
    works = list(works)
    if not works:
        return 0
    now = utc_now()
    doc_ids = [w.id for w in works]
    objs: dict[str, dict[str, Any]] = {}
    rels: dict[str, dict[str, Any]] = {}
    ments: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    notes: list[dict[str, Any]] = []
    for w in works:
        add_rows(w.id, w.objects, w.relationships, w.mentions, now, objs, rels, ments,
                 w.marking)
        for stage, version in versions.items():
            data = w.annotations.get(stage, {})
            error = w.errors.get(stage) or w.errors.get("pipeline")
            if error:
                data = {"error": error}
            notes.append({"document_id": w.id, "stage": stage, "version": version,
                          "data": data, "updated_at": now})
    extractors = [f"{stage}@%" for stage in versions]
    with store.engine.begin() as conn:
        new = store._insert_new(conn, t.objects, objs, proposals=True)
        store._insert_new(conn, t.relationships, rels, proposals=True)
        for chunk in chunks(doc_ids):
            conn.execute(t.mentions.delete().where(
                t.mentions.c.document_id.in_(chunk),
                sa.or_(*[t.mentions.c.extractor.like(e) for e in extractors])))
            conn.execute(t.stage_annotations.delete().where(
                t.stage_annotations.c.document_id.in_(chunk),
                t.stage_annotations.c.stage.in_(list(versions))))
        if ments:
            store._bulk_insert(conn, t.mentions, list(ments.values()))
        # through the driver too (sealed there): the rows were deleted just above
        store._bulk_insert(conn, t.stage_annotations, notes)
    return new


def annotations_of(store: SqlStore, document_id: str) -> dict[str, Any]:
    """Stage results stored for a document, by stage (each with its ``version``)."""
    view = store.get(document_id, Audience.owner())
    return dict(view["annotations"]) if view else {}

