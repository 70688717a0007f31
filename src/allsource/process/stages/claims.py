"""The ``claims`` stage: quantity and attribution claims in a document's sentences
("at least 12 people were killed", "the attack was attributed to Sandworm"), stored in
``annotations["claims"]`` with their spans for verification to grade (see
:mod:`allsource.verify.claims`; relation and event claims come from the store)."""

from __future__ import annotations

from typing import ClassVar

from allsource.hookspecs import hookimpl
from allsource.process.base import Stage, Work
from allsource.process.stages.relations import _sentences
from allsource.verify.claims import Span, text_claims


class ClaimsStage(Stage):
    name: ClassVar[str] = "claims"
    version: ClassVar[str] = "2"  # 2: no attribution to the place the actor is named after
    description: ClassVar[str] = "quantity and attribution claims for verification"
    requires: ClassVar[tuple[str, ...]] = ("normalize", "entities", "places")
    order: ClassVar[int] = 65

    def process(self, batch: list[Work]) -> None:
        for work in batch:
            objects = {o.id: o for o in work.objects}
            spans = sorted(
                (Span(m.object_id, objects[m.object_id].type, m.start, m.end,
                      objects[m.object_id].name)
                 for m in work.mentions
                 if m.object_id in objects and m.start is not None and m.end is not None),
                key=lambda s: (s.start, s.end))
            countries = list((work.annotations.get("places") or {}).get("countries", []))
            found = text_claims(work.full_text, _sentences(work), spans, countries)
            work.annotations[self.name] = {"claims": [c.as_dict() for c in found]}


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [ClaimsStage]
