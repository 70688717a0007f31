"""The collector plugin contract.

A collector reads one :class:`~allsource.model.records.Source` and yields, in order:

* :class:`~allsource.model.records.Collected` — a document with the objects, relationships
  and provenance mentions that came with it;
* :class:`~allsource.model.records.Rejected` — a bad item (reason + raw bytes); the runner
  quarantines it and goes on;
* :class:`~allsource.model.records.Checkpoint` — resume state covering everything yielded
  before it. The runner saves it in the same transaction as those items, so after a crash a
  rerun resumes exactly after the last committed batch. A collector may reuse one state dict
  across checkpoints, but must update it only *after* yielding the items the update covers
  (the runner serializes it when the next item arrives).

Lifecycle (one run record per run, see :mod:`allsource.collect.runner`): the runner builds
the collector with the source and a :class:`CollectContext`, calls :meth:`Collector.collect`
with the stored checkpoint (or ``{}`` for a one-off ingest), writes batches, and records
status, counts, errors and timings.

Collectors never open sockets themselves: they call :meth:`CollectContext.http` (the guarded
client factory) or :meth:`CollectContext.read` (file or URL, size-capped). Raw inputs are kept
with :meth:`CollectContext.keep_blob` and documents point at them (``blob_sha256`` +
``blob_ref``), so derived data can be rebuilt.

Rebuilding (``allsource process --rebuild``, :mod:`allsource.process.rebuild`) hands a
collector one kept blob and the stored documents read from it (:class:`StoredItem`), and
:meth:`Collector.rebuild` yields what the collector makes of those bytes *today*, through the
same parsing code as :meth:`Collector.collect`, without any network access. What the bytes
alone cannot tell — the name a file had, an article page that was fetched but not kept — comes
from the stored items. A collector that cannot do this keeps the default, which raises
:class:`CannotRebuild`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from allsource.collect.addresses import Resolver, host_of, system_resolver
from allsource.collect.http import Fetched, fetch, make_client
from allsource.collect.inputs import read_file
from allsource.config import Settings
from allsource.errors import FetchError, InputError, SourceError
from allsource.model.markings import TLP, Marking
from allsource.model.records import Collected, Item, Rejected, Source
from allsource.store.blobs import BlobStore


def is_url(location: str) -> bool:
    """Whether ``location`` is an http(s) URL (well-formed or not: fetching says which)."""
    try:
        return urlsplit(location).scheme in ("http", "https")
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return location[:8].lower().startswith(("http://", "https://"))


class CannotRebuild(SourceError):
    """A collector cannot derive its documents again from kept blobs."""


@dataclass(frozen=True, slots=True)
class StoredItem:
    """A stored document as :meth:`Collector.rebuild` sees it: where in its blob it came from
    (``ref`` is its ``blob_ref``) and what was recorded when it was collected."""

    id: str
    ref: str
    title: str
    text: str
    url: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class CollectContext:
    """What a collector may use: settings, the blob store, and guarded I/O."""

    settings: Settings
    blobs: BlobStore
    transport: httpx.BaseTransport | None = None
    resolver: Resolver = system_resolver
    _clients: dict[tuple[bool, str], httpx.Client] = field(default_factory=dict)

    @classmethod
    def offline(cls, settings: Settings, blobs: BlobStore) -> CollectContext:
        """A context whose every request fails: for work that reads kept blobs only."""
        return cls(settings=settings, blobs=blobs, transport=_Offline(), resolver=_no_names)

    def http(self, source: Source) -> httpx.Client:
        """The guarded HTTP client for ``source``: private addresses only if it allows them,
        and then only on the host of its own location (its article links, redirects and
        other hosts stay guarded)."""
        own = host_of(source.location) if source.allow_private else ""
        key = (source.allow_private and bool(own), own)
        if key not in self._clients:
            self._clients[key] = make_client(self.settings, allow_private=key[0],
                                             private_hosts=[own] if own else [],
                                             transport=self.transport, resolver=self.resolver)
        return self._clients[key]

    def fetch(self, source: Source, url: str, headers: Mapping[str, str] | None = None,
              max_bytes: int | None = None, *, params: Mapping[str, str] | None = None,
              raise_for_status: bool = True) -> Fetched:
        """GET through the guarded client, capped at ``max_input_bytes`` by default."""
        return fetch(self.http(source), url, headers=headers, params=params,
                     max_bytes=max_bytes or self.settings.max_input_bytes,
                     raise_for_status=raise_for_status, deadline=self.settings.http_deadline)

    def read(self, source: Source, location: str) -> bytes:
        """Bytes of a local file or an http(s) URL, size-capped."""
        if is_url(location):
            return self.fetch(source, location).content
        if "://" in location:
            raise InputError(f"unsupported location {location!r}: use a path or http(s) URL")
        return read_file(Path(location).expanduser(), self.settings.max_input_bytes)

    def keep_blob(self, data: bytes) -> str:
        return self.blobs.put(data)

    def kept_blob(self, sha256: object) -> bytes | None:
        """The bytes of a kept blob, or ``None`` when ``sha256`` names none."""
        try:
            return self.blobs.get(sha256) if isinstance(sha256, str) else None
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


class _Offline(httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise FetchError(f"not fetching {request.url}: working offline, from kept blobs only")


def _no_names(host: str) -> list[str]:
    raise FetchError(f"not resolving {host}: working offline, from kept blobs only")


class Collector(ABC):
    """Base class of collector plugins. Subclasses set the class attributes and implement
    :meth:`collect`; :meth:`detect` lets ``allsource ingest`` pick a collector for a path."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    #: highest TLP this collector may handle (it only reads; enforcement is on release)
    max_tlp: ClassVar[TLP] = TLP.RED
    #: seconds a run may take before the runner stops it after the current batch
    time_limit: ClassVar[float] = 6 * 3600
    #: default polling interval for ``collect --watch``
    default_schedule: ClassVar[int] = 3600

    def __init__(self, source: Source, ctx: CollectContext) -> None:
        self.source = source
        self.ctx = ctx

    @property
    def marking(self) -> Marking:
        """The source's default marking, for items whose input carries none."""
        return self.source.marking

    @classmethod
    def detect(cls, location: str, head: bytes) -> int:
        """How confident (0–100) this collector is that it reads ``location``; ``head`` holds
        the first bytes of a local file (empty for URLs and folders)."""
        return 0

    @abstractmethod
    def collect(self, checkpoint: dict[str, Any]) -> Iterator[Item]:
        """Yield items from the source, resuming after ``checkpoint``."""

    def reparse(self, raw: bytes, ref: str) -> Iterator[Item]:
        """Re-read one quarantined raw item (after a fix or a raised limit).

        Collectors that parse whole inputs from bytes override this; the default says how to
        retry instead."""
        raise InputError(f"the {self.name} collector cannot retry single items; run "
                         f"`allsource collect {self.source.name}` again")

    def rebuild(self, raw: bytes, stored: Sequence[StoredItem]
                ) -> Iterator[Collected | Rejected]:
        """Derive again what this collector makes of one kept blob ``raw``, which the
        ``stored`` documents were read from. Yields every item of the blob in collection
        order (the caller keeps those it stored, matched by document id, then by
        ``blob_ref``) and a :class:`Rejected` per bad item; raises :class:`InputError` when
        the blob is unusable as a whole. Never touches the network."""
        raise CannotRebuild(f"the {self.name} collector cannot rebuild documents from kept "
                            "blobs")
