"""Circular-reporting detection: copies, outlets, wire credits and citations make one
origin; unrelated outlets stay independent.

The report text is the first sentence of CISA advisory AA22-110A (public domain, US
federal government work), reused as wire copy, citation and link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from allsource.verify.independence import Report, origins, outlet_of, wire_of

LEAD = ("The cybersecurity authorities of the United States, Australia, Canada, New Zealand, "
        "and the United Kingdom are releasing this joint Cybersecurity Advisory to warn "
        "organizations that Russia's invasion of Ukraine could expose organizations both "
        "within and beyond the region to increased malicious cyber activity.")
T0 = datetime(2022, 4, 20, 12, tzinfo=UTC)


def report(doc: str, outlet: str, text: str = LEAD, story: str | None = None,
           url: str | None = None, hours: int = 0) -> Report:
    return Report(doc, outlet, f"src-{outlet}", story, url, T0 + timedelta(hours=hours), text)


def _groups(reports: list[Report]) -> list[set[str]]:
    return [{r.document_id for r in o.reports} for o in origins(reports)]


def test_independent_outlets_are_separate_origins() -> None:
    reports = [report("a", "one.example"), report("b", "two.example", story="s2"),
               report("c", "three.example", story="s3")]
    assert sorted(map(sorted, _groups(reports))) == [["a"], ["b"], ["c"]]


def test_copies_in_one_story_are_one_origin_with_the_reason() -> None:
    reports = [report("a", "one.example", story="s1"), report("b", "two.example", story="s1"),
               report("c", "three.example", story="s1", hours=2)]
    [origin] = origins(reports)
    assert {r.document_id for r in origin.reports} == {"a", "b", "c"}
    assert origin.first.document_id == "a"
    assert all(reason.startswith("copies: same story s1") for reason in origin.reasons)


def test_shared_wire_credit_and_same_outlet_join() -> None:
    wire = "WASHINGTON (Reuters) - " + LEAD
    reports = [report("a", "one.example", wire), report("b", "two.example", wire[:200]),
               report("c", "one.example", "A different lead."), report("d", "four.example")]
    groups = _groups(reports)
    assert {"a", "b", "c"} in groups and {"d"} in groups
    assert wire_of("Story text… Reporting by Jane Doe; Editing by X (Reuters)") == "Reuters"
    assert wire_of("x " * 400 + "reuters mentioned in the middle " + "y " * 400) is None


def test_citations_by_link_or_by_name_join_the_origin() -> None:
    original = report("a", "cisa.gov", url="https://www.cisa.gov/news-events/aa22-110a")
    linked = report("b", "blog.example", "Read the advisory at "
                    "https://cisa.gov/news-events/aa22-110a/ for details.")
    named = report("c", "news.example", "According to CISA, organizations should patch now.")
    other = report("d", "other.example", "Different reporting with its own sources.")
    groups = _groups([original, linked, named, other])
    assert {"a", "b", "c"} in groups and {"d"} in groups
    reasons = next(o.reasons for o in origins([original, linked, named, other])
                   if len(o.reports) == 3)
    assert any("links to a" in r for r in reasons) and any("cites cisa.gov" in r
                                                            for r in reasons)


def test_outlet_from_url_host() -> None:
    assert outlet_of("https://www.Example.org/a/b", "fallback") == "example.org"
    assert outlet_of(None, "fallback") == "fallback"


def test_names_match_whole_names_only() -> None:
    """Regressions found by benchmarks/corroboration.py."""
    # wire names inside other words are not wire credits
    assert wire_of("…moved funds through SWIFT transactions in Kansas.") is None
    # an outlet called "cert" is not cited by "according to certain researchers"
    a = Report("c", "cert", text="APT28 uses X-Agent.")
    b = Report("d", "zeroglyph", text="According to certain researchers, APT28 uses X-Agent.")
    assert len(origins([a, b])) == 2
    # "The Red Lantern", "Cyber Ledger" (source cyberledger), cyberledger.example, and a
    # configured name all identify their outlet
    cases = [(Report("a", "The Red Lantern", text="x"), "According to The Red Lantern, y"),
             (Report("a", "cyberledger", url="https://cyberledger.example/1", text="x"),
              "According to Cyber Ledger, y"),
             (Report("a", "Cyber Ledger", url="https://cyberledger.example/1", text="x"),
              "As reported by cyberledger.example, y"),
             (Report("a", "kestrelsec", text="x", names=("Kestrel",)),
              "According to Kestrel, y")]
    for original, text in cases:
        assert len(origins([original, Report("b", "other.example", text=text)])) == 1, text
