"""One MISP event → one document with its observables, indicators and galaxy entities.

The document (kind ``misp-event``) is titled by the event's ``info``; its text is what a reader
searches for: the info, the galaxy clusters attached (name and description), attribute
comments, ``text``/``comment`` attribute values, and object names and comments. HTML found in
those fields is reduced to its plain text (scripts and styles dropped), so nothing stored is
markup. Its key is ``{"misp_event": uuid, "timestamp": timestamp}``: an edited event (new
timestamp) is a new document, an unchanged one a duplicate.

Attributes — top-level and inside objects — go through :mod:`allsource.collect.misp_attributes`
(observables, indicators). Galaxy clusters — ``Galaxy`` blocks and ``misp-galaxy:`` tags, on the
event and on attributes — go through :mod:`allsource.collect.misp_galaxy_map`. No relationship
between actors and malware is invented here; that is left to processing.
Every object and relationship made is mentioned by the document (extractor ``misp``), so its
provenance is stored with it.

Markings come from the event's, objects' and attributes' ``tlp:*`` tags and ``distribution``
(see :mod:`allsource.collect.misp_markings`).

A malformed attribute (not an object, no type, no value) is skipped and noted in the
document's ``meta["skipped_attributes"]``; values a type rejects are counted in
``meta["rejected_values"]``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from allsource.collect.htmltext import html_to_text, looks_like_html
from allsource.collect.misp_attributes import attribute_output, epoch, is_mapped, misp_time
from allsource.collect.misp_galaxy_map import cluster_entity, parse_galaxy_tag
from allsource.collect.misp_markings import element_marking, event_marking, tag_names
from allsource.model.markings import Marking
from allsource.model.records import Collected, Document, Mention, Relationship, StixObject
from allsource.model.stix import stix_time

EXTRACTOR = "misp"
_PROSE_TYPES = frozenset({"text", "comment"})
_MAX_NOTES = 50


def plain_text(value: str) -> str:
    """``value`` with any HTML reduced to its text; other text only has its lines trimmed."""
    if looks_like_html(value):
        return html_to_text(value)
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in value.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()



def published_at(event: Mapping[str, Any]) -> datetime | None:
    """The event ``date``, else its publish timestamp, else its timestamp."""
    try:
        day = date.fromisoformat(str(event.get("date", "")).strip())
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    except ValueError:
        pass
    return epoch(event.get("publish_timestamp")) or epoch(event.get("timestamp"))


class _Text:
    """Builds the document text paragraph by paragraph, remembering where each one starts."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.seen: set[str] = set()

    def add(self, value: object) -> tuple[int, int] | None:
        if not isinstance(value, str):
            return None
        text = plain_text(value)
        if not text or text in self.seen:
            return None
        self.seen.add(text)
        start = self.length + (2 if self.parts else 0)
        self.parts.append(text)
        self.length = start + len(text)
        return start, self.length

    def value(self) -> str:
        return "\n\n".join(self.parts)


@dataclass
class _Event:
    """Accumulates one event's document parts while its attributes are walked."""

    uuid: str
    marking: Marking
    fallback_time: str
    text: _Text = field(default_factory=_Text)
    objects: dict[str, StixObject] = field(default_factory=dict)
    relationships: dict[str, Relationship] = field(default_factory=dict)
    mentions: list[Mention] = field(default_factory=list)
    types: Counter[str] = field(default_factory=Counter)
    cluster_tags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rejected: int = 0
    indicators: int = 0
    sightings: Counter[str] = field(default_factory=Counter)

    def add_object(self, obj: StixObject, span: tuple[int, int] | None = None) -> None:
        self.objects.setdefault(obj.id, obj)
        self.mentions.append(Mention(obj.id, EXTRACTOR, *(span or (None, None))))

    def skip(self, where: str, why: str) -> None:
        if len(self.skipped) < _MAX_NOTES:
            self.skipped.append(f"{where}: {why}")


def _blocks(container: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(galaxy type, cluster)`` for each cluster in the container's ``Galaxy`` blocks."""
    galaxies = container.get("Galaxy")
    for galaxy in galaxies if isinstance(galaxies, list) else []:
        if not isinstance(galaxy, Mapping):
            continue
        clusters = galaxy.get("GalaxyCluster")
        for cluster in clusters if isinstance(clusters, list) else []:
            if isinstance(cluster, Mapping):
                yield str(galaxy.get("type") or cluster.get("type") or ""), cluster


def _add_clusters(ev: _Event, container: Mapping[str, Any], marking: Marking) -> None:
    """Entities for the container's galaxy blocks, then for galaxy tags not already seen."""
    for galaxy_type, cluster in _blocks(container):
        entity = cluster_entity(galaxy_type, cluster, marking)
        if entity is None:
            continue
        ev.cluster_tags.add(str(cluster.get("tag_name", "")))
        ev.cluster_tags.add(f'misp-galaxy:{galaxy_type}="{entity.name}"')
        ev.add_object(entity, ev.text.add(entity.name))
        ev.text.add(cluster.get("description"))
    for tag in tag_names(container):
        parsed = parse_galaxy_tag(tag)
        if parsed is None or tag in ev.cluster_tags:
            continue
        ev.cluster_tags.add(tag)
        entity = cluster_entity(parsed[0], {"value": parsed[1]}, marking)
        if entity is not None:
            ev.add_object(entity, ev.text.add(entity.name))


def _broken(attr: object) -> str | None:
    if not isinstance(attr, Mapping):
        return "not a JSON object"
    if not isinstance(attr.get("type"), str) or not attr["type"].strip():
        return "no type"
    value = attr.get("value")
    if not isinstance(value, str) or not value.strip():
        return "no value"
    return None


def _add_attribute(ev: _Event, attr: Any, where: str, parent: Marking, *,
                   in_object: bool = False) -> None:
    why = _broken(attr)
    if why is not None:
        ev.skip(where, why)
        return
    if attr.get("deleted") is True:
        return
    misp_type = attr["type"].strip()
    ev.types[misp_type] += 1
    marking = element_marking(attr, parent)
    ev.text.add(attr.get("comment"))
    if misp_type in _PROSE_TYPES and not in_object:  # in objects they are short fields
        ev.text.add(attr["value"])
    elif misp_type == "link" and attr["value"].strip() not in ev.references:
        ev.references.append(attr["value"].strip())
    sightings = attr.get("Sighting")
    for s in sightings if isinstance(sightings, list) else []:
        kind = str(s.get("type", "0")) if isinstance(s, Mapping) else "0"
        ev.sightings[{"1": "false-positive", "2": "expiration"}.get(kind, "sighting")] += 1
    _add_clusters(ev, attr, marking)
    if not is_mapped(misp_type):
        return
    out = attribute_output({**attr, "type": misp_type}, marking, event_uuid=ev.uuid,
                           fallback_time=ev.fallback_time)
    ev.rejected += out.rejected
    for obj in out.observables:
        ev.add_object(obj)
    if out.indicator is not None:
        ev.indicators += 1
        ev.add_object(out.indicator)
        for rel in out.relationships:  # provenance for relationships too (a rebuild needs it)
            if rel.id not in ev.relationships:
                ev.mentions.append(Mention(rel.id, EXTRACTOR))
            ev.relationships[rel.id] = rel


def _walk_attributes(ev: _Event, event: Mapping[str, Any]) -> int:
    """Adds top-level and object attributes; returns how many objects the event has."""
    attrs = event.get("Attribute")
    for i, attr in enumerate(attrs if isinstance(attrs, list) else []):
        _add_attribute(ev, attr, f"Attribute[{i}]", ev.marking)
    objects = event.get("Object")
    objects = objects if isinstance(objects, list) else []
    for i, obj in enumerate(objects):
        if not isinstance(obj, Mapping):
            ev.skip(f"Object[{i}]", "not a JSON object")
            continue
        name, comment = str(obj.get("name") or "object"), obj.get("comment")
        ev.text.add(f"{name}: {comment.strip()}"
                    if isinstance(comment, str) and comment.strip() else name)
        marking = element_marking(obj, ev.marking)
        inner = obj.get("Attribute")
        for j, attr in enumerate(inner if isinstance(inner, list) else []):
            _add_attribute(ev, attr, f"Object[{i}].Attribute[{j}]", marking, in_object=True)
    return len(objects)


def _fallback_time(event: Mapping[str, Any]) -> str:
    when = misp_time(event.get("timestamp")) or misp_time(event.get("publish_timestamp"))
    if when:
        return when
    return stix_time(published_at(event) or datetime(1970, 1, 1, tzinfo=UTC))


def _meta(ev: _Event, event: Mapping[str, Any], n_objects: int) -> dict[str, Any]:
    orgc = event.get("Orgc")
    meta: dict[str, Any] = {
        "uuid": ev.uuid,
        "orgc": orgc.get("name") if isinstance(orgc, Mapping) else None,
        "threat_level_id": event.get("threat_level_id"), "analysis": event.get("analysis"),
        "distribution": event.get("distribution"), "timestamp": event.get("timestamp"),
        "published": event.get("published"), "date": event.get("date"),
        "attribute_count": sum(ev.types.values()), "attribute_types": dict(ev.types),
        "object_count": n_objects, "indicator_count": ev.indicators,
        "rejected_values": ev.rejected,
    }
    if ev.references:
        meta["references"] = ev.references
    if ev.skipped:
        meta["skipped_attributes"] = ev.skipped
    if ev.sightings:
        meta["sightings"] = dict(ev.sightings)
    if grade := admiralty_tags(tag_names(event)):
        meta["admiralty"] = grade
    return {k: v for k, v in meta.items() if v is not None}


_ADMIRALTY = re.compile(
    r'^admiralty-scale:(source-reliability|information-credibility)="?([a-fA-F1-6])"?$')


def admiralty_tags(tags: list[str]) -> dict[str, Any]:
    """The Admiralty grade an event's ``admiralty-scale:`` tags give (MISP taxonomy):
    ``{"reliability": "B", "credibility": 2}``, either part absent when not tagged."""
    grade: dict[str, Any] = {}
    for tag in tags:
        match = _ADMIRALTY.match(tag.strip())
        if match is None:
            continue
        kind, value = match.groups()
        if kind == "source-reliability" and value.isalpha():
            grade["reliability"] = value.upper()
        elif kind == "information-credibility" and value.isdigit():
            grade["credibility"] = int(value)
    return grade


def event_uuid(event: Mapping[str, Any]) -> str:
    return str(event.get("uuid") or "").strip()


def event_collected(event: Mapping[str, Any], *, default_marking: Marking, blob_sha256: str,
                    blob_ref: str, url: str | None = None) -> Collected:
    """The document and objects of one event (``uuid`` and ``info`` already checked)."""
    ev = _Event(uuid=event_uuid(event), marking=event_marking(event, default_marking),
                fallback_time=_fallback_time(event))
    title = plain_text(str(event.get("info", ""))) or ev.uuid
    ev.text.add(title)
    _add_clusters(ev, event, ev.marking)
    n_objects = _walk_attributes(ev, event)
    doc = Document.build(
        kind="misp-event", title=title, text=ev.text.value(), url=url,
        published_at=published_at(event),
        key={"misp_event": ev.uuid, "timestamp": str(event.get("timestamp", ""))},
        blob_sha256=blob_sha256, blob_ref=blob_ref, labels=tag_names(event),
        meta=_meta(ev, event, n_objects), marking=ev.marking)
    # Spans index ``title + "\n" + text``, the text processing stages read (Work.full_text).
    shift = len(doc.title) + 1 if doc.title else 0
    mentions = [Mention(m.object_id, m.extractor,
                        None if m.start is None else m.start + shift,
                        None if m.end is None else m.end + shift) for m in ev.mentions]
    return Collected(doc, list(ev.objects.values()), list(ev.relationships.values()), mentions)
