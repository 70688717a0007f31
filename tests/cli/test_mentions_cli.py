"""``allsource mentions``, run as a user would: an analyst says a name in one report is not
APT28, the next ``process`` drops that mention, and undoing the verdict brings it back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.cli.conftest import Run, as_json

REPORT = "Derby day\nSofacy beat the visitors; APT28 analysts watched the match.\n"


def _mentions(cli: Run, doc_id: str) -> dict[str, int]:
    doc: Any = as_json(cli("show", doc_id, "--json"))
    return {e["name"]: e["mentions"] for e in doc["entities"]
            if any(x.startswith("entities@") for x in e["extractors"])}


def test_say_a_mention_is_wrong_then_undo(cli: Run, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "derby.txt").write_text(REPORT, encoding="utf-8")
    cli("ingest", str(folder))
    cli("process", "--stage", "entities")
    hits: Any = as_json(cli("search", "visitors", "--json"))
    doc_id = hits["hits"][0]["id"]
    assert _mentions(cli, doc_id) == {"APT28": 2}

    out = cli("mentions", "wrong", doc_id, "Fancy Bear", "--name", "Sofacy", "--analyst",
              "alice", "--reason", "a football club").stdout
    assert "is not APT28 in" in out and "allsource process" in out
    listed: Any = as_json(cli("mentions", "list", "--json"))
    assert [(v["verdict"], v["created_by"], v["name"]) for v in listed] == [
        ("here", "alice", "Sofacy")]
    assert as_json(cli("process", "--stage", "entities", "--json"))["documents"] == 1  # type: ignore[index]
    assert _mentions(cli, doc_id) == {"APT28": 1}

    bad = cli("mentions", "wrong", doc_id, "APT28", "--name", "Cozy Bear", "--reason", "x",
              check=2)
    assert "no mention of APT28 as 'Cozy Bear'" in bad.stderr
    cli("mentions", "undo", listed[0]["id"], "--analyst", "bob", "--reason", "it was the group")
    cli("process", "--stage", "entities")
    assert _mentions(cli, doc_id) == {"APT28": 2}
    table = cli("mentions", "list", "--undone").stdout
    assert "undone by bob" in table
