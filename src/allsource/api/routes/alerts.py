"""``/alerts``: list and read alerts, and triage them (acknowledge, assign, close) as the
calling user; every change lands in the alert's audit trail (:mod:`allsource.assess.alerts`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from allsource.api.deps import Analyst, AudienceDep, StoreDep
from allsource.api.errors import ApiError, not_found
from allsource.api.pagination import Page, PageDep, SortKeys, page_of, sort_items, sort_param
from allsource.api.schemas import AlertAction, AlertAssign, AlertPublic, AlertPublicDetail
from allsource.assess import alerts as al
from allsource.errors import InputError
from allsource.model.markings import Audience
from allsource.store.sql import SqlStore

router = APIRouter(prefix="/alerts", tags=["alerts"])

#: more than any triage queue holds; the list is read whole, then paged
_MAX_ALERTS = 10_000
SORTS: dict[str, Any] = {"severity": lambda a: int(a.severity),
                         "updated_at": lambda a: a.updated_at,
                         "created_at": lambda a: a.created_at, "status": lambda a: a.status}
Status = Annotated[str, Query(pattern="^(open|acknowledged|closed|active|all)$",
                              description="active = open or acknowledged.")]


@router.get("", response_model=Page[AlertPublic])
def list_alerts(
    request: Request, store: StoreDep, audience: AudienceDep, params: PageDep,
    sort: Annotated[SortKeys, Depends(sort_param(list(SORTS), "-severity,-updated_at"))],
    status: Status = "active",
    severity: Annotated[str | None, Query(pattern="^(low|medium|high|critical)$",
                                          description="At least this severity.")] = None,
    kind: Annotated[str | None, Query(max_length=60)] = None,
    assignee: Annotated[str | None, Query(max_length=120)] = None,
) -> Page[dict[str, Any]]:
    wanted = {"active": al.ACTIVE, "all": None}.get(status, status)
    found = al.list_alerts(store, status=wanted,
                           severity=al.Severity.parse(severity) if severity else None,
                           kind=kind, assignee=assignee, audience=audience, limit=_MAX_ALERTS)
    found = sort_items(found, sort, SORTS)
    return page_of(request, [a.as_dict() for a in found], params)


def _detail(store: SqlStore, alert: al.Alert, audience: Audience) -> dict[str, Any]:
    """The alert as ``audience`` sees it: its hits, count and documents only those it may
    read (:func:`allsource.assess.alerts.readable_hits`)."""
    return {**alert.as_dict(),
            "events": [e.as_dict() for e in al.alert_events(store, alert.id, audience)],
            "hits": al.alert_hits(store, alert.id, audience)}


def _get(store: SqlStore, alert_id: str, audience: Audience) -> al.Alert:
    found = al.get_alert(store, alert_id, audience)
    if found is None:
        raise not_found("alert", alert_id)
    return found


@router.get("/{alert_id}", response_model=AlertPublicDetail)
def get_alert(alert_id: str, store: StoreDep, audience: AudienceDep) -> dict[str, Any]:
    """One alert (by id or its short id) with its audit trail and hits."""
    return _detail(store, _get(store, alert_id, audience), audience)


def _triage(store: SqlStore, alert_id: str, audience: Audience, action: Any, **kw: Any
            ) -> dict[str, Any]:
    alert = _get(store, alert_id, audience)
    try:
        changed = action(store, alert.id, audience=audience, **kw)
    except InputError as exc:
        raise ApiError(409, str(exc)) from exc
    return _detail(store, changed, audience)


@router.post("/{alert_id}/ack", response_model=AlertPublicDetail)
def acknowledge(alert_id: str, body: AlertAction, store: StoreDep, audience: AudienceDep,
                user: Analyst) -> dict[str, Any]:
    """Acknowledge (again: no change)."""
    return _triage(store, alert_id, audience, al.acknowledge, actor=user.name,
                   comment=body.comment)


@router.post("/{alert_id}/assign", response_model=AlertPublicDetail)
def assign(alert_id: str, body: AlertAssign, store: StoreDep, audience: AudienceDep,
           user: Analyst) -> dict[str, Any]:
    """Give the alert to someone (an empty assignee unassigns)."""
    return _triage(store, alert_id, audience, lambda s, i, **kw: al.assign(
        s, i, body.assignee, **kw), actor=user.name, comment=body.comment)


@router.post("/{alert_id}/close", response_model=AlertPublicDetail)
def close(alert_id: str, body: AlertAction, store: StoreDep, audience: AudienceDep,
          user: Analyst) -> dict[str, Any]:
    """Close: later hits of its group open a new alert."""
    return _triage(store, alert_id, audience, al.close, actor=user.name, comment=body.comment)
