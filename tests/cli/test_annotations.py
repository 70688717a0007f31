"""Stage annotations print as readable lines, never as Python's repr of a dict."""

from __future__ import annotations

from allsource.cli.annotations import annotation_line, explanations


def test_a_note_reads_as_one_line() -> None:
    line = annotation_line("normalize", {
        "version": "1", "language": "en", "language_confidence": 0.9941, "truncated": False,
        "sentences": [[0, 77], [78, 209], [210, 239]]})
    assert line == ("normalize (v1): language en · language confidence 0.994 · truncated no · "
                    "sentences 3")


def test_counts_records_and_empties() -> None:
    assert annotation_line("observables", {"observables": 3, "by_type": {"cve": 1, "url": 2},
                                           "warninglisted": 0, "notes": []}) == (
        "observables: observables 3 · by type cve 1, url 2 · warninglisted 0")
    assert annotation_line("topics", {"topics": [{"topic": "cyber", "score": 0.81}]}) == (
        "topics: topics cyber 0.81")
    hit = {"watchlist": "gru", "term": "Fancy Bear", "matched": "APT28", "occurrences": 4}
    assert annotation_line("watchlist", {"hits": [hit]}) == (
        "watchlist: hits (watchlist gru; term Fancy Bear; matched APT28; occurrences 4)")
    assert annotation_line("claims", {"version": "2", "claims": []}) == "claims (v2): nothing"
    assert annotation_line("odd", "plain") == "odd: plain"


def test_explanations_are_kept_out_of_the_line_and_read_by_span() -> None:
    note = {"mentions": 1, "why": [[0, 5, "APT28", "distinctive name"]],
            "refused": [[10, 14, "Play", "a common word"], ["bad row"]]}
    assert annotation_line("entities", note) == "entities: mentions 1"
    assert explanations(note, "why") == {(0, 5): "distinctive name"}
    assert explanations(note, "refused") == {(10, 14): "Play: a common word"}
    assert explanations(None, "why") == {}
