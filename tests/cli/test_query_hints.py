"""Search-syntax mistakes explained: lower-case or/and/not and AND/NOT between words stop the
search with the query meant; a query starting with '-' is told to come after '--'."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from allsource.cli.query_hints import operator_mistake
from tests.cli.conftest import Term


@pytest.mark.parametrize(("query", "says"), [
    ("apt28 or sofacy", "did you mean OR? (`apt28 OR sofacy` finds either"),
    ("apt28 and ukraine", "words are already ANDed: drop it (`apt28 ukraine`)"),
    ("apt28 AND ukraine", "'AND' is searched as a word"),
    ("apt28 not ukraine", "did you mean -ukraine?"),
    ("NOT ukraine", "did you mean -ukraine?"),
])
def test_operator_words_are_explained(query: str, says: str) -> None:
    found = operator_mistake(query)
    assert found is not None and says in found


@pytest.mark.parametrize("query", [
    "apt28 OR sofacy", '"war and peace"', 'apt28 "or"', "apt28 -ukraine", "oracle",
    "or", "apt28 or", "band notation"
])
def test_real_syntax_and_quoted_words_pass(query: str) -> None:
    assert operator_mistake(query) is None


def _reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.txt").write_text("APT28 phishing\nAPT28 sent phishing to Ukraine.",
                                  encoding="utf-8")
    (folder / "b.txt").write_text("Sofacy tooling\nSofacy used a dropper against NATO.",
                                  encoding="utf-8")
    return folder


def test_cli_stops_with_the_query_meant(term: Term, tmp_path: Path) -> None:
    term("source", "add", "reports", "files", str(_reports(tmp_path)))
    term("collect")
    shown = term("search", "apt28 or sofacy", check=2)
    assert shown.out == ""
    [line] = shown.err.splitlines()  # one line, no traceback, even at 80 columns
    assert line.startswith("error: 'or' is searched as a word here: did you mean OR?")
    # the query it names finds both reports
    assert orjson.loads(term("search", "apt28 OR sofacy", "--json").out)["total"] == 2


def test_leading_dash_needs_double_dash(term: Term, tmp_path: Path) -> None:
    term("source", "add", "reports", "files", str(_reports(tmp_path)))
    term("collect")
    shown = term("search", "-ukraine phishing", check=2)
    assert "No such option" in shown.err
    assert "must come after '--'" in shown.err and "allsource search --" in shown.err
    assert orjson.loads(term("search", "--json", "phishing OR dropper").out)["total"] == 2
    # after '--' the exclusion works: the report naming Ukraine is left out
    found = orjson.loads(term("search", "--json", "--", "-ukraine phishing OR dropper").out)
    assert [h["title"] for h in found["hits"]] == ["Sofacy tooling"]
    assert "after --" in term("search", "--help", columns=120).out
