"""What one export holds: a selection resolved to the documents and objects its reader may read.

Sharing is a read path like any other, so a selection is resolved through the same reads the
workspace uses, each of which applies the access rule in SQL (:func:`allsource.store.access.
readable` through :meth:`SqlStore._readable` and :mod:`allsource.store.derived`) and then the
per-row ``can_release`` re-check:

* **a story** — the members of the story the reader knows by that public id
  (:func:`allsource.store.story_views.story_by_public_id`: only readable members; a story
  known by a hidden founder's id does not exist);
* **a case** — the documents its evidence links (:func:`allsource.store.cases.list_evidence`,
  which refuses a case the reader may not read as a missing one);
* **a search query** — every readable match of the query, a page at a time
  (:meth:`SqlStore.matching_ids`);
* **an entity with its neighbourhood** — one entity named or identified (:func:`allsource.
  analyze.entity_names.entities_named`; a hidden and a missing name read the same) and the
  objects one hop away in the graph as the reader sees it (:func:`allsource.analyze.graph.
  neighbourhood`);
* **a watchlist's hits** — the documents of the readable hits of a watchlist the reader may
  read (:func:`allsource.assess.watchlists.list_hits`);
* **a time window** — the readable documents collected in ``[since, until)``.

A window given with another selection narrows it to documents collected in the window.
Whatever the selection, :func:`objects_of` then adds the objects its documents mention
through readable evidence (the mention and its document both readable), and the exporters
read each object once more under :func:`allsource.store.derived.visible`.

**Bounds.** A selection holds at most :data:`MAX_DOCUMENTS` documents and
:data:`MAX_OBJECTS` objects, read in statements over at most :data:`PAGE` ids (search pages
of :data:`PAGE` ids); ``Selection.pages`` counts the statements and pages read so a test can
prove the work bounded whatever the store holds, and ``truncated`` says that more matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from allsource.errors import InputError
from allsource.model.markings import Audience, Marking, can_release
from allsource.store import derived
from allsource.store import schema as t
from allsource.store.sql import SqlStore

__all__ = ["MAX_DOCUMENTS", "MAX_OBJECTS", "PAGE", "Selection", "by_case", "by_entity",
           "by_objects", "by_query", "by_story", "by_watchlist", "by_window", "objects_of",
           "select"]

MAX_DOCUMENTS = 5000
MAX_OBJECTS = 20000
#: ids per statement, and documents per search page
PAGE = 500


@dataclass(slots=True)
class Selection:
    """Readable document ids and explicitly selected object ids, in a stable order."""

    kind: str
    label: str
    documents: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)
    truncated: bool = False
    #: statements and search pages read to resolve it (a bound tests count)
    pages: int = 0
    #: case notes: (document id or None, text) an export may carry as notes
    notes: list[tuple[str | None, str, datetime | None]] = field(default_factory=list)
    #: the marking of the selection's own text (a case's notes)
    marking: Marking | None = None


def _unique(ids: Iterable[str], limit: int) -> tuple[list[str], bool]:
    out: list[str] = []
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            continue
        if len(out) == limit:
            return out, True
        seen.add(i)
        out.append(i)
    return out, False


def _window(store: SqlStore, sel: Selection, audience: Audience, since: datetime | None,
            until: datetime | None) -> Selection:
    """Keep the documents of ``sel`` that are readable and collected in the window."""
    if not sel.documents:
        return sel
    d = t.documents
    kept: set[str] = set()
    for i in range(0, len(sel.documents), PAGE):
        chunk = sel.documents[i:i + PAGE]
        stmt = sa.select(d.c.id, *_marks(d)).where(d.c.id.in_(chunk),
                                                   store._readable(d, audience))
        if since is not None:
            stmt = stmt.where(d.c.collected_at >= since.replace(tzinfo=None))
        if until is not None:
            stmt = stmt.where(d.c.collected_at < until.replace(tzinfo=None))
        with store.engine.connect() as conn:
            kept |= {r.id for r in conn.execute(stmt) if _ok(r, audience)}
        sel.pages += 1
    sel.documents = [i for i in sel.documents if i in kept]
    return sel


def _marks(table: Any) -> list[Any]:
    return [table.c.tlp, table.c.classification, table.c.compartments, table.c.releasability]


def _ok(row: Any, audience: Audience) -> bool:
    return can_release(Marking.from_columns(dict(row._mapping)), audience)


def by_story(store: SqlStore, story_id: str, audience: Audience) -> Selection:
    from allsource.store.story_views import story_by_public_id

    with store.engine.connect() as conn:
        story = story_by_public_id(conn, store, story_id, audience)
    if story is None:
        raise InputError(f"no story {story_id!r} that you can see")
    docs, more = _unique((m.document_id for m in story.members), MAX_DOCUMENTS)
    return Selection("story", f"story {story.id}", docs, truncated=more, pages=1)


def by_case(store: SqlStore, ref: str, audience: Audience) -> Selection:
    from allsource.store.cases import get_case, list_evidence

    case = get_case(store, ref, audience)  # a hidden case reads as a missing one
    evidence = list_evidence(store, case.id, audience)
    docs, more = _unique((e.document_id for e in evidence if e.document_id), MAX_DOCUMENTS)
    notes: list[tuple[str | None, str, datetime | None]] = [
        (e.document_id, f"{e.label}: {e.description.strip()}", e.created_at)
        for e in evidence if e.description.strip()]
    sel = Selection("case", f"case {case.id}: {case.title}", docs, truncated=more, pages=2,
                    notes=notes, marking=case.marking)
    # evidence names its document whatever its marking; keep only the readable ones
    return _window(store, sel, audience, None, None)


def by_query(store: SqlStore, text: str, audience: Audience) -> Selection:
    sel = Selection("query", f"search {text!r}")
    for page in store.matching_ids(text, audience, page_size=PAGE):
        sel.pages += 1
        room = MAX_DOCUMENTS - len(sel.documents)
        sel.documents += page[:room]
        if len(page) > room:
            sel.truncated = True
        if len(sel.documents) >= MAX_DOCUMENTS:
            # one more page tells whether more matched; never read past it
            sel.truncated = sel.truncated or len(page) == PAGE
            break
    return sel


def by_entity(store: SqlStore, name: str, audience: Audience, *, depth: int = 1) -> Selection:
    from allsource.analyze.entity_names import entities_named, looks_like_id
    from allsource.analyze.graph import MAX_NODES, neighbourhood

    text = name.strip()
    found: str | None = None
    if looks_like_id(text) and (view := store.get(text, audience)) is not None \
            and view.get("record") == "object":
        found = text
    else:
        named = entities_named(store, text, audience) or _named_objects(store, text, audience)
        if len(named) > 1:
            raise InputError(f"{text!r} names {len(named)} entities; name one by its id: "
                             + ", ".join(e.id for e in named))
        found = named[0].id if named else None
    if found is None:
        raise InputError(f"no entity {text!r} that you can see")
    hood = neighbourhood(store, found, depth=depth, audience=audience, max_nodes=MAX_NODES)
    ids = [found] + ([n.id for n in hood.nodes if n.kind == "object" and n.id != found]
                     if hood is not None else [])
    objects, more = _unique(ids, MAX_OBJECTS)
    return Selection("entity", f"entity {text}", objects=objects,
                     truncated=more or bool(hood and hood.summarised), pages=2)


def _named_objects(store: SqlStore, text: str, audience: Audience) -> list[Any]:
    """Objects the reader may see whose stored name is ``text`` (an observable's value is
    its name): what an entity name is when no alias names it."""
    from allsource.analyze.entity_names import NamedEntity

    o = t.objects
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(o.c.id, o.c.name, o.c.type)
                            .where(o.c.name == text, o.c.canonical_id.is_(None),
                                   derived.visible(store, o, audience))
                            .order_by(o.c.id).limit(11)).all()
        shown = derived.visible_ids(store, conn, o, [r.id for r in rows], audience)
    return [NamedEntity(r.id, r.name, r.type) for r in rows if r.id in shown]


def by_watchlist(store: SqlStore, name: str, audience: Audience) -> Selection:
    from allsource.assess.watchlists import get_watchlist, list_hits

    wl = get_watchlist(store, name, audience)
    if wl is None or not can_release(wl.marking, audience):
        raise InputError(f"no watchlist {name!r} that you can see")
    hits = list_hits(store, wl, limit=MAX_DOCUMENTS + 1, audience=audience)
    docs, more = _unique((h.document_id for h in hits), MAX_DOCUMENTS)
    sel = Selection("watchlist", f"watchlist {wl.name}", docs, truncated=more, pages=1)
    return _window(store, sel, audience, None, None)


def by_window(store: SqlStore, since: datetime | None, until: datetime | None,
              audience: Audience) -> Selection:
    d = t.documents
    stmt = (sa.select(d.c.id, *_marks(d)).where(store._readable(d, audience))
            .order_by(d.c.seq).limit(MAX_DOCUMENTS + 1))
    if since is not None:
        stmt = stmt.where(d.c.collected_at >= since.replace(tzinfo=None))
    if until is not None:
        stmt = stmt.where(d.c.collected_at < until.replace(tzinfo=None))
    with store.engine.connect() as conn:
        rows = [r.id for r in conn.execute(stmt) if _ok(r, audience)]
    docs, more = _unique(rows, MAX_DOCUMENTS)
    label = f"collected {since.isoformat() if since else '…'} to " \
            f"{until.isoformat() if until else '…'}"
    return Selection("window", label, docs, truncated=more, pages=1)


def by_objects(ids: Sequence[str]) -> Selection:
    """Objects chosen by id (the graph explorer's selection); read under the access rule by
    the exporter."""
    objects, more = _unique((i for i in ids if len(i) <= 120), MAX_OBJECTS)
    return Selection("objects", f"{len(objects)} objects", objects=objects, truncated=more)


def select(store: SqlStore, audience: Audience, *, story: str | None = None,
           case: str | None = None, query: str | None = None, entity: str | None = None,
           watchlist: str | None = None, since: datetime | None = None,
           until: datetime | None = None) -> Selection:
    """The one selection the arguments name (at most one of story, case, query, entity,
    watchlist; a window alone selects by collection time, with another it narrows it)."""
    given = {k: v for k, v in (("story", story), ("case", case), ("query", query),
                               ("entity", entity), ("watchlist", watchlist)) if v}
    if len(given) > 1:
        raise InputError("choose one of story, case, query, entity, watchlist: "
                         + ", ".join(sorted(given)))
    if since is not None and until is not None and until <= since:
        raise InputError("the window is empty: until must come after since")
    if not given:
        return by_window(store, since, until, audience)
    kind, value = next(iter(given.items()))
    sel = {"story": by_story, "case": by_case, "query": by_query, "entity": by_entity,
           "watchlist": by_watchlist}[kind](store, value, audience)
    if since is not None or until is not None:
        sel = _window(store, sel, audience, since, until)
    return sel


def objects_of(store: SqlStore, documents: Sequence[str], audience: Audience,
               sel: Selection | None = None, limit: int = MAX_OBJECTS
               ) -> dict[str, list[str]]:
    """For each of ``documents``, the ids of the objects it mentions through evidence
    ``audience`` may read (the mention and the document both readable), at most ``limit``
    distinct objects in all. Counts its statements on ``sel.pages``."""
    m, d = t.mentions, t.documents
    out: dict[str, list[str]] = {}
    distinct: set[str] = set()
    with store.engine.connect() as conn:
        for i in range(0, len(documents), PAGE):
            chunk = list(documents[i:i + PAGE])
            rows = conn.execute(
                sa.select(m.c.document_id, m.c.object_id, *derived.evidence_columns())
                .join(d, d.c.id == m.c.document_id)
                .where(m.c.document_id.in_(chunk), derived.readable_evidence(store, audience))
                .order_by(m.c.document_id, m.c.span_start, m.c.object_id)).all()
            if sel is not None:
                sel.pages += 1
            for r in rows:
                if not derived.evidence_ok(r, audience):
                    continue
                if r.object_id not in distinct:
                    if len(distinct) >= limit:
                        if sel is not None:
                            sel.truncated = True
                        continue
                    distinct.add(r.object_id)
                refs = out.setdefault(r.document_id, [])
                if not refs or refs[-1] != r.object_id:
                    refs.append(r.object_id)
    return {k: list(dict.fromkeys(v)) for k, v in out.items()}
