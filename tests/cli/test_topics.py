"""``allsource label`` and ``allsource topics …`` end to end: label, retrain (with the
held-out check printed), re-classify on the next ``process``, roll back.

Texts: ATT&CK v15 descriptions (see tests/process/test_stories_stage.py)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Run, as_json
from tests.process.test_stories_stage import ORIGINAL, OTHER


def _topics(cli: Run, doc_id: str) -> list[str]:
    view = as_json(cli("show", doc_id, "--json"))
    assert isinstance(view, dict)
    return [t["topic"] for t in view["annotations"]["topics"]["topics"]]


def test_label_retrain_reclassify_and_roll_back(cli: Run, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "phishing.txt").write_text(ORIGINAL)
    (folder / "encryption.txt").write_text(OTHER)
    cli("ingest", str(folder))
    cli("process")
    hits = as_json(cli("search", "encrypt", "--json"))
    assert isinstance(hits, dict)
    enc = hits["hits"][0]["id"]
    phish = as_json(cli("search", "spearphishing", "--json"))["hits"][0]["id"]  # type: ignore[index]
    assert "cyber" in _topics(cli, enc) and "ransomware" not in _topics(cli, enc)

    out = cli("label", enc, "ransomware", "--analyst", "ana", "--note", "extortion").stdout
    assert "about: ransomware" in out
    cli("label", phish, "ransomware", "--not", "--analyst", "ana")
    rows = as_json(cli("topics", "labels", "--json"))
    assert isinstance(rows, list)
    assert {(r["topic"], r["positive"], r["analyst"]) for r in rows} == {
        ("ransomware", True, "ana"), ("ransomware", False, "ana")}
    listed = as_json(cli("topics", "list", "--json"))
    assert isinstance(listed, dict)
    assert {"topic": "ransomware", "description": "(taught by analysts)",
            "positive_labels": 1, "negative_labels": 1} in listed["topics"]

    trained = as_json(cli("topics", "retrain", "--analyst", "ana", "--json"))
    assert isinstance(trained, dict)
    assert trained["labels"] == 2 and trained["documents"] == 2
    assert set(trained["metrics"]) >= {"zero_shot", "retrained", "folds"}
    processed = as_json(cli("process", "--json"))
    assert processed["documents"] == 2  # type: ignore[index]
    assert "ransomware" in _topics(cli, enc)
    assert "ransomware" not in _topics(cli, phish)

    cli("topics", "use", "zero-shot")
    assert as_json(cli("process", "--json"))["documents"] == 2  # type: ignore[index]
    assert "ransomware" not in _topics(cli, enc)
    history = as_json(cli("topics", "history", "--json"))
    assert isinstance(history, list) and [h["active"] for h in history] == [False]
    cli("topics", "use", str(history[0]["id"]))
    assert as_json(cli("process", "--json"))["documents"] == 2  # type: ignore[index]
    assert "ransomware" in _topics(cli, enc)


def test_label_errors(cli: Run) -> None:
    cli("init")
    proc = cli("label", "doc--nope", "cyber", check=2)
    assert "no document" in proc.stderr and "Traceback" not in proc.stderr
    assert "no topic labels yet" in cli("topics", "retrain", check=2).stderr
    assert "not a model id" in cli("topics", "use", "latest", check=2).stderr
