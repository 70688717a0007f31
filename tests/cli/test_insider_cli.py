"""``allsource insider scan`` over an audit table holding a small office's habits and one
bulk read of a rarely used compartment: the alert is printed at 80 columns, explained, and
raised once (the operator's ``alerts list`` shows it; a second scan adds nothing)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from allsource.assess.access_events import audit_events
from allsource.store import schema as t
from tests.assess.test_insider import PLANT, _at, _office, _reads
from tests.cli.conftest import Run, as_json


def _seed(tmp_path: Path) -> None:
    events = sorted(_office() + _reads("alice", PLANT, 300, comp="humint"), key=lambda e: e.at)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    audit_events.create(engine, checkfirst=True)
    with engine.begin() as conn:
        # after the events `init` recorded (the chain is not the point here: the detector is)
        first = conn.execute(sa.select(sa.func.coalesce(sa.func.max(audit_events.c.seq), 0))
                             ).scalar_one() + 1
        conn.execute(audit_events.insert(), [
            {"seq": first + i, "at": e.at.replace(tzinfo=None), "actor": e.actor,
             "action": e.action, "target": e.target, "tlp": e.tlp,
             "classification": e.classification,
             "compartments": ",".join(sorted(e.compartments)), "count": e.count,
             "detail": {}, "prev_hash": "", "hash": ""}
            for i, e in enumerate(events)])
        # and the chain head after them, so the CLI's own events append behind
        conn.execute(t.audit_head.update().values(seq=first + len(events) - 1, hash=""))
    engine.dispose()


def test_scan_prints_and_raises_once(cli: Run, tmp_path: Path) -> None:
    cli("init")
    _seed(tmp_path)
    since, until = _at(PLANT - 3, 0).date().isoformat(), _at(PLANT + 21, 0).date().isoformat()
    out = cli("insider", "scan", "--since", since, "--until", until).stdout
    lines = out.splitlines()
    assert lines[0].startswith("1 insider-risk alert(s)")
    assert all(len(line) <= 80 for line in lines), out
    assert "alice" in out and "HIGH" in out and "TLP:RED" in out and "insider-risk" in out
    assert "humint" in out and "usual 0/day" in out
    alerts = as_json(cli("alerts", "list", "--kind", "insider", "--json"))
    assert isinstance(alerts, list) and len(alerts) == 1
    assert alerts[0]["marking"]["tlp"] == "TLP:RED"
    assert "insider-risk" in alerts[0]["marking"]["compartments"]
    again = as_json(cli("insider", "scan", "--since", since, "--until", until, "--json"))
    assert isinstance(again, dict) and again["alerts"][0]["alert_id"] == alerts[0]["id"]
    assert len(as_json(cli("alerts", "list", "--kind", "insider", "--json"))) == 1  # type: ignore[arg-type]


def test_scan_without_audit_events_says_so(cli: Run, tmp_path: Path) -> None:
    cli("init")
    if not sa.inspect(sa.create_engine(f"sqlite:///{tmp_path / 'cli.db'}")).has_table(
            "audit_events"):
        missing = cli("insider", "scan", check=2)
        assert "no audit_events table" in missing.stderr
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    audit_events.create(engine, checkfirst=True)
    engine.dispose()
    out = cli("insider", "scan", "--since", "30d", "--no-raise").stdout
    assert out.startswith("0 insider-risk alert(s)") and "0 access events" in out
    bad = cli("insider", "scan", "--since", "nonsense", check=2)
    assert "cannot read date" in bad.stderr
