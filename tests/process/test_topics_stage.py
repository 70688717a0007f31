"""The topics stage in the pipeline: annotations, and re-classification after retraining
(the trained model's fingerprint is part of the stored version).

Texts: passages of ``benchmarks/data/topics.jsonl`` (origin of each in that file)."""

from __future__ import annotations

from allsource.engine.inline import InlineEngine
from allsource.model.records import Collected, Document, Source
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.process.topics import TOPICS, Label, default_embedder, default_model, train
from allsource.store import labels
from allsource.store.processing import annotations_of
from allsource.store.sql import SqlStore
from tests.process.test_topics import ROWS

POSITIVES = ["t043", "t044", "t110", "t115", "t153"]  # earthquakes, hurricanes
NEGATIVES = ["t027", "t045", "t098", "t106", "t109"]  # diseases and outbreaks
UNLABELLED = ["t154", "t108"]  # wildfires; a disease guidance note


def _docs() -> dict[str, Document]:
    return {i: Document.build(kind="article", title=ROWS[i]["title"], text=ROWS[i]["text"])
            for i in [*POSITIVES, *NEGATIVES, *UNLABELLED]}


def _topics(store: SqlStore, doc: Document) -> set[str]:
    return {t["topic"] for t in annotations_of(store, doc.id)["topics"]["topics"]}


def test_topics_stage_annotates_and_reclassifies_after_retraining(store: SqlStore) -> None:
    src = Source("desk", "files", "x")
    store.add_source(src)
    docs = _docs()
    store.write_batch(src, [Collected(d) for d in docs.values()], [], None)
    pipeline = build_pipeline(["topics"], store=store)
    assert process_store(store, pipeline, InlineEngine(pipeline)).documents == len(docs)
    note = annotations_of(store, docs["t043"].id)["topics"]
    assert note["version"] == "3" and note["model"] == "zero-shot"
    assert set(note["scores"]) == set(TOPICS)
    assert note["topics"][0] == {"topic": "health-disaster",
                                 "score": note["scores"]["health-disaster"]}
    assert note["topics"][0]["score"] >= 0.5
    assert all(0.0 <= s <= 1.0 for s in note["scores"].values())
    assert labels.topic_counts(store)["health-disaster"] >= 5
    # nothing due until the model changes
    again = build_pipeline(["topics"], store=store)
    assert process_store(store, again, InlineEngine(again)).documents == 0

    # analysts teach a topic of their own; the retrained model re-classifies everything
    embedder = default_embedder()
    ids = [*POSITIVES, *NEGATIVES]
    vecs = embedder.encode([f"{docs[i].title}\n{docs[i].text}" for i in ids])
    model = train(default_model(), [Label(docs[i].id, "natural-disaster", i in POSITIVES)
                                    for i in ids],
                  {docs[i].id: v for i, v in zip(ids, vecs, strict=True)}, embedder)
    labels.save_model(store, model.to_dict(), model.fingerprint(), {}, len(ids), "ana")
    retrained = build_pipeline(["topics"], store=store)
    assert retrained.versions()["topics"] == f"3+{model.fingerprint()}"
    assert process_store(store, retrained, InlineEngine(retrained)).documents == len(docs)
    assert annotations_of(store, docs["t154"].id)["topics"]["model"] == model.fingerprint()
    assert "natural-disaster" in _topics(store, docs["t154"])
    assert "natural-disaster" not in _topics(store, docs["t108"])
    # rolling back to zero-shot re-classifies again
    labels.activate_model(store, None)
    back = build_pipeline(["topics"], store=store)
    assert back.versions()["topics"] == "3"
    assert process_store(store, back, InlineEngine(back)).documents == len(docs)
    assert "natural-disaster" not in _topics(store, docs["t154"])
