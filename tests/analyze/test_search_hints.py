"""Search-syntax hints shared by the CLI, the API and the web (analyze/search_hints.py)."""

from __future__ import annotations

import pytest

from allsource.analyze.search_hints import ONLY_EXCLUSIONS, hints, suggestion


@pytest.mark.parametrize(("query", "meant"), [
    ("apt28 or sofacy", "apt28 OR sofacy"),
    ("apt28 and ukraine", "apt28 ukraine"),
    ("apt28 AND ukraine or kyiv", "apt28 ukraine OR kyiv"),
    ("apt28 not ukraine", "apt28 -ukraine"),
    ('NOT "power grid" apt28', '-"power grid" apt28'),
])
def test_suggestion_rewrites_the_query_meant(query: str, meant: str) -> None:
    assert suggestion(query) == meant
    assert hints(query) and hints(query)[0].startswith("'")


@pytest.mark.parametrize("query", ["apt28 OR sofacy", '"war and peace"', 'apt28 "or"',
                                   "apt28 -ukraine", "-ukraine apt28", "oracle", "or"])
def test_real_syntax_has_no_hint(query: str) -> None:
    assert suggestion(query) is None
    assert hints(query) == []


def test_only_exclusions() -> None:
    assert hints("-ukraine -russia") == [ONLY_EXCLUSIONS]
    assert suggestion("-ukraine") is None
