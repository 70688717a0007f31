"""``allsource risk score|top|show`` end to end: reports ingested as JSON Lines records with
their publication dates, processed, scored; the old address has expired, the recent one is
on a watchlist, and scoring later (``--at``) lets it expire too.

Texts and values: the ASERT "Four-Element Sword" indicators and sentences of
tests/assess/test_risk.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from tests.assess.test_risk import ASERT, C2, DROPPER, DROPPER_HASH, OLD_IP
from tests.cli.conftest import Run, as_json


def _ingest(cli: Run, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    records = [{"id": "asert", "title": "Four-Element Sword", "text": ASERT,
                "published": (now - timedelta(days=2)).isoformat()},
               {"id": "dropper", "title": "RTF dropper", "text": DROPPER,
                "published": (now - timedelta(days=60)).isoformat()}]
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "reports.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in records))
    cli("ingest", str(folder))
    cli("process")


def test_risk_score_top_show(cli: Run, tmp_path: Path) -> None:
    assert "no risk scores" in cli("risk", "top").stdout
    cli("watchlist", "add", "c2", "--observable", C2, "--severity", "high")
    _ingest(cli, tmp_path)

    summary = as_json(cli("risk", "score", "--json"))
    assert isinstance(summary, dict)
    assert summary["indicators"] >= 4 and summary["expired"] == 1
    assert summary["warninglisted"] == 1
    top = {x["name"]: x for x in summary["top"]["indicator"]}
    assert C2 in top and OLD_IP not in top
    assert top[C2]["components"]["impact"]["parts"][2]["details"]["watchlist"] == "c2"

    text = cli("risk", "score", "--top", "2").stdout
    assert "scored" in text and "highest risk: indicator" in text

    listed = as_json(cli("risk", "top", "--kind", "indicator", "--expired", "--json"))
    assert isinstance(listed, list)
    found = {x["name"]: x for x in listed}
    assert found[OLD_IP]["expired"] and not found[C2]["expired"]
    assert not found[DROPPER_HASH]["expired"]  # same report as the old address: hashes last
    assert OLD_IP not in {x["name"] for x in as_json(  # type: ignore[attr-defined]
        cli("risk", "top", "--kind", "indicator", "--json"))}

    shown = cli("risk", "show", C2).stdout
    assert f"indicator {C2} (ipv4-addr)" in shown
    for part in ("credibility", "reliability", "corroboration", "recency", "type", "sector",
                 "watchlist"):
        assert f"  {part} " in shown
    assert "decay 'ipv4'" in shown and "watchlist 'c2' (high)" in shown
    assert "expired" in cli("risk", "show", OLD_IP).stdout
    assert "likely false positive" in cli("risk", "show", "8.8.8.8").stdout

    # two months on, the recent address has expired as well
    later = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    assert as_json(cli("risk", "score", "--at", later, "--json"))["expired"] >= 2  # type: ignore[index]


def test_risk_errors_are_one_line(cli: Run) -> None:
    missing = cli("risk", "show", "203.0.113.45", check=2)
    assert "no risk score for '203.0.113.45'" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "unknown kind 'actors'" in cli("risk", "top", "--kind", "actors", check=2).stderr
    assert "cannot read date" in cli("risk", "score", "--at", "someday", check=2).stderr
