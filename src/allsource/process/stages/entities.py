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
:class:`~allsource.model.resolution.Overrides`, passed as the stage option ``aliases`` —
plain JSON, so it reaches pool and Dask workers with the other options, where :meth:`setup`
loads the gazetteer built with them (cached per set of overrides).

Reprocessing. The overrides' digest is the stage's fingerprint, so part of the version its
results are stored under (``2+3f9c…``; plain ``2`` without overrides), and a document is due
for a stage until it has a result of the current version (:mod:`allsource.store.processing`).
So after an undo or a merge, the next
``allsource process`` (or ``--stage entities``) redoes the stage for every stored document and
replaces its mentions: the undone alias now yields its own entity everywhere, and a newly merged
name is found in documents where it was never matched before — which redoing only the documents
that mention the entity could not do. The stage is fast (one automaton pass per document), and
the gazetteer is rebuilt once per set of overrides (about a second) and cached.

Why. A threat name that also means something else is kept only where the text vouches for it
(:mod:`allsource.process.entities`; observables the ``observables`` stage found count as
support). The annotation says, per threat mention, why it was accepted (``why``: start, end,
entity, reason) and which ambiguous mentions were refused (``refused``), for ``allsource show``.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, ClassVar

from allsource.hookspecs import hookimpl
from allsource.model.resolution import STIX_TYPES, Overrides, ResolvedEntity
from allsource.process.aliases import alias_key
from allsource.process.base import Stage, Work
from allsource.process.entities import (
    NOT_CHECKED,
    EntityMatch,
    Gazetteer,
    entity_object,
    gazetteer_for,
    store_gazetteer,
)
from allsource.process.stages.relations import OBSERVABLES

if TYPE_CHECKING:
    from allsource.store.sql import SqlStore

__all__ = ["STIX_TYPES", "EntitiesStage", "entity_object"]

#: Threat mentions explained, and refused ones listed, per document (the annotation stays small).
MAX_EXPLAINED = 200


class EntitiesStage(Stage):
    name: ClassVar[str] = "entities"
    version: ClassVar[str] = "6"  # 2: ATT&CK v18.1, one mention per title, verdicts; 3: context;
    # 4: a sector word inside an organisation's name ("Financial Times") is no sector;
    # 5: a common-word name after a pronoun or modal is a verb ("if you Play …");
    # 6: a common-word name opening a sentence counts with cyber context ("Empire can …");
    # field terms used unlinked by ATT&CK, ambiguous shortened names, glued tokens refused;
    # names like "P.A.S. Webshell" found as written
    description: ClassVar[str] = "gazetteer entities with alias resolution"
    order: ClassVar[int] = 40

    def prepare(self, store: SqlStore) -> None:
        if "aliases" not in self.options:
            _, overrides = store_gazetteer(store)
            if overrides:
                self.options["aliases"] = overrides.as_json()
        if "verdicts" not in self.options:
            from allsource.store import verdicts  # here: workers never import the store

            found = verdicts.overrides(store)
            if found:
                self.options["verdicts"] = found

    @property
    def overrides(self) -> Overrides:
        """Analysts' corrections, from the ``aliases`` option."""
        return Overrides.from_json(self.options.get("aliases"))

    def fingerprint(self) -> str:
        overrides = self.overrides
        parts = [overrides.digest() if overrides else "",
                 str((self.options.get("verdicts") or {}).get("digest") or "")]
        return "-".join(p for p in parts if p)

    def setup(self) -> None:
        self.gazetteer: Gazetteer = gazetteer_for(self.overrides)
        said = self.options.get("verdicts") or {}
        self._never = {(k, e) for k, e in said.get("never", ())}
        self._doubtful = {(k, e) for k, e in said.get("doubtful", ())}
        self._here: dict[str, set[tuple[str, str]]] = {
            doc: {(k, e) for k, e in pairs} for doc, pairs in (said.get("here") or {}).items()}
        self._other: dict[str, dict[tuple[str, str], str]] = {
            doc: {(k, e): o for k, e, o in rows} for doc, rows in (said.get("other") or {}).items()}

    def _judged(self, work: Work, matches: list[EntityMatch]
                ) -> list[tuple[EntityMatch, ResolvedEntity]]:
        """Matches with their entities after the analysts' verdicts (see
        :mod:`allsource.store.verdicts`): rejected ones dropped, re-assigned ones moved, a
        doubtful name kept only where the document also names the entity another way."""
        here, other = self._here.get(work.id, set()), self._other.get(work.id, {})
        kept: list[tuple[EntityMatch, ResolvedEntity, bool]] = []
        for match in matches:
            entity = self.gazetteer.resolve(match.entity_id)
            if entity is None:
                continue
            key = alias_key(match.surface)
            pair = (key, entity.id)
            # a verdict on this document comes before one about every document
            moved = other.get(pair) or other.get(("", entity.id))
            if moved:
                entity = self.gazetteer.resolve(moved)
                if entity is None:
                    continue
            elif pair in here or ("", entity.id) in here or pair in self._never:
                continue
            kept.append((match, entity, not moved and pair in self._doubtful))
        backed = {entity.id for _, entity, doubtful in kept if not doubtful}
        return [(m, e) for m, e, doubtful in kept if not doubtful or e.id in backed]

    def process(self, batch: list[Work]) -> None:
        if not hasattr(self, "gazetteer"):
            self.setup()
        for work in batch:
            kinds: Counter[str] = Counter()
            found, refused = self.gazetteer.scan(work.full_text, _observed(work))
            why: list[list[object]] = []
            for match, entity in self._judged(work, found):
                before = len(work.mentions)
                work.add_object(entity_object(entity), self.extractor, match.start, match.end)
                if len(work.mentions) > before:  # not in a title the body repeats
                    kinds[entity.type] += 1
                    if match.why != NOT_CHECKED:
                        reason = match.why if entity.id == match.entity_id else (
                            f"{match.why}; an analyst says it is {entity.name}")
                        why.append([match.start, match.end, entity.name, reason])
            work.annotations[self.name] = {
                "mentions": sum(kinds.values()), "by_type": dict(sorted(kinds.items())),
                "why": why[:MAX_EXPLAINED],
                "refused": [[m.start, m.end, m.name, m.why] for m in refused[:MAX_EXPLAINED]]}


def _observed(work: Work) -> list[int]:
    """Offsets of the observables earlier stages found (support for ambiguous names)."""
    kinds = {o.id: o.type for o in work.objects}
    return sorted(m.start for m in work.mentions
                  if m.start is not None and kinds.get(m.object_id) in OBSERVABLES)


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [EntitiesStage]
