"""Listings at 80 and 120 columns: nothing cut with "…", the prose column wraps, columns
left out below 120 are named with the way to see them."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from allsource.cli.tables import Column, fitted
from tests.cli.conftest import Term

COLUMNS = (Column("id"), Column("title", flex=True), Column("owner", keep=False),
           Column("tlp", keep=False))
ROWS = [{"id": "1b8e12eb", "title": "Early warning: topic:cyber on 2015-05-15: 89 vs 0.0 "
                                    "expected from the ATT&CK corpus", "owner": "analyst-one",
         "tlp": "AMBER+STRICT"}]


def _render(width: int, wide: bool = False) -> str:
    console = Console(width=width, no_color=True)
    with console.capture() as seen:
        console.print(fitted(COLUMNS, ROWS, wide=wide, more="--wide"))
    return seen.get()


def _words(out: str) -> str:
    """The words as a person reads them, borders left out, lines joined."""
    return " ".join(out.translate({ord(c): " " for c in "│┃"}).split())


def test_narrow_keeps_the_essentials_and_says_what_is_left_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from allsource.cli import tables

    monkeypatch.setattr(tables, "console", Console(width=80))  # the width it decides by
    out = _render(80)
    assert "…" not in out and all(len(line) <= 80 for line in out.splitlines())
    assert "owner, tlp left out at this width: --wide" in _words(out)
    assert "Early warning: topic:cyber on 2015-05-15: 89 vs 0.0 expected" in _words(out)
    assert "analyst-one" not in out


def test_wide_shows_every_column() -> None:
    out = _render(160, wide=True)
    assert "analyst-one" in out and "AMBER+STRICT" in out and "left out" not in out


def test_source_list_at_80_and_120(term: Term, tmp_path: Path) -> None:
    folder = tmp_path / "a-folder-with-a-rather-long-name-for-reports" / "2024" / "incoming"
    folder.mkdir(parents=True)
    term("source", "add", "partner-reports", "files", str(folder), "--every", "1h")
    for width in (80, 120):
        out = term("source", "list", columns=width).out
        lines = out.splitlines()
        assert "…" not in out and all(len(line) <= width for line in lines)
        # the location wraps inside its column but is all there
        cells = "".join(line.split("│")[3].strip() for line in lines
                        if line.startswith("│"))
        assert str(folder) in cells
    assert "TLP, every, quarantined left out" in _words(term("source", "list").out)
    assert "left out" not in term("source", "list", columns=120).out
