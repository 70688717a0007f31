"""``allsource aliases``, run as a user would: a report naming APT28 and Fancy Bear is one
actor; an analyst undoes the Fancy Bear alias and reprocessing makes it two; merging it back
makes it one again. The sentence paraphrases ATT&CK's description of G0007 (enterprise v15)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.cli.conftest import Run, as_json

APT28 = "intrusion-set--bef4c620-0787-42a8-a96d-b7eb6e85917c"
REPORT = ("Phishing wave\nAPT28, also tracked as Fancy Bear, sent spearphishing emails to "
          "foreign ministries.\n")


def _json(proc: Any) -> Any:
    """A command's JSON output, untyped (the assertions say what it holds)."""
    return as_json(proc)


def _entities(cli: Run, doc_id: str) -> dict[str, str]:
    doc = _json(cli("show", doc_id, "--json"))
    return {o["id"]: o["name"] for o in doc["objects"]
            if o["extractor"].startswith("entities@")}


def test_undo_and_merge_an_alias(cli: Run, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "apt28.txt").write_text(REPORT, encoding="utf-8")
    cli("ingest", str(folder))
    cli("process", "--stage", "entities")
    doc_id = _json(cli("search", "ministries", "--json"))["hits"][0]["id"]
    assert _entities(cli, doc_id) == {APT28: "APT28"}

    shown = _json(cli("aliases", "show", "fancy bear", "--json"))
    assert shown["entity"]["id"] == APT28 and shown["entity"]["name"] == "APT28"
    fancy = {(s["provenance"], s["status"]) for s in shown["statements"]
             if s["alias"] == "Fancy Bear"}
    assert fancy == {("mitre-attack-enterprise v18.1", "active"),
                     ("misp-galaxy threat-actor v336", "active")}
    table = cli("aliases", "show", "APT28").stdout
    assert "mitre-attack-enterprise v18.1" in table and "merge:misp-similar-attack" in table

    undone = _json(cli("aliases", "undo", "APT28", "Fancy Bear", "--analyst", "alice",
                         "--reason", "vendor X tracks a separate cluster", "--json"))
    assert len(undone) == 3
    assert all(s["status"] == "undone" and s["undone_by"] == "alice"
               for s in undone)
    assert _json(cli("process", "--stage", "entities", "--json"))["documents"] == 1
    split = _entities(cli, doc_id)
    assert sorted(split.values()) == ["APT28", "Fancy Bear"] and len(split) == 2

    alone = _json(cli("aliases", "show", "Fancy Bear", "--json"))
    assert alone["entity"]["id"] != APT28
    assert [s["provenance"] for s in alone["statements"]] == [
        "analyst alice, split from APT28"]
    after = _json(cli("aliases", "show", "APT28", "--json"))["statements"]
    assert {(s["alias"], s["undone_by"], s["undo_reason"]) for s in after
            if s["status"] == "undone"} == {
        ("Fancy Bear", "alice", "vendor X tracks a separate cluster"),
        ("FANCY BEAR", "alice", "vendor X tracks a separate cluster")}
    assert len(_json(cli("aliases", "list", "--undone", "--json"))) == 3

    out = cli("aliases", "merge", "APT28", "Fancy Bear", "--analyst", "bob",
              "--reason", "vendor X recanted").stdout
    assert "now an alias of APT28" in out
    cli("process", "--stage", "entities")
    assert _entities(cli, doc_id) == {APT28: "APT28"}
    log = _json(cli("aliases", "list", "--json"))
    assert log[0]["basis"] == "analyst-merge" and log[0]["created_by"] == "bob"


def test_alias_errors_are_one_line(cli: Run) -> None:
    for args, message in (
            (("show", "no such actor xyz"), "no entity known as 'no such actor xyz'"),
            (("undo", "APT28", "Cozy Bear", "--reason", "r"), "not an active alias of APT28"),
            (("undo", "APT28", "APT28", "--reason", "r"), "APT28's own name"),
            (("merge", "APT28", "Sofacy", "--reason", "r"), "already an alias of APT28"),
            (("merge", "APT28", "Mimikatz", "--reason", "r"), "only entities of one kind")):
        proc = cli("aliases", *args, check=2)
        assert message in proc.stderr and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "--reason" in cli("aliases", "undo", "APT28", "Sofacy", check=2).stderr
    assert _json(cli("aliases", "list", "--json")) == []
