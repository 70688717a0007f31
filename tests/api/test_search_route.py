"""``/search``: the route ranks a window of hits but cuts excerpts for the page it returns
only (counted, on both backends)."""

from __future__ import annotations

import pytest

from allsource.api import API_PREFIX
from allsource.store import fts_rank, postgres
from tests.api.conftest import World
from tests.store.searching import excerpted

V = API_PREFIX


def test_excerpts_only_for_the_page_returned(world: World,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with excerpted(world.store, monkeypatch) as cut:
        everything = world.client.get(V + "/search", params={"q": "spearphishing"},
                                      headers=world.admin).json()
        assert everything["total_hits"] == 3 and everything["total"] == 2
        assert len(cut) == 3  # every hit of the window is shown
        cut.clear()
        first = world.client.get(V + "/search", params={"q": "spearphishing", "limit": 1},
                                 headers=world.admin).json()
        [group] = first["items"]
        shown = {v["id"] for v in group["variants"]}
        assert sorted(cut) == sorted(shown) and first["total"] == 2
    assert all(v["snippet"] for v in group["variants"])
    # the rest of the window was ranked and counted, not excerpted
    assert first["total_hits"] == 3 and len(shown) < 3
    assert first["total_hits_exact"] is True


def test_total_hits_says_when_it_is_a_lower_bound(world: World,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With the store's caps lowered below the 3 matches, ``total_hits`` is the cap and
    ``total_hits_exact`` is false; the audit event keeps the figure."""
    for module in (fts_rank, postgres):
        monkeypatch.setattr(module, "RANK_CANDIDATES", 2)
        monkeypatch.setattr(module, "MAX_COUNT", 2)
    capped = world.client.get(V + "/search", params={"q": "spearphishing"},
                              headers=world.admin).json()
    assert (capped["total_hits"], capped["total_hits_exact"]) == (2, False)
    one = world.client.get(V + "/search", params={"q": "ministry"}, headers=world.admin).json()
    assert (one["total_hits"], one["total_hits_exact"]) == (1, True)


def test_syntax_hints_and_the_query_meant(world: World) -> None:
    """The CLI's hints over the API, from the query text alone; the query is still searched
    as typed (``or`` is a word there), and the suggestion finds what was meant."""
    typed = world.client.get(V + "/search", params={"q": "spearphishing or ransomware"},
                             headers=world.reader).json()
    [hint] = typed["hints"]
    assert "did you mean OR?" in hint
    assert typed["suggestion"] == "spearphishing OR ransomware"
    meant = world.client.get(V + "/search", params={"q": typed["suggestion"]},
                             headers=world.reader).json()
    assert meant["hints"] == [] and meant["suggestion"] is None
    assert meant["total_hits"] == 3  # two spearphishing articles and the ransomware report
    assert typed["min_score"] is None  # full text: no similarity cut-off


def test_semantic_cut_off(world: World) -> None:
    from allsource.analyze.semantic import index_embeddings
    from allsource.analyze.similarity import MIN_SIMILARITY

    index_embeddings(world.store)
    params = {"q": "a cake recipe with chocolate", "mode": "semantic"}
    cut = world.client.get(V + "/search", params=params, headers=world.reader).json()
    everything = world.client.get(V + "/search", params={**params, "min_score": -1},
                                  headers=world.reader).json()
    assert cut["min_score"] == MIN_SIMILARITY and everything["min_score"] == -1
    scores = [v["score"] for g in cut["items"] for v in g["variants"]]
    assert all(s >= MIN_SIMILARITY for s in scores)
    assert cut["total_hits"] < everything["total_hits"] == 3  # the readable ones
    assert cut["total_hits_exact"] is True
