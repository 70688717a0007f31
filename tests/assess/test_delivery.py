"""Alert delivery against real local receivers, on SQLite and PostgreSQL: an HTTP webhook
receiver (``http.server`` on 127.0.0.1) that refuses connections, then answers 500, then
recovers; a real SMTP server (aiosmtpd); the outbox surviving a store restart; backoff and
dead-lettering; channel settings read from the environment and ``allsource.toml``."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from allsource.assess import alerts as al
from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
from allsource.assess.delivery import (
    backoff_seconds,
    deliver_pending,
    list_deliveries,
    requeue_dead,
)
from allsource.config import Settings, load_settings
from allsource.errors import ConfigError
from allsource.model.markings import TLP, Marking
from allsource.store import open_store
from allsource.store import schema as t
from allsource.store.sql import SqlStore

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """A webhook receiver. ``plan`` gives the status of each request in turn (then 200);
    a ``(seconds, status)`` item answers only after that delay."""

    def __init__(self, port: int = 0, plan: list[int | tuple[float, int]] | None = None,
                 ) -> None:
        self.plan = list(plan or [])
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    step = receiver.plan.pop(0) if receiver.plan else 200
                    delay, status = step if isinstance(step, tuple) else (0.0, step)
                    receiver.requests.append({"key": self.headers.get("Idempotency-Key"),
                                              "headers": dict(self.headers), "status": status,
                                              "raw": body, "body": json.loads(body)})
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except BrokenPipeError:  # the client gave up waiting
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alerts"

    def accepted(self) -> Counter[str]:
        """How often each delivery key was answered with a 2xx."""
        return Counter(r["key"] for r in self.requests if 200 <= r["status"] < 300)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for r in started:
        r.stop()


def _settings(settings: Settings, store: SqlStore, **kw: object) -> Settings:
    base: dict[str, object] = {"database_url": store.url, "alert_webhook_allow_private": True,
                               "alert_retry_base_seconds": 60, "alert_max_attempts": 5,
                               "alert_timeout": 2.0}
    return settings.model_copy(update={**base, **kw})


def _raise(store: SqlStore, n: int, **kw: Any) -> list[str]:
    return raise_alerts(store, [
        AlertDraft(kind="warning", severity=Severity.HIGH, title=f"Surge {i} in ransomware",
                   group_key=f"warning:{i}", details={"z": 3.5 + i}, **kw)
        for i in range(n)], now=T0)


def test_a_failing_receiver_that_recovers_gets_everything_once(
        store: SqlStore, settings: Settings, receivers: list[Receiver]) -> None:
    port = free_port()  # nothing listens there yet: connection refused
    cfg = _settings(settings, store, alert_webhooks=[f"http://127.0.0.1:{port}/hooks/alerts"])
    alert_ids = _raise(store, 3)

    first = deliver_pending(store, cfg, now=T0)
    assert (first.queued, first.sent, first.retrying, first.pending) == (3, 0, 3, 3)
    assert all("refused" in e.lower() or "connect" in e.lower() for e in first.errors)
    rows = list_deliveries(store)
    assert {(d.status, d.attempts) for d in rows} == {("pending", 1)}
    assert {d.next_attempt_at for d in rows} == {T0 + timedelta(seconds=60)}

    # the worker restarts: the outbox is in the store, nothing is lost
    store.close()
    store = open_store(cfg)
    try:
        early = deliver_pending(store, cfg, now=T0 + timedelta(seconds=30))
        assert (early.queued, early.sent, early.retrying, early.pending) == (0, 0, 0, 3)

        # the receiver comes up, but answers 500 twice before it works
        receiver = Receiver(port, plan=[500, 500])
        receivers.append(receiver)
        second = deliver_pending(store, cfg, now=T0 + timedelta(seconds=60))
        assert (second.sent, second.retrying, second.dead) == (1, 2, 0)
        assert sum("HTTP 500" in e for e in second.errors) == 2
        third = deliver_pending(store, cfg, now=T0 + timedelta(seconds=60 + 120))
        assert (third.sent, third.retrying, third.pending) == (2, 0, 0)
        assert deliver_pending(store, cfg, now=T0 + timedelta(days=1)).sent == 0

        rows = list_deliveries(store)
        assert {d.status for d in rows} == {"sent"}
        assert sorted(d.attempts for d in rows) == [2, 3, 3]
        assert receiver.accepted() == Counter({d.id: 1 for d in rows})
        assert len(receiver.requests) == 5
        got = {r["body"]["alert"]["id"] for r in receiver.requests if r["status"] == 200}
        assert got == set(alert_ids)
        req = receiver.requests[-1]
        assert req["headers"]["X-Allsource-Delivery"] == req["key"] == req["body"][
            "delivery_id"]
        assert req["headers"]["X-Allsource-Event"] == "raised"
        body = req["body"]["alert"]
        assert body["title"].startswith("Surge") and body["severity"] == "high"
        assert body["tlp"] == "TLP:CLEAR" and body["status"] == "open"
    finally:
        store.close()


def test_a_lost_confirmation_is_sent_again_with_the_same_key(
        store: SqlStore, settings: Settings, receivers: list[Receiver]) -> None:
    receiver = Receiver(plan=[(1.5, 200)])  # accepts, but answers after the client gave up
    receivers.append(receiver)
    cfg = _settings(settings, store, alert_webhooks=[receiver.url], alert_timeout=0.5)
    _raise(store, 1)
    report = deliver_pending(store, cfg, now=T0)
    assert report.retrying == 1 and "timed out" in report.errors[0]
    assert deliver_pending(store, cfg, now=T0 + timedelta(minutes=1)).sent == 1
    [delivery] = list_deliveries(store)
    # at-least-once: the receiver saw it twice, under one key it can deduplicate on
    assert [r["key"] for r in receiver.requests] == [delivery.id, delivery.id]
    assert len(receiver.accepted()) == 1


def test_email_reaches_a_real_smtp_server_after_it_comes_up(
        store: SqlStore, settings: Settings) -> None:
    port = free_port()
    cfg = _settings(settings, store, alert_smtp_host="127.0.0.1", alert_smtp_port=port,
                    alert_email_from="alerts@example.org",
                    alert_email_to=["soc@example.org", "duty@example.org"])
    [alert_id] = _raise(store, 1)
    report = deliver_pending(store, cfg, now=T0)
    assert (report.queued, report.retrying) == (2, 2)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        report = deliver_pending(store, cfg, now=T0 + timedelta(minutes=5))
    finally:
        controller.stop()
    assert (report.sent, report.pending) == (2, 0)
    rows = {d.target: d for d in list_deliveries(store)}
    assert sorted(rcpt for rcpts, _ in inbox.messages for rcpt in rcpts) == [
        "duty@example.org", "soc@example.org"]
    for rcpts, msg in inbox.messages:
        delivery_id = rows[rcpts[0]].id
        assert msg["X-Allsource-Delivery"].strip() == delivery_id  # folded: it is long
        assert msg["Message-ID"] == f"<{delivery_id.rsplit('--', 1)[1]}@alerts.allsource>"
        assert msg["From"] == "alerts@example.org" and msg["To"] == rcpts[0]
        assert msg["Subject"] == ("[allsource] [TLP:CLEAR] HIGH warning alert: "
                                  "Surge 0 in ransomware")
        text = msg.get_content()
        assert alert_id in text and '"z": 3.5' in text
        assert f"allsource alerts show {alert_id}" in text


def test_after_max_attempts_a_delivery_is_dead_until_requeued(
        store: SqlStore, settings: Settings, receivers: list[Receiver]) -> None:
    receiver = Receiver(plan=[503, 503, 503])
    receivers.append(receiver)
    cfg = _settings(settings, store, alert_webhooks=[receiver.url], alert_max_attempts=3,
                    alert_retry_base_seconds=10, alert_retry_max_seconds=15)
    assert [backoff_seconds(cfg, n) for n in (1, 2, 3)] == [10, 15, 15]
    _raise(store, 1)
    when = T0
    reports = []
    for _ in range(4):
        reports.append(deliver_pending(store, cfg, now=when))
        when += timedelta(seconds=20)
    assert [(r.retrying, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    assert "dead-lettered" in reports[2].errors[0]
    [dead] = list_deliveries(store, status="dead")
    assert dead.attempts == 3 and dead.last_error == "HTTP 503"
    assert len(receiver.requests) == 3

    assert requeue_dead(store, now=when) == 1
    assert deliver_pending(store, cfg, now=when).sent == 1
    assert receiver.accepted() == Counter({dead.id: 1})


def test_channels_severity_floor_and_markings(
        store: SqlStore, settings: Settings, receivers: list[Receiver],
        monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = Receiver()
    receivers.append(receiver)
    low, red = raise_alerts(store, [
        AlertDraft(kind="watchlist", severity=Severity.LOW, title="minor", group_key="w:low"),
        AlertDraft(kind="watchlist", severity=Severity.CRITICAL, title="Secret source says X",
                   group_key="w:red", marking=Marking(tlp=TLP.RED))], now=T0)

    # no channel configured: notifications wait, nothing is marked sent
    nothing = _settings(settings, store)
    assert deliver_pending(store, nothing, now=T0).waiting == 2
    # a loopback webhook without the explicit setting is refused, and says so
    guarded = _settings(settings, store, alert_webhooks=[receiver.url],
                        alert_webhook_allow_private=False, alert_min_severity="high")
    report = deliver_pending(store, guarded, now=T0)
    assert (report.queued, report.skipped, report.retrying) == (1, 1, 1)
    assert "non-public address" in report.errors[0] and receiver.requests == []

    monkeypatch.setenv("ALERT_HOOK_KEY", "s3cret")
    allowed = guarded.model_copy(update={"alert_webhook_allow_private": True,
                                         "alert_webhook_secret_env": "ALERT_HOOK_KEY"})
    assert deliver_pending(store, allowed, now=T0 + timedelta(hours=1)).sent == 1
    [req] = receiver.requests
    alert = req["body"]["alert"]
    # TLP:RED is above what alert channels may receive: only a notice goes out
    assert alert["id"] == red and alert["severity"] == "critical" and "withheld" in alert
    assert "title" not in alert and "details" not in alert
    assert al.get_alert(store, low) is not None
    assert list_deliveries(store, alert_id=low) == []
    [d] = list_deliveries(store, alert_id=red)
    assert req["headers"]["X-Allsource-Signature"] == "sha256=" + hmac.new(
        b"s3cret", req["raw"], hashlib.sha256).hexdigest()
    assert req["key"] == d.id


def test_alert_settings_from_environment_and_config_file(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for key in ("ALLSOURCE_CONFIG", "ALLSOURCE_ALERT_WEBHOOKS", "ALLSOURCE_ALERT_EMAIL_TO",
                "ALLSOURCE_ALERT_MAX_ATTEMPTS", "ALLSOURCE_ALERT_MIN_SEVERITY"):
        monkeypatch.delenv(key, raising=False)
    (tmp_path / "allsource.toml").write_text(
        '[allsource]\nalert_webhooks = ["https://hooks.example.org/a"]\n'
        'alert_email_to = ["soc@example.org"]\nalert_smtp_host = "mail.example.org"\n'
        'alert_max_attempts = 4\nalert_min_severity = "Medium"\n')
    s = load_settings()
    assert s.alert_webhooks == ["https://hooks.example.org/a"]
    assert s.alert_email_to == ["soc@example.org"] and s.alert_smtp_host == "mail.example.org"
    assert s.alert_max_attempts == 4 and s.alert_min_severity == "medium"
    assert not s.alert_webhook_allow_private and s.alert_max_tlp == "TLP:AMBER+STRICT"
    monkeypatch.setenv("ALLSOURCE_ALERT_WEBHOOKS", '["http://10.0.0.5/x", "http://10.0.0.6/y"]')
    monkeypatch.setenv("ALLSOURCE_ALERT_WEBHOOK_ALLOW_PRIVATE", "true")
    s = load_settings()
    assert s.alert_webhooks == ["http://10.0.0.5/x", "http://10.0.0.6/y"]
    assert s.alert_webhook_allow_private
    for bad in ('["file:///etc/passwd"]', "http://not-a-json-list"):
        monkeypatch.setenv("ALLSOURCE_ALERT_WEBHOOKS", bad)
        with pytest.raises(ConfigError):
            load_settings()
    monkeypatch.delenv("ALLSOURCE_ALERT_WEBHOOKS")
    with pytest.raises(ConfigError, match="alert_max_tlp"):
        load_settings(alert_max_tlp="purple")


def test_an_encrypted_store_seals_payloads_and_sends_them_as_they_read(
        sealed_store: SqlStore, settings: Settings, receivers: list[Receiver]) -> None:
    store = sealed_store
    receiver = Receiver()
    receivers.append(receiver)
    cfg = _settings(settings, store, alert_webhooks=[receiver.url])
    quote = "the courier crossed at the old harbour"
    [alert_id] = raise_alerts(store, [AlertDraft(
        kind="watchlist", severity=Severity.HIGH, title=f"wl: courier in “{quote}”",
        group_key="watchlist:wl-1", details={"hits": [{"matched": "Courier"}]})], now=T0)
    report = deliver_pending(store, cfg, now=T0)
    assert (report.queued, report.sent) == (1, 1)
    with store.engine.connect() as conn:
        [raw] = conn.execute(sa.text("SELECT CAST(payload AS TEXT) FROM alert_deliveries")).all()
    assert "courier" not in raw[0].lower() and raw[0].startswith('"as1.')
    [request] = receiver.requests
    alert = request["body"]["alert"]
    assert alert["id"] == alert_id and alert["title"] == f"wl: courier in “{quote}”"
    assert alert["details"] == {"hits": [{"matched": "Courier"}]}
    # the body is the stored payload, opened: a retry would send the same bytes
    with store.engine.connect() as conn:
        [payload] = conn.execute(sa.select(t.alert_deliveries.c.payload)).scalars()
    assert payload == request["body"]


def _two_reports_in_one_story(store: SqlStore, lead: int) -> tuple[str, str]:
    """Two stored reports (ids in write order), in one story led by report ``lead``, so a
    watchlist's hits on both merge into one alert."""
    from allsource.model.records import Collected, Document, Source
    from allsource.model.stories import Member
    from allsource.store.stories import SqlMemberStore

    src = Source("desk", "files", "x")
    store.add_source(src)
    docs = [Document.build(kind="article", title=f"report {i}", text=f"report {i} text")
            for i in range(2)]
    store.write_batch(src, [Collected(d) for d in docs], [], None)
    ids = (docs[0].id, docs[1].id)
    leader, other = ids[lead], ids[1 - lead]
    with store.engine.begin() as conn:
        SqlMemberStore(store, conn).put({leader: Member(leader, None, 1.0),
                                         other: Member(leader, leader, 0.9)})
    return ids


def test_a_payload_counts_only_hits_the_channels_may_read(
        store: SqlStore, settings: Settings, receivers: list[Receiver]) -> None:
    """A channel is a reader too (up to ``alert_max_tlp``): of an alert's two hits, the one
    whose document was marked TLP:RED after the alert was raised is neither counted nor
    listed in what is sent."""
    receiver = Receiver()
    receivers.append(receiver)
    first, second = _two_reports_in_one_story(store, lead=0)
    [alert_id] = set(raise_alerts(store, [
        AlertDraft(kind="watchlist", severity=Severity.HIGH, title="named",
                   group_key="watchlist:w", document_id=d) for d in (first, second)], now=T0))
    with store.engine.begin() as conn:
        conn.execute(t.documents.update().where(t.documents.c.id == second)
                     .values(**Marking(tlp=TLP.RED).to_columns()))
    hooked = _settings(settings, store, alert_webhooks=[receiver.url])
    assert deliver_pending(store, hooked, now=T0).sent == 1
    [req] = receiver.requests
    alert = req["body"]["alert"]
    assert alert["id"] == alert_id and "withheld" not in alert
    assert alert["occurrences"] == 1 and alert["documents"] == [first]
    assert second not in req["raw"].decode()


def test_a_queued_payload_is_narrowed_to_the_markings_at_send_time(
        store: SqlStore, settings: Settings, receivers: list[Receiver]) -> None:
    """A delivery queued while both of an alert's documents were CLEAR, and retried after
    one and then the other was marked TLP:RED, sends only what the channel may read at each
    attempt: first the remaining document (counted once, details from its hit), then the
    id-kind-severity notice. Each narrowed body replaces the stored payload and is counted."""
    receiver = Receiver(plan=[500, 500])
    receivers.append(receiver)
    first, second = _two_reports_in_one_story(store, lead=1)
    [alert_id] = set(raise_alerts(store, [
        AlertDraft(kind="watchlist", severity=Severity.HIGH, title="named",
                   group_key="watchlist:w", document_id=d, details={"doc": d})
        for d in (second, first)], now=T0))
    hooked = _settings(settings, store, alert_webhooks=[receiver.url])

    def red(doc_id: str) -> None:
        with store.engine.begin() as conn:
            conn.execute(t.documents.update().where(t.documents.c.id == doc_id)
                         .values(**Marking(tlp=TLP.RED).to_columns()))

    def stored() -> Any:
        with store.engine.connect() as conn:
            return conn.execute(sa.select(t.alert_deliveries.c.payload)).scalar_one()

    report = deliver_pending(store, hooked, now=T0)
    assert (report.queued, report.retrying, report.redacted) == (1, 1, 0)
    queued = receiver.requests[0]["body"]["alert"]
    docs_ids = [first, second]
    assert queued["occurrences"] == 2 and sorted(queued["documents"]) == sorted(docs_ids)
    assert queued["details"] == {"doc": second}

    red(second)
    report = deliver_pending(store, hooked, now=T0 + timedelta(seconds=61))
    assert (report.retrying, report.redacted) == (1, 1)
    narrowed = receiver.requests[1]
    alert = narrowed["body"]["alert"]
    assert alert["id"] == alert_id and alert["documents"] == [first]
    assert alert["occurrences"] == 1 and alert["title"] == "named"
    assert alert["details"] == {"doc": first} and second not in narrowed["raw"].decode()
    assert stored() == narrowed["body"]

    red(first)
    report = deliver_pending(store, hooked, now=T0 + timedelta(seconds=61 + 121))
    assert (report.sent, report.redacted) == (1, 1)
    notice = receiver.requests[2]
    assert "withheld" in notice["body"]["alert"] and "documents" not in notice["body"]["alert"]
    assert not any(d in notice["raw"].decode() for d in docs_ids)
    assert "named" not in notice["raw"].decode() and stored() == notice["body"]
