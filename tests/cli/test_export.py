"""``allsource export`` end to end through the CLI on a store it filled itself: a STIX
bundle that validates, a selection by query, a MISP event PyMISP loads, a MISP feed folder,
and a one-line error for a selection that does not exist."""

from __future__ import annotations

from pathlib import Path

import orjson
from pymisp import MISPEvent  # type: ignore[import-untyped]

from tests.cli.conftest import Run
from tests.share.conftest import EXPORT_WARNINGS, SHARE, validate


def test_export_stix_misp_and_feed(cli: Run, tmp_path: Path) -> None:
    source = tmp_path / "reports.jsonl"
    source.write_bytes((SHARE / "reports.jsonl").read_bytes())
    cli("source", "add", "desk", "files", str(source))
    cli("collect", "desk")
    cli("process", "--stage", "observables,stories", timeout=300)
    out = tmp_path / "bundle.json"
    shown = cli("export", "--format", "stix", "-o", str(out))
    assert "wrote" in shown.stdout
    bundle = orjson.loads(out.read_bytes())
    validate(bundle, EXPORT_WARNINGS)
    assert {o["type"] for o in bundle["objects"]} >= {"report", "indicator", "ipv4-addr"}
    cli("export", "--format", "stix", "--query", "203.0.113.45", "-o", str(out))
    reports = [o for o in orjson.loads(out.read_bytes())["objects"] if o["type"] == "report"]
    assert len(reports) == 1 and "lookalike" in reports[0]["name"]
    misp = tmp_path / "event.json"
    cli("export", "--format", "misp", "--entity", "203.0.113.45", "-o", str(misp))
    event = MISPEvent()
    event.load(orjson.loads(misp.read_bytes()))
    assert "203.0.113.45" in {a.value for a in event.attributes}
    feed = tmp_path / "feed"
    cli("export", "--format", "misp-feed", "-o", str(feed))
    manifest = orjson.loads((feed / "manifest.json").read_bytes())
    assert len(manifest) == 3 and all((feed / f"{u}.json").is_file() for u in manifest)
    failed = cli("export", "--story", "no-such-story", "-o", str(out), check=2)
    assert "no story" in failed.stderr
