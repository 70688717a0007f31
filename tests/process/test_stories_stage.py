"""The stories stage over the SQL index, on both backends: copies of one report join its
story across runs, unrelated reports do not, structured records are left out.

The report text is the ATT&CK v15 description of T1566.001 (Spearphishing Attachment); the
unrelated one is T1486 (Data Encrypted for Impact)."""

from __future__ import annotations

from pathlib import Path

from allsource.engine.inline import InlineEngine
from allsource.model.markings import Audience
from allsource.model.records import Collected, Document, Source
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.store.sql import SqlStore

ORIGINAL = (
    "Adversaries may send spearphishing emails with a malicious attachment in an attempt to "
    "gain access to victim systems. Spearphishing attachment is a specific variant of "
    "spearphishing. Spearphishing attachment is different from other forms of spearphishing "
    "in that it employs the use of malware attached to an email. All forms of spearphishing "
    "are electronically delivered social engineering targeted at a specific individual, "
    "company, or industry. In this scenario, adversaries attach a file to the spearphishing "
    "email and usually rely upon User Execution to gain execution. Spearphishing may also "
    "involve social engineering techniques, such as posing as a trusted source.")
COPY = ("WIRE SERVICE — " + ORIGINAL + " Reporting by our security desk. All rights reserved.")
SECOND_COPY = ORIGINAL.replace("Adversaries may send", "Attackers may send") + " (Updated.)"
OTHER = (
    "Adversaries may encrypt data on target systems or on large numbers of systems in a "
    "network to interrupt availability to system and network resources. They can attempt to "
    "render stored data inaccessible by encrypting files or data on local and remote drives "
    "and withholding access to a decryption key. This may be done in order to extract "
    "monetary compensation from a victim in exchange for decryption or a decryption key.")


def _add(store: SqlStore, src: Source, docs: list[Document]) -> None:
    store.write_batch(src, [Collected(d) for d in docs], [], None)


def test_stories_cluster_copies_incrementally(store: SqlStore) -> None:
    a, b = Source("outlet-a", "rss", "x"), Source("outlet-b", "rss", "y")
    store.add_source(a)
    store.add_source(b)
    original = Document.build(kind="article", title="Spearphishing wave", text=ORIGINAL)
    copy = Document.build(kind="article", title="Spearphishing wave (wire)", text=COPY)
    other = Document.build(kind="article", title="Ransomware wave", text=OTHER)
    record = Document.build(kind="gdelt-event", title="row", text=ORIGINAL)
    _add(store, a, [original, other, record])
    _add(store, b, [copy])
    pipeline = build_pipeline(["stories"], store=store)
    assert process_store(store, pipeline, InlineEngine(pipeline)).documents == 4

    owner = Audience.owner()
    story = store.get(copy.id, owner)["story"]  # type: ignore[index]
    assert story["canonical_document_id"] == original.id and story["documents"] == 2
    assert story["matched_id"] == original.id and story["similarity"] >= 0.6
    assert store.get(other.id, owner)["story"]["documents"] == 1  # type: ignore[index]
    assert "skipped" in store.get(record.id, owner)["annotations"]["stories"]  # type: ignore[index]

    # a later run sees only the new document and still finds the story
    later = Document.build(kind="article", title="Spearphishing wave (update)",
                           text=SECOND_COPY)
    _add(store, b, [later])
    pipeline = build_pipeline(["stories"], store=store)
    assert process_store(store, pipeline, InlineEngine(pipeline)).documents == 1
    story = store.get(later.id, owner)["story"]  # type: ignore[index]
    assert story["id"] == original.id and story["documents"] == 3


def test_pool_engine_assigns_the_same_stories(store: SqlStore, tmp_path: Path) -> None:
    """With the pool engine the sketches are made here while the workers run the parallel
    stages, and stories runs after them: the stored stories equal the inline engine's."""
    from allsource.config import load_settings
    from allsource.engine.pool import PoolEngine
    from allsource.store import open_store

    texts = [ORIGINAL, OTHER, COPY, SECOND_COPY, ORIGINAL + " Update.", OTHER, COPY]
    docs = [Document.build(kind="article", title=f"Report {i}", text=t)
            for i, t in enumerate(texts)]
    reference = open_store(load_settings(database_url=f"sqlite:///{tmp_path / 'ref.db'}",
                                         blob_dir=tmp_path / "ref-blobs"))
    found = []
    for target, pooled in ((reference, False), (store, True)):
        src = Source("outlet", "rss", "x")
        target.add_source(src)
        _add(target, src, docs)
        pipeline = build_pipeline(["normalize", "stories", "observables"], store=target)
        engine = PoolEngine(pipeline, workers=2) if pooled else InlineEngine(pipeline)
        try:
            assert process_store(target, pipeline, engine, batch_size=3).documents == 7
        finally:
            engine.close()
        found.append([target.get(d.id, Audience.owner())["annotations"]  # type: ignore[index]
                      for d in docs])
    reference.close()
    assert found[1] == found[0]
    assert {a["stories"]["story_id"] for a in found[0]} == {docs[0].id, docs[1].id}
