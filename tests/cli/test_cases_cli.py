"""``allsource case …`` end to end on a SQLite store: a case built from the command line, the
matrix as a table and as JSON, a document's grade as credibility, one-line errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from allsource.config import load_settings
from allsource.model.records import Collected, Document, Source
from allsource.store import open_store
from allsource.store import schema as t
from tests.cli.conftest import Run, as_json


def _graded_document(tmp_path: Path) -> str:
    """A stored report graded credibility 2, on the store the CLI uses."""
    store = open_store(load_settings(database_url=f"sqlite:///{tmp_path / 'cli.db'}",
                                     blob_dir=tmp_path / "blobs"))
    try:
        src = Source("desk", "files", "x")
        store.add_source(src)
        doc = Document.build(kind="article", title="Ransom note demands Monero",
                             text="The ransom note demands payment in Monero.")
        store.write_batch(src, [Collected(doc)], [], None)
        with store.engine.begin() as conn:
            conn.execute(t.grades.insert().values(
                subject_type="document", subject_id=doc.id, reliability="B", credibility=2,
                corroboration=1, explanation={}, computed_at=datetime(2024, 5, 1, tzinfo=UTC)))
        return doc.id
    finally:
        store.close()


def test_case_from_the_command_line(cli: Run, tmp_path: Path) -> None:
    doc = _graded_document(tmp_path)
    created: Any = as_json(cli("case", "new", "Who hit the hospital?", "--question",
                               "Which group deployed the ransomware?", "--analyst", "ana",
                               "--json"))
    case = created["id"].split("--")[1][:8]
    assert "Criminal affiliate" in cli("case", "hypothesis", case, "Criminal affiliate").stdout
    cli("case", "hypothesis", case, "State-sponsored group", "--description", "cover story")
    out = cli("case", "evidence", case, "--document", doc).stdout
    assert "E1 added: Ransom note demands Monero" in out and "credibility 2 (document)" in out
    cli("case", "evidence", case, "--text", "Wiper code shared with a state toolset",
        "--relevance", "high", "--credibility", "3")
    for ev, hyp, rating in (("E1", "H1", "C"), ("E1", "H2", "I"), ("E2", "H1", "II"),
                            ("e2", "h2", "cc")):
        cli("case", "rate", case, ev, hyp, rating, "--analyst", "bob")

    shown: Any = as_json(cli("case", "show", case, "--json"))
    analysis = shown["analysis"]
    h1, h2 = (h["id"] for h in shown["hypotheses"])
    # H1: 0.75·1.5·2 = 2.25; H2: 0.9
    assert [(h["id"], h["weighted"]) for h in analysis["hypotheses"]] == [(h2, 0.9),
                                                                          (h1, 2.25)]
    assert analysis["linchpins"] == [shown["evidence"][1]["id"]]
    assert shown["case"]["owner"] == "ana"

    table = cli("case", "show", case).stdout
    assert "ACH matrix" in table and "Wiper code shared" in table and "E2 !" in table
    assert "most likely (least inconsistent): H2 · margin 1.35" in table
    assert "linchpins (if wrong or removed, the conclusion changes): E2" in table
    assert "H1: Criminal affiliate" in table
    # at 80 columns the ratings stay whole and the evidence wraps
    narrow = cli("case", "show", case, columns=80).stdout
    matrix = narrow.split("ACH matrix")[1].split("most likely")[0]
    assert all(len(line) <= 80 for line in matrix.splitlines()) and "…" not in matrix
    text = " ".join(" ".join(line.split()) for line in matrix.splitlines())
    evidence = "Wiper code shared with a state toolset"
    assert all(w in text for w in evidence.split(" "))

    cli("case", "rate", case, "E1", "H2", "-")
    assert as_json(cli("case", "show", case, "--json"))["analysis"]["unrated"] == 1  # type: ignore[index]
    listed: Any = as_json(cli("case", "list", "--json"))
    assert [c["title"] for c in listed] == ["Who hit the hospital?"]
    assert "is closed" in cli("case", "close", case).stdout
    assert "1 case(s)" in cli("case", "list", "--status", "closed").stdout


def test_errors_are_one_line(cli: Run) -> None:
    proc = cli("case", "show", "deadbeef", check=2)
    assert proc.stderr.strip() == "error: no case 'deadbeef' (see `allsource case list`)"
    created: Any = as_json(cli("case", "new", "Case", "--json"))
    case = created["id"]
    cli("case", "hypothesis", case, "H")
    cli("case", "evidence", case, "--text", "note")
    proc = cli("case", "rate", case, "E1", "H1", "maybe", check=2)
    assert proc.stderr.strip() == "error: unknown rating 'maybe': use CC, C, N, I or II"
    proc = cli("case", "rate", case, "E1", "H7", "C", check=2)
    assert "no hypothesis 'H7'" in proc.stderr
    proc = cli("case", "evidence", case, "--document", "nope", check=2)
    assert proc.stderr.strip() == "error: no document 'nope'"
    assert "add hypotheses and evidence" not in cli("case", "show", case).stdout
