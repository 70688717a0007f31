"""Insider-risk detection on small hand-built access logs: each planted pattern is found and
explained, stable habits raise nothing, one episode gives one alert, new users borrow their
peers' baseline, and an insider alert is readable by admins only (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from allsource.assess import alerts as al
from allsource.assess.access_events import AccessEvent, audit_events, read_events
from allsource.assess.delivery import deliver_pending
from allsource.assess.insider import InsiderParams, detect, detect_threshold
from allsource.assess.insider_run import INSIDER_COMPARTMENT, alert_marking, scan
from allsource.config import Settings
from allsource.model.markings import TLP, Audience, Classification, can_release
from allsource.store import schema as t
from allsource.store.sql import SqlStore

START = date(2026, 1, 5)  # a Monday
PLANT = 84                # day offset of the planted departure (a Monday, 12 weeks in)
TEAM = ("alice", "bob", "carol", "dave")
READER = Audience(max_tlp=TLP.GREEN, clearance=Classification.UNCLASSIFIED)
ANALYST = Audience(max_tlp=TLP.AMBER_STRICT, clearance=Classification.TOP_SECRET,
                   compartments=frozenset({"ops", "humint"}))


def _at(day: int, hour: float) -> datetime:
    return datetime(START.year, START.month, START.day, tzinfo=UTC) + timedelta(days=day,
                                                                               hours=hour)


def _habits(user: str, days: range, rnd: random.Random, *, reads: int = 30) -> list[AccessEvent]:
    """Office habits: weekdays 9-17h UTC, ~``reads`` objects a day (mostly in ``ops``, now and
    then one object in ``humint``), 5 searches, an export of 1-3 objects most days."""
    out: list[AccessEvent] = []
    for day in days:
        if (START + timedelta(days=day)).weekday() >= 5:
            continue
        left = int(reads * rnd.uniform(0.8, 1.2))
        while left > 0:
            n = min(left, rnd.choice((1, 1, 1, 2, 5)))
            left -= n
            comp = "humint" if rnd.random() < 0.01 else "ops"
            out.append(AccessEvent(_at(day, rnd.uniform(9, 17)), user, "read",
                                   f"doc-{rnd.getrandbits(24):x}", rnd.choice((1, 2)), 1,
                                   frozenset({comp}), n))
        for _ in range(5):
            out.append(AccessEvent(_at(day, rnd.uniform(9, 17)), user, "search", "q", 0, 0,
                                   frozenset(), rnd.randint(0, 30)))
        if rnd.random() < 0.7:
            out.append(AccessEvent(_at(day, rnd.uniform(9, 17)), user, "export", "x", 1, 1,
                                   frozenset({"ops"}), rnd.randint(1, 3)))
    return out


def _office(days: int = PLANT + 21, seed: int = 7) -> list[AccessEvent]:
    rnd = random.Random(seed)
    return [e for user in TEAM for e in _habits(user, range(days), rnd)]


def _reads(user: str, day: int, total: int, *, comp: str = "ops", hour: float = 11,
           tlp: int = 1, cls: int = 1, action: str = "read") -> list[AccessEvent]:
    out = []
    for i in range(0, total, 10):
        out.append(AccessEvent(_at(day, hour + i / total), user, action, f"{comp}-{day}-{i}",
                               tlp, cls, frozenset({comp}), min(10, total - i)))
    return out


def _alice(alerts: list[object]) -> list[object]:
    return [a for a in alerts if getattr(a, "actor", None) == "alice"]


def test_stable_habits_raise_nothing() -> None:
    assert detect(_office()) == []


def test_bulk_reads_of_a_rarely_used_compartment() -> None:
    events = _office() + _reads("alice", PLANT, 300, comp="humint")
    alerts = detect(events)
    assert [(a.actor, a.day) for a in alerts] == [("alice", START + timedelta(days=PLANT))]
    alert = alerts[0]
    assert "rare_compartment" in alert.features
    rare = next(d for d in alert.departures if d.feature == "rare_compartment")
    assert rare.how == "spike" and rare.observed == 300 and rare.what == ("humint",)
    assert rare.usual < 1 and rare.active_days >= 30
    assert "humint" in rare.explain() and "usual 0/day" in rare.explain()
    assert "humint" in alert.compartments


def test_export_burst() -> None:
    events = _office() + _reads("alice", PLANT, 80, action="export")
    alerts = detect(events)
    assert [(a.actor, a.day, a.features) for a in alerts] == [
        ("alice", START + timedelta(days=PLANT), ("exports",))]
    assert alerts[0].severity == "high"
    assert "exported" in alerts[0].explain()[0]


def test_slow_and_low_over_weeks() -> None:
    """Nine extra humint reads a working day: no day is a spike, the drip is caught."""
    extra = [e for day in range(PLANT, PLANT + 28)
             if (START + timedelta(days=day)).weekday() < 5
             for e in _reads("alice", day, 9, comp="humint")]
    alerts = detect(_office(PLANT + 35) + extra)
    assert [a.actor for a in alerts] == ["alice"]
    found = alerts[0].departures[0]
    assert found.feature == "rare_compartment" and found.how == "sustained"
    assert PLANT < (alerts[0].day - START).days <= PLANT + 10
    assert found.days >= 2 and "sustained" in found.explain()
    # the fixed-threshold rule sees nothing: no day has many reads or exports
    assert detect_threshold(_office(PLANT + 35) + extra) == []


def test_a_change_of_work_is_not_an_insider() -> None:
    """From PLANT on, alice works in humint *instead of* ops (a new job): no alert; the same
    humint reading on top of her ops work is (test_slow_and_low_over_weeks)."""
    rnd = random.Random(11)
    before = [e for e in _office(PLANT + 35) if e.actor != "alice" or e.at < _at(PLANT, 0)]
    after = [replace(e, compartments=frozenset({"humint"})) if e.compartments else e
             for e in _habits("alice", range(PLANT, PLANT + 35), rnd)]
    assert detect(before + after) == []


def test_reads_at_unusual_hours() -> None:
    events = _office() + _reads("alice", PLANT + 2, 40, hour=2.0)
    alerts = detect(events)
    assert [(a.actor, a.features) for a in alerts] == [("alice", ("off_hours",))]
    assert alerts[0].departures[0].what == ("weekday 02h UTC",)


def test_sensitivity_jump() -> None:
    extra = [e for day in range(PLANT, PLANT + 5)
             for e in _reads("alice", day, 20, tlp=int(TLP.RED), cls=int(Classification.SECRET))]
    alerts = detect(_office() + extra)
    assert [(a.actor, a.features) for a in alerts] == [("alice", ("above_ceiling",))]
    assert alerts[0].departures[0].what == ("SECRET/TLP:RED",)
    assert alerts[0].tlp == TLP.RED and alerts[0].classification == Classification.SECRET


def test_one_episode_one_alert_and_cooldown() -> None:
    p = InsiderParams()
    bursts = [e for d in (PLANT, PLANT + 2, PLANT + 4)  # one episode of three export bursts
              for e in _reads("alice", d, 80, action="export")]
    later = PLANT + 4 + p.quiet_days + p.cooldown_days  # a new one, after the cooldown
    events = _office(later + 14) + bursts + _reads("alice", later, 300, comp="humint")
    alerts = detect(events)
    assert [(a.day - START).days for a in alerts] == [PLANT, later]
    assert alerts[0].features == ("exports",) and "rare_compartment" in alerts[1].features
    assert alerts[0].anomalous_days == 3
    assert alerts[0].last_day == START + timedelta(days=PLANT + 4)
    assert "3 anomalous days" in alerts[0].explain()[-1]
    # after a quiet spell but within the cooldown, a new departure raises nothing
    soon = PLANT + 4 + p.quiet_days + 2
    events = _office(soon + 14) + bursts + _reads("alice", soon, 300, comp="humint")
    assert [(a.day - START).days for a in detect(events)] == [PLANT]


def test_a_new_user_is_judged_against_their_peers() -> None:
    rnd = random.Random(3)
    newcomer = _habits("erin", range(PLANT - 2, PLANT + 7), rnd)
    assert detect(_office() + newcomer) == []
    alerts = detect(_office() + newcomer + _reads("erin", PLANT + 3, 400))
    assert [a.actor for a in alerts] == ["erin"]
    assert alerts[0].departures[0].active_days < 10
    assert "peer prior" in alerts[0].departures[0].explain()


def test_start_hides_earlier_episodes_but_keeps_their_cooldown() -> None:
    events = _office() + _reads("alice", PLANT, 80, action="export") \
        + _reads("alice", PLANT + 10, 80, action="export")
    assert detect(events, start=START + timedelta(days=PLANT + 1)) == []
    assert len(detect(events)) == 1


def test_bad_events_do_not_stop_detection() -> None:
    odd = [AccessEvent(_at(PLANT, 10), "alice", "login", "", 0, 0, frozenset(), 5),
           AccessEvent(_at(PLANT, 10), "system", "read", "", 0, 0, frozenset(), 10 ** 6),
           AccessEvent(_at(PLANT, 10), "bob", "read", "", 0, 0, frozenset(), -40),
           AccessEvent(_at(PLANT, 10), "bob", "mystery", "", 9, 9, frozenset(), 3)]
    assert detect(_office() + odd) == []
    assert AccessEvent.from_row({"at": None, "actor": "x"}) is None
    row = AccessEvent.from_row({"at": datetime(2026, 1, 1), "actor": "x", "action": "read",
                                "tlp": 99, "classification": "?", "count": -3,
                                "compartments": "a,,b "})
    assert row is not None and (row.tlp, row.classification, row.count) == (4, 0, 0)
    assert row.compartments == frozenset({"a", "b"}) and row.at.tzinfo is UTC


# --- the store: reading the audit table, raising admin-only alerts ---------------------------

def _write_audit(store: SqlStore, events: list[AccessEvent]) -> None:
    audit_events.create(store.engine, checkfirst=True)
    rows = [{"seq": i + 1, "at": e.at.replace(tzinfo=None), "actor": e.actor,
             "action": e.action, "target": e.target, "tlp": e.tlp,
             "classification": e.classification,
             "compartments": ",".join(sorted(e.compartments)), "count": e.count,
             "detail": {}, "prev_hash": "", "hash": ""}
            for i, e in enumerate(sorted(events, key=lambda e: e.at))]
    rows.append({**rows[-1], "seq": len(rows) + 1, "action": "login", "count": 1})
    with store.engine.begin() as conn:
        conn.execute(audit_events.insert(), rows)


def test_read_events_pages_in_order(store: SqlStore) -> None:
    events = [*_reads("alice", 3, 95),
              AccessEvent(_at(4, 9), "bob", "search", "q", 0, 0, frozenset(), 7)]
    _write_audit(store, events)
    got = list(read_events(store, page=3))
    assert [(e.actor, e.at, e.count) for e in got] == [
        (e.actor, e.at, e.count) for e in sorted(events, key=lambda e: e.at)]
    assert [e.actor for e in read_events(store, since=_at(4, 0))] == ["bob"]
    assert list(read_events(store, until=_at(3, 0))) == []


def test_scan_raises_admin_only_alerts(store: SqlStore) -> None:
    events = _office() + _reads("alice", PLANT, 300, comp="humint")
    _write_audit(store, events)
    since = _at(PLANT - 3, 0)
    report = scan(store, since, _at(PLANT + 21, 0))
    assert [a.actor for a in report.alerts] == ["alice"] and len(report.alert_ids) == 1
    marking = alert_marking(report.alerts[0])
    assert marking.tlp == TLP.RED and INSIDER_COMPARTMENT in marking.compartments
    assert {"humint", "ops"} <= marking.compartments

    owner = al.list_alerts(store, kind="insider")
    assert [a.id for a in owner] == report.alert_ids
    assert "alice" in owner[0].title and owner[0].details["explanation"]
    admin = Audience(max_tlp=TLP.RED, clearance=Classification.TOP_SECRET,
                     compartments=frozenset({INSIDER_COMPARTMENT, "humint", "ops"}))
    assert [a.id for a in al.list_alerts(store, audience=admin)] == report.alert_ids
    for who in (READER, ANALYST,
                Audience(max_tlp=TLP.RED, clearance=Classification.TOP_SECRET,
                         compartments=frozenset({"humint", "ops"}))):
        assert al.list_alerts(store, audience=who, status=None) == []
        assert al.get_alert(store, report.alert_ids[0], audience=who) is None
        assert not can_release(owner[0].marking, who)

    with store.engine.connect() as conn:
        runs = conn.execute(sa.select(t.runs).where(t.runs.c.plugin == "insider")).all()
    assert [(r.status, r.counts["alerts"], r.counts["users"]) for r in runs] == [
        ("ok", 1, len(TEAM))]
    again = scan(store, since, _at(PLANT + 21, 0))
    assert again.alert_ids == report.alert_ids
    assert al.list_alerts(store, kind="insider")[0].occurrences == 1


def test_scan_without_departures_raises_nothing(store: SqlStore) -> None:
    _write_audit(store, _office())
    report = scan(store, _at(PLANT - 7, 0), _at(PLANT + 21, 0))
    assert report.alerts == [] and report.users == len(TEAM)
    assert al.list_alerts(store, kind="insider", status=None) == []
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_events)
                            ).scalar_one() > 1000


def test_scan_refuses_an_empty_period(store: SqlStore) -> None:
    from allsource.errors import InputError

    with pytest.raises(InputError):
        scan(store, _at(5, 0), _at(4, 0))


def test_alert_channels_get_a_notice_that_names_no_one(store: SqlStore,
                                                       settings: Settings) -> None:
    _write_audit(store, _office() + _reads("alice", PLANT, 300, comp="humint"))
    report = scan(store, _at(PLANT - 3, 0), _at(PLANT + 21, 0))
    bodies: list[bytes] = []

    def hook(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(204)

    cfg = settings.model_copy(update={"database_url": store.url,
                                      "alert_webhooks": ["http://127.0.0.1:9/hook"],
                                      "alert_webhook_allow_private": True,
                                      "alert_max_tlp": "TLP:RED"})
    sent = deliver_pending(store, cfg, transport=httpx.MockTransport(hook))
    assert sent.sent == 1 and len(bodies) == 1
    body = bodies[0].decode()
    assert report.alert_ids[0] in body and "insider" in body
    assert "alice" not in body and "humint" not in body and "doc-" not in body


def test_work_is_bounded_by_user_days_not_by_users_times_weeks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """2,000 one-off actors over half a year (e.g. forged names): each is profiled only in
    the weeks whose window or days hold their one active day — counted, not timed."""
    from allsource.assess import insider

    calls = {"raw": 0, "days": 0}
    real = insider._raw

    def counting(days: Any, ordered: list[int], lo: int, hi: int) -> Any:
        calls["raw"] += 1
        raw = real(days, ordered, lo, hi)
        calls["days"] += len(raw.active)
        return raw

    monkeypatch.setattr(insider, "_raw", counting)
    rnd = random.Random(5)
    events = [AccessEvent(_at(rnd.randrange(182), 10), f"forged-{i}", "read", "", 0, 0,
                          frozenset(), 1) for i in range(2_000)]
    assert detect(events) == []
    p = InsiderParams()
    per_user = p.window_days // p.refresh_days + 2
    assert 0 < calls["raw"] <= per_user * len(events)
    assert calls["days"] <= per_user * len(events)


def test_the_store_schema_table_is_used_once_it_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    from allsource.assess import access_events as ae
    from allsource.store import schema

    shared = ae._local_table()
    monkeypatch.setattr(schema, "audit_events", shared, raising=False)
    assert ae._table() is shared
    monkeypatch.delattr(schema, "audit_events")
    assert ae._table() is not shared and ae._table().name == "audit_events"
    assert {c.name for c in ae.audit_events.c} >= {
        "seq", "at", "actor", "action", "target", "tlp", "classification", "compartments",
        "count", "detail", "prev_hash", "hash"}
