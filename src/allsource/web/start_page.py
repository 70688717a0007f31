"""The start page (``/``, or the search page without a query): what is new for this reader.

Three short lists, each read as the reader, each one bounded statement or two:

* **recent stories** — the most recently stored documents the reader may read (``seq``
  descending, the primary key, marking filter in SQL; at most ``RECENT_DOCUMENTS``), one row
  per story as the reader sees it (:func:`allsource.store.story_views.stories_of_documents`:
  the public id, title and size come from readable members only);
* **open alerts** — :func:`allsource.assess.alerts.alert_page` (the access rule in SQL, most
  severe first), with watchlists and documents named as the alerts page names them;
* **watchlist hits** — :func:`allsource.assess.watchlists.list_hits` (hit and watchlist
  readable), keeping only hits of watchlists the reader may see whose document they may read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from allsource.assess import alerts as alerts_mod
from allsource.assess import watchlists as watchlists_mod
from allsource.model.markings import Audience, can_release
from allsource.store import schema as t
from allsource.store.idlists import ids_in
from allsource.store.sql import SqlStore, aware
from allsource.store.story_views import stories_of_documents
from allsource.web import names

#: documents read for the recent stories
RECENT_DOCUMENTS = 60
STORIES = 10
ALERTS = 8
HITS = 10


@dataclass(frozen=True, slots=True)
class RecentStory:
    document_id: str  # the row's link: the newest readable document of the story
    title: str
    kind: str
    source: str
    when: datetime | None
    documents: int  # readable documents in the story (1 when in none)


def recent_stories(store: SqlStore, audience: Audience, limit: int = STORIES
                   ) -> list[RecentStory]:
    """The newest readable documents, one row per story (see the module docstring)."""
    d, s = t.documents, t.sources
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(d.c.id, d.c.title, d.c.kind, d.c.source_id, d.c.published_at,
                      d.c.collected_at)
            .where(store._readable(d, audience))
            .order_by(d.c.seq.desc()).limit(RECENT_DOCUMENTS)).all()
        views = stories_of_documents(conn, store, [r.id for r in rows], audience)
        source_names = {r.id: r.name for r in conn.execute(
            sa.select(s.c.id, s.c.name).where(store._readable(s, audience)))}
    out: list[RecentStory] = []
    seen: set[str] = set()
    for r in rows:
        view = views.get(r.id)
        key = view.id if view is not None else r.id
        if key in seen:
            continue
        seen.add(key)
        out.append(RecentStory(r.id, r.title or "", r.kind, source_names.get(r.source_id, ""),
                               aware(r.published_at or r.collected_at),
                               view.size if view is not None else 1))
        if len(out) >= limit:
            break
    return out


def _readable_documents(store: SqlStore, ids: list[str], audience: Audience) -> set[str]:
    d = t.documents
    if not ids:
        return set()
    with store.engine.connect() as conn:
        return set(conn.execute(sa.select(d.c.id).where(
            ids_in(d.c.id, ids, store.dialect_name), store._readable(d, audience))).scalars())


def start_context(store: SqlStore, audience: Audience) -> dict[str, Any]:
    """The start page's lists for ``audience``."""
    found = alerts_mod.alert_page(store, status=alerts_mod.ACTIVE, audience=audience,
                                  limit=ALERTS)
    lists = {w.name for w in watchlists_mod.list_watchlists(store)
             if can_release(w.marking, audience)}
    hits = [h for h in watchlists_mod.list_hits(store, limit=HITS * 3, audience=audience)
            if h.watchlist in lists]
    readable = _readable_documents(store, list({h.document_id for h in hits}), audience)
    hits = [h for h in hits if h.document_id in readable][:HITS]
    return {"recent": recent_stories(store, audience), "start_alerts": found.alerts,
            "alert_total": found.total,
            "alert_names": names.alert_names(store, found.alerts, audience),
            "start_hits": hits}
