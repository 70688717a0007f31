"""The ``entities`` stage: named entities from the gazetteer (ATT&CK groups, software and
campaigns; MISP galaxy actors, malware, tools, sectors, countries), each resolved to one
canonical entity across its aliases (APT28 = Fancy Bear = Sofacy).

A match becomes a mention of the canonical entity with its span; the entity itself is
proposed as a STIX object (``intrusion-set``, ``malware``, ``tool``, ``campaign``,
``identity`` for sectors, ``location``) carrying its aliases and the ids it merges, so
``allsource show`` can explain the resolution. When a collector already stored the entity
(same id), the stored object is kept.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from allsource.hookspecs import hookimpl
from allsource.model.records import StixObject
from allsource.process.base import Stage, Work
from allsource.process.entities import Gazetteer, default_gazetteer
from allsource.process.gazetteer import ResolvedEntity

STIX_TYPES = {"threat-actor": "intrusion-set", "malware": "malware", "tool": "tool",
              "campaign": "campaign", "sector": "identity", "location": "location"}


def entity_object(entity: ResolvedEntity) -> StixObject:
    stix_type = STIX_TYPES.get(entity.type, "x-allsource-entity")
    stix: dict[str, Any] = {"type": stix_type, "spec_version": "2.1", "id": entity.id,
                            "name": entity.name, "aliases": sorted(entity.aliases)[:200],
                            "x_allsource_entity_type": entity.type,
                            "x_allsource_members": entity.member_ids}
    if stix_type == "malware":
        stix["is_family"] = True
    if stix_type == "identity":
        stix["identity_class"] = "class"
    return StixObject(id=entity.id, type=stix_type, name=entity.name, stix=stix)


class EntitiesStage(Stage):
    name: ClassVar[str] = "entities"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "gazetteer entities with alias resolution"
    order: ClassVar[int] = 40

    def setup(self) -> None:
        self.gazetteer: Gazetteer = default_gazetteer()

    def process(self, batch: list[Work]) -> None:
        if not hasattr(self, "gazetteer"):
            self.setup()
        for work in batch:
            kinds: Counter[str] = Counter()
            for match in self.gazetteer.find(work.full_text):
                entity = self.gazetteer.resolve(match.entity_id)
                if entity is None:
                    continue
                work.add_object(entity_object(entity), self.extractor, match.start, match.end)
                kinds[match.type] += 1
            work.annotations[self.name] = {"mentions": sum(kinds.values()),
                                           "by_type": dict(sorted(kinds.items()))}


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [EntitiesStage]
