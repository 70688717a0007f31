"""A query that is one entity's name, and the query widened to its distinctive names
(analyze/search_entity.py); the store side (which entity, what the reader may see) is in
tests/web/test_search_page.py on both backends."""

from __future__ import annotations

import pytest

from allsource.analyze.search_entity import distinctive, expand, query_name
from allsource.store.query import MAX_TERMS, parse


@pytest.mark.parametrize(("text", "name"), [
    ("Fancy Bear", "Fancy Bear"), ('"Fancy Bear"', "Fancy Bear"), ("  apt28 ", "apt28"),
    ("apt28 OR sofacy", None), ("apt28 -ukraine", None), ("-apt28", None), ("apt*", None),
    ('"apt28" "sofacy"', None), ("", None), ('""', None),
    ("intrusion-set--6a2e693f-24e5-451a-9f88-b36a108e5662", None),
])
def test_query_name(text: str, name: str | None) -> None:
    assert query_name(text) == name


@pytest.mark.parametrize(("name", "alone"), [
    ("Sofacy", True), ("APT28", True), ("Sednit", True), ("TG-4127", True),
    ("Strontium", False),      # a chemical element (a word of general English)
    ("STRONTIUM", False),      # search ignores case: listed in capitals is no exemption
    ("Swallowtail", False),    # a rare word of general English (a butterfly)
    ("Pawn Storm", False),     # two common words
    ("Kyiv", False),           # a place
    ("Tsar", False),           # a common word
])
def test_distinctive(name: str, alone: bool) -> None:
    assert distinctive(name) is alone


def test_expand_keeps_the_typed_name_and_the_distinctive_ones() -> None:
    found = expand("Fancy Bear", ["APT28", "fancy  bear", "Sofacy", "Strontium", "Sofacy",
                                  "Pawn Storm", 'Zorblat "Nine"'])
    assert found.added == ["APT28", "Sofacy", 'Zorblat "Nine"']
    assert found.left_out == ["Strontium", "Pawn Storm"]
    assert found.text == '"Fancy Bear" OR "APT28" OR "Sofacy" OR "Zorblat Nine"'
    [group] = parse(found.text).all_of  # one OR group, every name a phrase or word
    assert [t.text for t in group] == ["Fancy Bear", "APT28", "Sofacy", "Zorblat Nine"]


def test_expand_stays_within_the_query_limit() -> None:
    found = expand("Zorblat", [f"Zorblat{i}x" for i in range(MAX_TERMS * 2)])
    assert len(found.added) == MAX_TERMS - 1
    assert len(parse(found.text).all_of[0]) == MAX_TERMS


def test_serve_warms_the_name_senses_in_the_background() -> None:
    from allsource.analyze import search_entity
    from allsource.api.app import warm_in_background

    search_entity._senses.cache_clear()
    warmer = warm_in_background()
    warmer.join(timeout=600)
    assert not warmer.is_alive() and search_entity._senses.cache_info().currsize == 1
