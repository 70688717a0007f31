"""The ``gdelt`` collector: GDELT 2.0 Events and Mentions exports.

GDELT publishes every 15 minutes a tab-separated, header-less ``*.export.CSV.zip`` (events,
61 columns) and ``*.mentions.CSV.zip`` (mentions, 16 columns); samples and BigQuery extracts
come as comma-separated files with a header row. The collector reads a file, a folder of such
files (``*.csv``, ``*.tsv``, ``*.zip``), or an http(s) URL of one; how each input's form is
worked out (zip, delimiter, header, events vs mentions) is in
:mod:`allsource.collect.gdelt_tables`.

Each row becomes one document. An event (``kind="gdelt-event"``, keyed by its GLOBALEVENTID)
is titled "<Actor1> <CAMEO action> <Actor2> (<place>)" with the action from
:mod:`allsource.collect.cameo`; its text adds Goldstein scale, tone, mention counts, place and
source URL; ``url`` is SOURCEURL, ``published_at`` DATEADDED (else SQLDATE), and ``meta`` holds
every non-empty field, numbers as numbers. A mention (``kind="gdelt-mention"``, keyed by event
id + mention identifier) is titled "<source>: mention of event <id>". A row with the wrong
column count or a non-numeric number field is rejected on its own (``row N: expected 61
columns, got K``) and the file goes on; an input that is not a GDELT table, or a zip that
inflates past ``max_input_bytes``, is rejected whole.

Checkpoint: ``{"files": {relative path: sha256}, "urls": {url: {etag, last_modified,
sha256}}}`` — unchanged files are skipped; URLs are fetched with a conditional GET. A run
stopped mid-file re-reads that file next time (rows are keyed, so that is a no-op rewrite).

Rebuilding reads a kept export again through the same path (:meth:`GdeltCollector.read`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import urlsplit

from allsource.collect import cameo
from allsource.collect.base import Collector, StoredItem, is_url
from allsource.collect.files import iter_local_files
from allsource.collect.gdelt_tables import (
    EVENT_COLUMNS,
    MENTION_COLUMNS,
    Layout,
    layout_for,
    row_raw,
    typed_fields,
    unpack,
)
from allsource.collect.inputs import decode_text, read_file
from allsource.errors import InputError
from allsource.hookspecs import hookimpl
from allsource.model.markings import Marking
from allsource.model.records import Checkpoint, Collected, Document, Item, Rejected

MENTION_TYPES = {1: "web", 2: "citation only", 3: "CORE", 4: "DTIC", 5: "JSTOR",
                 6: "non-textual source"}
_EXPORT_NAME = re.compile(r"\.(export|mentions)\.csv(\.zip)?$", re.IGNORECASE)
_FOLDER_SUFFIXES = (".csv", ".csv.zip", ".zip", ".tsv")


def _gdelt_time(value: object) -> datetime | None:
    text = str(value) if isinstance(value, int) else ""
    fmt = {14: "%Y%m%d%H%M%S", 8: "%Y%m%d"}.get(len(text))
    if fmt is None:
        return None
    try:
        return datetime.strptime(text, fmt).replace(tzinfo=UTC)
    except ValueError:
        return None


def _join(*parts: object) -> str:
    return " ".join(str(p) for p in parts if p not in (None, ""))


def _n(count: object, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _place(f: dict[str, Any], prefix: str) -> str:
    name = f.get(f"{prefix}_FullName")
    if not name:
        return ""
    lat, lon = f.get(f"{prefix}_Lat"), f.get(f"{prefix}_Long")
    where = f"{name} [{f[f'{prefix}_CountryCode']}]" if f.get(f"{prefix}_CountryCode") else name
    return f"{where} ({lat:.4f}, {lon:.4f})" if isinstance(lat, float) and isinstance(
        lon, float) else where


def event_document(f: dict[str, Any], ref: str, sha: str, marking: Marking) -> Document:
    code = f.get("EventCode") or f.get("EventBaseCode") or f.get("EventRootCode") or ""
    action = cameo.describe(code) or (f"CAMEO event {code}" if code else "event")
    where = f.get("ActionGeo_FullName")
    title = _join(f.get("Actor1Name"), action, f.get("Actor2Name")) + (
        f" ({where})" if where else "")
    root = cameo.ROOT.get(str(f.get("EventRootCode", "")))
    lines = [title,
             f"Action: {action} (CAMEO {code or '?'}"
             + (f", root {f['EventRootCode']} {root}" if root else "")
             + (f"; {cameo.QUAD_CLASS[f['QuadClass']]}" if f.get("QuadClass") in cameo.QUAD_CLASS
                else "") + ")"]
    for n in ("1", "2"):
        if f.get(f"Actor{n}Name") or f.get(f"Actor{n}Code"):
            lines.append(f"Actor {n}: " + _join(f.get(f"Actor{n}Name"),
                                                 f"({f[f'Actor{n}Code']})"
                                                 if f.get(f"Actor{n}Code") else ""))
    if "GoldsteinScale" in f:
        lines.append(f"Goldstein scale: {f['GoldsteinScale']:+.1f}")
    if "AvgTone" in f:
        lines.append(f"Average tone: {f['AvgTone']:.2f}")
    lines.append(f"Mentions: {f.get('NumMentions', 0)} in {_n(f.get('NumArticles', 0), 'article')}"
                 f" from {_n(f.get('NumSources', 0), 'source')}")
    if place := _place(f, "ActionGeo"):
        lines.append(f"Location: {place}")
    date = _gdelt_time(f.get("SQLDATE"))
    if date:
        lines.append(f"Event date: {date:%Y-%m-%d}")
    if f.get("SOURCEURL"):
        lines.append(f"Source: {f['SOURCEURL']}")
    url = f.get("SOURCEURL")
    return Document.build(
        kind="gdelt-event", title=title, text="\n".join(lines),
        url=url if isinstance(url, str) and url.startswith(("http://", "https://")) else None,
        published_at=_gdelt_time(f.get("DATEADDED")) or date,
        key={"gdelt_event": f["GLOBALEVENTID"]},
        blob_sha256=sha, blob_ref=ref, meta=f, marking=marking)


def mention_document(f: dict[str, Any], ref: str, sha: str, marking: Marking) -> Document:
    eid, ident = f["GLOBALEVENTID"], f["MentionIdentifier"]
    source = f.get("MentionSourceName") or "unknown source"
    title = f"{source}: mention of event {eid}"
    kind = MENTION_TYPES.get(f.get("MentionType", 0), str(f.get("MentionType", "?")))
    lines = [title, f"{source} mentioned GDELT event {eid} in {ident}.",
             f"Mention type: {kind}; sentence {f.get('SentenceID', '?')}; "
             f"in raw text: {'yes' if f.get('InRawText') == 1 else 'no'}",
             f"Confidence: {f.get('Confidence', '?')}%"]
    if "MentionDocTone" in f:
        lines.append(f"Document tone: {f['MentionDocTone']:.2f}; length "
                     f"{f.get('MentionDocLen', '?')} characters")
    if first := _gdelt_time(f.get("EventTimeDate")):
        lines.append(f"Event first recorded: {first:%Y-%m-%d %H:%M} UTC")
    if f.get("MentionDocTranslationInfo"):
        lines.append(f"Translation: {f['MentionDocTranslationInfo']}")
    return Document.build(
        kind="gdelt-mention", title=title, text="\n".join(lines),
        url=ident if ident.startswith(("http://", "https://")) else None,
        published_at=_gdelt_time(f.get("MentionTimeDate")),
        key={"gdelt_mention": [eid, ident]},
        blob_sha256=sha, blob_ref=ref, meta=f, marking=marking)


def _row_item(layout: Layout, row: list[str], n: int, ref: str, blob_ref: str, sha: str,
              marking: Marking, delimiter: str) -> Collected | Rejected:
    expected = len(layout.names)
    if len(row) != expected:
        return Rejected(f"row {n}: expected {expected} columns, got {len(row)}",
                        row_raw(layout, row, delimiter), f"{ref}#row:{n}")
    try:
        fields = typed_fields(layout, row)
    except ValueError as exc:
        return Rejected(f"row {n}: {exc}", row_raw(layout, row, delimiter), f"{ref}#row:{n}")
    if "GLOBALEVENTID" not in fields:
        return Rejected(f"row {n}: no GLOBALEVENTID", row_raw(layout, row, delimiter),
                        f"{ref}#row:{n}")
    if layout.kind == "events":
        return Collected(event_document(fields, blob_ref, sha, marking))
    if "MentionIdentifier" not in fields:
        return Rejected(f"row {n}: no MentionIdentifier", row_raw(layout, row, delimiter),
                        f"{ref}#row:{n}")
    return Collected(mention_document(fields, blob_ref, sha, marking))


def table_items(data: bytes, *, ref: str, sha: str, marking: Marking, member: str = ""
                ) -> Iterator[Collected | Rejected]:
    """Documents from one events or mentions table (plain bytes, already unpacked)."""
    text = decode_text(data)
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                        quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL)
    layout: Layout | None = None
    n = 0
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if layout is None:
                layout, is_header = layout_for(row)
                if is_header:
                    continue
            n += 1
            blob_ref = f"{member}#row:{n}" if member else f"row:{n}"
            yield _row_item(layout, row, n, ref, blob_ref, sha, marking, delimiter)
    except csv.Error as exc:
        raise InputError(f"malformed table after row {n} ({exc})") from exc
    if layout is None:
        raise InputError("the file is empty")


def _folder_has_gdelt(folder: Path, limit: int = 50) -> bool:
    """Whether one of the first ``limit`` files of a folder is named or headed like GDELT."""
    try:
        entries = sorted(folder.iterdir())[:limit]
        for entry in entries:
            if _EXPORT_NAME.search(entry.name):
                return True
            if entry.is_file() and entry.name.lower().endswith((".csv", ".tsv")):
                with entry.open("rb") as fh:
                    if fh.read(16).lstrip(b"\xef\xbb\xbf").lower().startswith(b"globaleventid"):
                        return True
    except OSError:
        return False
    return False


def _wanted_in_folder(name: str) -> bool:
    return name.lower().endswith(_FOLDER_SUFFIXES)


class GdeltCollector(Collector):
    name: ClassVar[str] = "gdelt"
    description: ClassVar[str] = "GDELT 2.0 Events and Mentions exports (zip, TSV or CSV)"
    default_schedule: ClassVar[int] = 900  # GDELT publishes every 15 minutes
    time_limit: ClassVar[float] = 3600

    @classmethod
    def detect(cls, location: str, head: bytes) -> int:
        name = PurePosixPath(urlsplit(location).path if is_url(location) else location).name
        first = head[:4096].split(b"\n", 1)[0].lstrip(b"\xef\xbb\xbf").strip().lower()
        if first.startswith(b"globaleventid"):
            return 95
        if _EXPORT_NAME.search(name):
            return 90
        if first and first[:1].isdigit() and first.count(b"\t") + 1 in (
                len(EVENT_COLUMNS), len(MENTION_COLUMNS)):
            return 70
        lower = location.lower()
        if "gdelt" in lower and lower.endswith((".csv", ".zip")):
            return 60 if not head or head.startswith(b"PK") else 0
        path = Path(location).expanduser()
        if not is_url(location) and path.is_dir():
            return 80 if _folder_has_gdelt(path) else 0
        return 0

    def collect(self, checkpoint: dict[str, Any]) -> Iterator[Item]:
        files: dict[str, str] = dict(checkpoint.get("files") or {})
        urls: dict[str, dict[str, Any]] = dict(checkpoint.get("urls") or {})
        mark = Checkpoint({"files": files, "urls": urls})
        location = self.source.location
        if is_url(location):
            yield from self._collect_url(location, urls)
        else:
            folder = Path(location).expanduser().is_dir()
            seen: set[str] = set()
            for local in iter_local_files(location):
                if folder and not _wanted_in_folder(local.rel):
                    continue
                seen.add(local.rel)
                yield from self._collect_file(local.rel, local.path, files)
                yield mark
            for gone in set(files) - seen:
                del files[gone]
        yield mark

    def _collect_file(self, rel: str, path: Path, files: dict[str, str]) -> Iterator[Item]:
        try:
            data = read_file(path, self.ctx.settings.max_input_bytes)
        except InputError as exc:
            yield Rejected(str(exc), b"", rel)
            return
        sha = hashlib.sha256(data).hexdigest()
        if files.get(rel) == sha:
            return
        yield from self.read(rel, data)
        files[rel] = sha

    def _collect_url(self, url: str, urls: dict[str, dict[str, Any]]) -> Iterator[Item]:
        seen = urls.get(url, {})
        headers = {k: seen[v] for k, v in (("If-None-Match", "etag"),
                                           ("If-Modified-Since", "last_modified"))
                   if seen.get(v)}
        got = self.ctx.fetch(self.source, url, headers=headers)
        if got.not_modified:
            return
        sha = hashlib.sha256(got.content).hexdigest()
        if seen.get("sha256") != sha:
            yield from self.read(PurePosixPath(urlsplit(url).path).name or url, got.content)
        urls[url] = {"etag": got.headers.get("etag"),
                     "last_modified": got.headers.get("last-modified"), "sha256": sha}

    def read(self, ref: str, data: bytes) -> Iterator[Collected | Rejected]:
        """Documents from one input's bytes (zip or table); a bad input is one Rejected."""
        sha = self.ctx.keep_blob(data)
        try:
            tables = unpack(data, self.ctx.settings.max_input_bytes)
            for member, table in tables:
                yield from table_items(table, ref=f"{ref}/{member}" if len(tables) > 1 else ref,
                                       sha=sha, marking=self.marking,
                                       member=member if len(tables) > 1 else "")
        except InputError as exc:
            yield Rejected(f"{ref}: {exc}", data, ref)

    def reparse(self, raw: bytes, ref: str) -> Iterator[Item]:
        """Re-read a quarantined export (ref: its name) or row (``name#row:n``; the raw
        bytes are that row, with the header when the table has one)."""
        if not raw:
            raise InputError(f"the raw bytes of {ref} were not kept (over the size cap?); "
                             f"run `allsource collect {self.source.name}` again")
        yield from self.read(ref.split("#", 1)[0], raw)

    def rebuild(self, raw: bytes, stored: Sequence[StoredItem]
                ) -> Iterator[Collected | Rejected]:
        location = self.source.location
        yield from self.read(PurePosixPath(urlsplit(location).path).name if is_url(location)
                             else Path(location).name, raw)


@hookimpl
def register_collectors() -> list[type[Collector]]:
    return [GdeltCollector]
