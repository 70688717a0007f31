"""``extract`` and ``show`` at 80 columns: hashes, URLs and ids are printed whole, and the
stage notes are lines, not dicts."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Term

SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
TEXT = ("APT28 (Fancy Bear) used X-Agent against Ukraine power grid operators in Kyiv. "
        f"The dropper had SHA256 {SHA256} and called hxxp://evil[.]example.com/a/long/path.php."
        " CVE-2023-23397 was exploited.")


def test_extract_keeps_values_whole_at_80_columns(term: Term, tmp_path: Path) -> None:
    sample = tmp_path / "report.txt"
    sample.write_text(TEXT, encoding="utf-8")
    out = term("extract", str(sample), "--stages", "normalize,observables,entities").out
    lines = out.splitlines()
    assert f"  sha256  {SHA256}" in lines
    assert "  url  http://evil.example.com/a/long/path.php" in lines
    assert "{'" not in out and "…" not in out
    assert any(line.startswith("normalize") and "language en ·" in line for line in lines)
    # why a threat name was accepted, under its name
    assert "    why: distinctive name" in lines


def test_show_document_ids_whole_at_80_columns(term: Term, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "r.txt").write_text(TEXT, encoding="utf-8")
    term("source", "add", "reports", "files", str(folder))
    term("collect")
    term("process", "--stage", "observables,entities", check=None)
    [doc_id] = term("search", "dropper", "--json").out.split('"id": "')[1:2]
    doc_id = doc_id.split('"')[0]
    out = term("show", doc_id).out
    lines = out.splitlines()
    assert f"id {doc_id}" in lines
    assert "{'" not in out
    # each object's full id on a line of its own, and the hash whole on its head line
    ids = [line.split()[-1] for line in lines if line.startswith("    id ")]
    assert ids and all("--" in i and len(i.split("--")[1]) == 36 for i in ids)
    assert any(SHA256 in line for line in lines if line.startswith("  "))
