"""Things named after a place."""

from __future__ import annotations

import pytest

from allsource.process.namesakes import named_after


@pytest.mark.parametrize(("name", "place", "country"), [
    ("Cuba", "Cuba", ""),
    ("Turkish", "Turkey", ""),
    ("Turkish", "Istanbul", "TR"),
    ("Beijing Group", "Beijing", ""),
    ("Russian hackers", "Russia", ""),
])
def test_named_after(name: str, place: str, country: str) -> None:
    assert named_after(name, place, country)


@pytest.mark.parametrize(("name", "place"), [
    ("APT28", "Russia"), ("Turla", "Turkey"), ("Lazarus", "United States"), ("", "Cuba"),
    ("Cuba", ""), ("Cubana", "Cuba"),
])
def test_not_named_after(name: str, place: str) -> None:
    assert not named_after(name, place)
