"""The Admiralty scale: two axes, STIX confidence and MISP taxonomy tags."""

from __future__ import annotations

import pytest

from allsource.model.admiralty import Credibility, Grade, Reliability


def test_grades_parse_and_print_as_two_axes() -> None:
    grade = Grade.parse("b2")
    assert grade == Grade(Reliability.B, Credibility.PROBABLY_TRUE)
    assert str(grade) == "B2"
    assert grade.reliability.meaning == "usually reliable"
    assert Credibility(1).meaning == "confirmed by other independent sources"
    for bad in ("B", "G2", "B7", "B22"):
        with pytest.raises(ValueError):
            Grade.parse(bad)


def test_stix_confidence_follows_the_admiralty_credibility_table() -> None:
    assert [c.stix_confidence for c in Credibility] == [90, 70, 50, 30, 10, None]
    props = Grade.parse("A1").stix_properties()
    assert props == {"x_allsource_reliability": "A", "x_allsource_credibility": 1,
                     "confidence": 90}
    assert "confidence" not in Grade.parse("F6").stix_properties()


def test_misp_tags_are_valid_admiralty_scale_taxonomy_entries() -> None:
    taxonomies = pytest.importorskip("pytaxonomies")
    admiralty = taxonomies.Taxonomies()["admiralty-scale"]
    valid = set(admiralty.machinetags())
    for r in Reliability:
        for c in Credibility:
            assert set(Grade(r, c).misp_tags()) <= valid
