"""The records that flow from collectors into the store.

* :class:`Source` — where items come from, with its default marking and schedule.
* :class:`Document` — one collected item (a feed entry, a file, a MISP event, a GDELT row, a
  STIX domain object with text). Its ID is derived from its content, so the same content is
  the same document whichever source carried it; each carrier is recorded as a *sighting*.
* :class:`StixObject` — any other STIX 2.1 object: observables (SCOs), indicators, entities
  (threat actors, malware, …). Stored with its full STIX JSON, so mapping is lossless.
* :class:`Relationship` — a STIX relationship between two objects.
* :class:`Mention` — provenance: which document (and span) an object came from, and which
  extractor proposed it.

A collector yields :class:`Collected` (a document with what came with it),
:class:`Rejected` (a bad item, to be quarantined with its reason) and :class:`Checkpoint`
(the collector's resume state, saved atomically with the items that precede it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from allsource.model.ids import canonical_json, document_id, sha256_hex, source_id
from allsource.model.markings import Marking


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Source:
    """A configured source. ``kind`` names the collector plugin that reads it."""

    name: str
    kind: str
    location: str
    schedule_seconds: int = 3600
    allow_private: bool = False
    marking: Marking = field(default_factory=Marking)
    config: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    created_at: datetime | None = None

    @property
    def id(self) -> str:
        return source_id(self.name)

    def list_option(self, key: str) -> list[str]:
        """A list-valued option: a JSON list (API, TOML) or names separated by commas
        (``allsource source add … -o stages=normalize,observables``), blanks dropped."""
        raw = self.config.get(key) or ()
        items = raw.split(",") if isinstance(raw, str) else [str(x) for x in raw]
        return [item.strip() for item in items if item.strip()]


@dataclass(slots=True)
class Document:
    """A collected item. Build with :meth:`Document.build` so the ID is content-derived."""

    id: str
    kind: str
    title: str
    text: str
    content_hash: str
    url: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    media_type: str | None = None
    blob_sha256: str | None = None
    blob_ref: str | None = None
    labels: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    marking: Marking = field(default_factory=Marking)

    @classmethod
    def build(
        cls,
        *,
        kind: str,
        title: str,
        text: str,
        url: str | None = None,
        published_at: datetime | None = None,
        key: object = None,
        **rest: Any,
    ) -> Document:
        """Create a document whose ID hashes its canonical content.

        ``key`` overrides what is hashed when the natural identity is not the text (for a
        STIX object the key is its STIX id and ``modified``; for a GDELT row its event id).
        """
        title = title.strip()
        canonical = key if key is not None else {"kind": kind, "title": title, "text": text,
                                                  "url": url}
        content_hash = sha256_hex(canonical_json(canonical))
        return cls(
            id=document_id(content_hash),
            kind=kind,
            title=title,
            text=text,
            url=url,
            published_at=published_at,
            content_hash=content_hash,
            **rest,
        )


@dataclass(slots=True)
class StixObject:
    """A non-document STIX 2.1 object (observable, indicator, entity, …)."""

    id: str
    type: str
    name: str
    stix: dict[str, Any]
    marking: Marking = field(default_factory=Marking)


@dataclass(slots=True)
class Relationship:
    id: str
    relationship_type: str
    source_ref: str
    target_ref: str
    stix: dict[str, Any]
    marking: Marking = field(default_factory=Marking)


@dataclass(slots=True)
class Mention:
    """Provenance of an object in a document: who proposed it and where.

    ``start``/``end`` are character offsets into the document's ``title + "\n" + text`` (just
    ``text`` when the title is empty) — the same string processing stages read — or ``None``
    when the object came with the document as a whole (e.g. a STIX object)."""

    object_id: str
    extractor: str
    start: int | None = None
    end: int | None = None


@dataclass(slots=True)
class Collected:
    """A document and everything that arrived with it."""

    document: Document
    objects: list[StixObject] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)


@dataclass(slots=True)
class Rejected:
    """A bad item: quarantined with its reason and raw bytes; the batch goes on."""

    reason: str
    raw: bytes
    ref: str = ""


@dataclass(slots=True)
class Checkpoint:
    """The collector's resume state after every item yielded before it."""

    state: dict[str, Any]


Item = Collected | Rejected | Checkpoint
