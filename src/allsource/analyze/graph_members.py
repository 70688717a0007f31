"""Opening a cluster of a summarised neighbourhood, one page of members at a time.

:func:`allsource.analyze.graph.neighbourhood` keeps a large neighbourhood to a node budget
by grouping objects into clusters — first one per object type and distance from the centre
(:func:`allsource.analyze.graph._partition`). A cluster is named by what it groups: its type
(``mixed`` for the catch-all of types that did not get a cluster of their own) and its
distance. :func:`members` fetches the same neighbourhood the same way (bulk adjacency under
the reader's access rule, :func:`allsource.analyze.graph._fetch`, so nothing hidden is
fetched or counted) and returns the ``limit`` members of that type and distance after
``offset``, ranked as the summary ranks them — highest degree first, then the smaller id —
with their edges to the centre aggregated per relationship type. The browser adds them in
place and asks for the next page while the cluster still holds more (``summary["left"]``), so
a 57,000-node neighbourhood still reaches the browser ``limit`` nodes at a time.

Members shown individually by the summary come back too (they rank first in their type):
the client already holds them and skips them by id.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from allsource.analyze.graph import (
    FETCH_LIMIT,
    GraphEdge,
    GraphNode,
    GraphView,
    _Coded,
    _coded,
    _fetch,
    _labels,
    object_type,
)
from allsource.errors import InputError
from allsource.gcpause import paused_gc
from allsource.model.markings import Audience
from allsource.store.sql import SqlStore

__all__ = ["MAX_PAGE", "members"]

MAX_PAGE = 100
MIXED = "mixed"


def members(store: SqlStore, node_id: str, *, type: str, distance: int = 1,
            offset: int = 0, limit: int = 50, since: datetime | None = None,
            until: datetime | None = None, min_credibility: int | None = None,
            audience: Audience) -> GraphView | None:
    """One page of the objects of ``type`` (any type for ``mixed``) at ``distance`` (1 or
    2) from ``node_id``; ``None`` when the centre does not exist or is hidden from the
    audience."""
    if distance not in (1, 2):
        raise InputError("distance must be 1 or 2")
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InputError(f"limit must be between 1 and {MAX_PAGE}, offset at least 0")
    if min_credibility is not None and not 1 <= min_credibility <= 6:
        raise InputError("min_credibility must be an Admiralty credibility from 1 to 6")
    with paused_gc():
        hood = _fetch(store, node_id, depth=distance, since=since, until=until,
                      min_credibility=min_credibility, audience=audience,
                      comentions=False, fetch_limit=FETCH_LIMIT)
        if hood is None:
            return None
        c = _coded(hood)
        wanted = c.dist == distance
        if type != MIXED:
            if type not in c.types:
                wanted[:] = False
            else:
                wanted &= c.type_of == c.types.index(type)
        codes = np.flatnonzero(wanted)
        # rank as the summary does: degree, then id (ids compared only among ties)
        ranked = sorted(zip((-c.deg[codes]).tolist(), map(c.ids.__getitem__, codes.tolist()),
                            codes.tolist(), strict=True))
        page = [code for _, _, code in ranked[offset:offset + limit]]
        ids = [c.ids[i] for i in page]
        _labels(store, hood, ids)
    nodes = [GraphNode(hood.center, hood.labels[hood.center], object_type(hood.center),
                       degree=int(c.deg[0]))]
    nodes += [GraphNode(i, hood.labels.get(i, i), object_type(i), distance=distance,
                        degree=int(c.deg[code])) for i, code in zip(ids, page, strict=True)]
    edges = _edges(c, set(page))
    total = len(codes)
    summary = {"cluster_type": type, "distance": distance, "members_total": total,
               "offset": offset, "returned": len(page),
               "left": max(0, total - offset - len(page)), "truncated": hood.truncated}
    return GraphView(hood.center, nodes, edges, False, summary)


def _edges(c: _Coded, page: set[int]) -> list[GraphEdge]:
    """The relationships between the page's members and the centre or each other,
    aggregated per (source, target, type) with their weights."""
    src, dst, kind, weight, ids, kinds = c.src, c.dst, c.kind, c.weight, c.ids, c.kinds
    shown = np.zeros(len(ids), bool)
    shown[0] = True
    shown[list(page)] = True
    keep = np.flatnonzero(shown[src] & shown[dst] & (src != dst))
    counts: dict[tuple[int, int, int], int] = {}
    for s, d, k, w in zip(src[keep].tolist(), dst[keep].tolist(), kind[keep].tolist(),
                          weight[keep].tolist(), strict=True):
        counts[s, d, k] = counts.get((s, d, k), 0) + int(w)
    return [GraphEdge(ids[s], ids[d], kinds[k], w)
            for (s, d, k), w in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

