"""Stories as one reader sees them: built from the members that reader may read, only.

A story (a near-duplicate cluster, see :mod:`allsource.store.stories`) is stored once, for
everyone, and named by its *founder* — the first document assigned to it, whose ID is also
the story's stored ID. Shown as stored, a TLP:CLEAR member's story would name a TLP:RED
founder (its ID, the story's ID), count hidden members in its size, and give the RED
document a member matched as its near-duplicate (``matched_id`` and the similarity).

So every read of a story goes through this module, which keeps only the members the
``audience`` may read (:meth:`SqlStore._readable` in SQL, then ``can_release`` per row) and
rebuilds what the reader is shown from them alone:

* the story's **public ID** and its canonical document are the *first readable member*
  (the founder, then in the order members were assigned). For a reader who may read the
  founder — the local operator, and anyone on an all-CLEAR store — that is the stored story
  ID, unchanged. A story is looked up by its public ID only: asking for a story by a hidden
  founder's ID answers as a missing ID does, even when the story has readable members;
* the **size** counts readable members; ``created_at`` is when the first readable member
  was added;
* a member's ``matched_id`` and ``similarity`` are shown when the document it matched is
  readable, otherwise both are ``None`` (a similarity to a hidden document is a figure about
  that document);
* a story with no readable member does not exist for the reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.model.markings import Audience, Marking, can_release
from allsource.store import schema as t
from allsource.store.idlists import ids_in

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

_CHUNK = 400
#: members in the order they joined: the founder (whose ID the story bears), then by when
#: they were assigned, then by insertion (one batch's members share ``added_at``)
_ORDER = (sa.case((t.story_members.c.document_id == t.story_members.c.story_id, 0), else_=1),
          t.story_members.c.added_at, t.documents.c.seq)


@dataclass(frozen=True, slots=True)
class MemberView:
    """One readable member of a story, as the reader sees it."""

    document_id: str
    title: str
    source_id: str
    published_at: datetime | None
    collected_at: datetime | None
    added_at: datetime | None
    similarity: float | None
    matched_id: str | None


@dataclass(frozen=True, slots=True)
class StoryView:
    """A story built from the members one reader may read."""

    id: str                  # the public ID: the first readable member's document ID
    stored_id: str           # the ID in ``stories`` (internal: never shown to a reader)
    members: tuple[MemberView, ...]

    @property
    def canonical(self) -> MemberView:
        return self.members[0]

    @property
    def size(self) -> int:
        return len(self.members)

    def member(self, document_id: str) -> MemberView | None:
        return next((m for m in self.members if m.document_id == document_id), None)


def _members_stmt(store: SqlStore, audience: Audience,
                  where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    m, d = t.story_members, t.documents
    return (sa.select(m.c.story_id, m.c.document_id, m.c.similarity, m.c.matched_id,
                      m.c.added_at, d.c.seq, d.c.title, d.c.source_id, d.c.published_at,
                      d.c.collected_at, d.c.tlp, d.c.classification, d.c.compartments,
                      d.c.releasability)
            .join(d, d.c.id == m.c.document_id)
            .where(where, store._readable(d, audience))
            .order_by(m.c.story_id, *_ORDER))


def _build(rows: Sequence[Any], audience: Audience) -> dict[str, StoryView]:
    by_story: dict[str, list[Any]] = {}
    for r in rows:
        if can_release(Marking.from_columns(dict(r._mapping)), audience):
            by_story.setdefault(r.story_id, []).append(r)
    out: dict[str, StoryView] = {}
    for story_id, members in by_story.items():
        members.sort(key=lambda r: (r.document_id != r.story_id, r.added_at, r.seq))
        readable = {r.document_id for r in members}
        views = tuple(MemberView(
            r.document_id, r.title, r.source_id, r.published_at, r.collected_at, r.added_at,
            r.similarity if r.matched_id is None or r.matched_id in readable else None,
            r.matched_id if r.matched_id in readable else None) for r in members)
        out[story_id] = StoryView(views[0].document_id, story_id, views)
    return out


def stories_by_stored_id(conn: Connection, store: SqlStore, story_ids: Sequence[str],
                         audience: Audience) -> dict[str, StoryView]:
    """The reader's view of each stored story in ``story_ids`` that has a readable member."""
    out: dict[str, StoryView] = {}
    ids = sorted(set(story_ids))
    for i in range(0, len(ids), _CHUNK):
        rows = conn.execute(_members_stmt(store, audience,
                                          t.story_members.c.story_id.in_(ids[i:i + _CHUNK])))
        out.update(_build(rows.all(), audience))
    return out


def stories_of_documents(conn: Connection, store: SqlStore, doc_ids: Sequence[str],
                         audience: Audience) -> dict[str, StoryView]:
    """The reader's view of the story of each of ``doc_ids`` (documents the reader cannot
    read, or in no story, are left out)."""
    m = t.story_members
    story_of: dict[str, str] = {}
    ids = sorted(set(doc_ids))
    for i in range(0, len(ids), _CHUNK):
        story_of.update(conn.execute(sa.select(m.c.document_id, m.c.story_id).where(
            ids_in(m.c.document_id, ids[i:i + _CHUNK], store.dialect_name))).all())
    views = stories_by_stored_id(conn, store, list(set(story_of.values())), audience)
    return {doc: views[s] for doc, s in story_of.items()
            if s in views and views[s].member(doc) is not None}


def story_by_public_id(conn: Connection, store: SqlStore, public_id: str,
                       audience: Audience) -> StoryView | None:
    """The story whose first readable member is ``public_id``; ``None`` otherwise — also
    when ``public_id`` is a hidden founder's ID (then it is not the reader's story ID)."""
    view = stories_of_documents(conn, store, [public_id], audience).get(public_id)
    return view if view is not None and view.id == public_id else None


def readable_story_list(store: SqlStore, audience: Audience) -> sa.Subquery:
    """One row per story with at least one readable member: ``story_id`` (stored),
    ``public_id`` and ``title`` (the first readable member's), ``size`` (readable members)
    and ``created_at`` (when the first readable member was added) — for paged, sorted
    listings in SQL."""
    m, d = t.story_members, t.documents
    ranked = (sa.select(
        m.c.story_id, m.c.document_id, m.c.added_at, d.c.title,
        d.c.tlp, d.c.classification, d.c.compartments, d.c.releasability,
        sa.func.row_number().over(partition_by=m.c.story_id, order_by=_ORDER).label("rank"),
        sa.func.count().over(partition_by=m.c.story_id).label("size"))
        .join(d, d.c.id == m.c.document_id)
        .where(store._readable(d, audience))).subquery()
    return (sa.select(ranked.c.story_id, ranked.c.document_id.label("public_id"),
                      ranked.c.title, ranked.c.size, ranked.c.added_at.label("created_at"),
                      ranked.c.tlp, ranked.c.classification, ranked.c.compartments,
                      ranked.c.releasability)
            .where(ranked.c.rank == 1).subquery())


def story_ref(view: StoryView | None, document_id: str) -> dict[str, Any] | None:
    """A document's story as the document view shows it (``None`` when it has none)."""
    if view is None:
        return None
    own = view.member(document_id)
    return {"id": view.id, "canonical_document_id": view.canonical.document_id,
            "similarity": own.similarity if own else None,
            "matched_id": own.matched_id if own else None, "documents": view.size}


def reader_annotations(notes: dict[str, Any], view: StoryView | None,
                       document_id: str) -> dict[str, Any]:
    """A document's stage annotations with the ``stories`` stage's result rewritten from the
    reader's view of the story (stored, it names the founder and the matched document)."""
    stored = notes.get("stories")
    if not isinstance(stored, dict) or "story_id" not in stored:
        return notes
    ref = story_ref(view, document_id)
    safe = {k: v for k, v in stored.items()
            if k not in ("story_id", "canonical_id", "similarity", "matched_id", "new_story")}
    if ref is not None:
        safe.update(story_id=ref["id"], canonical_id=ref["canonical_document_id"],
                    similarity=ref["similarity"], matched_id=ref["matched_id"],
                    new_story=ref["id"] == document_id)
    return {**notes, "stories": safe}
