"""``allsource label`` and ``allsource topics …`` end to end: label, retrain (with the
held-out check printed), re-classify on the next ``process``, roll back.

Texts: passages of ``benchmarks/data/topics.jsonl`` (origin of each in that file)."""

from __future__ import annotations

import json
from pathlib import Path

from allsource.model.records import Document
from tests.cli.conftest import Run, as_json
from tests.process.test_topics import ROWS
from tests.process.test_topics_stage import NEGATIVES, POSITIVES, UNLABELLED


def _topics(cli: Run, doc_id: str) -> list[str]:
    view = as_json(cli("show", doc_id, "--json"))
    assert isinstance(view, dict)
    return [t["topic"] for t in view["annotations"]["topics"]["topics"]]


def test_label_retrain_reclassify_and_roll_back(cli: Run, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    names = [*POSITIVES, *NEGATIVES, *UNLABELLED]
    (folder / "passages.jsonl").write_text("".join(
        json.dumps({"id": i, "title": ROWS[i]["title"], "text": ROWS[i]["text"]}) + "\n"
        for i in names))
    cli("ingest", str(folder))
    cli("process")
    # JSON Lines records are keyed by their "id", so their document ids are known
    ids = {i: Document.build(kind="record", title="", text="", key={"id": i}).id
           for i in names}
    fire = ids["t154"]
    assert "natural-disaster" not in _topics(cli, fire)

    for i in POSITIVES:
        cli("label", ids[i], "natural disaster", "--analyst", "ana", "--note", "quake/storm")
    out = cli("label", ids[NEGATIVES[0]], "natural-disaster", "--not", "--analyst", "ana")
    assert "not about: natural-disaster" in out.stdout
    for i in NEGATIVES[1:]:
        cli("label", ids[i], "natural-disaster", "--not", "--analyst", "ana")
    rows = as_json(cli("topics", "labels", "--json"))
    assert isinstance(rows, list) and len(rows) == 10
    assert {(r["topic"], r["analyst"]) for r in rows} == {("natural-disaster", "ana")}
    listed = as_json(cli("topics", "list", "--json"))
    assert isinstance(listed, dict)
    assert {"topic": "natural-disaster", "description": "(taught by analysts)",
            "positive_labels": 5, "negative_labels": 5} in listed["topics"]

    trained = as_json(cli("topics", "retrain", "--analyst", "ana", "--json"))
    assert isinstance(trained, dict)
    assert trained["labels"] == 10 and trained["documents"] == 10
    assert set(trained["metrics"]) >= {"zero_shot", "retrained", "folds"}
    assert trained["topics"]["natural-disaster"] == {"positive": 5, "negative": 5}
    processed = as_json(cli("process", "--json"))
    assert processed["documents"] == len(names)  # type: ignore[index]
    assert "natural-disaster" in _topics(cli, fire)

    cli("topics", "use", "zero-shot")
    as_json(cli("process", "--json"))
    assert "natural-disaster" not in _topics(cli, fire)
    history = as_json(cli("topics", "history", "--json"))
    assert isinstance(history, list) and [h["active"] for h in history] == [False]
    cli("topics", "use", str(history[0]["id"]))
    as_json(cli("process", "--json"))
    assert "natural-disaster" in _topics(cli, fire)
    assert "held-out check" not in cli("topics", "history").stdout


def test_label_errors(cli: Run) -> None:
    cli("init")
    proc = cli("label", "doc--nope", "cyber", check=2)
    assert "no document" in proc.stderr and "Traceback" not in proc.stderr
    assert "no topic labels yet" in cli("topics", "retrain", check=2).stderr
    assert "not a model id" in cli("topics", "use", "latest", check=2).stderr
