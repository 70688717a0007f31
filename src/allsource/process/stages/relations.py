"""The ``relations`` stage: relationships between the things found in the same sentence,
each with that sentence as evidence.

Rules, applied per sentence (spans from ``normalize``, mentions from the earlier stages):

* an actor (``intrusion-set``/``threat-actor``/``campaign``) and software (``malware``,
  ``tool``) → ``<actor> uses <software>``;
* an actor or software and a sector (``identity``) or ``location``, when the sentence holds a
  targeting verb (target, attack, hit, breach, compromise, …) → ``<actor> targets <victim>``;
* an observable (IP, domain, URL, hash, …) and software or an actor →
  ``<observable> related-to <software/actor>`` — co-occurrence, not yet an indicator.

Never a thing with itself, nor with the place its own name came from: "Turkish" (a malware) and
Turkey, "Cuba" (a ransomware) and Cuba in one sentence are one word read twice
(:func:`allsource.process.namesakes.named_after`).

A relationship's ID is derived from its type and ends, so the same relation found in many
documents is one relationship with many evidence mentions (extractor ``relations@N``, span =
the sentence). Co-occurrence is weak evidence on purpose: verification (corroboration across
independent sources) decides later how much to believe it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import UTC, datetime
from itertools import pairwise
from typing import ClassVar

from allsource.hookspecs import hookimpl
from allsource.model.ids import minted_id
from allsource.model.records import Mention, Relationship, StixObject
from allsource.model.stix import stix_time
from allsource.process.base import Stage, Work
from allsource.process.namesakes import named_after
from allsource.process.normalize import Cleaned

ACTORS = frozenset({"intrusion-set", "threat-actor", "campaign"})
SOFTWARE = frozenset({"malware", "tool"})
VICTIMS = frozenset({"identity", "location"})
OBSERVABLES = frozenset({"ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file",
                         "autonomous-system", "windows-registry-key"})
TARGETING = re.compile(r"\b(?:target\w*|attack\w*|hit|hits|breach\w*|compromis\w*|"
                       r"infiltrat\w*|struck|victimi[sz]\w*|against)\b", re.IGNORECASE)


def _sentences(work: Work) -> list[tuple[int, int]]:
    """Sentence spans in ``work.full_text`` coordinates."""
    cleaned = work.scratch.get("clean")
    spans = work.scratch.get("sentences") or []
    if isinstance(cleaned, Cleaned):
        return [cleaned.to_original(s, e) for s, e in spans]
    return [(s, e) for s, e in spans]


def distinct(source: StixObject, target: StixObject) -> bool:
    """``source`` and ``target`` are two things: not one object, and ``source`` is not named
    after the place ``target``."""
    if source.id == target.id:
        return False
    if target.type != "location":
        return True
    return not named_after(source.name, target.name, str(target.stix.get("country") or ""))


def relationship(kind: str, source: StixObject, target: StixObject, rule: str) -> Relationship:
    rid = minted_id("relationship", f"{kind}|{source.id}|{target.id}")
    now = stix_time(datetime.now(UTC))
    stix = {"type": "relationship", "spec_version": "2.1", "id": rid, "created": now,
            "modified": now, "relationship_type": kind, "source_ref": source.id,
            "target_ref": target.id, "x_allsource_rule": rule}
    return Relationship(id=rid, relationship_type=kind, source_ref=source.id,
                        target_ref=target.id, stix=stix,
                        marking=source.marking.combine(target.marking))


class RelationsStage(Stage):
    name: ClassVar[str] = "relations"
    version: ClassVar[str] = "2"  # 2: nothing related to itself or its namesake place
    description: ClassVar[str] = "sentence-level relations (uses, targets, related-to)"
    requires: ClassVar[tuple[str, ...]] = ("normalize", "entities", "places")
    order: ClassVar[int] = 60

    def process(self, batch: list[Work]) -> None:
        for work in batch:
            found = self._relations(work)
            work.annotations[self.name] = {
                "relationships": len({r.id for r, _ in found}),
                "by_type": {k: sum(1 for r, _ in found if r.relationship_type == k)
                            for k in sorted({r.relationship_type for r, _ in found})}}
            seen: set[str] = set()
            for rel, (start, end) in found:
                if rel.id not in seen:
                    work.relationships.append(rel)
                    seen.add(rel.id)
                work.mentions.append(Mention(rel.id, self.extractor, start, end))

    def _relations(self, work: Work) -> list[tuple[Relationship, tuple[int, int]]]:
        objects = {o.id: o for o in work.objects}
        placed = [(m.start, objects[m.object_id]) for m in work.mentions
                  if m.start is not None and m.object_id in objects]
        text = work.full_text
        out: list[tuple[Relationship, tuple[int, int]]] = []
        sentences = _sentences(work)
        for (start, end), here in zip(sentences, _per_sentence(sentences, placed), strict=True):
            inside = {o.id: o for o in here}
            if len(inside) < 2:
                continue
            actors = [o for o in inside.values() if o.type in ACTORS]
            software = [o for o in inside.values() if o.type in SOFTWARE]
            victims = [o for o in inside.values() if o.type in VICTIMS]
            observables = [o for o in inside.values() if o.type in OBSERVABLES]
            span = (start, end)
            out += [(relationship("uses", a, s, "co-occurrence"), span)
                    for a in actors for s in software if distinct(a, s)]
            if victims and TARGETING.search(text, start, end):
                out += [(relationship("targets", a, v, "targeting-verb"), span)
                        for a in actors + software for v in victims if distinct(a, v)]
            out += [(relationship("related-to", o, t, "co-occurrence"), span)
                    for o in observables for t in software + actors if distinct(o, t)]
        return out


def _per_sentence(sentences: list[tuple[int, int]], placed: list[tuple[int, StixObject]]
                  ) -> list[list[StixObject]]:
    """Per sentence, the objects placed in it, in ``placed`` order: one pass when the
    sentences are sorted and do not overlap (as the sentence splitter makes them), else a
    scan per sentence."""
    starts = [s for s, _ in sentences]
    if (any(s > e for s, e in sentences)
            or any(a[1] > b[0] for a, b in pairwise(sentences))):
        return [[o for pos, o in placed if s <= pos < e] for s, e in sentences]
    out: list[list[StixObject]] = [[] for _ in sentences]
    for pos, obj in placed:
        i = bisect_right(starts, pos) - 1
        if i >= 0 and pos < sentences[i][1]:
            out[i].append(obj)
    return out


@hookimpl
def register_stages() -> list[type[Stage]]:
    return [RelationsStage]
