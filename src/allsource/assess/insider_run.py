"""Running insider-risk detection over the store's audit events, and raising its alerts.

:func:`scan` streams the access events (:mod:`allsource.assess.access_events`) from far enough
before ``since`` to learn every baseline and the cooldown state (the baseline window, its gap,
a refresh period and the cooldown) into :func:`allsource.assess.insider.detect`, and raises
the alerts that start on or after ``since`` through the shared alerting
(:func:`allsource.assess.alerts.raise_alerts`): kind ``insider``, group ``insider:<user>``, so
a user's episodes merge into their one open alert until an admin closes it, and occurrence key
``<user>@<day>`` so re-running a scan over the same days raises nothing new. Each scan leaves
one run record (plugin ``insider``: events, users, alerts).

**Who may read an insider alert.** An alert about user X names X, what they read and when: it
must never reach ordinary readers, nor X themselves unless they administer the system. Its
marking is :data:`INSIDER_MARKING` — TLP:RED in the compartment ``insider-risk`` — combined
with the evidence it rests on (the highest TLP and classification of what X touched on the
anomalous days and every compartment involved), as every derived object is marked no lower
than its evidence. The store's read path (:func:`allsource.assess.alerts.list_alerts`,
``get_alert``, the API and web alert pages built on them) filters by marking, so only an
audience cleared for TLP:RED, holding ``insider-risk`` and the evidence's compartments sees it:
the local operator (``Audience.owner()``) and the admin role. Grant the ``insider-risk``
compartment to the admins who triage these alerts and to no one else. Alert delivery sends
alerts above the channels' ceiling as a notice naming only the alert's id, kind and severity.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from allsource.assess.access_events import AccessEvent, read_events
from allsource.assess.alerts import AlertDraft, Severity, raise_alerts
from allsource.assess.insider import InsiderAlert, InsiderParams, detect
from allsource.errors import InputError
from allsource.model.markings import TLP, Classification, Marking
from allsource.store.base import RunRecord
from allsource.store.sql import new_run_id

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["INSIDER_COMPARTMENT", "INSIDER_MARKING", "ScanReport", "alert_marking", "scan"]

INSIDER_COMPARTMENT = "insider-risk"
INSIDER_MARKING = Marking(tlp=TLP.RED, compartments=frozenset({INSIDER_COMPARTMENT}))
ALERT_KIND = "insider"


@dataclass(slots=True)
class ScanReport:
    since: date
    until: date
    events: int = 0
    users: int = 0
    alerts: list[InsiderAlert] = field(default_factory=list)
    alert_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "events": self.events, "users": self.users,
                "alerts": [dict(a.as_dict(), alert_id=i or None) for a, i in
                           zip(self.alerts, self.alert_ids or [""] * len(self.alerts),
                               strict=True)]}


def alert_marking(alert: InsiderAlert) -> Marking:
    """The marking an insider alert is stored with (module docstring)."""
    evidence = Marking(tlp=TLP(min(alert.tlp, 4)),
                       classification=Classification(min(alert.classification, 4)),
                       compartments=alert.compartments)
    return INSIDER_MARKING.combine(evidence)


def _draft(alert: InsiderAlert) -> AlertDraft:
    severity = Severity.HIGH if alert.severity == "high" else Severity.MEDIUM
    return AlertDraft(kind=ALERT_KIND, severity=severity, title=alert.title(),
                      group_key=f"insider:{alert.actor}"[:500],
                      details={**alert.as_dict(), "explanation": alert.explain()},
                      marking=alert_marking(alert),
                      occurrence_key=f"{alert.actor}@{alert.day.isoformat()}")


def scan(store: SqlStore, since: datetime, until: datetime | None = None, *,
         params: InsiderParams | None = None, peers: Mapping[str, str] | None = None,
         raise_: bool = True) -> ScanReport:
    """Detect episodes starting in ``[since, until)`` and (with ``raise_``) raise them as
    alerts. The events read start early enough to learn the baselines (module docstring)."""
    p = params or InsiderParams()
    now = datetime.now(UTC)
    until = until or now
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    if since >= until:
        raise InputError("--since must be before --until")
    history = p.window_days + p.gap_days + p.refresh_days + p.cooldown_days + p.quiet_days
    start = datetime.combine(since.date(), time(), UTC) - timedelta(days=history)
    report = ScanReport(since.date(), until.date())
    run = RunRecord(id=new_run_id(), plugin="insider", source_id=None, started_at=now)
    store.save_run(run)
    try:
        actors: set[str] = set()
        report.alerts = detect(_counted(read_events(store, start, until), report, actors), p,
                               peers, start=since.date())
        report.users = len(actors)
        if raise_ and report.alerts:
            report.alert_ids = raise_alerts(store, [_draft(a) for a in report.alerts])
    except Exception as exc:
        run.status, run.errors = "failed", [str(exc)[:2000]]
        run.finished_at = datetime.now(UTC)
        store.save_run(run)
        raise
    run.status, run.finished_at = "ok", datetime.now(UTC)
    run.counts = {"events": report.events, "users": report.users,
                  "alerts": len(report.alerts), "raised": len(report.alert_ids),
                  "from": report.since.isoformat(), "to": report.until.isoformat()}
    store.save_run(run)
    return report


def _counted(events: Iterable[AccessEvent], report: ScanReport, actors: set[str]
             ) -> Iterator[AccessEvent]:
    """Pass events through to the detector (which folds them as they stream from the store)
    while counting them and their users for the report."""
    for event in events:
        report.events += 1
        actors.add(event.actor)
        yield event
