"""Credibility from independent origins and contradictions; reliability from a track
record."""

from __future__ import annotations

from datetime import datetime, timedelta

from allsource.model.admiralty import Credibility, Reliability
from allsource.verify.grading import (
    MIN_EVIDENCE,
    ClaimReport,
    SourceRecord,
    conflicts,
    credibility,
    grade_claims,
    track_records,
)
from tests.verify.test_independence import T0, report


def claim(doc: str, outlet: str, key: str = "rel:uses:a:b", value: str = "",
          kind: str = "relation", story: str | None = None, days: float = 0) -> ClaimReport:
    r = report(doc, outlet, text="", story=story)
    r = type(r)(r.document_id, r.outlet, r.source_id, r.story_id, r.url,
                T0 + timedelta(days=days), r.text)
    return ClaimReport(key, value, kind, f"{key}={value}", r)


def test_credibility_table() -> None:
    assert [credibility(n, 0) for n in (0, 1, 2, 3, 7)] == [
        Credibility.CANNOT_BE_JUDGED, Credibility.POSSIBLY_TRUE, Credibility.PROBABLY_TRUE,
        Credibility.CONFIRMED, Credibility.CONFIRMED]
    assert credibility(3, 1) == Credibility.DOUBTFUL
    assert credibility(1, 2) == Credibility.IMPROBABLE


def test_copies_never_confirm_but_independent_reports_do() -> None:
    copied = [claim(f"c{i}", f"outlet{i}.example", story="s1") for i in range(6)]
    [g] = grade_claims(copied)
    assert (g.independent, g.credibility) == (1, Credibility.POSSIBLY_TRUE)
    independent = [claim(f"i{i}", f"other{i}.example") for i in range(3)]
    [g] = grade_claims(independent)
    assert (g.independent, g.credibility) == (3, Credibility.CONFIRMED)
    # the copies add nothing to two independent reports
    [g] = grade_claims(independent[:2] + copied)
    assert g.independent == 3  # the copied story counts once


def test_contradicting_numbers_and_actors() -> None:
    reports = [claim("a", "one.example", "qty:killed:UA", "12", "quantity"),
               claim("b", "two.example", "qty:killed:UA", "13", "quantity"),  # within 25 %
               claim("c", "three.example", "qty:killed:UA", "40", "quantity"),
               claim("d", "four.example", "qty:killed:UA", "41", "quantity"),
               claim("e", "five.example", "qty:killed:UA", "39", "quantity")]
    grades = {g.value: g for g in grade_claims(reports)}
    assert grades["12"].credibility == Credibility.IMPROBABLE  # 2 origins vs 3 (40, 41, 39)
    assert grades["40"].credibility == Credibility.DOUBTFUL  # contradicted by fewer
    assert {r.document_id for o in grades["40"].contradicting for r in o.reports} == {"a", "b"}
    assert conflicts("attribution", "intrusion-set--x", "intrusion-set--y")
    assert not conflicts("quantity", "100", "110") and conflicts("quantity", "3", "9")
    # a report a week later is another event: no contradiction
    later = [claim("a", "one.example", "qty:killed:UA", "12", "quantity"),
             claim("z", "six.example", "qty:killed:UA", "90", "quantity", days=7)]
    assert all(not g.contradicting for g in grade_claims(later))


def test_reliability_from_track_record() -> None:
    rec = SourceRecord("s", "s")
    assert rec.reliability()[0] == Reliability.F  # new sources cannot be judged
    rec.confirmations, rec.refutations = 30, 1
    rec.first, rec.last = datetime(2020, 1, 1), datetime(2021, 1, 1)
    assert rec.reliability()[0] == Reliability.A
    rec.last = datetime(2020, 1, 10)  # young record: capped
    grade, rule = rec.reliability()
    assert grade == Reliability.C and "capped at C" in rule
    rec.last = datetime(2021, 1, 1)
    rec.confirmations, rec.refutations = 3, 5
    assert rec.reliability()[0] == Reliability.D
    rec.confirmations, rec.refutations = 1, 8
    assert rec.reliability()[0] == Reliability.E
    rec.confirmations, rec.refutations = MIN_EVIDENCE - 1, 0
    assert rec.reliability()[0] == Reliability.F


def test_track_records_count_confirmations_and_refutations() -> None:
    grades = grade_claims([
        claim("a", "one.example", "k1"), claim("b", "two.example", "k1"),
        claim("c", "one.example", "qty:killed:UA", "5", "quantity"),
        claim("d", "two.example", "qty:killed:UA", "50", "quantity"),
        claim("e", "three.example", "qty:killed:UA", "52", "quantity")])
    records = track_records(grades, {"src-one.example": "one"})
    one = records["src-one.example"]
    assert (one.confirmations, one.refutations, one.claims) == (1, 1, 2)
    two = records["src-two.example"]
    assert (two.confirmations, two.refutations) == (1, 0.5)  # k1 confirmed; 50 disputed
