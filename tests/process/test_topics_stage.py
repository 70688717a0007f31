"""The topics stage in the pipeline: annotations, and re-classification after retraining
(the trained model's fingerprint is part of the stored version).

Texts: ATT&CK v15 descriptions of T1566.001 (Spearphishing Attachment) and T1486 (Data
Encrypted for Impact), plus one passage of ``benchmarks/data/topics.jsonl`` (origin there)."""

from __future__ import annotations

from allsource.engine.inline import InlineEngine
from allsource.model.records import Collected, Document, Source
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.process.topics import TOPICS, Label, default_embedder, default_model, train
from allsource.store import labels
from allsource.store.processing import annotations_of
from allsource.store.sql import SqlStore
from tests.process.test_stories_stage import ORIGINAL, OTHER


def test_topics_stage_annotates_and_reclassifies_after_retraining(store: SqlStore) -> None:
    src = Source("desk", "files", "x")
    store.add_source(src)
    docs = [Document.build(kind="article", title="Spearphishing wave", text=ORIGINAL),
            Document.build(kind="article", title="Ransomware wave", text=OTHER)]
    store.write_batch(src, [Collected(d) for d in docs], [], None)
    pipeline = build_pipeline(["topics"], store=store)
    assert process_store(store, pipeline, InlineEngine(pipeline)).documents == 2
    note = annotations_of(store, docs[0].id)["topics"]
    assert note["version"] == "1" and note["model"] == "zero-shot"
    assert set(note["scores"]) == set(TOPICS)
    assert note["topics"][0]["topic"] == "cyber" and note["topics"][0]["score"] >= 0.5
    assert all(0.0 <= s <= 1.0 for s in note["scores"].values())
    assert labels.topic_counts(store)["cyber"] == 2
    # nothing due until the model changes
    again = build_pipeline(["topics"], store=store)
    assert process_store(store, again, InlineEngine(again)).documents == 0

    # an analyst teaches a topic of their own; the retrained model re-classifies both
    embedder = default_embedder()
    vecs = embedder.encode([f"{d.title}\n{d.text}" for d in docs])
    model = train(default_model(), [Label(docs[1].id, "ransomware", True),
                                    Label(docs[0].id, "ransomware", False)],
                  dict(zip([d.id for d in docs], vecs, strict=True)), embedder)
    labels.save_model(store, model.to_dict(), model.fingerprint(), {}, 2, "ana")
    retrained = build_pipeline(["topics"], store=store)
    assert retrained.versions()["topics"] == f"1+{model.fingerprint()}"
    assert process_store(store, retrained, InlineEngine(retrained)).documents == 2
    after = annotations_of(store, docs[1].id)["topics"]
    assert after["model"] == model.fingerprint()
    assert "ransomware" in {t["topic"] for t in after["topics"]}
    assert "ransomware" not in {t["topic"] for t in annotations_of(store, docs[0].id)
                                ["topics"]["topics"]}
    # rolling back to zero-shot re-classifies again
    labels.activate_model(store, None)
    back = build_pipeline(["topics"], store=store)
    assert back.versions()["topics"] == "1"
    assert process_store(store, back, InlineEngine(back)).documents == 2
