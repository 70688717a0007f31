"""Lossless STIX 2.1 mapping of our own records.

Objects that arrive as STIX (SDOs, SCOs, relationships) are stored with their full STIX JSON
and exported as they are. What allsource itself adds maps as follows:

* :class:`Document` ↔ custom object ``x-allsource-document`` whose properties are prefixed
  ``x_allsource_``; ``name`` carries the title. ``created`` is the collection time,
  ``modified`` equals it (documents are immutable: new content is a new document).
* :class:`Source` → ``identity`` (``identity_class: "system"``) with its settings as
  ``x_allsource_`` properties.
* :class:`Marking` → ``object_marking_refs`` with the TLP 2.0 marking definition, plus
  ``x_allsource_classification`` / ``_compartments`` / ``_releasability`` when set.

``document_from_stix(document_to_stix(d, t)) == d`` for every document ``d``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from allsource.model.admiralty import Grade, Reliability
from allsource.model.markings import (
    TLP,
    TLP2_MARKING_IDS,
    TLP_BY_MARKING_ID,
    Classification,
    Marking,
)
from allsource.model.records import Document, Source


def stix_time(dt: datetime) -> str:
    """STIX timestamp: UTC with millisecond precision and a ``Z`` suffix."""
    dt = dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_stix_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def marking_properties(marking: Marking) -> dict[str, Any]:
    props: dict[str, Any] = {"object_marking_refs": [TLP2_MARKING_IDS[marking.tlp]]}
    if marking.classification != Classification.UNCLASSIFIED:
        props["x_allsource_classification"] = marking.classification.name
    if marking.compartments:
        props["x_allsource_compartments"] = sorted(marking.compartments)
    if marking.releasability:
        props["x_allsource_releasability"] = sorted(marking.releasability)
    return props


def marking_from_properties(obj: dict[str, Any]) -> Marking:
    tlps = [TLP_BY_MARKING_ID[r] for r in obj.get("object_marking_refs", [])
            if r in TLP_BY_MARKING_ID]
    return Marking(
        tlp=max(tlps, default=TLP.CLEAR),
        classification=Classification.parse(obj.get("x_allsource_classification",
                                                    "UNCLASSIFIED")),
        compartments=frozenset(obj.get("x_allsource_compartments", ())),
        releasability=frozenset(obj.get("x_allsource_releasability", ())),
    )


def document_to_stix(doc: Document, collected_at: datetime,
                     grade: Grade | None = None) -> dict[str, Any]:
    """The document as an ``x-allsource-document`` SDO; with its Admiralty ``grade``, the
    two axes travel as ``x_allsource_reliability``/``x_allsource_credibility`` and the
    credibility as STIX ``confidence`` (see :mod:`allsource.model.admiralty`)."""
    ts = stix_time(collected_at)
    obj: dict[str, Any] = {
        "type": "x-allsource-document", "spec_version": "2.1", "id": doc.id,
        "created": ts, "modified": ts, "name": doc.title,
        "x_allsource_kind": doc.kind, "x_allsource_text": doc.text,
        "x_allsource_content_hash": doc.content_hash,
    }
    optional = {
        "x_allsource_url": doc.url,
        "x_allsource_published": stix_time(doc.published_at) if doc.published_at else None,
        "x_allsource_language": doc.language, "x_allsource_media_type": doc.media_type,
        "x_allsource_blob_sha256": doc.blob_sha256, "x_allsource_blob_ref": doc.blob_ref,
        "x_allsource_meta": doc.meta or None,
    }
    obj.update({k: v for k, v in optional.items() if v is not None})
    if doc.labels:
        obj["labels"] = list(doc.labels)
    if grade is not None:
        obj.update(grade.stix_properties())
    obj.update(marking_properties(doc.marking))
    return obj


def document_from_stix(obj: dict[str, Any]) -> Document:
    if obj.get("type") != "x-allsource-document":
        raise ValueError(f"not an allsource document: {obj.get('type')!r}")
    published = obj.get("x_allsource_published")
    return Document(
        id=obj["id"], kind=obj["x_allsource_kind"], title=obj["name"],
        text=obj["x_allsource_text"], content_hash=obj["x_allsource_content_hash"],
        url=obj.get("x_allsource_url"),
        published_at=parse_stix_time(published) if published else None,
        language=obj.get("x_allsource_language"), media_type=obj.get("x_allsource_media_type"),
        blob_sha256=obj.get("x_allsource_blob_sha256"),
        blob_ref=obj.get("x_allsource_blob_ref"), labels=list(obj.get("labels", [])),
        meta=dict(obj.get("x_allsource_meta") or {}), marking=marking_from_properties(obj),
    )


def source_to_stix(source: Source, reliability: Reliability | None = None
                   ) -> dict[str, Any]:
    ts = stix_time(source.created_at or datetime(1970, 1, 1, tzinfo=UTC))
    graded = {"x_allsource_reliability": reliability.value} if reliability else {}
    return {**graded,
        "type": "identity", "spec_version": "2.1", "id": source.id, "created": ts,
        "modified": ts, "name": source.name, "identity_class": "system",
        "x_allsource_collector": source.kind, "x_allsource_location": source.location,
        "x_allsource_schedule_seconds": source.schedule_seconds,
        **marking_properties(source.marking),
    }
