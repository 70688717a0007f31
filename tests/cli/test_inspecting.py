"""``allsource search`` output: a count the store capped is printed as a lower bound."""

from __future__ import annotations

import pytest

from allsource.cli import inspecting
from allsource.store.query import SearchResult


@pytest.mark.parametrize(("total", "exact", "shown"), [
    (1000, False, "1,000+ match(es)"), (1000, True, "1,000 match(es)"),
    (3, True, "3 match(es)")])
def test_capped_counts_print_as_a_lower_bound(capsys: pytest.CaptureFixture[str], total: int,
                                              exact: bool, shown: str) -> None:
    inspecting.print_hits(SearchResult([], total, 1.0, total_exact=exact), "search: x")
    out = capsys.readouterr().out
    assert f"— {shown}," in out
    assert exact or "+ match" in out
