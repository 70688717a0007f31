"""``allsource alerts …`` on a SQLite store shared with the Python API: listing, triage with
its audit trail, one-line errors, and ``deliver`` to a real local webhook receiver configured
in ``allsource.toml``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
from allsource.config import load_settings
from allsource.store import open_store, users
from tests.cli.conftest import Run, Term, as_json


@pytest.fixture
def alert_ids(tmp_path: Path) -> list[str]:
    """Two alerts raised through the Python API on the store the CLI uses."""
    store = open_store(load_settings(database_url=f"sqlite:///{tmp_path / 'cli.db'}",
                                     blob_dir=tmp_path / "blobs"))
    try:
        users.add_user(store, "bob", "analyst")  # alerts go to users who may triage
        return raise_alerts(store, [
            AlertDraft(kind="watchlist", severity=Severity.HIGH, title="APT28 named in report",
                       group_key="watchlist:apt28", details={"term": "APT28"}),
            AlertDraft(kind="warning", severity=Severity.MEDIUM, title="Surge in ransomware",
                       group_key="warning:ransomware")])
    finally:
        store.close()


def _short(alert_id: str) -> str:
    return alert_id.rsplit("--", 1)[1][:8]


def test_list_and_triage(cli: Run, alert_ids: list[str]) -> None:
    watch, warn = alert_ids
    listed = cli("alerts", "list").stdout
    assert "2 alert(s)" in listed and _short(watch) in listed and "APT28 named" in listed
    rows = as_json(cli("alerts", "list", "--json"))
    assert [r["id"] for r in rows] == [watch, warn]  # type: ignore[index]
    assert [r["id"] for r in as_json(cli("alerts", "list", "--severity", "high", "--json")
                                     )] == [watch]  # type: ignore[union-attr]
    assert [r["id"] for r in as_json(cli("alerts", "list", "--kind", "warning", "--json")
                                     )] == [warn]  # type: ignore[union-attr]

    out = cli("alerts", "ack", _short(watch), _short(warn), "--comment", "looking",
              "--analyst", "ana").stdout
    assert out.count("acknowledged") >= 2
    cli("alerts", "assign", _short(watch), "bob", "--analyst", "ana")
    assert [r["id"] for r in as_json(cli("alerts", "list", "--assignee", "bob", "--json")
                                     )] == [watch]  # type: ignore[union-attr]
    cli("alerts", "close", watch, "-m", "false positive", "--analyst", "bob")
    assert [r["id"] for r in as_json(cli("alerts", "list", "--json"))] == [warn]  # type: ignore[union-attr]
    closed = as_json(cli("alerts", "list", "--status", "closed", "--json"))
    assert [r["status"] for r in closed] == ["closed"]  # type: ignore[union-attr]

    shown = as_json(cli("alerts", "show", _short(watch), "--json"))
    assert [(e["action"], e["actor"], e["comment"]) for e in shown["events"]] == [  # type: ignore[index]
        ("raised", "allsource", "APT28 named in report"), ("acknowledged", "ana", "looking"),
        ("assigned", "ana", ""), ("closed", "bob", "false positive")]
    assert shown["assignee"] == "bob" and shown["details"] == {"term": "APT28"}  # type: ignore[index]
    text = cli("alerts", "show", _short(watch)).stdout
    assert "audit trail" in text and "false positive" in text

    cli("alerts", "reopen", _short(watch), "--analyst", "carol")
    assert as_json(cli("alerts", "show", watch, "--json"))["status"] == "open"  # type: ignore[index]
    assert len(as_json(cli("alerts", "list", "--status", "all", "--json"))) == 2  # type: ignore[arg-type]


def test_errors_are_one_line(cli: Run, alert_ids: list[str]) -> None:
    proc = cli("alerts", "ack", "deadbeef00", check=2)
    assert proc.stderr.strip() == ("error: no alert 'deadbeef00' (see `allsource alerts list "
                                   "--status all`)")
    # one unknown id among several changes nothing
    cli("alerts", "close", _short(alert_ids[0]), "nope-nope", check=2)
    assert len(as_json(cli("alerts", "list", "--json"))) == 2  # type: ignore[arg-type]
    proc = cli("alerts", "list", "--severity", "urgent", check=2)
    assert "unknown severity 'urgent'" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert "unknown --status" in cli("alerts", "list", "--status", "new", check=2).stderr
    cli("alerts", "close", _short(alert_ids[0]))
    assert "reopen it first" in cli("alerts", "ack", _short(alert_ids[0]), check=2).stderr


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, object]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    received: list[dict[str, object]] = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", received
    server.shutdown()
    server.server_close()


def test_deliver_sends_to_the_configured_webhook(
        cli: Run, alert_ids: list[str], tmp_path: Path,
        hook: tuple[str, list[dict[str, object]]]) -> None:
    url, received = hook
    out = cli("alerts", "deliver").stdout
    assert "2 alert notification(s) wait for a channel" in out
    (tmp_path / "allsource.toml").write_text(
        f'[allsource]\nalert_webhooks = ["{url}"]\nalert_webhook_allow_private = true\n')
    report = as_json(cli("alerts", "deliver", "--json"))
    assert report["sent"] == 2 and report["pending"] == 0  # type: ignore[index]
    assert {r["alert"]["id"] for r in received} == set(alert_ids)  # type: ignore[index]
    assert "0 sent" in cli("alerts", "deliver", "--watch", "--rounds", "1").stdout
    shown = as_json(cli("alerts", "show", alert_ids[0], "--json"))
    assert [d["status"] for d in shown["deliveries"]] == ["sent"]  # type: ignore[index]


def test_deliver_fails_with_exit_1_when_the_receiver_is_down(
        cli: Run, alert_ids: list[str], tmp_path: Path) -> None:
    (tmp_path / "allsource.toml").write_text(
        '[allsource]\nalert_webhooks = ["http://127.0.0.1:9/down"]\n'
        "alert_webhook_allow_private = true\nalert_timeout = 2\n")
    proc = cli("alerts", "deliver", check=1)
    assert "2 to retry" in proc.stdout and "127.0.0.1:9" in proc.stdout
    shown = as_json(cli("alerts", "show", alert_ids[0], "--json"))
    [d] = shown["deliveries"]  # type: ignore[index]
    assert d["status"] == "pending" and d["attempts"] == 1 and d["last_error"]


def _long_title_alerts(tmp_path: Path) -> list[str]:
    store = open_store(load_settings(database_url=f"sqlite:///{tmp_path / 'cli.db'}",
                                     blob_dir=tmp_path / "blobs"))
    try:
        return raise_alerts(store, [
            AlertDraft(kind="watchlist", severity=Severity.HIGH,
                       title="APT28 named in a report on the Ukrainian power grid",
                       group_key="watchlist:apt28", details={"term": "APT28", "hits": 2}),
            AlertDraft(kind="warning", severity=Severity.MEDIUM,
                       title="Surge in ransomware reporting", group_key="warning:ransomware")])
    finally:
        store.close()


def test_list_keeps_the_title_at_80_columns(term: Term, tmp_path: Path) -> None:
    watch, warn = _long_title_alerts(tmp_path)
    out = term("alerts", "list").out
    assert all(len(line) <= 80 for line in out.splitlines())
    text = " ".join(" ".join(line.strip("│ ").split()) for line in out.splitlines())
    for words in ("APT28 named in a report", "Surge in ransomware"):
        assert all(w in text for w in words.split())
    header = next(line for line in out.splitlines() if "severity" in line)
    assert [c.strip() for c in header.strip("┃").split("┃")] == [
        "id", "severity", "status", "title", "updated"]
    assert "left out at this width: --wide" in text
    # at 120 columns every column fits, none is cut
    wide = term("alerts", "list", columns=120).out
    assert all(len(line) <= 120 for line in wide.splitlines()) and "…" not in wide
    header = next(line for line in wide.splitlines() if "severity" in line)
    assert [c.strip() for c in header.strip("┃").split("┃")] == [
        "id", "severity", "status", "kind", "title", "hits", "docs", "assignee", "tlp",
        "updated"]
    assert "left out" not in wide
    # --ids: the full ids, one per line; --wide: every column on a narrow terminal
    assert term("alerts", "list", "--ids").out.splitlines() == [watch, warn]
    assert "assignee" in term("alerts", "list", "--wide").out


def test_show_at_80_columns_has_whole_ids_and_readable_details(term: Term,
                                                               tmp_path: Path) -> None:
    watch, _ = _long_title_alerts(tmp_path)
    comment = "checked the report against the partner feed before closing the loop"
    term("alerts", "ack", _short(watch), "--comment", comment, "--analyst", "ana")
    out = term("alerts", "show", _short(watch)).out
    lines = out.splitlines()
    assert f"id {watch}" in lines
    assert "details: term APT28 · hits 2" in lines
    assert "{'" not in out
    # the audit trail fits: who did what, the comment wrapped whole, the rest named
    trail = out.split("audit trail")[1]
    assert all(len(line) <= 80 for line in trail.splitlines()) and "…" not in trail
    header = next(line for line in trail.splitlines() if "action" in line)
    assert [c.strip() for c in header.strip("┃").split("┃")] == [
        "when", "action", "by", "comment"]
    words = " ".join(" ".join(line.strip("│ ").split("│")[-1].split())
                     for line in trail.splitlines())
    assert all(w in words for w in comment.split())
    assert "status, assignee left out at this width: --wide" in " ".join(trail.split())
    wide = term("alerts", "show", _short(watch), "--wide").out.split("audit trail")[1]
    assert "assignee" in wide
