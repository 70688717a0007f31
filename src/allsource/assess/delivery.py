"""Alert delivery: the outbox worker that sends alerts to webhooks and e-mail.

Everything is state in the store, so a crash or restart loses nothing and the worker can be
run from cron, ``allsource alerts deliver --watch`` or any scheduler:

1. **Fan-out.** "raised" and "escalated" alert events are written with ``notify`` set, in the
   alert's own transaction. :func:`deliver_pending` turns each undispatched one into one
   ``alert_deliveries`` row per configured channel target (every webhook, every e-mail
   recipient) and marks the event dispatched, in one transaction. Delivery IDs are derived
   from (event, channel, target), so a repeated fan-out adds nothing. Events below
   ``alert_min_severity`` are dispatched to no one; with no channel configured they wait.
   The payload is frozen here, so every retry sends the same body — unless a marking was
   raised since (step 2); an alert whose marking is above what alert channels may receive
   (``alert_max_tlp``, unclassified, no compartments, no releasability groups — checked with
   :func:`can_release`) is sent as a notice that names only its id, kind and severity. On an
   encrypted store the frozen payload is sealed (:mod:`allsource.store.sealed`, bound to the
   delivery's id) and opened when it is sent.
2. **Sending.** A due delivery is first *claimed* (a conditional update pushing its
   ``next_attempt_at`` past the send timeout), so two workers do not send it at once and a
   worker that dies mid-send leaves it to be retried once the claim lapses. **The payload is
   then re-checked against the markings as they are now** (:func:`_recheck`): a channel is a
   reader, and a delivery queued before a document or the alert was marked more restrictively
   (a rebuild may tighten a marking; a retry may come hours later) must not carry what the
   channel may no longer read. The body sent is the frozen one *narrowed*, never widened: the
   alert's documents and hit count only as far as the channel may read them now, its title and
   details from the first hit it may still read, and the id-kind-severity notice when it may
   read no hit or not the alert's own marking any more. A narrowed body replaces the stored
   payload (so a later retry sends the same bytes again, and ``alerts deliveries`` shows what
   went out) and is counted in the report's ``redacted``. A webhook is a
   JSON POST through the guarded HTTP client (private addresses only on the webhooks' own
   hosts, with ``alert_webhook_allow_private``); any 2xx is success. E-mail goes through
   ``smtplib``.
3. **Outcome.** Success marks it ``sent``. A failure increments ``attempts`` and schedules the
   next try after ``alert_retry_base_seconds * 2 ** (attempts - 1)`` (capped at
   ``alert_retry_max_seconds``); after ``alert_max_attempts`` it is ``dead`` (kept, and
   re-queued by :func:`requeue_dead`).

Delivery is at-least-once: a send that succeeded but whose confirmation was lost is sent
again. Receivers deduplicate by the delivery ID, sent as the ``Idempotency-Key`` and
``X-Allsource-Delivery`` headers, and in e-mail as ``X-Allsource-Delivery`` and (its UUID)
the ``Message-ID``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allsource.assess.alerts import (
    SeenHits,
    Severity,
    first_readable,
    readable_hits,
    write_lock,
)
from allsource.collect.addresses import host_of
from allsource.collect.http import make_client
from allsource.config import Settings
from allsource.errors import FetchError, StoreError
from allsource.model.ids import minted_id
from allsource.model.markings import TLP, Audience, Classification, Marking, can_release
from allsource.store import schema as t
from allsource.store.sql import aware, chunks, naive_utc, utc_now

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["Delivery", "DeliveryReport", "deliver_pending", "list_deliveries", "requeue_dead"]

DELIVERY_TYPE = "x-allsource-alert-delivery"
PENDING, SENT, DEAD = "pending", "sent", "dead"
_FAN_OUT_BATCH = 500


@dataclass(slots=True)
class DeliveryReport:
    queued: int = 0      # deliveries created from new notifications
    sent: int = 0
    retrying: int = 0    # failed this round, to be tried again later
    dead: int = 0        # failed for the last allowed time this round
    skipped: int = 0     # notifications below alert_min_severity (sent to no one)
    waiting: int = 0     # notifications kept until an alert channel is configured
    pending: int = 0     # deliveries still pending after this round
    redacted: int = 0    # queued payloads narrowed at send time (markings raised since)
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.retrying or self.dead)

    def as_dict(self) -> dict[str, Any]:
        return {"queued": self.queued, "sent": self.sent, "retrying": self.retrying,
                "dead": self.dead, "skipped": self.skipped, "waiting": self.waiting,
                "pending": self.pending, "redacted": self.redacted,
                "errors": list(self.errors)}


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    alert_id: str
    event_id: int
    channel: str
    target: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "alert_id": self.alert_id, "event_id": self.event_id,
                "channel": self.channel, "target": self.target, "status": self.status,
                "attempts": self.attempts, "next_attempt_at": self.next_attempt_at.isoformat(),
                "last_error": self.last_error, "created_at": self.created_at.isoformat(),
                "sent_at": self.sent_at.isoformat() if self.sent_at else None}


class _Failed(Exception):
    """One delivery attempt failed (the message is kept as ``last_error``)."""


def deliver_pending(store: SqlStore, settings: Settings, now: datetime | None = None, *,
                    transport: httpx.BaseTransport | None = None,
                    limit: int = 500) -> DeliveryReport:
    """Fan out new notifications, then send the deliveries that are due (at most ``limit``)."""
    when = naive_utc(now) or utc_now()
    report = DeliveryReport()
    _fan_out(store, settings, when, report)
    d = t.alert_deliveries
    with store.engine.connect() as conn:
        due = conn.execute(sa.select(d).where(d.c.status == PENDING, d.c.next_attempt_at <= when)
                           .order_by(d.c.next_attempt_at, d.c.id).limit(limit)).all()
    client: httpx.Client | None = None
    try:
        for row in due:
            if not _claim(store, row, settings, when):
                continue
            payload = _recheck(store, settings, row, report)
            try:
                if row.channel == "webhook":
                    if client is None:
                        client = _webhook_client(settings, transport)
                    _post(client, settings, row.target, row.id, payload)
                elif row.channel == "email":
                    _mail(settings, row.target, row.id, payload)
                else:
                    raise _Failed(f"unknown channel {row.channel!r}")
            except _Failed as exc:
                _record_failure(store, settings, row, str(exc), when, report)
            else:
                _update(store, row.id, status=SENT, attempts=row.attempts + 1, sent_at=when,
                        last_error=None, next_attempt_at=when)
                report.sent += 1
    finally:
        if client is not None:
            client.close()
    with store.engine.connect() as conn:
        report.pending = int(conn.execute(sa.select(sa.func.count()).select_from(d).where(
            d.c.status == PENDING)).scalar_one())
    return report


# --- fan-out -------------------------------------------------------------------------------

def _targets(settings: Settings, report: DeliveryReport) -> list[tuple[str, str]]:
    targets = [("webhook", url) for url in dict.fromkeys(settings.alert_webhooks)]
    if settings.alert_email_to and not settings.alert_smtp_host:
        report.errors.append("alert_email_to is set but alert_smtp_host is not: no e-mail sent")
    elif settings.alert_smtp_host:
        targets += [("email", addr) for addr in dict.fromkeys(settings.alert_email_to)]
    return targets


def _channel_audience(settings: Settings) -> Audience:
    """Who alert channels count as: up to ``alert_max_tlp``, unclassified, no compartments."""
    return Audience(max_tlp=TLP.parse(settings.alert_max_tlp),
                    clearance=Classification.UNCLASSIFIED)


def _fan_out(store: SqlStore, settings: Settings, now: datetime, report: DeliveryReport) -> None:
    targets = _targets(settings, report)
    floor = Severity.parse(settings.alert_min_severity)
    audience = _channel_audience(settings)
    e, a = t.alert_events, t.alerts
    store.keys.prepare()  # outside the transaction (see KeyRing.prepare)
    with store.engine.begin() as conn:
        write_lock(conn)
        events = conn.execute(
            sa.select(e.c.id.label("event_id"), e.c.action.label("event_action"),
                      e.c.severity.label("event_severity"), e.c.created_at.label("event_at"), a)
            .join(a, a.c.id == e.c.alert_id)
            .where(e.c.notify.is_(True), e.c.dispatched_at.is_(None))
            .order_by(e.c.id).limit(_FAN_OUT_BATCH)
            .with_for_update(of=e, skip_locked=True)).all()
        if not events:
            return
        if not targets:
            report.waiting = len(events)
            return
        rows: list[dict[str, Any]] = []
        # hits counted and documents listed as the channels may read them now
        seen = readable_hits(conn, sorted({ev.id for ev in events}), audience)
        first = first_readable(conn, [(ev.id, ev.documents or []) for ev in events], seen)
        stories = _story_shown(conn, [ev.story_id for ev in events], audience)
        for ev in events:
            if Severity(ev.event_severity) < floor:
                report.skipped += 1
                continue
            for channel, target in targets:
                delivery_id = minted_id(DELIVERY_TYPE, f"{ev.event_id}|{channel}|{target}")
                rows.append({
                    "id": delivery_id, "alert_id": ev.id, "event_id": ev.event_id,
                    "channel": channel, "target": target,
                    "payload": _payload(ev, delivery_id, audience, seen.get(ev.id),
                                        first.get(ev.id), stories),
                    "status": PENDING,
                    "attempts": 0, "next_attempt_at": now, "last_error": None,
                    "created_at": now, "sent_at": None})
        if rows:
            report.queued = _insert_new(store, conn, rows)
        conn.execute(e.update().where(e.c.id.in_([ev.event_id for ev in events]))
                     .values(dispatched_at=now))


def _insert_new(store: SqlStore, conn: Connection, rows: list[dict[str, Any]]) -> int:
    d = t.alert_deliveries
    existing = set(conn.execute(sa.select(d.c.id).where(d.c.id.in_([r["id"] for r in rows])))
                   .scalars())
    new = [r for r in rows if r["id"] not in existing]
    if new:
        conn.execute(d.insert(), store.keys.seal_rows(d, new))
    return len(new)


def _story_shown(conn: Connection, story_ids: Sequence[str | None],
                 audience: Audience) -> set[str]:
    """Of the alerts' story IDs, those ``audience`` may be shown: a story's stored ID is its
    first member's document ID, so one naming a document they may not read (as marked now)
    is left out."""
    wanted = sorted({s for s in story_ids if s})
    d = t.documents
    hidden = set()
    for chunk in chunks(wanted):
        for row in conn.execute(sa.select(d.c.id, d.c.tlp, d.c.classification,
                                          d.c.compartments, d.c.releasability)
                                .where(d.c.id.in_(chunk))):
            if not can_release(Marking.from_columns(dict(row._mapping)), audience):
                hidden.add(row.id)
    return set(wanted) - hidden


def _payload(ev: sa.Row[Any], delivery_id: str, audience: Audience, seen: SeenHits | None,
             first: tuple[str, dict[str, Any]] | None,
             stories: set[str] | None = None) -> dict[str, Any]:
    """The frozen body of one delivery. ``seen``: what ``audience`` may read of the alert's
    hits (:func:`~allsource.assess.alerts.readable_hits`; ``None``: none, then only a notice
    goes out); ``first``: the title and details of the first of them when the alert's own
    come from a hit it may not read; ``stories``: the story IDs it may be shown
    (:func:`_story_shown`)."""
    m = ev._mapping
    marking = Marking.from_columns(dict(m))
    alert: dict[str, Any] = {
        "id": m["id"], "kind": m["kind"], "severity": Severity(m["severity"]).label,
        "status": m["status"], "tlp": marking.tlp.label,
        "created_at": aware(m["created_at"]).isoformat()}  # type: ignore[union-attr]
    if can_release(marking, audience) and seen is not None:
        title, details = first or (m["title"], m["details"] or {})
        alert.update({
            "title": title, "group_key": m["group_key"],
            "story_id": m["story_id"] if stories is None or m["story_id"] in stories else None,
            "assignee": m["assignee"],
            "documents": [d for d in m["documents"] or [] if d in seen.documents],
            "occurrences": seen.count, "details": details,
            "marking": marking.as_dict()})
    else:
        alert["withheld"] = ("the alert's marking is above what alert channels may receive; "
                             f"see `allsource alerts show {alert['id']}`")
    return {"type": "allsource.alert", "delivery_id": delivery_id, "event": m["event_action"],
            "event_severity": Severity(m["event_severity"]).label,
            "event_at": aware(m["event_at"]).isoformat(),  # type: ignore[union-attr]
            "alert": alert}


# --- sending -------------------------------------------------------------------------------

def _recheck(store: SqlStore, settings: Settings, row: sa.Row[Any],
             report: DeliveryReport) -> dict[str, Any]:
    """The body to send for a claimed delivery: its frozen payload narrowed to what the
    channels may read *now* (see the module docstring); a narrowed body is stored in place
    of the frozen one and counted in ``report.redacted``."""
    frozen: dict[str, Any] = dict(row.payload)
    audience = _channel_audience(settings)
    e, a = t.alert_events, t.alerts
    with store.engine.connect() as conn:
        ev = conn.execute(
            sa.select(e.c.id.label("event_id"), e.c.action.label("event_action"),
                      e.c.severity.label("event_severity"), e.c.created_at.label("event_at"), a)
            .join(a, a.c.id == e.c.alert_id).where(e.c.id == row.event_id)).first()
        now: dict[str, Any] | None = None
        if ev is not None:
            seen = readable_hits(conn, [ev.id], audience)
            first = first_readable(conn, [(ev.id, ev.documents or [])], seen)
            now = _payload(ev, row.id, audience, seen.get(ev.id), first.get(ev.id),
                           _story_shown(conn, [ev.story_id], audience))
    body = _narrowed(frozen, now)
    if body != frozen:
        store.keys.prepare()
        values = store.keys.seal_rows(t.alert_deliveries, [{"id": row.id, "payload": body}])[0]
        _update(store, row.id, payload=values["payload"])
        report.redacted += 1
    return body


_NOTICE_KEYS = ("id", "kind", "severity", "status", "tlp", "created_at")


def _narrowed(frozen: dict[str, Any], now: dict[str, Any] | None) -> dict[str, Any]:
    """``frozen`` (the queued body) keeping only what ``now`` (the body :func:`_payload`
    builds from the alert as stored now; ``None``: the alert is gone) still shows."""
    old = frozen.get("alert") or {}
    if "withheld" in old:
        return frozen  # a notice names nothing that can be raised since
    new = (now or {}).get("alert") or {}
    if now is None or "withheld" in new:
        notice = {k: old[k] for k in _NOTICE_KEYS if k in old}
        notice["withheld"] = new.get("withheld") or (
            "the alert's marking is above what alert channels may receive; "
            f"see `allsource alerts show {old.get('id')}`")
        return {**frozen, "alert": notice}
    alert = dict(old)
    alert["documents"] = [d for d in old.get("documents") or []
                          if d in set(new.get("documents") or [])]
    alert["occurrences"] = min(int(old.get("occurrences") or 0),
                               int(new.get("occurrences") or 0))
    if old.get("story_id") != new.get("story_id"):
        alert["story_id"] = None  # it names a document the channel may no longer read
    if (old.get("title"), old.get("details")) != (new.get("title"), new.get("details")):
        # the frozen title and details quote a hit the channel may no longer read
        alert["title"], alert["details"] = new.get("title"), new.get("details")
    return {**frozen, "alert": alert}


def _claim(store: SqlStore, row: sa.Row[Any], settings: Settings, now: datetime) -> bool:
    """Take the delivery for this worker (see the module docstring)."""
    d = t.alert_deliveries
    lease = now + timedelta(seconds=settings.alert_timeout * 3 + 60)
    with store.engine.begin() as conn:
        done = conn.execute(d.update().where(
            d.c.id == row.id, d.c.status == PENDING, d.c.attempts == row.attempts,
            d.c.next_attempt_at == row.next_attempt_at).values(next_attempt_at=lease))
    return done.rowcount == 1


def _update(store: SqlStore, delivery_id: str, **values: Any) -> None:
    try:
        with store.engine.begin() as conn:
            conn.execute(t.alert_deliveries.update().where(
                t.alert_deliveries.c.id == delivery_id).values(**values))
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"recording a delivery failed: {exc.orig}") from exc


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """The wait after the ``attempts``-th failure (deterministic: no jitter)."""
    return float(min(settings.alert_retry_base_seconds * 2 ** max(attempts - 1, 0),
                     settings.alert_retry_max_seconds))


def _record_failure(store: SqlStore, settings: Settings, row: sa.Row[Any], error: str,
                    now: datetime, report: DeliveryReport) -> None:
    attempts = row.attempts + 1
    dead = attempts >= settings.alert_max_attempts
    _update(store, row.id, attempts=attempts, last_error=error[:2000],
            status=DEAD if dead else PENDING,
            next_attempt_at=now + timedelta(seconds=backoff_seconds(settings, attempts)))
    if dead:
        report.dead += 1
    else:
        report.retrying += 1
    report.errors.append(f"{row.channel} {row.target}: {error}"
                         + (" (dead-lettered)" if dead else f" (attempt {attempts})"))


def _webhook_client(settings: Settings, transport: httpx.BaseTransport | None) -> httpx.Client:
    timed = settings.model_copy(update={"http_timeout": settings.alert_timeout})
    # alert_webhook_allow_private covers the configured webhooks' hosts, not their redirects
    return make_client(timed, allow_private=settings.alert_webhook_allow_private,
                       private_hosts=[host_of(url) for url in settings.alert_webhooks],
                       transport=transport)


def _secret(env_name: str) -> str:
    value = os.environ.get(env_name)
    if not value:
        raise _Failed(f"environment variable {env_name} is not set")
    return value


def _post(client: httpx.Client, settings: Settings, url: str, delivery_id: str,
          payload: dict[str, Any]) -> None:
    body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    headers = {"Content-Type": "application/json", "Idempotency-Key": delivery_id,
               "X-Allsource-Delivery": delivery_id,
               "X-Allsource-Event": str(payload.get("event", ""))}
    if settings.alert_webhook_secret_env:
        key = _secret(settings.alert_webhook_secret_env).encode()
        headers["X-Allsource-Signature"] = "sha256=" + hmac.new(key, body, hashlib.sha256
                                                                ).hexdigest()
    try:
        with client.stream("POST", url, content=body, headers=headers) as resp:
            if not 200 <= resp.status_code < 300:
                raise _Failed(f"HTTP {resp.status_code}")
    except httpx.TimeoutException as exc:
        raise _Failed(f"timed out after {settings.alert_timeout:g} s") from exc
    except (httpx.HTTPError, httpx.InvalidURL, FetchError) as exc:
        raise _Failed(str(exc) or type(exc).__name__) from exc


def _subject(payload: dict[str, Any]) -> str:
    alert = payload["alert"]
    severity = str(alert["severity"]).upper()
    what = (f"escalated to {payload.get('event_severity', severity).upper()}"
            if payload.get("event") == "escalated" else severity)
    title = " ".join(str(alert.get("title") or "(details withheld)").split())
    return f"[allsource] [{alert['tlp']}] {what} {alert['kind']} alert: {title}"[:250]


def _body(payload: dict[str, Any]) -> str:
    alert = payload["alert"]
    lines = [f"{alert['tlp']}", "",
             f"Alert:     {alert['id']}",
             f"Event:     {payload.get('event')} ({payload.get('event_at')})",
             f"Severity:  {alert['severity']}", f"Kind:      {alert['kind']}",
             f"Status:    {alert['status']}"]
    if "withheld" in alert:
        lines += ["", f"Details withheld: {alert['withheld']}."]
    else:
        docs = alert.get("documents") or []
        lines += [f"Title:     {alert.get('title')}",
                  f"Story:     {alert.get('story_id') or '-'}",
                  f"Hits:      {alert.get('occurrences')} in {len(docs)} document(s)"]
        lines += [f"  - {doc}" for doc in docs[:50]]
        if alert.get("details"):
            lines += ["", "Details:", json.dumps(alert["details"], indent=2, ensure_ascii=False,
                                                 sort_keys=True, default=str)]
    lines += ["", f"Triage: allsource alerts show {alert['id']}",
              f"Delivery: {payload.get('delivery_id')}"]
    return "\n".join(lines) + "\n"


def message_id(delivery_id: str) -> str:
    """The e-mail Message-ID of a delivery: its UUID (short enough not to be folded)."""
    return f"<{delivery_id.rsplit('--', 1)[-1]}@alerts.allsource>"


def _mail(settings: Settings, to: str, delivery_id: str, payload: dict[str, Any]) -> None:
    host = settings.alert_smtp_host
    if not host:
        raise _Failed("alert_smtp_host is not set")
    msg = EmailMessage()
    try:
        msg["From"] = settings.alert_email_from
        msg["To"] = to
        msg["Subject"] = _subject(payload)
        msg["Message-ID"] = message_id(delivery_id)
        msg["X-Allsource-Delivery"] = delivery_id
    except ValueError as exc:  # a header with a line break, or an address it cannot parse
        raise _Failed(f"cannot build the message: {exc}") from exc
    msg.set_content(_body(payload))
    password = None
    if settings.alert_smtp_username:
        if not settings.alert_smtp_password_env:
            raise _Failed("alert_smtp_username is set but alert_smtp_password_env is not")
        password = _secret(settings.alert_smtp_password_env)
    timeout = settings.alert_timeout
    try:
        smtp: smtplib.SMTP
        if settings.alert_smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(host, settings.alert_smtp_port, timeout=timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, settings.alert_smtp_port, timeout=timeout)
        with smtp:
            if settings.alert_smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.alert_smtp_username:
                smtp.login(settings.alert_smtp_username, password or "")
            refused = smtp.send_message(msg, to_addrs=[to])
    except (smtplib.SMTPException, OSError, UnicodeError) as exc:
        raise _Failed(f"SMTP {host}:{settings.alert_smtp_port}: {exc}") from exc
    if refused:
        raise _Failed(f"SMTP refused {to}: {refused[to]}")


# --- inspecting ----------------------------------------------------------------------------

def list_deliveries(store: SqlStore, *, alert_id: str | None = None,
                    status: str | None = None, limit: int = 500) -> list[Delivery]:
    d = t.alert_deliveries
    stmt = sa.select(d).order_by(d.c.created_at, d.c.id).limit(limit)
    if alert_id is not None:
        stmt = stmt.where(d.c.alert_id == alert_id)
    if status is not None:
        stmt = stmt.where(d.c.status == status)
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [Delivery(id=r.id, alert_id=r.alert_id, event_id=r.event_id, channel=r.channel,
                     target=r.target, status=r.status, attempts=r.attempts,
                     next_attempt_at=aware(r.next_attempt_at),  # type: ignore[arg-type]
                     last_error=r.last_error, created_at=aware(r.created_at),  # type: ignore[arg-type]
                     sent_at=aware(r.sent_at)) for r in rows]


def requeue_dead(store: SqlStore, *, alert_id: str | None = None,
                 now: datetime | None = None) -> int:
    """Give dead deliveries (of one alert, or all) a fresh set of attempts, due now."""
    d = t.alert_deliveries
    stmt = d.update().where(d.c.status == DEAD).values(
        status=PENDING, attempts=0, next_attempt_at=naive_utc(now) or utc_now())
    if alert_id is not None:
        stmt = stmt.where(d.c.alert_id == alert_id)
    with store.engine.begin() as conn:
        return int(conn.execute(stmt).rowcount or 0)
