"""The ``entities`` stage: named entities from the gazetteer (ATT&CK groups, software and
campaigns; MISP galaxy actors, malware, tools, sectors, countries), each resolved to one
canonical entity across its aliases (APT28 = Fancy Bear = Sofacy).

A match becomes a mention of the canonical entity with its span; the entity itself is
proposed as a STIX object (``intrusion-set``, ``malware``, ``tool``, ``campaign``,
``identity`` for sectors, ``location``) carrying its aliases and the ids it merges, so
``allsource show`` can explain the resolution. When a collector already stored the entity
(same id), the stored object is kept.

Analysts' corrections. Every resolution is a statement in the store that an analyst can undo,
and an analyst can merge too (:mod:`allsource.store.aliases`). When a pipeline is built over a
store, :meth:`EntitiesStage.prepare` (run once, in the parent process) records the
gazetteer's statements and turns the undone and analyst ones into
:class:`~allsource.process.gazetteer.Overrides`, passed as the stage option ``aliases`` —
plain JSON, so it reaches pool and Dask workers with the other options, where :meth:`setup`
loads the gazetteer built with them (cached per set of overrides).

Reprocessing. The overrides' digest is the stage's fingerprint, so part of the version its
results are stored under (``1+3f9c…``; plain ``1`` without overrides), and a document is due
for a stage until it has a result of the current version (:mod:`allsource.store.processing`).
So after an undo or a merge, the next
``allsource process`` (or ``--stage entities``) redoes the stage for every stored document and
replaces its mentions: the undone alias now yields its own entity everywhere, and a newly merged
name is found in documents where it was never matched before — which redoing only the documents
that mention the entity could not do. The stage is fast (one automaton pass per document), and
the gazetteer is rebuilt once per set of overrides (about a second) and cached.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, ClassVar

from allsource.hookspecs import hookimpl
from allsource.process.base import Stage, Work
from allsource.process.entities import (
    Gazetteer,
    entity_object,
    gazetteer_for,
    store_gazetteer,
)
from allsource.process.gazetteer import STIX_TYPES, Overrides

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["STIX_TYPES", "EntitiesStage", "entity_object"]


class EntitiesStage(Stage):
    name: ClassVar[str] = "entities"
    version: ClassVar[str] = "1"
    description: ClassVar[str] = "gazetteer entities with alias resolution"
    order: ClassVar[int] = 40

    def prepare(self, store: SqlStore) -> None:
        if "aliases" not in self.options:
            _, overrides = store_gazetteer(store)
            if overrides:
                self.options["aliases"] = overrides.as_json()

    @property
    def overrides(self) -> Overrides:
        """Analysts' corrections, from the ``aliases`` option."""
        return Overrides.from_json(self.options.get("aliases"))

    def fingerprint(self) -> str:
        overrides = self.overrides
        return overrides.digest() if overrides else ""

    def setup(self) -> None:
        self.gazetteer: Gazetteer = gazetteer_for(self.overrides)

    def process(self, batch: list[Work]) -> None:
        if not hasattr(self, "gazetteer"):
            self.setup()
        for work in batch:
            kinds: Counter[str] = Counter()
            for match in self.gazetteer.find(work.full_text):
                entity = self.gazetteer.resolve(match.entity_id)
                if entity is None:
                    continue
                before = len(work.mentions)
                work.add_object(entity_object(entity), self.extractor, match.start, match.end)
                if len(work.mentions) > before:  # not in a title the body repeats
                    kinds[match.type] += 1
            work.annotations[self.name] = {"mentions": sum(kinds.values()),
                                           "by_type": dict(sorted(kinds.items()))}


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [EntitiesStage]
