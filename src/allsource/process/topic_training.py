"""Retraining the topic classifier from analysts' labels stored in the store.

:func:`retrain` embeds every labelled document, measures zero-shot against retrained on
held-out documents (k-fold by document), trains on all labels, and stores the new model as
the active one together with those figures — the analyst sees whether the labels helped
before the next ``allsource process`` re-classifies the store with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from allsource.errors import InputError
from allsource.process.topics import (
    Embedder,
    Label,
    TopicModel,
    cross_validate,
    default_embedder,
    default_model,
    document_text,
    train,
)
from allsource.store.labels import document_texts, list_labels, save_model

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore


@dataclass(slots=True)
class RetrainResult:
    model_id: int
    fingerprint: str
    labels: int
    documents: int
    metrics: dict[str, Any]
    topics: dict[str, dict[str, int]]


def retrain(store: SqlStore, analyst: str = "analyst",
            embedder: Embedder | None = None, base: TopicModel | None = None) -> RetrainResult:
    rows = list_labels(store)
    if not rows:
        raise InputError("no topic labels yet: label documents first "
                         "(`allsource label DOC TOPIC`)")
    embedder = embedder or default_embedder()
    base = base or default_model()
    texts = document_texts(store, sorted({r.document_id for r in rows}))
    ids = sorted(texts)
    vectors = embedder.encode([document_text(*texts[i]) for i in ids])
    embeddings = dict(zip(ids, vectors, strict=True))
    labels = [Label(r.document_id, r.topic, r.positive) for r in rows if r.document_id in texts]
    metrics = cross_validate(base, labels, embeddings, embedder=embedder)
    model = train(base, labels, embeddings, embedder)
    fingerprint = model.fingerprint()
    model_id = save_model(store, model.to_dict(), fingerprint, metrics, len(labels), analyst)
    return RetrainResult(model_id, fingerprint, len(labels), len(ids), metrics, model.trained)
