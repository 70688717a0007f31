"""A source can have a pipeline of its own (``-o stages=…``); every processing pass leaves
one run record per stage.

Text: ATT&CK v15 (see tests/process/test_stories_stage.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.cli.conftest import Run, as_json
from tests.process.test_stories_stage import ORIGINAL, OTHER


def test_per_source_pipelines_and_run_records(cli: Run, tmp_path: Path) -> None:
    for name, text in (("iocs-only", ORIGINAL), ("everything", OTHER)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.txt").write_text(text)
    cli("source", "add", "iocs-only", "files", str(tmp_path / "iocs-only"),
        "-o", "stages=normalize,observables")
    cli("source", "add", "everything", "files", str(tmp_path / "everything"))
    cli("collect")
    summary = as_json(cli("process", "--json"))
    assert isinstance(summary, dict)
    assert summary["documents"] == 2
    assert summary["source_pipelines"] == {"iocs-only": ["normalize", "observables"]}
    stages_of = {}
    for name in ("iocs-only", "everything"):
        hit = as_json(cli("search", "adversaries", "--source", name, "--json"))["hits"][0]  # type: ignore[index]
        doc = as_json(cli("show", hit["id"], "--json"))
        assert isinstance(doc, dict)
        stages_of[name] = set(doc["annotations"])
    assert stages_of["iocs-only"] == {"normalize", "observables"}
    assert {"topics", "entities", "claims"} <= stages_of["everything"]
    assert as_json(cli("process", "--json"))["documents"] == 0  # type: ignore[index]

    db = sqlite3.connect(tmp_path / "cli.db")
    runs = dict(db.execute("SELECT plugin, count(*) FROM runs WHERE plugin LIKE 'stage:%' "
                           "GROUP BY plugin"))
    assert runs["stage:observables"] == 2  # one per pass
    assert runs["stage:topics"] == 1
    counts = db.execute("SELECT counts, status FROM runs WHERE plugin = 'stage:topics'").fetchone()
    assert '"documents": 1' in counts[0].replace(":1", ": 1") and counts[1] == "ok"
