"""Analysts' topic labels and the topic models trained from them.

A label says that a document is (``positive``) or is not about a topic, by whom and when;
labelling the same (document, topic) again replaces the earlier label. Every retrained model
is kept in ``topic_models`` with the metrics it was accepted on; exactly one (or none: the
zero-shot model) is active, and an older one can be re-activated to roll back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from allsource.errors import InputError
from allsource.store import schema as t
from allsource.store.sql import chunks, utc_now

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore


@dataclass(frozen=True, slots=True)
class LabelRow:
    document_id: str
    topic: str
    positive: bool
    analyst: str
    note: str
    created_at: datetime


def clean_topic(topic: str) -> str:
    """Topics are lower-case words joined by hyphens (``supply-chain``)."""
    cleaned = "-".join(topic.strip().lower().replace("_", " ").replace("/", " ").split())
    if not cleaned or len(cleaned) > 60 or not all(c.isalnum() or c == "-" for c in cleaned):
        raise InputError(f"not a topic name: {topic!r} (letters, digits and hyphens, "
                         "at most 60 characters)")
    return cleaned


def add_labels(store: SqlStore, document_id: str, topics: Sequence[str], *,
               positive: bool = True, analyst: str = "analyst", note: str = "") -> list[str]:
    """Label ``document_id`` with ``topics``; returns the cleaned topic names."""
    names = [clean_topic(x) for x in topics]
    if not names:
        raise InputError("name at least one topic")
    with store.engine.begin() as conn:
        found = conn.execute(sa.select(t.documents.c.id).where(
            t.documents.c.id == document_id)).first()
        if found is None:
            raise InputError(f"no document {document_id!r} (see `allsource search`)")
        conn.execute(t.topic_labels.delete().where(
            t.topic_labels.c.document_id == document_id, t.topic_labels.c.topic.in_(names)))
        now = utc_now()
        conn.execute(t.topic_labels.insert(), [
            {"document_id": document_id, "topic": name, "positive": positive,
             "analyst": analyst, "note": note, "created_at": now} for name in names])
    return names


def remove_labels(store: SqlStore, document_id: str, topics: Sequence[str]) -> int:
    names = [clean_topic(x) for x in topics]
    with store.engine.begin() as conn:
        return int(conn.execute(t.topic_labels.delete().where(
            t.topic_labels.c.document_id == document_id,
            t.topic_labels.c.topic.in_(names))).rowcount or 0)


def list_labels(store: SqlStore, topic: str | None = None,
                document_id: str | None = None) -> list[LabelRow]:
    lab = t.topic_labels
    stmt = sa.select(lab).order_by(lab.c.created_at, lab.c.document_id, lab.c.topic)
    if topic:
        stmt = stmt.where(lab.c.topic == clean_topic(topic))
    if document_id:
        stmt = stmt.where(lab.c.document_id == document_id)
    with store.engine.connect() as conn:
        return [LabelRow(r.document_id, r.topic, bool(r.positive), r.analyst, r.note,
                         r.created_at) for r in conn.execute(stmt)]


def document_texts(store: SqlStore, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """``id -> (title, text)`` for the documents that exist."""
    d = t.documents
    out: dict[str, tuple[str, str]] = {}
    with store.engine.connect() as conn:
        for chunk in chunks(list(ids)):
            for r in conn.execute(sa.select(d.c.id, d.c.title, d.c.text)
                                  .where(d.c.id.in_(list(chunk)))):
                out[r.id] = (r.title, r.text)
    return out


def save_model(store: SqlStore, model: dict[str, Any], fingerprint: str,
               metrics: dict[str, Any], labels_used: int, created_by: str) -> int:
    """Store a trained model and make it the active one; returns its id."""
    m = t.topic_models
    with store.engine.begin() as conn:
        conn.execute(m.update().values(active=False))
        result = conn.execute(m.insert().values(
            fingerprint=fingerprint, model=model, metrics=metrics, labels_used=labels_used,
            created_at=utc_now(), created_by=created_by, active=True))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def active_model(store: SqlStore) -> dict[str, Any] | None:
    m = t.topic_models
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(m.c.model).where(m.c.active.is_(True))
                           .order_by(m.c.id.desc()).limit(1)).first()
    return dict(row.model) if row else None


def model_history(store: SqlStore) -> list[dict[str, Any]]:
    m = t.topic_models
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(m.c.id, m.c.fingerprint, m.c.metrics, m.c.labels_used,
                                      m.c.created_at, m.c.created_by, m.c.active)
                            .order_by(m.c.id)).all()
    return [dict(r._mapping) for r in rows]


def activate_model(store: SqlStore, model_id: int | None) -> None:
    """Make model ``model_id`` the active one (``None``: back to zero-shot)."""
    m = t.topic_models
    with store.engine.begin() as conn:
        if model_id is not None and conn.execute(
                sa.select(m.c.id).where(m.c.id == model_id)).first() is None:
            raise InputError(f"no topic model {model_id} (see `allsource topics history`)")
        conn.execute(m.update().values(active=False))
        if model_id is not None:
            conn.execute(m.update().where(m.c.id == model_id).values(active=True))


def topic_counts(store: SqlStore) -> dict[str, int]:
    """How many documents the ``topics`` stage assigned to each topic (largest first)."""
    a = t.stage_annotations
    counts: dict[str, int] = {}
    stmt = sa.select(a.c.data).where(a.c.stage == "topics")
    with store.engine.connect() as conn:
        for (data,) in conn.execution_options(yield_per=2000).execute(stmt):
            for item in (data or {}).get("topics", []):
                counts[item["topic"]] = counts.get(item["topic"], 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
