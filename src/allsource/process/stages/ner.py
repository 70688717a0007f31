"""The ``ner`` stage (opt-in): organisations, and public figures the analyst lists, found by
spaCy's statistical NER next to the gazetteer (:mod:`allsource.process.ner` says what is kept).

Reads the cleaned text, sentence spans and language that ``normalize`` left in
``work.scratch``, runs the whole batch through the model at once, and proposes each kept entity
as a STIX 2.1 ``identity`` (``identity_class`` ``organization`` or ``individual``) whose id is
minted from the class and the name's alias key, so "Kaspersky" found in two documents is one
object; each mention's span is mapped back to :attr:`Work.full_text`. A document in a language
outside ``languages`` (default ``["en"]``, the model's) is skipped; ``und`` is not.

Options: ``model`` (an installed spaCy package or a model folder), ``public_figures`` (names of
people that may be kept), ``languages``, ``batch_size``. ``annotations["ner"]`` holds
``{"mentions", "by_label", "persons_withheld"}`` (and ``"skipped"`` with the reason).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from allsource.hookspecs import hookimpl
from allsource.model.ids import minted_id
from allsource.model.records import StixObject
from allsource.process.aliases import alias_key
from allsource.process.base import Stage, Work
from allsource.process.language import UNDETERMINED
from allsource.process.ner import BATCH_SIZE, NamedSpan, Recognizer
from allsource.process.normalize import Cleaned, clean_text


def identity_object(entity: NamedSpan) -> StixObject:
    """The STIX 2.1 ``identity`` of a recognised organisation or person."""
    cls = entity.identity_class
    object_id = minted_id("identity", f"ner:{cls}:{alias_key(entity.name)}")
    stix: dict[str, Any] = {"type": "identity", "spec_version": "2.1", "id": object_id,
                            "name": entity.name, "identity_class": cls,
                            "x_allsource_ner_label": entity.label}
    return StixObject(id=object_id, type="identity", name=entity.name, stix=stix)


class NerStage(Stage):
    name: ClassVar[str] = "ner"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "organisations by spaCy NER, beside the gazetteer (opt-in)"
    requires: ClassVar[tuple[str, ...]] = ("normalize",)
    order: ClassVar[int] = 47
    #: opt-in: ~40 ms per 3 KB document on one core, over 200 times the gazetteer stage
    #: (benchmarks/ner.py), and it needs the ``ner`` extra
    default: ClassVar[bool] = False

    def setup(self) -> None:
        if not hasattr(self, "recognizer"):
            figures = self.options.get("public_figures") or ()
            self.recognizer = Recognizer(
                self.options.get("model"),
                public_figures=[figures] if isinstance(figures, str) else figures,
                batch_size=int(self.options.get("batch_size", BATCH_SIZE)))

    def process(self, batch: list[Work]) -> None:
        self.setup()
        wanted = self.options.get("languages", ["en"])
        languages = {wanted} if isinstance(wanted, str) else set(wanted)
        plan: list[tuple[Work, Cleaned]] = []
        for work in batch:
            language = work.scratch.get("language", UNDETERMINED)
            if languages and language != UNDETERMINED and language not in languages:
                work.annotations[self.name] = {"mentions": 0, "by_label": {},
                                               "persons_withheld": 0,
                                               "skipped": f"language {language}"}
                continue
            cleaned = work.scratch.get("clean")
            plan.append((work, cleaned if isinstance(cleaned, Cleaned)
                         else clean_text(work.full_text)))
        results = self.recognizer.find([c.text for _, c in plan],
                                       [w.scratch.get("sentences") for w, _ in plan])
        for (work, cleaned), result in zip(plan, results, strict=True):
            labels: Counter[str] = Counter()
            for entity in result.entities:
                start, end = cleaned.to_original(entity.start, entity.end)
                work.add_object(identity_object(entity), self.extractor, start, end)
                labels[entity.label] += 1
            work.annotations[self.name] = {"mentions": sum(labels.values()),
                                           "by_label": dict(sorted(labels.items())),
                                           "persons_withheld": result.persons_withheld}


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [NerStage]
