"""Collector for MISP events: one event file, a folder of them, or a MISP feed.

Locations:

* a JSON file (path or http(s) URL) holding ``{"Event": {...}}``, a bare event, a list of
  events, or a REST search answer ``{"response": [{"Event": …}, …]}``;
* a folder of such ``*.json`` files;
* a MISP feed — a folder or an http(s) base URL (or its ``manifest.json`` URL) holding
  ``manifest.json`` (event UUID → ``{info, timestamp, Orgc, Tag, …}``) and ``<uuid>.json``.

The JSON is read with orjson under the input size cap; each event is also held to the item cap.
Each event becomes one ``misp-event`` document (see :mod:`allsource.collect.misp_event`).

Checkpoint: ``{"events": {uuid: timestamp}}``. For a feed the manifest is compared with it
first, so only new or changed events are fetched; for files, an event whose timestamp is
unchanged is skipped after parsing. A checkpoint follows every few events and the end.

Bad input: a file that is not a MISP event is quarantined with its bytes (``InputError`` from
:func:`parse_events`, e.g. on :meth:`MispCollector.reparse`); an event without UUID or info, or
over the item cap, is quarantined alone; a broken attribute is skipped and noted in the
document. A feed event file that cannot be fetched (HTTP error, unreachable) ends the run as
failed after committing what came before it, so the next run retries from the checkpoint.

Rebuilding reads a kept event file again through the same path, with the URL its documents
recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import orjson

from allsource.collect.base import Collector, StoredItem, is_url
from allsource.collect.inputs import looks_binary, read_file
from allsource.collect.misp_event import event_collected, event_uuid
from allsource.errors import InputError
from allsource.hookspecs import hookimpl
from allsource.model.records import Checkpoint, Collected, Item, Rejected

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_MANIFEST = "manifest.json"
_NOT_EVENT = ('no MISP event found: expected {"Event": {...}}, a bare event, a list of '
              'events or {"response": [...]}')


def _unwrap(value: object) -> dict[str, Any] | None:
    """The event in ``{"Event": {...}}`` or a bare event (has ``info`` and event fields)."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("Event"), dict):
        return dict(value["Event"])
    if "info" in value and ("Attribute" in value or "Object" in value or "uuid" in value):
        return value
    return None


def parse_events(data: bytes) -> list[dict[str, Any]]:
    """The events in one MISP JSON input; :class:`InputError` when it holds none."""
    if looks_binary(data):
        raise InputError("input is binary, not MISP JSON")
    try:
        doc = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc}); expected a MISP event") from None
    if isinstance(doc, dict) and isinstance(doc.get("response"), list):
        doc = doc["response"]
    candidates = doc if isinstance(doc, list) else [doc]
    events = [e for e in (_unwrap(c) for c in candidates) if e is not None]
    if not events:
        raise InputError(_NOT_EVENT)
    return events


def parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise InputError(f"feed manifest.json is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise InputError("feed manifest.json is not a JSON object of event UUIDs")
    return manifest


def _head_score(head: bytes) -> int:
    text = head[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text.startswith((b"{", b"[")):
        return 0
    if re.search(rb'"Event"\s*:\s*\{', text[:512]):
        return 95
    if b'"response"' in text[:200] and b'"Event"' in text:
        return 80
    if b'"info"' in text and (b'"threat_level_id"' in text or b'"Attribute"' in text):
        return 60
    return 0


def _feed_base(url: str) -> str | None:
    """The feed base URL for ``url``, or ``None`` when it names a single JSON file."""
    path = urlsplit(url).path
    if path.endswith("/" + _MANIFEST):
        return url[: url.rindex(_MANIFEST)]
    if path.lower().endswith(".json"):
        return None
    return url if url.endswith("/") else url + "/"


class MispCollector(Collector):
    name: ClassVar[str] = "misp"
    description: ClassVar[str] = ("MISP events: an event JSON file, a folder of them, or a MISP "
                                  "feed (manifest.json + <uuid>.json, folder or http(s))")
    default_schedule: ClassVar[int] = 3600
    checkpoint_every: ClassVar[int] = 25

    @classmethod
    def detect(cls, location: str, head: bytes) -> int:
        if is_url(location):
            return 90 if urlsplit(location).path.endswith("/" + _MANIFEST) else 0
        path = Path(location).expanduser()
        if not path.is_dir():
            return _head_score(head)
        manifest = path / _MANIFEST
        if manifest.is_file():
            with manifest.open("rb") as fh:
                start = fh.read(512).lstrip()
            return 90 if re.match(rb'\{\s*("[0-9a-fA-F-]{36}"|\})', start) else 10
        first = next(iter(sorted(path.glob("*.json"))), None)
        if first is None or not first.is_file():
            return 0
        with first.open("rb") as fh:
            return min(70, _head_score(fh.read(4096)))

    def collect(self, checkpoint: dict[str, Any]) -> Iterator[Item]:
        stored = checkpoint.get("events")
        seen = {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}
        count = 0
        for item in self._items(seen):
            yield item
            if isinstance(item, Collected):
                count += 1
                if count % self.checkpoint_every == 0:
                    yield Checkpoint({"events": dict(seen)})
        yield Checkpoint({"events": dict(seen)})

    def reparse(self, raw: bytes, ref: str) -> Iterator[Item]:
        yield from self._events(parse_events(raw), raw, ref, {}, None, None)

    def rebuild(self, raw: bytes, stored: Sequence[StoredItem]
                ) -> Iterator[Collected | Rejected]:
        url = next((s.url for s in stored if s.url), None)
        yield from self._events(parse_events(raw), raw, url or self.source.location, {}, url,
                                None)

    # -- locations ----------------------------------------------------------------------------
    def _items(self, seen: dict[str, str]) -> Iterator[Item]:
        location = self.source.location
        if is_url(location):
            base = _feed_base(location)
            if base is None:
                yield from self._parsed(self.ctx.read(self.source, location), location, seen,
                                        location)
            else:
                yield from self._feed(self._http_reader(base), base, seen, remote=True)
            return
        path = Path(location).expanduser()
        if path.is_dir() and (path / _MANIFEST).is_file():
            yield from self._feed(self._file_reader(path), f"{path}/", seen, remote=False)
        elif path.is_dir():
            yield from self._folder(path, seen)
        else:
            yield from self._parsed(self.ctx.read(self.source, location), location, seen, None)

    def _file_reader(self, folder: Path) -> Callable[[str], bytes]:
        return lambda name: read_file(folder / name, self.ctx.settings.max_input_bytes)

    def _http_reader(self, base: str) -> Callable[[str], bytes]:
        return lambda name: self.ctx.fetch(self.source, base + name).content

    def _folder(self, folder: Path, seen: dict[str, str]) -> Iterator[Item]:
        for path in sorted(folder.glob("*.json")):
            if not path.is_file():
                continue
            try:
                data = read_file(path, self.ctx.settings.max_input_bytes)
            except InputError as exc:
                yield Rejected(str(exc), b"", str(path))
                continue
            yield from self._parsed(data, str(path), seen, None)

    def _feed(self, read: Callable[[str], bytes], base: str, seen: dict[str, str], *,
              remote: bool) -> Iterator[Item]:
        """Fetches the events whose manifest timestamp differs from the checkpoint."""
        manifest = parse_manifest(read(_MANIFEST))
        entries: list[tuple[int, str, str]] = []
        for key, info in manifest.items():
            if not _UUID.match(key):
                yield Rejected(f"feed manifest lists {key[:80]!r}, which is not an event UUID",
                               orjson.dumps({key: info}), base + _MANIFEST)
                continue
            ts = str(info.get("timestamp", "")) if isinstance(info, Mapping) else ""
            entries.append((int(ts) if ts.isdigit() else 0, key, ts))
        for _, uid, ts in sorted(entries):
            if seen.get(uid) == ts:
                continue
            name = f"{uid}.json"
            try:
                data = read(name)
            except InputError as exc:
                yield Rejected(str(exc), b"", base + name)
                continue
            yield from self._parsed(data, base + name, seen, base + name if remote else None,
                                    feed_entry=(uid, ts))

    # -- events -------------------------------------------------------------------------------
    def _parsed(self, data: bytes, ref: str, seen: dict[str, str], url: str | None,
                feed_entry: tuple[str, str] | None = None) -> Iterator[Item]:
        try:
            events = parse_events(data)
        except InputError as exc:
            if feed_entry:
                seen[feed_entry[0]] = feed_entry[1]  # retried when the feed changes it
            yield Rejected(f"{ref}: {exc}", data, ref)
            return
        yield from self._events(events, data, ref, seen, url, feed_entry)

    def _events(self, events: list[dict[str, Any]], data: bytes, ref: str,
                seen: dict[str, str], url: str | None,
                feed_entry: tuple[str, str] | None) -> Iterator[Collected | Rejected]:
        sha: str | None = None
        for i, event in enumerate(events):
            raw = data if len(events) == 1 else orjson.dumps(event)
            uid, ts = event_uuid(event), str(event.get("timestamp", ""))
            problem = self._problem(event, raw)
            if feed_entry:
                seen[feed_entry[0]] = feed_entry[1]
            if problem:
                yield Rejected(f"{ref} event {i}: {problem}", raw, f"{ref}#event{i}")
                continue
            if not feed_entry:
                if seen.get(uid) == ts:
                    continue
                seen[uid] = ts  # set before yielding: the next checkpoint covers this event
            sha = sha or self.ctx.keep_blob(data)
            yield event_collected(event, default_marking=self.marking, blob_sha256=sha,
                                  blob_ref=f"event:{uid}", url=url)

    def _problem(self, event: Mapping[str, Any], raw: bytes) -> str | None:
        cap = self.ctx.settings.max_item_bytes
        if len(raw) > cap:
            return f"event is {len(raw)} bytes, over the {cap}-byte item cap"
        if not _UUID.match(event_uuid(event)):
            return "event has no valid uuid"
        if not isinstance(event.get("info"), str):
            return "event has no info (title)"
        return None


@hookimpl
def register_collectors() -> list[type[Collector]]:
    return [MispCollector]
