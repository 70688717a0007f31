"""``allsource watchlist add|list|show|rm|hits`` end to end: a document ingested and processed
produces a hit and an alert; terms added later reach processed documents with ``--backfill``.

Texts: ATT&CK v15 descriptions and the defanged advisory sentence, see
tests/assess/test_watchlists.py."""

from __future__ import annotations

from pathlib import Path

from tests.assess.test_watchlists import ADVISORY, GAMAREDON, UKRAINE_2016
from tests.cli.conftest import Run, as_json


def test_watchlist_lifecycle(cli: Run, tmp_path: Path) -> None:
    out = cli("watchlist", "add", "Ukraine grid", "--entity", "Voodoo Bear", "--keyword",
              "power grid", "--observable", "update-check[.]example[.]net", "--place", "Odesa",
              "--radius", "50", "--sector", "cyber", "--severity", "high",
              "--owner", "ana").stdout
    assert "created watchlist Ukraine grid (high, 5 terms)" in out
    assert "observable/domain: update-check.example.net" in out
    assert "Voodoo Bear (Sandworm Team)" in out and "Odesa (UA) within 50 km" in out

    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "grid.txt").write_text(UKRAINE_2016)
    (folder / "advisory.txt").write_text(ADVISORY)
    (folder / "gamaredon.txt").write_text(GAMAREDON)
    cli("ingest", str(folder))
    cli("process")

    hits = as_json(cli("watchlist", "hits", "Ukraine grid", "--json"))
    assert isinstance(hits, list)
    found = {(h["kind"], h["matched"]) for h in hits}
    assert {("entity", "Sandworm Team"), ("keyword", "power grid"),
            ("observable", "update-check.example.net"), ("sector", "cyber")} <= found
    assert {h["via"] for h in hits} == {"process"}
    alerts = as_json(cli("alerts", "list", "--json"))
    assert isinstance(alerts, list) and alerts
    assert {a["kind"] for a in alerts} == {"watchlist"}
    assert {a["severity"] for a in alerts} == {"high"}

    listed = as_json(cli("watchlist", "list", "--json"))
    assert isinstance(listed, list)
    [row] = listed
    assert (row["name"], row["terms"], row["hits"], row["owner"]) == (
        "Ukraine grid", 5, len(hits), "ana")

    # a term added later: processed documents get it with --backfill only
    added = as_json(cli("watchlist", "add", "Ukraine grid", "--keyword", "Armageddon",
                        "--keyword", "power grid", "--backfill", "--json"))
    assert isinstance(added, dict)
    assert [t["term"] for t in added["added"]] == ["Armageddon"]
    assert [t["term"] for t in added["already"]] == ["power grid"]
    assert added["backfill"]["hits"] == 1 and added["backfill"]["documents"] == 1

    shown = as_json(cli("watchlist", "show", "Ukraine grid", "--json"))
    assert isinstance(shown, dict)
    assert len(shown["terms"]) == 6 and shown["severity"] == "high"
    armageddon = next(t for t in shown["terms"] if t["term"] == "Armageddon")
    assert any(h["via"] == "backfill" and h["term"] == "Armageddon" for h in shown["hits"])
    text = cli("watchlist", "show", "Ukraine grid").stdout
    assert "keyword: Armageddon" in text and "most recent hits" in text

    cli("watchlist", "rm", "Ukraine grid", "--term", str(armageddon["id"]))
    shown = as_json(cli("watchlist", "show", "Ukraine grid", "--json"))
    assert "Armageddon" not in {t["term"] for t in shown["terms"]}  # type: ignore[index]
    assert "removed watchlist Ukraine grid" in cli("watchlist", "rm", "Ukraine grid").stdout
    assert as_json(cli("watchlist", "list", "--json")) == []
    assert as_json(cli("watchlist", "hits", "--json")) == []


def test_watchlist_errors_are_one_line(cli: Run) -> None:
    bad_place = cli("watchlist", "add", "x", "--place", "Xyzzyville", check=2)
    assert "unknown place 'Xyzzyville'" in bad_place.stderr
    assert "no entity known as" in cli("watchlist", "add", "x", "--entity",
                                       "Acme Widgets Ltd", check=2).stderr
    assert "--radius applies to --place" in cli("watchlist", "add", "x", "--radius", "5",
                                                check=2).stderr
    assert "unknown severity" in cli("watchlist", "add", "x", "--severity", "dire",
                                     check=2).stderr
    assert as_json(cli("watchlist", "list", "--json")) == []  # nothing half-written
    assert "no watchlist 'nope'" in cli("watchlist", "show", "nope", check=2).stderr
    cli("watchlist", "add", "x", "--keyword", "grid")
    assert "has no term 99" in cli("watchlist", "rm", "x", "--term", "99", check=2).stderr
