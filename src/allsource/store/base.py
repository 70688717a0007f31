"""The store interface. SQLite and PostgreSQL are two implementations of this protocol.

Everything the cycle stages need from storage goes through these methods; nothing above the
store writes SQL. Every read takes an :class:`~allsource.model.markings.Audience` and returns
only what :func:`~allsource.model.markings.can_release` allows for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from allsource.model.markings import Audience
from allsource.model.records import Collected, Source
from allsource.store.blobs import BlobStore
from allsource.store.query import SearchQuery, SearchResult


@dataclass(slots=True)
class QuarantineItem:
    """A rejected item waiting in quarantine: its reason and the raw blob it came from."""

    reason: str
    blob_sha256: str
    item_ref: str = ""


@dataclass(slots=True)
class BatchCounts:
    items: int = 0
    new: int = 0
    duplicates: int = 0
    quarantined: int = 0
    objects: int = 0
    relationships: int = 0

    def add(self, other: BatchCounts) -> None:
        for name in ("items", "new", "duplicates", "quarantined", "objects", "relationships"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in
                ("items", "new", "duplicates", "quarantined", "objects", "relationships")}


@dataclass(slots=True)
class RunRecord:
    """One plugin run: status, counts, errors, timings."""

    id: str
    plugin: str
    source_id: str | None
    started_at: datetime
    status: str = "running"
    finished_at: datetime | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@runtime_checkable
class Store(Protocol):
    url: str
    blobs: BlobStore

    def migrate(self) -> None: ...
    def close(self) -> None: ...

    # sources and checkpoints
    def add_source(self, source: Source) -> None: ...
    def update_source(self, source: Source) -> None: ...
    def get_source(self, name_or_id: str) -> Source | None: ...
    def list_sources(self) -> list[Source]: ...
    def remove_source(self, name_or_id: str) -> bool: ...
    def source_status(self, source_id: str) -> dict[str, Any]: ...
    def set_source_status(self, source_id: str, status: str) -> None: ...
    def get_checkpoint(self, source_id: str) -> dict[str, Any]: ...

    # writes
    def write_batch(self, source: Source, items: list[Collected],
                    quarantined: list[QuarantineItem],
                    checkpoint: dict[str, Any] | None) -> BatchCounts: ...
    def save_run(self, run: RunRecord) -> None: ...

    # reads (filtered by audience)
    def search(self, query: SearchQuery, audience: Audience) -> SearchResult: ...
    def get(self, object_id: str, audience: Audience) -> dict[str, Any] | None: ...
    def stats(self, audience: Audience) -> dict[str, Any]: ...
    def count(self, table: str) -> int: ...
    def document_ids(self) -> list[str]: ...

    # quarantine
    def list_quarantine(self, status: str | None = "open",
                        source_id: str | None = None) -> list[dict[str, Any]]: ...
    def resolve_quarantine(self, ids: list[str], status: str) -> None: ...
