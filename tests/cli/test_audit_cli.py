"""``allsource audit``: init makes the key, user and token commands are permission events,
verify exits 1 naming the first bad event, export writes a signed head that anchors a later
verify, and the log fits 80 columns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson

from allsource.store.audit import checkpoint_message
from allsource.store.audit_keys import signature_ok
from tests.cli.conftest import Run, as_json


def test_audit_trail_from_the_command_line(cli: Run, tmp_path: Path) -> None:
    cli("init")
    key = tmp_path / "allsource-audit.key"
    assert key.stat().st_mode & 0o777 == 0o600
    cli("user", "add", "alice", "--role", "reader")
    cli("token", "create", "alice")
    events = as_json(cli("audit", "log", "--json"))
    assert isinstance(events, list)
    assert [(e["action"], e["target"]) for e in reversed(events)][-2:] == [
        ("permission", "user add alice"), ("permission", "token create alice")]
    assert all(e["actor"].startswith("cli:") for e in events)

    report = as_json(cli("audit", "verify", "--json"))
    assert isinstance(report, dict) and report["ok"] is True

    cli("audit", "export", "--out", "head.json", "--events", "events.jsonl")
    head = orjson.loads((tmp_path / "head.json").read_bytes())
    from datetime import datetime

    assert signature_ok(head["public_key"], head["signature"], checkpoint_message(
        head["seq"], head["hash"], datetime.fromisoformat(head["at"])))
    lines = (tmp_path / "events.jsonl").read_bytes().splitlines()
    assert len(lines) == head["seq"] and orjson.loads(lines[-1])["action"] == "export"
    cli("audit", "verify", "--anchor", "head.json")

    lines_80 = cli("audit", "log").stdout.splitlines()
    assert len(lines_80) == head["seq"] and all(len(line) <= 80 for line in lines_80)

    with sqlite3.connect(tmp_path / "cli.db") as db:
        db.execute("UPDATE audit_events SET target = 'user add mallory' WHERE seq = 3")
    broken = cli("audit", "verify", check=1)
    assert "seq 3" in broken.stderr and "edited" in broken.stderr
    broken = as_json(cli("audit", "verify", "--json", check=1))
    assert isinstance(broken, dict) and broken["problem"]["seq"] == 3


def test_a_cut_tail_fails_against_the_exported_anchor(cli: Run, tmp_path: Path) -> None:
    cli("init")
    cli("user", "add", "bob")
    cli("audit", "export", "--out", "head.json")
    seq = orjson.loads((tmp_path / "head.json").read_bytes())["seq"]
    with sqlite3.connect(tmp_path / "cli.db") as db:
        db.execute("DELETE FROM audit_events WHERE seq = ?", (seq,))
        db.execute("DELETE FROM audit_checkpoints WHERE seq = ?", (seq,))
        db.execute("UPDATE audit_head SET seq = seq - 1, hash = (SELECT hash FROM "
                   "audit_events WHERE seq = ?)", (seq - 1,))
    cli("audit", "verify")  # without the anchor the cut is invisible: why export exists
    broken = cli("audit", "verify", "--anchor", "head.json", check=1)
    assert f"seq {seq}" in broken.stderr


def test_keygen_refuses_to_overwrite_the_key(cli: Run, tmp_path: Path) -> None:
    made = cli("audit", "keygen")
    assert "public key" in made.stdout
    again = cli("audit", "keygen", check=2)
    assert "never overwritten" in again.stderr


def test_cli_searches_and_reads_leave_events(cli: Run, tmp_path: Path) -> None:
    cli("init")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "r.txt").write_text("Wiper staged through a contractor account.\n")
    cli("ingest", str(tmp_path / "in"), "--tlp", "amber")
    hits = as_json(cli("search", "contractor", "--json"))
    assert isinstance(hits, dict) and hits["total"] == 1
    doc = hits["hits"][0]["id"]
    cli("show", doc)
    cli("show", "no-such-id", check=2)  # nothing read, nothing recorded
    events = as_json(cli("audit", "log", "--json"))
    assert isinstance(events, list)
    got = [(e["action"], e["target"], e["count"], e["tlp"]) for e in reversed(events)
           if e["action"] in ("search", "read")]
    import hashlib

    digest = hashlib.sha256(b"contractor").hexdigest()
    assert got == [("search", "q:" + digest[:16], 1, 0), ("read", doc, 1, 2)]
    assert "contractor" not in repr(events)
    assert as_json(cli("audit", "verify", "--json"))["ok"] is True  # type: ignore[index]
