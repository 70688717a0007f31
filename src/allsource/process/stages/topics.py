"""The ``topics`` stage: multi-label topic/sector classification (political, military,
economic, cyber, terrorism, crime, supply chain, health/disaster, technology, plus any topic
analysts taught it) with calibrated scores — see :mod:`allsource.process.topics`.

The classifier is zero-shot until analysts label documents and run ``allsource topics
retrain``; :meth:`TopicsStage.prepare` then reads the active trained model from the store
into the stage's options (so pool and Dask workers get it), and its fingerprint becomes part
of the stored version, so ``allsource process`` re-classifies every document once after each
retraining. ``annotations["topics"]`` holds the assigned topics (best first; a further topic
scores ≥ 0.5, a weak best guess may score less), every topic's score, and the model
fingerprint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from allsource.hookspecs import hookimpl
from allsource.process.base import Stage, Work
from allsource.process.topics import Embedder, TopicModel, default_embedder, default_model

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore


class TopicsStage(Stage):
    name: ClassVar[str] = "topics"
    #: 2: background-biased thresholds, no-sector prototypes, the best topic at a low floor
    #: 3: crime's threshold raised (THRESHOLD_OFFSETS)
    version: ClassVar[str] = "3"
    description: ClassVar[str] = "topic/sector classification (static embeddings + labels)"
    order: ClassVar[int] = 55

    def prepare(self, store: SqlStore) -> None:
        from allsource.store.labels import active_model

        if "model" not in self.options:
            stored = active_model(store)
            if stored is not None:
                self.options["model"] = stored

    def fingerprint(self) -> str:
        stored = self.options.get("model")
        return TopicModel.from_dict(stored).fingerprint() if stored else ""

    def setup(self) -> None:
        self.embedder: Embedder = default_embedder()
        stored = self.options.get("model")
        self.model: TopicModel = TopicModel.from_dict(stored) if stored else default_model()
        self.model_mark = self.model.fingerprint() if stored else "zero-shot"

    def process(self, batch: list[Work]) -> None:
        if not hasattr(self, "model"):
            self.setup()
        embeddings = self.embedder.encode([w.full_text for w in batch])
        assigned = self.model.assign(embeddings)
        _, scores = self.model.scores(embeddings)
        for work, topics, row in zip(batch, assigned, scores, strict=True):
            work.annotations[self.name] = {
                "topics": [{"topic": t, "score": s} for t, s in topics],
                "scores": {t: round(float(s), 3) for t, s in zip(self.model.topics, row,
                                                                 strict=True)},
                "model": self.model_mark}


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [TopicsStage]
