"""The ACH core on hand-computed matrices. The worked example takes the question and the
three hypotheses of Heuer's ch. 8 illustration ("Will Iraq retaliate for the US bombing of
its intelligence headquarters?"), but its ratings are ours, chosen so every number below
can be checked by hand; it is not a reproduction of Heuer's figure."""

from __future__ import annotations

import pytest

from allsource.analyze.ach import (
    CREDIBILITY_WEIGHTS,
    Evidence,
    Hypothesis,
    Rating,
    Relevance,
    analyze,
    evidence_weight,
)

H = [Hypothesis("h1", "Iraq will not retaliate"),
     Hypothesis("h2", "Iraq will sponsor some minor terrorist actions"),
     Hypothesis("h3", "Iraq is planning a major terrorist attack")]

GRID = {  # evidence → ratings for h1, h2, h3
    "e1": "C C C",     # public statement of no intent to retaliate: fits everything
    "e2": "C C I",     # absence of terrorist offensive in the 1991 Gulf War
    "e3": "C C I",     # assumption: Iraq would not provoke another US attack
    "e4": "I C C",     # more monitored agent radio traffic
    "e5": "I C C",     # embassies told to raise security
    "e6": "II C C",    # assumption: not retaliating is an unacceptable loss of face
}


def _ratings(grid: dict[str, str], hyps: list[Hypothesis] = H
             ) -> dict[tuple[str, str], Rating]:
    return {(e, h.id): Rating.parse(r) for e, row in grid.items()
            for h, r in zip(hyps, row.split(), strict=True)}


def _evidence(grid: dict[str, str]) -> list[Evidence]:
    return [Evidence(e, f"item {e}") for e in grid]


def test_worked_example_scores_and_ranking() -> None:
    result = analyze(H, _evidence(GRID), _ratings(GRID))
    assert [(h.id, h.rank, h.raw, h.weighted) for h in result.hypotheses] == [
        ("h2", 1, 0, 0.0), ("h3", 2, 2, 2.0), ("h1", 3, 4, 4.0)]
    h1 = result.hypotheses[2]
    assert h1.counts == {"CC": 0, "C": 3, "N": 0, "I": 2, "II": 1}
    assert result.leaders == ("h2",) and not result.tied
    assert result.margin == 2.0 and result.unrated == 0


def test_diagnosticity() -> None:
    by_id = {e.id: e for e in analyze(H, _evidence(GRID), _ratings(GRID)).evidence}
    # rated the same everywhere: no diagnostic value at all
    assert by_id["e1"].diagnosticity == 0.0 and by_id["e1"].weighted_diagnosticity == 0.0
    # C C I → scale 1, 1, −1: pair differences 0, 2, 2 → 4 / (4·3)
    assert by_id["e2"].diagnosticity == pytest.approx(1 / 3)
    assert by_id["e2"].weighted_diagnosticity == 1.0
    # II C C → −2, 1, 1: 3, 3, 0 → 6 / 12
    assert by_id["e6"].diagnosticity == pytest.approx(0.5)
    assert by_id["e6"].weighted_diagnosticity == 2.0
    # CC against C: the ratings differ but neither counts against a hypothesis
    res = analyze(H, _evidence({"x": "CC C C"}), _ratings({"x": "CC C C"}))
    assert res.evidence[0].diagnosticity == pytest.approx(1 / 6)
    assert res.evidence[0].weighted_diagnosticity == 0.0


def test_sensitivity_flipping_a_single_item_ties_the_leader() -> None:
    result = analyze(H, _evidence(GRID), _ratings(GRID))
    # flipped e2 is I I C: h1 5, h2 1, h3 1 → h2 and h3 tie for first
    e2 = result.evidence[1]
    assert e2.leaders_if_flipped == ("h2", "h3") and e2.leaders_if_removed == ("h2",)
    assert result.linchpins == ("e2", "e3")
    # flipped e6 is CC I I: h1 2, h2 1, h3 3 → h2 still first
    assert result.evidence[5].leaders_if_flipped == ("h2",)


def test_sensitivity_finds_the_linchpin_on_removal() -> None:
    grid = {"a": "I N", "b": "N II", "c": "C C"}
    hyps = H[:2]
    result = analyze(hyps, _evidence(grid), _ratings(grid, hyps))
    # h1: 1, h2: 2; without b: h1 1, h2 0 — the conclusion rests on b alone
    assert result.leaders == ("h1",) and result.margin == 1.0
    assert result.linchpins == ("b",)
    b = result.evidence[1]
    assert b.leaders_if_removed == ("h2",) and b.leaders_if_flipped == ("h2",)
    a = result.evidence[0]
    assert a.leaders_if_removed == ("h1",) and a.leaders_if_flipped == ("h1",)
    assert not a.linchpin and not result.evidence[2].linchpin


def test_credibility_weighting_changes_the_ranking() -> None:
    hyps = H[:2]
    grid = {"solid": "I C", "rumour": "C II"}
    ratings = _ratings(grid, hyps)
    unweighted = analyze(hyps, _evidence(grid), ratings)
    assert unweighted.leaders == ("h1",)  # raw: h1 1, h2 2
    graded = [Evidence("solid", "confirmed report", credibility=1),
              Evidence("rumour", "improbable report", credibility=5)]
    result = analyze(hyps, graded, ratings)
    # h1: 1.0 · 1 = 1.0; h2: 0.25 · 2 = 0.5 → h2 is now the least inconsistent
    assert [(h.id, h.weighted, h.raw) for h in result.hypotheses] == [
        ("h2", 0.5, 2), ("h1", 1.0, 1)]
    assert result.margin == pytest.approx(0.5)
    # removing the confirmed report hands the lead back to h1
    assert result.linchpins == ("solid",)
    assert result.evidence[0].leaders_if_removed == ("h1",)
    # the caller may use its own credibility table
    flat = dict.fromkeys(CREDIBILITY_WEIGHTS, 1.0)
    assert analyze(hyps, graded, ratings, credibility_weights=flat).leaders == ("h1",)


def test_weights() -> None:
    assert evidence_weight(Evidence("e", "x")) == 1.0
    assert evidence_weight(Evidence("e", "x", credibility=3, relevance=Relevance.HIGH)
                           ) == pytest.approx(1.125)
    assert evidence_weight(Evidence("e", "x", credibility=6, relevance=Relevance.LOW)) == 0.25
    assert evidence_weight(Evidence("e", "x", credibility=5, weight=2.0)) == 2.0
    with pytest.raises(ValueError, match="1–6"):
        Evidence("e", "x", credibility=7)


def test_ratings_scale_and_flip() -> None:
    assert [Rating.parse(r).flipped.value for r in ("cc", "C", "n", "I", "ii")] == [
        "II", "I", "N", "C", "CC"]
    assert [r.inconsistency for r in Rating] == [0, 0, 0, 1, 2]
    with pytest.raises(ValueError, match="unknown rating"):
        Rating.parse("X")


def test_unrated_cells_count_as_neutral_and_ties() -> None:
    ev = [Evidence("e1", "x"), Evidence("e2", "y")]
    result = analyze(H[:2], ev, {("e1", "h1"): Rating.INCONSISTENT,
                                 ("e2", "h2"): Rating.INCONSISTENT})
    assert result.unrated == 2 and result.tied and result.margin == 0.0
    assert result.leaders == ("h1", "h2")
    # the first listed hypothesis ranks first in a tie
    assert [h.id for h in result.hypotheses] == ["h1", "h2"]
    assert result.evidence[0].ratings == {"h1": Rating.INCONSISTENT, "h2": None}
    assert result.as_dict()["evidence"][0]["ratings"] == {"h1": "I", "h2": None}


def test_edge_cases() -> None:
    assert analyze([], [], {}).leaders == ()
    one = analyze(H[:1], [Evidence("e", "x")], {("e", "h1"): Rating.VERY_INCONSISTENT})
    assert one.margin is None and one.leaders == ("h1",) and one.linchpins == ()
    assert one.evidence[0].diagnosticity == 0.0
    with pytest.raises(ValueError, match="unknown evidence"):
        analyze(H[:1], [], {("e", "h1"): Rating.INCONSISTENT})
    with pytest.raises(ValueError, match="unique"):
        analyze([H[0], H[0]], [], {})
