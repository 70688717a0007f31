from __future__ import annotations

import pytest

from allsource.model.markings import (
    TLP,
    TLP2_MARKING_IDS,
    Audience,
    Classification,
    Marking,
    can_release,
)


def test_tlp_orders_numerically_and_parses_all_spellings() -> None:
    assert TLP.CLEAR < TLP.GREEN < TLP.AMBER < TLP.AMBER_STRICT < TLP.RED
    assert sorted(["RED", "AMBER", "CLEAR"], key=lambda n: TLP[n]) == ["CLEAR", "AMBER", "RED"]
    assert TLP.parse("tlp:white") is TLP.CLEAR
    assert TLP.parse("TLP:AMBER+STRICT") is TLP.AMBER_STRICT
    assert TLP.parse(" amber ") is TLP.AMBER
    assert TLP.AMBER_STRICT.label == "TLP:AMBER+STRICT"
    with pytest.raises(ValueError, match="unknown TLP"):
        TLP.parse("purple")


def test_combine_is_most_restrictive() -> None:
    a = Marking(TLP.GREEN, Classification.RESTRICTED, frozenset({"A"}),
                frozenset({"community", "partners"}))
    b = Marking(TLP.AMBER, Classification.UNCLASSIFIED, frozenset({"B"}),
                frozenset({"community"}))
    c = a.combine(b)
    assert c.tlp is TLP.AMBER and c.classification is Classification.RESTRICTED
    assert c.compartments == {"A", "B"} and c.releasability == {"community"}
    assert Marking().combine(a) == a
    disjoint = Marking(releasability=frozenset({"x"})).combine(
        Marking(releasability=frozenset({"y"})))
    assert disjoint.releasability == {"owner"}


def test_can_release_checks_every_axis() -> None:
    m = Marking(TLP.AMBER, Classification.CONFIDENTIAL, frozenset({"SIGINT"}),
                frozenset({"community"}))
    full = Audience(TLP.RED, Classification.SECRET, frozenset({"SIGINT"}),
                    frozenset({"community"}))
    assert can_release(m, full)
    assert not can_release(m, Audience(TLP.GREEN, Classification.SECRET,
                                       frozenset({"SIGINT"}), frozenset({"community"})))
    assert not can_release(m, Audience(TLP.RED, Classification.RESTRICTED,
                                       frozenset({"SIGINT"}), frozenset({"community"})))
    assert not can_release(m, Audience(TLP.RED, Classification.SECRET, frozenset(),
                                       frozenset({"community"})))
    assert not can_release(m, Audience(TLP.RED, Classification.SECRET,
                                       frozenset({"SIGINT"}), frozenset({"other"})))
    assert can_release(m, Audience.owner())


def test_columns_round_trip() -> None:
    m = Marking(TLP.RED, Classification.SECRET, frozenset({"A", "B"}), frozenset({"nato"}))
    assert Marking.from_columns(m.to_columns()) == m
    assert len(set(TLP2_MARKING_IDS.values())) == 5
