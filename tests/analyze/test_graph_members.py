"""Opening a cluster page by page, on the small graph of test_graph (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from allsource.analyze.graph import neighbourhood
from allsource.analyze.graph_members import members
from allsource.errors import InputError
from allsource.model.markings import Audience
from allsource.store.sql import SqlStore
from tests.analyze.test_graph import OPS, READER, Graph, graph  # noqa: F401  (fixture)


def _pages(store: SqlStore, center: str, kind: str, distance: int, limit: int,
           audience: Audience) -> list[list[str]]:
    pages, offset = [], 0
    while True:
        view = members(store, center, type=kind, distance=distance, offset=offset,
                       limit=limit, audience=audience)
        assert view is not None and view.nodes[0].id == center
        pages.append([n.id for n in view.nodes[1:]])
        offset += view.summary["returned"]
        assert view.summary["left"] == view.summary["members_total"] - offset
        if view.summary["left"] == 0:
            return pages


def test_pages_cover_the_cluster_once_in_summary_order(store: SqlStore, graph: Graph) -> None:  # noqa: F811
    owner = Audience.owner()
    pages = _pages(store, graph.actor.id, "tool", 2, 6, owner)
    assert [len(p) for p in pages] == [6, 6, 6, 3]  # 20 tools and RedTool
    got = [i for p in pages for i in p]
    assert sorted(got) == sorted([t.id for ts in graph.tools for t in ts] + [graph.red.id])
    # the cluster of the summary holds the same members
    view = neighbourhood(store, graph.actor.id, depth=2, max_nodes=4, audience=owner)
    assert view is not None
    tools = [n for n in view.nodes if n.type == "tool"]
    assert sum(n.count for n in tools) == len(got)


def test_members_follow_the_readers_rights(store: SqlStore, graph: Graph) -> None:  # noqa: F811
    first = members(store, graph.actor.id, type="malware", audience=READER)
    assert first is not None
    assert {n.id for n in first.nodes[1:]} == {m.id for m in graph.malware}
    assert first.summary["members_total"] == 4  # Secret-M (compartment ops) not counted
    ops = members(store, graph.actor.id, type="malware", audience=OPS)
    assert ops is not None and graph.secret.id in {n.id for n in ops.nodes}
    assert members(store, graph.secret.id, type="tool", audience=READER) is None
    edges = {(e.source, e.target, e.type) for e in first.edges}
    assert edges == {(graph.actor.id, m.id, "uses") for m in graph.malware}
    mixed = members(store, graph.actor.id, type="mixed", audience=READER, limit=100)
    assert mixed is not None and mixed.summary["members_total"] == 5  # 4 malware, 1 place
    assert members(store, graph.actor.id, type="vulnerability",
                   audience=READER).summary["members_total"] == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", [{"distance": 3}, {"limit": 0}, {"limit": 101},
                                 {"offset": -1}])
def test_bad_arguments_are_input_errors(store: SqlStore, graph: Graph,  # noqa: F811
                                        bad: dict[str, int]) -> None:
    with pytest.raises(InputError):
        members(store, graph.actor.id, type="tool", audience=Audience.owner(),
                **bad)  # type: ignore[arg-type]
