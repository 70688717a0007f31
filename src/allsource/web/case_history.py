"""A case's audit trail in words: each event of :func:`allsource.store.cases.case_events`
(already limited to what the reader may read) as one line a person reads — who, when, what —
naming hypotheses and evidence by their labels and titles (H2: "State actor", E1) rather
than by id. An event about a hypothesis or piece of evidence deleted since then names it by
what the event itself recorded, else as "a deleted hypothesis"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allsource.store.cases import CaseEvent, Workspace

__all__ = ["HistoryLine", "history"]

_FIELDS = {"title": "title", "question": "question", "status": "status", "tlp": "TLP",
           "classification": "classification", "compartments": "compartments",
           "releasability": "releasability"}


@dataclass(frozen=True, slots=True)
class HistoryLine:
    at: datetime
    actor: str
    text: str
    #: a document the event names, when the reader may open it (its page is the link)
    document_id: str | None = None


def _hypothesis(ws: Workspace, details: dict[str, Any]) -> str:
    hid = details.get("hypothesis_id")
    found = next((h for h in ws.hypotheses if h.id == hid), None)
    if found is not None:
        return f"{found.label} “{found.title}”"
    title = details.get("title")
    return f"hypothesis “{title}”" if isinstance(title, str) and title else "a deleted hypothesis"


def _evidence(ws: Workspace, details: dict[str, Any]) -> str:
    eid = details.get("evidence_id")
    found = next((e for e in ws.evidence if e.id == eid), None)
    if found is not None:
        return f"{found.label} “{found.description}”"
    return "deleted evidence"


def _line(ws: Workspace, event: CaseEvent) -> str:
    d = event.details
    action = event.action
    if action == "created":
        return f"opened the case “{d.get('title') or ws.case.title}”"
    if action == "closed":
        return "closed the case"
    if action == "reopened":
        return "reopened the case"
    if action == "updated":
        fields = [_FIELDS.get(k, k) for k in d if k not in ("updated_at",)]
        return "changed the case's " + (", ".join(fields) or "details")
    if action == "marking-raised":
        return "raised the case's marking to that of a document it now cites"
    if action.startswith("hypothesis-"):
        verb = {"added": "added", "updated": "edited", "deleted": "deleted"}.get(
            action.removeprefix("hypothesis-"), action)
        return f"{verb} {_hypothesis(ws, d)}"
    if action.startswith("evidence-"):
        verb = {"added": "added", "updated": "edited", "deleted": "deleted"}.get(
            action.removeprefix("evidence-"), action)
        return f"{verb} evidence {_evidence(ws, d)}"
    if action in ("rated", "rating-cleared"):
        target = f"{_evidence(ws, d)} against {_hypothesis(ws, d)}"
        if action == "rating-cleared":
            return f"cleared the rating of {target}"
        before = f" (was {d['previous']})" if d.get("previous") else ""
        return f"rated {target} {d.get('rating')}{before}"
    return action.replace("-", " ")


def history(ws: Workspace, events: list[CaseEvent]) -> list[HistoryLine]:
    """The events as lines, newest first."""
    return [HistoryLine(e.created_at, e.actor, _line(ws, e),
                        e.details.get("document_id") or None)
            for e in reversed(events)]
